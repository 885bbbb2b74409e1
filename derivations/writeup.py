"""Write-ups read as written: the answer fields of a Markdown, LaTeX or notebook write-up.

`read_writeup(path)` reads a ``.md``, ``.tex`` or ``.ipynb`` file (Markdown cells only, read with
Python's json) through fileguard and returns an `Extraction`: each field it found, with the file,
the line (and the notebook cell) and the expression as written, and the fields it did not find.
Nothing is guessed: a field is found only where its symbol is written in its part, inside math
(``$…$``, ``$$…$$``, ``\\[…\\]``, ``\\(…\\)``, equation and align environments, the course
template's ``\\alns{…}``).

- Parts by their labels (`derivations.writeup_labels`): ``(b) i.``, ``\\item``, ``\\subsection*{1(b)}``,
  ``#### (c) ii``, ``1. (b)``, ``\\part``/``\\subpart``, a part's number at a line's start.
- Fields by their symbols: ``M =`` in (b); ``q =`` in (b) and (c) i; ``q_1 =``/``q_2 =`` (or ``q_a``,
  ``q_b`` naming the heads) in (d) i; ``\\eta \\sim \\mathcal{N}(1, \\tfrac12)`` (any one Greek letter
  for η) giving eta_mean and eta_var, ``\\alpha_a =`` weight_a, ``\\alpha_b =`` weight_b (also rows
  ``…, & i = a`` of ``\\alpha_i = \\begin{cases}``; ``\\approx`` counts when the expression has the
  random letter), ``\\mathrm{Var}[c] =`` / ``\\mathrm{Cov}(c) =`` cov_c, ``\\eta > …`` the threshold, in
  (c) ii; cov_c in (d) ii; ``\\frac{…Perceiver…}{…Vanilla…} =`` (or ``ratio =``) in 2(g) ii.
- A symbol counts at the start of a statement (``k_a^\\top q = …`` is not an answer for q). When a
  part writes a field more than once, the last displayed occurrence wins, else the last inline
  one (an ansatz comes first, the conclusion last); a segment that starts with ``=`` right after
  one that ended a field continues its chain.
- In LaTeX with answer environments (``\\begin{answer}``, ``\\begin{solution}``, ``\\ifans{…}``) only
  those are read (the rest restates the questions); comments are dropped; in Markdown, code blocks.

Raises `WriteupError` (an `AnswerFileError`: one line, exit 2) for an unreadable file, one over
`MAX_BYTES`, text that is not UTF-8, or a notebook that is not JSON with cells.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from fileguard.errors import UserError
from fileguard.inputs import MiB, read_text

from .answer_file import PARTS, AnswerFileError
from .writeup_labels import Label, State, latex_labels, line_labels, state_at
from .writeup_math import Segment, math_segments, matching_brace, rows, top_level

SUFFIXES = (".md", ".markdown", ".tex", ".ipynb")
MAX_BYTES = 4 * MiB  # a write-up; a notebook with its outputs may be larger than a text file
MATH_FIELDS = [(p, f) for p, fields in PARTS.items() for f, kind in fields.items() if kind not in ("prose", "flag", "choice")]


class WriteupError(AnswerFileError):
    """A user error reading a write-up; the message is the one line to print."""


@dataclass(frozen=True)
class Found:
    """One field read from a write-up: where it is and the expression as written."""

    part: str
    field: str
    expression: str
    path: str
    line: int
    cell: int | None  # the notebook cell (1-based, counting every cell), None outside notebooks
    label: str  # the part label in force, e.g. "1(c) ii"
    display: bool = False

    def where(self) -> str:
        return f"{self.path}: cell {self.cell}, line {self.line}" if self.cell else f"{self.path}: line {self.line}"


@dataclass
class Extraction:
    """What `read_writeup` found in one file, and the math fields it did not find."""

    path: str
    found: list[Found] = field(default_factory=list)

    @property
    def not_found(self) -> list[tuple[str, str]]:
        have = {(f.part, f.field) for f in self.found}
        return [pf for pf in MATH_FIELDS if pf not in have]

    def answers(self) -> dict[str, dict[str, str]]:
        """The fields as an answer file's dict (`answer_file.read_answers`'s shape), in PARTS order."""
        out: dict[str, dict[str, str]] = {}
        got = {(f.part, f.field): f.expression for f in self.found}
        for part, fld in MATH_FIELDS:
            if (part, fld) in got:
                out.setdefault(part, {})[fld] = got[(part, fld)]
        return out

    def by_field(self) -> dict[tuple[str, str], Found]:
        return {(f.part, f.field): f for f in self.found}


# ---------------------------------------------------------------------------------------------
# The text of a file, with a way back from an offset to (cell, line)

@dataclass
class _Source:
    text: str
    kind: str  # "md" | "tex"
    cells: list[tuple[int, int]] = field(default_factory=list)  # (offset where a cell starts, cell number)

    def locate(self, offset: int) -> tuple[int | None, int]:
        if not self.cells:
            return None, self.text.count("\n", 0, offset) + 1
        start, number = 0, None
        for s, n in self.cells:
            if s <= offset:
                start, number = s, n
        return number, self.text.count("\n", start, offset) + 1


def _notebook_source(raw: str, path: Path) -> _Source:
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise WriteupError(f"{path}: line {exc.lineno}: not a notebook (not JSON: {exc.msg})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise WriteupError(f"{path}: not a notebook (no list of cells)")
    parts, offsets, pos = [], [], 0
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else str(src)
        offsets.append((pos, number))
        parts.append(text)
        pos += len(text) + 2
    return _Source("\n\n".join(parts), "md", offsets)


def _blank(text: str, spans) -> str:
    """``text`` with the given spans replaced by spaces (newlines kept), so offsets and lines stay."""
    chars = list(text)
    for s, e in spans:
        for i in range(s, e):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _tex_comments(text: str) -> list[tuple[int, int]]:
    return [(m.start(1), m.end(1)) for m in re.finditer(r"(?<!\\)(%[^\n]*)", text)]


def _code_blocks(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in re.finditer(r"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[ \t]*$", text, re.M | re.S)]
    spans += [(m.start(), m.end()) for m in re.finditer(r"<!--.*?-->", text, re.S)]
    return spans


def _answer_spans(text: str) -> list[tuple[int, int]]:
    """The answer environments of a LaTeX write-up (empty when it has none)."""
    spans = [(m.end(), m.end() + (text.find(f"\\end{{{m.group(1)}}}", m.end()) - m.end()))
             for m in re.finditer(r"\\begin\{(answer\*?|solution\*?|sol)\}", text)
             if text.find(f"\\end{{{m.group(1)}}}", m.end()) >= 0]
    for m in re.finditer(r"\\ifans\s*\{", text):
        close = matching_brace(text, m.end() - 1)
        if close > 0:
            spans.append((m.end(), close))
    return spans


def _macro_segments(text: str) -> list[Segment]:
    """``\\alns{…}`` and ``\\als{…}`` (the course template's align* macros) as displayed math."""
    out = []
    for m in re.finditer(r"\\(alns|als)\s*\{", text):
        close = matching_brace(text, m.end() - 1)
        if close > 0:
            out.append(Segment(m.end(), text[m.end():close], True, close + 1))
    return out


# ---------------------------------------------------------------------------------------------
# Symbols

_ETA_NAMES = r"\\(?:eta|gamma|epsilon|varepsilon|xi|zeta|theta|kappa|tau|omega)(?![A-Za-z])|η|γ|ε"
_ETA_SUB = r"(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?"
_WRAP = r"\\(?:mathbf|boldsymbol|bm|vec|mathit)\s*\{\s*"


def _name(base: str, sub: str | None = None) -> str:
    """A symbol with an optional subscript, plain or wrapped (``q_1``, ``q_{1}``, ``\\mathbf{q}_1``, ``\\mathbf{q_1}``)."""
    if sub is None:
        return rf"(?:{_WRAP}{base}\s*\}}|(?<![\\A-Za-z]){base})(?![A-Za-z0-9_^'])"
    s = rf"_\s*(?:\{{\s*{sub}\s*\}}|{sub}(?![A-Za-z0-9]))"
    return rf"(?:{_WRAP}{base}\s*\}}\s*{s}|{_WRAP}{base}\s*{s}\s*\}}|(?<![\\A-Za-z]){base}\s*{s})(?![_^'])"


_EQ = r"\s*&?\s*=(?!=)\s*&?"
_EQ_OR_APPROX = r"\s*&?\s*(?:=(?!=)|\\approx(?![A-Za-z])|≈)\s*&?"
SYMBOLS: dict[str, re.Pattern] = {
    "M": re.compile(r"(?<![\\A-Za-z])M(?![A-Za-z0-9_^'])" + _EQ),
    "q": re.compile(_name("q") + _EQ),
    "q1": re.compile(_name("q", "1") + _EQ),
    "q2": re.compile(_name("q", "2") + _EQ),
    "qa": re.compile(_name("q", "a") + _EQ),
    "qb": re.compile(_name("q", "b") + _EQ),
    "weight_a": re.compile(r"\\alpha\s*_\s*(?:a(?![A-Za-z0-9])|\{\s*a\s*\})(?!\s*[_^])" + f"(?P<rel>{_EQ_OR_APPROX})"),
    "weight_b": re.compile(r"\\alpha\s*_\s*(?:b(?![A-Za-z0-9])|\{\s*b\s*\})(?!\s*[_^])" + f"(?P<rel>{_EQ_OR_APPROX})"),
    "cov": re.compile(r"(?:\\(?:mathrm|text|operatorname|textrm|mathbb)\s*\{\s*(?:Var|Cov|V)\s*\}|\\?(?:Var|Cov)|\\mathbb\s*V)"
                      r"\s*(?:\\left|\\big|\\Big)?\s*[\[(]\s*(?:\\mathbf\s*\{\s*c\s*\}|c|C)\s*(?:\\right|\\big|\\Big)?\s*[\])]" + _EQ),
    "eta": re.compile(rf"(?P<lhs>{_ETA_NAMES}){_ETA_SUB}\s*(?:\\sim(?![A-Za-z])|∼|~)\s*"
                      r"(?:\\mathcal\s*\{\s*N\s*\}|\\mathcal\s*N|\\mathscr\s*\{\s*N\s*\}|\\operatorname\s*\{\s*N\s*\}|\\text\s*\{\s*N\s*\}|N)"
                      r"\s*(?:\\left\s*)?\("),
    "threshold": re.compile(rf"(?P<lhs>{_ETA_NAMES}){_ETA_SUB}\s*(?:>(?![>=])|>=|\\geq?(?![A-Za-z])|\\geqslant|\\gt(?![A-Za-z])|≥)\s*"),
    "ratio": re.compile(r"\\[dt]?frac\s*\{[^=]*?perceiver[^=]*?\}\s*\{[^=]*?vanilla[^=]*?\}" + _EQ
                        + r"|(?<![\\A-Za-z])(?:\\text\s*\{\s*)?ratio\s*\}?" + _EQ, re.I),
}
_CASES = re.compile(r"\\alpha\s*_\s*(?:i|\{\s*i\s*\})\s*&?\s*=\s*&?\s*(?:\\left\s*\\?\{\s*)?\\begin\{cases\}")
_CUT = re.compile(r",|，|;|；|\\quad(?![A-Za-z])|\\qquad(?![A-Za-z])|\\[,;:!]|\\text\s*\{\s*(?:where|for|with|when|if|as|then|and|since|because|s\.t\.)"
                  r"|\\T\s*\{|\\tag\s*\{|\\label\s*\{|\\(?:Longleftrightarrow|Leftrightarrow|Rightarrow|implies|iff|forall)(?![A-Za-z])"
                  r"|\\text\s*\{\s*\}|\\mbox\s*\{")
_CHAIN_NAME = re.compile(r"^\s*(?:" + _WRAP + r"[A-Za-z]+\s*\}|\\?[A-Za-z]+)\s*(?:_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?\s*"
                         r"(?:=(?!=)|\\approx(?![A-Za-z]))\s*")
_ETA_IN = re.compile(_ETA_NAMES + r"|\\eta")


def _at_statement_start(row: str, start: int) -> bool:
    """A symbol begins a statement: not after a transpose (k_a^T q), a letter or a closing bracket."""
    prev = row[:start].rstrip()
    if not prev:
        return True
    if re.search(r"[_^]\s*\{[^{}]*\}$", prev) or re.search(r"\^\s*\\?[A-Za-z0-9]+$", prev):
        return False
    cmd = re.search(r"\\([A-Za-z]+)$", prev)
    if cmd:
        return cmd.group(1) not in ("top", "intercal", "prime", "T")
    return not re.search(r"[\w')\]|]$", prev)


def _tidy(expr: str) -> str:
    expr = re.sub(r"\s+", " ", expr.replace("&", " ")).strip()
    for _ in range(3):
        m = _CHAIN_NAME.match(expr)
        if not m or m.end() >= len(expr):
            break
        expr = expr[m.end():]
    return re.sub(r"(\s*(\\\\|[.,;]))+$", "", expr).strip()


def _until_cut(row: str, start: int) -> tuple[str, bool]:
    """The row's text from ``start`` to the first top-level cut; and whether it ran to the row's end."""
    rest = row[start:]
    cuts = top_level(rest, _CUT)
    return (rest[:cuts[0].start()], False) if cuts else (rest, True)


def _paren_args(text: str, open_at: int) -> tuple[list[str], int] | None:
    """The comma-separated arguments of the bracket opening at ``open_at`` and the offset after it."""
    depth, i, args, start = 0, open_at, [], open_at + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and text.startswith("\\right", i):
            i += 6
            continue
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth == 0:
                args.append(text[start:i])
                return [a.strip() for a in args], i + 1
        elif ch == "," and depth == 1:
            args.append(text[start:i])
            start = i + 1
        i += 1
    return None


@dataclass
class _Hit:
    key: str
    expression: str
    offset: int  # in the whole text
    display: bool
    ran_to_end: bool
    segment_end: int


def _hits_in_segment(seg: Segment) -> list[_Hit]:
    hits: list[_Hit] = []
    for row_off, row in rows(seg.text):
        base = seg.start + row_off
        for m in _CASES.finditer(row):
            body_start = m.end()
            end = row.find("\\end{cases}", body_start)
            if end < 0:
                continue
            for r_off, r in rows(row[body_start:end]):
                amps = top_level(r, re.compile("&"))
                if not amps:
                    continue
                expr, cond = r[:amps[0].start()], r[amps[0].end():]
                cond = re.sub(r"\\(?:text|mathrm|T)\s*\{([^{}]*)\}", r"\1", cond)
                cond = re.sub(r"\s|\\[,;:!]|\\quad|if", "", cond).rstrip(".")
                key = {"i=a": "weight_a", "i=b": "weight_b"}.get(cond)
                if key:
                    hits.append(_Hit(key, _tidy(expr), base + body_start + r_off + (len(r) - len(r.lstrip())),
                                     seg.display, False, seg.end))
        for key, pattern in SYMBOLS.items():
            for m in pattern.finditer(row):
                if not _at_statement_start(row, m.start()):
                    continue
                if key == "eta":
                    got = _paren_args(row, m.end() - 1)
                    if not got or len(got[0]) != 2:
                        continue
                    mean, var = got[0]
                    hits.append(_Hit("eta_mean", _tidy(mean), base + m.start(), seg.display, False, seg.end))
                    hits.append(_Hit("eta_var", _tidy(var), base + m.start(), seg.display, False, seg.end))
                    continue
                text, ran = _until_cut(row, m.end())
                expr = _tidy(text)
                if not expr:
                    continue
                if key in ("weight_a", "weight_b") and "=" not in m.group("rel") and not _ETA_IN.search(expr):
                    continue  # "α_a ≈ 1": a limit, not the weight as a function of the random letter
                if key == "threshold" and _ETA_IN.search(expr):
                    continue  # "ε_a > ε_b": a comparison of two random letters, not a threshold
                hits.append(_Hit(key, expr, base + m.start(), seg.display, ran and row_off + len(row) >= len(seg.text.rstrip()), seg.end))
    return hits


def _target(st: State, key: str) -> tuple[str, str] | None:
    """The (part, field) a symbol stands for in the part in force, or None."""
    q = st.question if st.question is not None else 1
    if q == 1 and st.part == "b":
        return {"M": ("q1b_i", "M"), "q": ("q1b_ii", "q")}.get(key)
    if q == 1 and st.part == "c":
        if key == "q":
            return ("q1c_i", "q") if st.sub in (None, "i") else None
        if st.sub == "i":
            return None
        fields = {"eta_mean": "eta_mean", "eta_var": "eta_var", "weight_a": "weight_a", "weight_b": "weight_b",
                  "cov": "cov_c", "threshold": "threshold"}
        return ("q1c_ii", fields[key]) if key in fields else None
    if q == 1 and st.part == "d":
        if key in ("q1", "q2", "qa", "qb"):
            return ("q1d_i", {"q1": "q1", "qa": "q1", "q2": "q2", "qb": "q2"}[key]) if st.sub in (None, "i") else None
        if key == "cov" and st.sub != "i":
            return ("q1d_ii", "cov_c")
        return None
    if q == 2 and st.part == "g" and st.sub in (None, "ii") and key == "ratio":
        return ("q2g_ii", "ratio")
    return None


def _label_text(st: State) -> str:
    q = st.question if st.question is not None else 1
    return f"{q}({st.part})" + (f" {st.sub}" if st.sub else "")


def extract(text: str, kind: str, path: str = "<text>", cells: list[tuple[int, int]] | None = None) -> Extraction:
    """The fields of a write-up's text; ``kind`` is ``"md"`` (Markdown, notebook cells) or ``"tex"``."""
    src = _Source(text, kind, cells or [])
    if kind == "tex":
        text = _blank(text, _tex_comments(text))
        labels = latex_labels(text) or line_labels(text)
        answers = _answer_spans(text)
        segments = math_segments(text) + _macro_segments(text)
    else:
        excluded = _code_blocks(text)
        labels = line_labels(_blank(text, excluded))
        answers = []
        segments = math_segments(text, excluded)
    labels.sort(key=lambda lab: lab.offset)
    segments.sort(key=lambda s: s.start)
    # keep outermost segments only (an \alns inside $$…$$ is read once)
    outer: list[Segment] = []
    for s in segments:
        if outer and s.start < outer[-1].end:
            continue
        outer.append(s)
    if answers:
        outer = [s for s in outer if any(a <= s.start < b for a, b in answers)]
    candidates: dict[tuple[str, str], list[tuple[_Hit, State]]] = {}
    for seg in outer:
        for hit in _hits_in_segment(seg):
            st = state_at(labels, hit.offset)
            target = _target(st, hit.key)
            if target is not None:
                candidates.setdefault(target, []).append((hit, st))
    found = []
    for target, cands in candidates.items():
        shown = [c for c in cands if c[0].display]
        hit, st = (shown or cands)[-1]
        expression = hit.expression
        if hit.ran_to_end:
            expression = _continued(text, hit.segment_end, outer, expression)
        cell, line = src.locate(hit.offset)
        found.append(Found(target[0], target[1], expression, path, line, cell, _label_text(st), hit.display))
    order = {pf: i for i, pf in enumerate(MATH_FIELDS)}
    found.sort(key=lambda f: order[(f.part, f.field)])
    return Extraction(path, found)


def _continued(text: str, end: int, segments: list[Segment], expression: str) -> str:
    """``expression`` with the chain continued by a next segment that starts with ``=`` (``$A = B$ $= C$``)."""
    for seg in segments:
        if seg.start < end:
            continue
        if not re.fullmatch(r"[\s$]*(\\\[|\\\()?", text[end:seg.start]):
            return expression
        rest = seg.text.lstrip()
        return f"{expression} = {_tidy(rest[1:])}" if rest.startswith("=") and _tidy(rest[1:]) else expression
    return expression


def read_writeup(path: str | Path, max_bytes: int | None = None) -> Extraction:
    """The fields of one write-up file (``.md``, ``.markdown``, ``.tex``, ``.ipynb``).

    Raises `WriteupError` (one line) when the file cannot be read, is larger than ``max_bytes``
    (default `MAX_BYTES`),
    is not UTF-8, or (a notebook) is not JSON with a list of cells.
    """
    p = Path(path)
    try:
        text = read_text(p, "write-up", MAX_BYTES if max_bytes is None else max_bytes).removeprefix("\ufeff")
    except UserError as exc:  # not a regular file, too large, or not UTF-8 (with the line)
        raise WriteupError(str(exc)) from None
    suffix = p.suffix.lower()
    if suffix == ".ipynb":
        src = _notebook_source(text, p)
        return extract(src.text, "md", str(p), src.cells)
    return extract(text, "tex" if suffix == ".tex" else "md", str(p))


def is_writeup(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SUFFIXES


__all__ = ["Extraction", "Found", "Label", "MATH_FIELDS", "SUFFIXES", "WriteupError", "extract", "is_writeup", "read_writeup"]
