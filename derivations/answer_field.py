"""One field of an answer file declared once, beside the question module that decides it.

Each question module lists its fields in ``FIELDS`` (`AnswerField`): the part and field name
of ANSWER-FILE.md, its kind, the space its text is read in, the function that decides it and
how it is called, the other fields its decision reads, and the claim of CLAIMS.md it states.
`answer_fields` collects them; `answer_file`, `answer_checks`, `answer_grading` and `claims`
read only that collection. A declaration that is incomplete is refused here, at import.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

MATH, PROSE, FLAG, CHOICE = "math", "prose", "flag", "choice"
KINDS = (MATH, PROSE, FLAG, CHOICE)  # prose is kept; a flag or a choice is read by the field that depends on it


@dataclass(frozen=True)
class AnswerField:
    """A field of the answer file and how it is decided.

    ``kind``: `MATH` (parsed in ``space``, an `answer_algebra.Space`, and decided by
    ``decide(value, free, context)``, which returns a `result.Decision`), `PROSE` (kept, not
    checkable), `FLAG` (true or false) or `CHOICE` (one of ``choices``), the last two read by
    the field that lists them in its ``depends_on``. ``decided_by`` is the question's function
    named in a row's ``decided_by`` (``decide`` may be a lambda around it). ``depends_on``
    names the (part, field) pairs the decision reads, and ``context(given)`` turns those
    (given as {part: {field: value}}, nothing else) into the hashable ``context`` argument.
    ``together`` = True: the fields of the part are judged as one (the heads of (d) i), by
    ``decide_part(field, text, part_answers)``. ``claim``: the CLAIMS.md id this field states.
    Raises `ValueError` for a declaration that lacks what its kind needs.
    """

    part: str
    name: str
    kind: str = MATH
    space: object = None
    decide: Callable | None = None
    decided_by: Callable | None = None
    depends_on: tuple[tuple[str, str], ...] = ()
    context: Callable[[dict], Hashable] | None = None
    choices: tuple = ()
    together: bool = False
    decide_part: Callable | None = None
    claim: str | None = None

    def __post_init__(self):
        where = f"[{self.part}] {self.name}"
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == MATH:
            if self.space is None:
                raise ValueError(f"{where}: a math field needs the space its text is read in")
            if self.decided_by is None or (self.decide is None and not self.together) or \
                    (self.together and self.decide_part is None):
                raise ValueError(f"{where}: a math field needs its decider (decide or decide_part, and decided_by)")
        if self.kind == CHOICE and not self.choices:
            raise ValueError(f"{where}: a choice needs its choices")
        if self.depends_on and self.context is None and not self.together:
            raise ValueError(f"{where}: depends on {self.depends_on} but says nothing of how it reads them (context)")

    @property
    def key(self) -> tuple[str, str]:
        return self.part, self.name

    @property
    def decider_name(self) -> str:
        """The deciding function as a row names it: ``derivations.q1b_average.decide_query``."""
        fn = self.decided_by
        return f"{fn.__module__}.{fn.__qualname__}"
