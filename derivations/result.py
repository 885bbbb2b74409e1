"""The result object every proof returns, and the verdict vocabulary of CLAIMS.md."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from .latex import latex

HOLDS = "holds"
HOLDS_WITH_CONDITIONS = "holds-with-conditions"
FAILS = "fails"
NOT_CHECKABLE = "not-checkable"
PENDING = "pending"
VERDICTS = (HOLDS, HOLDS_WITH_CONDITIONS, FAILS, NOT_CHECKABLE, PENDING)


class _EvidencePrinter(StrPrinter):
    """SymPy's str printer with Euler's number written e, as a reader expects in evidence text."""

    def _print_Exp1(self, expr):
        return "e"

    def _print_exp(self, expr):
        return f"e^({self._print(expr.args[0])})"


def show(expr) -> str:
    """An exact value for an evidence line: e/(e + 9), e^(10)/(1 + e^(10))."""
    return _EvidencePrinter().doprint(sp.simplify(sp.sympify(expr)))


class ProofError(AssertionError):
    """A derivation of the correct answer did not go through: no verdict can be given."""


def require(check: "Check") -> "Check":
    if not check.ok:
        raise ProofError(check.evidence)
    return check


@dataclass(frozen=True)
class Check:
    """The outcome of one mechanical check: did the property hold, and why (or why not)."""

    ok: bool
    evidence: str

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class ProofResult:
    """One claim of the answer sheet, decided.

    ``answer`` is the correct answer in words and ``formulas`` the SymPy expressions
    that state it (rendered by the report); ``decided_by`` names the function that
    produced this result, so a reader can go from a claim id to its proof in one step.
    """

    claim_id: str
    statement: str
    verdict: str
    evidence: str
    decided_by: str
    answer: str = ""
    formulas: dict[str, sp.Basic] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r} for {self.claim_id}")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.claim_id,
            "statement": self.statement,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "decided_by": self.decided_by,
            "answer": self.answer,
            "formulas": {name: latex(expr) for name, expr in self.formulas.items()},
            "details": self.details,
        }
