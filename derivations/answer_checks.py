"""Every field of an answer file decided by the proofs of its question part.

`check_answers` takes what `answer_file.read_answers` returns and gives one `FieldResult`
per field, by one loop over the declarations (`answer_fields.FIELDS`, each beside its
question's deciding function): the text is parsed (`answer_grammar`, never evaluated), given
a meaning in the field's space (`answer_value`), and passed to the field's decider, whose
name is recorded in ``decided_by``. A field that does not parse is ``unparseable`` with the
reason; a shape error while evaluating is a ``fails`` naming the shapes; the other fields are
decided all the same. A field that depends on others (the scale of (c) i for (c) ii, the
heads of (d) i for (d) ii) reads them from the same file, and only those it declares.
"""
from __future__ import annotations

from functools import lru_cache

from .answer_algebra import ShapeMismatch
from .answer_field import CHOICE, FLAG, MATH, PROSE, AnswerField
from .answer_fields import FIELDS, readers
from .answer_value import NO_VALUE, no_value, value, value_with_notes, with_notes
from .result import FAILS, NOT_CHECKABLE, UNPARSEABLE, Decision, FieldResult

# A Decision this module makes itself, for a field no question decides (prose, a flag or choice's own value).
HERE = "derivations.answer_checks._decide"


def _given(field: AnswerField, answers: dict) -> dict:
    """The answers ``field`` declares it reads ({part: {field: value}}), nothing else."""
    out: dict[str, dict] = {}
    for p, f in field.depends_on:
        if f in answers.get(p, {}):
            out.setdefault(p, {})[f] = answers[p][f]
    return out


def _read(field: AnswerField, text) -> tuple[Decision, str]:
    """The row of a field another decision reads (a flag, a choice): its value is checked, and said to be read there."""
    reader = readers(field.key)[0]
    if field.kind == FLAG:
        if isinstance(text, bool):
            return (Decision(NOT_CHECKABLE, f"{field.name} = {str(text).lower()}: read by the decision of {reader.name}"),
                    reader.decider_name)
        return Decision(UNPARSEABLE, f"{field.name} must be true or false, not {text!r}"), HERE
    if text in field.choices:
        return Decision(NOT_CHECKABLE, f"{field.name} = {text!r}: read by the decision of {reader.name}"), reader.decider_name
    return Decision(UNPARSEABLE, f"{field.name} must be one of {', '.join(map(repr, field.choices))}, not {text!r}"), HERE


@lru_cache(maxsize=4096)
def _decide(part: str, name: str, text, context) -> tuple[Decision, str]:
    """One field's decision and its deciding function; cached, since a class repeats answers."""
    field = FIELDS[(part, name)]
    if field.kind == PROSE:
        words = len(text.split()) if isinstance(text, str) else 0
        return Decision(NOT_CHECKABLE, f"prose ({words} words): kept, not checkable"), HERE
    if field.kind in (FLAG, CHOICE):
        return _read(field, text)
    by = field.decider_name
    try:
        found, free, notes = value_with_notes(text, field.space)
    except NO_VALUE as exc:
        return no_value(exc), by
    try:
        return with_notes(field.decide(found, free, context), notes), by
    except ShapeMismatch as exc:
        return Decision(FAILS, f"shape error: {exc}"), by
    except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, RecursionError) as exc:
        # SymPy could not settle this expression (an undecidable comparison, an unsupported limit):
        # no verdict is invented; the rest of the file is still decided.
        return Decision(NOT_CHECKABLE, f"could not be decided by computer algebra ({type(exc).__name__}: {exc})"), by


def decide_field(part: str, field: str, text, answers: dict | None = None) -> FieldResult:
    """Decide one field of an answer file (``answers`` gives the other parts it may depend on)."""
    answers = answers or {}
    decl = FIELDS[(part, field)]
    if decl.together:
        return FieldResult(part, field, str(text), decl.decide_part(field, text, answers.get(part, {})), decl.decider_name)
    if not isinstance(text, (str, bool)) or (isinstance(text, bool) and decl.kind != FLAG):
        expected = "true or false" if decl.kind == FLAG else "a string holding mathematics" if decl.kind != PROSE else "a string"
        return FieldResult(part, field, repr(text), Decision(UNPARSEABLE, f"expected {expected}, got {type(text).__name__} {text!r}"),
                           "derivations.answer_checks.decide_field")
    context = decl.context(_given(decl, answers)) if decl.context else None
    decision, by = _decide(part, field, text, context)
    return FieldResult(part, field, text if isinstance(text, str) else str(text).lower(), decision, by)


def check_answers(answers: dict) -> list[FieldResult]:
    """One `FieldResult` per field of the file, in the order of ANSWER-FILE.md's table."""
    return [decide_field(part, field, value, answers) for part, fields in answers.items() for field, value in fields.items()]


def plain(part: str, field: str, text) -> str:
    """The given answer in plain notation (A Aᵀ, 10·μ_a + 10·μ_b) for prose that must carry no LaTeX;
    the text itself when it does not evaluate (or is not mathematics)."""
    decl = FIELDS[(part, field)]
    if decl.kind != MATH or not isinstance(text, str):
        return str(text)
    try:
        found, _ = value(text, decl.space)
        return found.text()
    except NO_VALUE:
        return text
