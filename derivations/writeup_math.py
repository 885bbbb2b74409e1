"""Where the mathematics is in a write-up: math segments of Markdown or LaTeX text, and their rows.

`math_segments` finds ``$…$``, ``$$…$$``, ``\\[…\\]``, ``\\(…\\)`` and the equation environments
(equation, align, gather, multline, eqnarray, with or without ``*``), returning each segment's
content with its offset in the text and whether it is displayed. `rows` splits a segment at
its top-level row breaks (``\\\\`` outside braces and inner environments such as ``cases`` or
``bmatrix``). `top_level` finds a pattern outside every bracket. Nothing here knows the questions;
`derivations.writeup` does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MATH_ENVS = ("equation", "align", "aligned", "gather", "gathered", "multline", "eqnarray", "flalign", "alignat")
_ENV_OPEN = re.compile(r"\\begin\{(" + "|".join(MATH_ENVS) + r")(\*?)\}")


@dataclass(frozen=True)
class Segment:
    """One piece of mathematics: ``text`` starts at offset ``start`` of the source text."""

    start: int
    text: str
    display: bool
    end: int  # offset just after the closing delimiter


def _unescaped(text: str, i: int) -> bool:
    """True when the character at ``i`` is not escaped by an odd run of backslashes."""
    n = 0
    j = i - 1
    while j >= 0 and text[j] == "\\":
        n += 1
        j -= 1
    return n % 2 == 0


def math_segments(text: str, excluded: list[tuple[int, int]] = ()) -> list[Segment]:
    """The math segments of ``text`` in order, skipping those that start inside an ``excluded`` span
    (code blocks). An inline ``$`` never runs across a blank line; an unclosed delimiter is not math."""
    out: list[Segment] = []
    i, n = 0, len(text)
    spans = sorted(excluded)

    def in_excluded(pos: int) -> int | None:
        for s, e in spans:
            if s <= pos < e:
                return e
        return None

    while i < n:
        skip = in_excluded(i)
        if skip is not None:
            i = skip
            continue
        ch = text[i]
        if ch == "\\" and text.startswith("\\begin{", i):
            m = _ENV_OPEN.match(text, i)
            if m:
                close = f"\\end{{{m.group(1)}{m.group(2)}}}"
                j = text.find(close, m.end())
                if j >= 0:
                    out.append(Segment(m.end(), text[m.end():j], True, j + len(close)))
                    i = j + len(close)
                    continue
        if ch == "\\" and i + 1 < n and text[i + 1] in "[(" and _unescaped(text, i):
            close = "\\]" if text[i + 1] == "[" else "\\)"
            j = text.find(close, i + 2)
            if j >= 0:
                out.append(Segment(i + 2, text[i + 2:j], text[i + 1] == "[", j + 2))
                i = j + 2
                continue
        if ch == "$" and _unescaped(text, i):
            if text.startswith("$$", i):
                j = text.find("$$", i + 2)
                if j >= 0:
                    out.append(Segment(i + 2, text[i + 2:j], True, j + 2))
                    i = j + 2
                    continue
                i += 2
                continue
            j = i + 1
            while j < n and not (text[j] == "$" and _unescaped(text, j)):
                if text.startswith("\n\n", j) or re.match(r"\n[ \t]*\n", text[j:j + 40]):
                    j = n
                    break
                j += 1
            if j < n and j > i + 1:
                out.append(Segment(i + 1, text[i + 1:j], False, j + 1))
                i = j + 1
                continue
        i += 1
    return out


_BEGIN = re.compile(r"\\begin\{[^{}]*\}")
_END = re.compile(r"\\end\{[^{}]*\}")


def top_level(text: str, pattern: re.Pattern, start: int = 0) -> list[re.Match]:
    """Matches of ``pattern`` in ``text`` (from ``start``) outside every bracket ({} () []) and inner environment."""
    depth, i, found = 0, start, []
    while i < len(text):
        if text.startswith("\\begin{", i):
            m = _BEGIN.match(text, i)
            if m:
                depth += 1
                i = m.end()
                continue
        if text.startswith("\\end{", i):
            m = _END.match(text, i)
            if m:
                depth -= 1
                i = m.end()
                continue
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}()[]|":
            # \{ \} are the formula's own braces (a set): brackets like the others; \| a norm bar
            if depth == 0 and text[i + 1] not in "})]":
                m = pattern.match(text, i)
                if m and m.end() > i:
                    found.append(m)
                    i = m.end()
                    continue
            depth += 1 if text[i + 1] in "{([" else -1 if text[i + 1] in "})]" else 0
            depth = max(depth, 0)
            i += 2
            continue
        if depth == 0:
            m = pattern.match(text, i)
            if m and m.end() > i:
                found.append(m)
                i = m.end()
                continue
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth = max(depth - 1, 0)
        i += 1
    return found


_ROW_BREAK = re.compile(r"\\\\(\[[^\]]*\])?")


def rows(text: str) -> list[tuple[int, str]]:
    """The top-level rows of a math segment as (offset within the segment, row text)."""
    out, start = [], 0
    for m in top_level(text, _ROW_BREAK):
        out.append((start, text[start:m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return out


def matching_brace(text: str, open_at: int) -> int:
    """The offset of the brace closing the one at ``open_at`` (``{``), or -1."""
    depth = 0
    i = open_at
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1
