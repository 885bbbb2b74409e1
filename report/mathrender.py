"""SymPy expressions as LaTeX (for REPORT.md) and as PNG images (for index.html).

The HTML must open from disk with no network and show no raw LaTeX, so every
formula is typeset at build time with matplotlib's mathtext (which understands a
subset of LaTeX) into a PNG that the page embeds as a data URI. REPORT.md keeps the
LaTeX itself, between ``$$`` (GitHub renders it).

Symbols named by a LaTeX snippet print as they stand (``derivations.latex``).

A user's answer text (`typeset_answer`) is typeset only within the checker's cap,
``derivations.answer_grammar.MAX_LENGTH`` characters: a longer field is no formula anyone
typed, and mathtext's time grows with it (a 1 MB field took over a minute), so the caller
shows it as plain escaped text.
"""
from __future__ import annotations

import logging

import base64
import io
from dataclasses import dataclass

import sympy as sp
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser
from sympy.logic.boolalg import BooleanAtom

from derivations.answer_grammar import MAX_LENGTH
from derivations.latex import NamedLatexPrinter

from .pngs import strip_metadata

FONT_SIZE = 14
DPI = 200  # the image is shown at half its pixel size: sharp on high-density screens


# Symbols named by a LaTeX snippet print verbatim (the proofs' own printer).
ReportLatexPrinter = NamedLatexPrinter


class MathtextPrinter(ReportLatexPrinter):
    """LaTeX within mathtext's subset: matrices as bracketed lists (mathtext has no arrays)."""

    def _print_MatrixBase(self, expr):
        rows = [r",\ ".join(self._print(x) for x in expr.row(i)) for i in range(expr.rows)]
        return r"\left[" + r";\ ".join(rows) + r"\right]"

    _print_ImmutableMatrix = _print_ImmutableDenseMatrix = _print_Matrix = _print_MatrixBase


# LaTeX that mathtext lacks, and what it understands instead.
_MATHTEXT_SUBSTITUTIONS = (
    (r"\limits", ""),
    (r"\tfrac", r"\frac"),
    (r"\frac", r"\dfrac"),  # display-size fractions: mathtext's inline ones are tiny
    (r"\text{", r"\mathrm{"),
)


def to_latex(expr: sp.Basic) -> str:
    """Full LaTeX of ``expr``, for Markdown (MathJax/KaTeX)."""
    return ReportLatexPrinter().doprint(expr)


def to_mathtext(expr: sp.Basic) -> str:
    """LaTeX of ``expr`` restricted to what matplotlib's mathtext parses."""
    text = MathtextPrinter().doprint(expr)
    for old, new in _MATHTEXT_SUBSTITUTIONS:
        text = text.replace(old, new)
    return text


def is_typesettable(expr) -> bool:
    """A formula worth showing: not a bare True/False (an equation SymPy evaluated away)."""
    return isinstance(expr, (sp.Basic, sp.MatrixBase)) and not isinstance(expr, BooleanAtom)


@dataclass(frozen=True)
class RenderedFormula:
    name: str
    latex: str          # for REPORT.md
    png: bytes | None   # for index.html; None when mathtext could not parse it
    width: int          # CSS pixels (half the PNG's)
    height: int
    error: str = ""     # why png is None

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _render_png(mathtext: str) -> tuple[bytes, int, int]:
    with rc_context({"mathtext.fontset": "cm", "font.size": FONT_SIZE}):
        prop = FontProperties(size=FONT_SIZE)
        width, height, depth, _, _ = MathTextParser("path").parse(f"${mathtext}$", dpi=72, prop=prop)
        pad = 2.0
        fig = Figure(figsize=((width + 2 * pad) / 72, (height + 2 * pad) / 72))
        FigureCanvasAgg(fig)
        fig.text(pad / (width + 2 * pad), (depth + pad) / (height + 2 * pad), f"${mathtext}$",
                 fontproperties=prop, color="#111111")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, transparent=True, metadata={"Software": None})
    png = strip_metadata(buf.getvalue())
    w = round((width + 2 * pad) * DPI / 72 / 2)
    h = round((height + 2 * pad) * DPI / 72 / 2)
    return png, w, h


def render(name: str, expr: sp.Basic) -> RenderedFormula:
    """Typeset one formula; a parse failure is kept (``error``) for the report to show."""
    latex = to_latex(expr)
    try:
        png, w, h = _render_png(to_mathtext(expr))
    except ValueError as exc:  # mathtext's parse errors are ValueErrors
        return RenderedFormula(name, latex, None, 0, 0, error=str(exc).splitlines()[0])
    return RenderedFormula(name, latex, png, w, h)


def answer_fits(text: str) -> bool:
    """Whether a user's answer text is within the checker's cap (MAX_LENGTH characters), so typeset."""
    return len(text) <= MAX_LENGTH


def typeset_answer(text: str) -> tuple[str, int, int] | None:
    """(png data URI, width, height) of a user's answer text (LaTeX or plain), or None when it
    is longer than the checker's MAX_LENGTH characters or mathtext cannot read it: the caller
    shows it as escaped text then."""
    from derivations.answer_grammar import clean

    if not answer_fits(text):
        return None
    body = clean(text)
    for old, new in _MATHTEXT_SUBSTITUTIONS:
        body = body.replace(old, new)
    # mathtext logs a missing glyph with the character itself: student text, which must not reach the terminal raw.
    log = logging.getLogger("matplotlib.mathtext")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        png, w, h = _render_png(body)
    except Exception:  # noqa: BLE001 - mathtext's parse errors (ValueError) or layout failures
        return None
    finally:
        log.setLevel(level)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii"), w, h
