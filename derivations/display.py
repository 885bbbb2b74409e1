"""Student text shown as text: one function per output form.

Anything that comes from an answer file (the given formula, evidence and conditions that
quote it, file and table names) passes through the function of the form it is written in,
so that no field can start a line, a heading or a verdict of its own, or drive a terminal:

- `for_terminal`: one line, control and invisible characters made visible (``\\n``,
  ``\\x1b``, ``U+202E``);
- `for_markdown`: the same, inside a code span whose fence is longer than any run of
  backticks in the text, so nothing in it is Markdown or HTML;
- `for_csv`: the same, with a leading ``'`` where a spreadsheet would read a formula
  (``=``, ``+``, ``-``, ``@``, a tab or carriage return); `from_csv` undoes the ``'``;
- `for_html`: the same through `html.escape` (quotes too, so it may stand in an attribute);
- `json_text`: JSON that stays exact, with invisible characters as ``\\uXXXX`` escapes
  (json itself escapes the C0 controls; DEL, C1 controls, bidirectional overrides are added).

None of these raise.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata

# Categories that a terminal or viewer does not show as a glyph: controls (C0, DEL, C1), format
# characters (bidirectional overrides, zero-width joiners), line and paragraph separators,
# surrogates and unassigned code points.
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CANDIDATE = re.compile(r"[^\x20-\x7e]")
_OUTSIDE_JSON_ESCAPES = re.compile(r"[^\x20-\x7e\n]")
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _shown(char: str) -> str:
    if unicodedata.category(char) not in _INVISIBLE:
        return char
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return f"U+{code:04X}"


def visible(text) -> str:
    """``str(text)`` with every control or invisible character written out (``\\n``, ``\\x1b``, ``U+2028``)."""
    return _CANDIDATE.sub(lambda m: _shown(m.group()), str(text))


def for_terminal(text) -> str:
    """Text for one line of a terminal: nothing in it moves the cursor, sets a title or starts a line."""
    return visible(text)


def for_markdown(text) -> str:
    """Text as a Markdown code span that cannot be closed from inside: shown exactly, never as
    markup, HTML, a heading or a new line (newlines and controls are made visible first)."""
    body = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end when both are spaces; a space keeps a backtick
    # at either end from joining the fence.
    pad = " " if (body[:1] == "`" or body[-1:] == "`" or (body[:1] == " " and body[-1:] == " ")) else ""
    return f"{fence}{pad}{body or ' '}{pad}{fence}"


def for_html(text) -> str:
    """Text for an HTML page or attribute: `html.escape` of the visible text (no tag, entity or control)."""
    return html.escape(visible(text), quote=True)


def for_csv(text, exact: bool = False) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``'`` before a formula's first character
    (and before a ``'``, so that `from_csv` is exact). Control characters are made visible unless
    ``exact`` (a file name, which must round-trip; the csv module quotes its commas, quotes and newlines)."""
    cell = str(text) if exact else visible(text)
    return "'" + cell if cell.startswith(CSV_FORMULA_STARTS + ("'",)) else cell


def from_csv(cell: str) -> str:
    """The text `for_csv` was given (with ``exact``): the guarding ``'`` removed."""
    return cell[1:] if cell.startswith("'") else cell


def _json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(data, indent: int | None = 1) -> str:
    """``data`` as JSON, every string exact; characters a terminal would act on or hide are
    ``\\uXXXX`` escapes (they can only occur inside strings, where the escape means the same)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    # json escapes every C0 control inside strings itself; the newlines of ``indent`` are layout.
    return _OUTSIDE_JSON_ESCAPES.sub(lambda m: _json_escape(m.group()) if unicodedata.category(m.group()) in _INVISIBLE
                          else m.group(), text)
