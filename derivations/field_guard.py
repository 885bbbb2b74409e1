"""One field decided without anything escaping: the boundary around `answer_checks.decide_field`.

`decide_guarded` first checks the answer's size (`answer_size.check_size`, on the parse tree,
before any algebra), then calls the field's decision; whatever SymPy, mpmath, Lark or the
checkers' own code raise (an overflow, a recursion too deep, an integer too long to print,
memory) becomes that field's verdict, ``not-checkable``, with one line naming the failure.
`budget_row` is that row for a field stopped from outside (`answer_grading`: over its time).
The rows are `FieldResult.to_json` dicts, the same as for a field decided normally. (Its
field kinds come from the question modules' declarations, `answer_fields`, so importing it
imports SymPy: about a second, in the parent, while the workers start.)
"""
from __future__ import annotations

from .answer_file import PARTS

GUARD = "derivations.field_guard.decide_guarded"
NOT_MATH = ("prose", "flag", "choice")


def given_text(value) -> str:
    """The ``given`` of a row, as `answer_checks.decide_field` writes it."""
    return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else repr(value)


def budget_row(part: str, field: str, value, evidence: str) -> dict:
    """The row of a field decided by the budget, not by its checker: ``not-checkable`` with ``evidence``."""
    from .result import NOT_CHECKABLE, Decision, FieldResult

    return FieldResult(part, field, given_text(value), Decision(NOT_CHECKABLE, evidence), GUARD).to_json()


def failure(exc: BaseException) -> str:
    """One line naming a failure: ``could not be decided (OverflowError: too many digits in integer)``."""
    if isinstance(exc, RecursionError):
        return "could not be decided: the expression is nested too deeply for the checker (RecursionError)"
    if isinstance(exc, MemoryError):
        return "could not be decided: it needs more memory than a field is given (MemoryError)"
    lines = str(exc).strip().splitlines()
    message = lines[0][:200] if lines else ""
    return f"could not be decided ({type(exc).__name__}{': ' + message if message else ''})"


def decide_guarded(part: str, field: str, value, answers: dict) -> dict:
    """The row of one field (``answers`` holds the parts it may depend on); never raises an `Exception`."""
    from .answer_checks import decide_field
    from .answer_size import TooLarge, check_size

    try:
        if isinstance(value, str) and PARTS[part][field] not in NOT_MATH:
            check_size(value)
        return decide_field(part, field, value, answers).to_json()
    except TooLarge as exc:
        return budget_row(part, field, value, f"too large: {exc}")
    except Exception as exc:  # noqa: BLE001 - the boundary: every failure (RecursionError, MemoryError too) is a verdict
        return budget_row(part, field, value, failure(exc))

