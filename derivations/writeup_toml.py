"""A write-up's fields as the answer file a TA can correct (`check --extract-only`).

`to_toml(extraction)` writes valid TOML in the format of ANSWER-FILE.md, which
`answer_file.read_answers` accepts: one table per part found, each field with a comment naming
the file, line and part label it was read from, and a comment listing the fields not found
(left out, never guessed). Values are TOML literal strings (backslashes kept as written) unless
the text holds a quote or a control character; then a basic string with escapes.
"""
from __future__ import annotations

from .writeup import Extraction


def toml_string(text: str) -> str:
    """``text`` as a TOML string: a literal string when it can be one, else an escaped basic string."""
    if "'" not in text and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return f"'{text}'"
    out = []
    for c in text:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    """One comment line: no newline can end it early."""
    return " ".join(text.split())


def to_toml(extraction: Extraction) -> str:
    """The extraction as an answer file (ANSWER-FILE.md), with where each field was read."""
    lines = [f"# Answers read from {_comment(extraction.path)} by `python -m derivations check --extract-only`.",
             "# Correct any field below and check this file instead: python -m derivations check THIS.toml"]
    missing = extraction.not_found
    if missing:
        lines.append("# not found (left out, never guessed): " + ", ".join(f"[{p}] {f}" for p, f in missing))
    part = None
    for f in extraction.found:
        if f.part != part:
            part = f.part
            lines += ["", f"[{part}]"]
        lines.append(f"# {_comment(f.where())} ({_comment(f.label)})")
        lines.append(f"{f.field} = {toml_string(f.expression)}")
    return "\n".join(lines) + "\n"
