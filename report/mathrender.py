"""SymPy expressions as LaTeX (for REPORT.md) and as PNG images (for index.html).

The HTML must open from disk with no network and show no raw LaTeX, so every
formula is typeset at build time with matplotlib's mathtext (which understands a
subset of LaTeX) into a PNG that the page embeds as a data URI. REPORT.md keeps the
LaTeX itself, between ``$$`` (GitHub renders it).

Symbols named by a LaTeX snippet print as they stand (``derivations.latex``).

The renderer itself, and the typesetting of a user's answer text within the checker's cap
(`typeset_answer`: a 1 MB field took over a minute), are `derivations.typeset`'s, shared with
the class summary of `derivations check --summary`.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import sympy as sp
from sympy.logic.boolalg import BooleanAtom

from derivations.latex import NamedLatexPrinter
from derivations.typeset import MATHTEXT_SUBSTITUTIONS, answer_fits, render_png, typeset_answer  # noqa: F401 - re-exported


# Symbols named by a LaTeX snippet print verbatim (the proofs' own printer).
ReportLatexPrinter = NamedLatexPrinter


class MathtextPrinter(ReportLatexPrinter):
    """LaTeX within mathtext's subset: matrices as bracketed lists (mathtext has no arrays)."""

    def _print_MatrixBase(self, expr):
        rows = [r",\ ".join(self._print(x) for x in expr.row(i)) for i in range(expr.rows)]
        return r"\left[" + r";\ ".join(rows) + r"\right]"

    _print_ImmutableMatrix = _print_ImmutableDenseMatrix = _print_Matrix = _print_MatrixBase


def to_latex(expr: sp.Basic) -> str:
    """Full LaTeX of ``expr``, for Markdown (MathJax/KaTeX)."""
    return ReportLatexPrinter().doprint(expr)


def to_mathtext(expr: sp.Basic) -> str:
    """LaTeX of ``expr`` restricted to what matplotlib's mathtext parses."""
    text = MathtextPrinter().doprint(expr)
    for old, new in MATHTEXT_SUBSTITUTIONS:
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


def render(name: str, expr: sp.Basic) -> RenderedFormula:
    """Typeset one formula; a parse failure is kept (``error``) for the report to show."""
    latex = to_latex(expr)
    try:
        png, w, h = render_png(to_mathtext(expr))
    except ValueError as exc:  # mathtext's parse errors are ValueErrors
        return RenderedFormula(name, latex, None, 0, 0, error=str(exc).splitlines()[0])
    return RenderedFormula(name, latex, png, w, h)
