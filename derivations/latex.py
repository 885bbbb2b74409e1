"""LaTeX for the proofs' formulas.

Some formulas name a quantity by a LaTeX snippet (``Symbol(r"\\operatorname{Var}[t]")``);
SymPy's printer would split such a name at its underscores, so this printer prints a
name that already contains LaTeX as it stands.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from .greek import GREEK

_LEADING_GREEK = re.compile(r"^(%s)(?=[_^{]|$)" % "|".join(GREEK))
_LATEX_IN_NAME = re.compile(r"[\\ ()\[\],|{}]")


class NamedLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer, except that a symbol named by a LaTeX snippet prints verbatim."""

    def _print_Symbol(self, expr, style="plain"):
        name = expr.name
        if _LATEX_IN_NAME.search(name):
            return _LEADING_GREEK.sub(r"\\\1", name)
        return super()._print_Symbol(expr, style)


def latex(expr: sp.Basic) -> str:
    return NamedLatexPrinter().doprint(expr)
