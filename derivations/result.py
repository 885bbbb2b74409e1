"""The result object every proof returns, and the verdict vocabulary of CLAIMS.md."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from .greek import GREEK_LETTER
from .latex import latex

_LETTERS = {**GREEK_LETTER, "ell": "ℓ"}  # evidence prints a symbol's Greek name, and ℓ, as the letter

HOLDS = "holds"
HOLDS_WITH_CONDITIONS = "holds-with-conditions"
FAILS = "fails"
NOT_CHECKABLE = "not-checkable"
PENDING = "pending"
UNPARSEABLE = "unparseable"
VERDICTS = (HOLDS, HOLDS_WITH_CONDITIONS, FAILS, NOT_CHECKABLE, PENDING, UNPARSEABLE)
# The order in which several verdicts combine into one (a claim decided by two fields): the worst wins.
SEVERITY = {HOLDS: 0, NOT_CHECKABLE: 0, HOLDS_WITH_CONDITIONS: 1, PENDING: 2, FAILS: 3, UNPARSEABLE: 4}


class _EvidencePrinter(StrPrinter):
    """SymPy's str printer with Euler's number written e, as a reader expects in evidence text."""

    def _print_Exp1(self, expr):
        return "e"

    def _print_exp(self, expr):
        return f"e^({self._print(expr.args[0])})"

    def _print_Symbol(self, expr):
        base, sep, sub = expr.name.partition("_")
        return _LETTERS.get(base, base) + sep + sub


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


@dataclass(frozen=True)
class Decision:
    """One answer field decided: the verdict, the condition (if any), the evidence computed from
    the given expression, and a numeric counterexample when it fails."""

    verdict: str
    evidence: str
    condition: str = ""
    counterexample: str = ""
    formulas: dict[str, sp.Basic] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


@dataclass(frozen=True)
class FieldResult:
    """A decision about one field of one answer file, with where it came from."""

    part: str
    field: str
    given: str
    decision: Decision
    decided_by: str

    @property
    def verdict(self) -> str:
        return self.decision.verdict

    def to_json(self) -> dict[str, Any]:
        d = self.decision
        return {"part": self.part, "field": self.field, "given": self.given, "verdict": d.verdict,
                "condition": d.condition, "evidence": d.evidence, "counterexample": d.counterexample,
                "decided_by": self.decided_by}


def worst(verdicts) -> str:
    """The verdict of several decisions together: the most severe one (SEVERITY)."""
    verdicts = list(verdicts)
    return max(verdicts, key=lambda v: SEVERITY[v]) if verdicts else NOT_CHECKABLE
