"""Every field of the answer file, collected from the question modules that declare them.

Each question module declares its own fields (``FIELDS``, `answer_field.AnswerField`) beside
the functions that decide them; this module only collects them, in the order of
ANSWER-FILE.md's table, and derives what the rest of the package reads: `PARTS` (part ->
field -> kind, the file's format), `DEPENDS_ON` (what each decision reads from the same file)
and `CLAIM_FIELDS` (the fields that state each claim of CLAIMS.md). Raises `ValueError` at
import for a field declared twice or a dependency on a field nobody declares.
"""
from __future__ import annotations

from . import q1a_copying, q1b_average, q1b_projection, q1c_single_head, q1d_multi_head, q2g_complexity, q2q3_measured_and_prose
from .answer_field import AnswerField

QUESTION_MODULES = (q1a_copying, q1b_projection, q1b_average, q1c_single_head, q1d_multi_head, q2g_complexity,
                    q2q3_measured_and_prose)


def collect(modules=QUESTION_MODULES) -> dict[tuple[str, str], AnswerField]:
    """(part, field) -> declaration, in the modules' order; raises `ValueError` for a field declared
    twice or a ``depends_on`` naming a field no module declares."""
    fields: dict[tuple[str, str], AnswerField] = {}
    for module in modules:
        for f in module.FIELDS:
            if f.key in fields:
                raise ValueError(f"[{f.part}] {f.name} is declared twice ({module.__name__} and another module)")
            fields[f.key] = f
    for f in fields.values():
        unknown = [d for d in f.depends_on if d not in fields]
        if unknown:
            raise ValueError(f"[{f.part}] {f.name} depends on {unknown}, which no question module declares")
    return fields


FIELDS = collect()
PARTS: dict[str, dict[str, str]] = {}
for _f in FIELDS.values():
    PARTS.setdefault(_f.part, {})[_f.name] = _f.kind
DEPENDS_ON: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {k: f.depends_on for k, f in FIELDS.items() if f.depends_on}
CLAIM_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {}
for _f in FIELDS.values():
    if _f.claim:
        CLAIM_FIELDS[_f.claim] = CLAIM_FIELDS.get(_f.claim, ()) + (_f.key,)
del _f


def readers(key: tuple[str, str]) -> list[AnswerField]:
    """The fields whose decision reads ``key`` (a flag or a choice is read by these)."""
    return [f for f in FIELDS.values() if key in f.depends_on and f.key != key]
