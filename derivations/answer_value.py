"""An answer's text given its value in a part's space, or the verdict of a text that has none.

`value_with_notes` parses a text (`answer_grammar`, never evaluated) and evaluates it in a
space (`answer_spaces`): (value, free scalars, readings taken). A text with no value there
raises one of `NO_VALUE`, and `no_value` gives its decision: ``unparseable`` (with the
reason), ``not-checkable`` (a step the question's relations do not reduce) or ``fails``
(vectors this part cannot use, incompatible shapes). Shared by `answer_checks` and the
question modules that read another field (the scale of (c) i, the heads of (d) i).
"""
from __future__ import annotations

import dataclasses

from . import answer_spaces
from .answer_algebra import AnswerMeaningError, ForeignVectors, NotReducible, ShapeMismatch, evaluate_with_notes
from .answer_grammar import AnswerSyntaxError
from .result import FAILS, NOT_CHECKABLE, UNPARSEABLE, Decision


class Unparseable(Exception):
    """An answer that does not parse, or has no meaning in the format: `unparseable`, with the reason."""


class WrongObjects(Exception):
    """A well-formed answer built from vectors this part cannot use: `fails`, with the reason."""


class Undecided(Exception):
    """A well-formed answer with a step the question's relations do not reduce: `not-checkable`."""


# What `value` raises for a text that has no value in its part's space, and the verdict of each.
NO_VALUE = (Unparseable, Undecided, WrongObjects, ShapeMismatch)


def no_value(exc: Exception) -> Decision:
    """The decision for an answer whose text has no value here (one of `NO_VALUE`)."""
    if isinstance(exc, Unparseable):
        return Decision(UNPARSEABLE, str(exc))
    if isinstance(exc, Undecided):
        return Decision(NOT_CHECKABLE, str(exc))
    if isinstance(exc, WrongObjects):
        return Decision(FAILS, str(exc))
    return Decision(FAILS, f"the expression adds or multiplies objects of incompatible shapes: {exc}")


def value(text, space):
    """(value, free scalars) of an answer text in ``space`` (raises one of `NO_VALUE`)."""
    found, free, _ = value_with_notes(text, space)
    return found, free


def value_with_notes(text, space):
    """`value` and the readings taken of names outside the format (`answer_algebra.readings`)."""
    if not isinstance(text, str):
        raise Unparseable(f"expected a string holding mathematics, got {type(text).__name__} {text!r}")
    try:
        return evaluate_with_notes(text, space, answer_spaces.ALL_OBJECT_NAMES)
    except AnswerSyntaxError as exc:
        raise Unparseable(f"does not parse: {exc}") from None
    except NotReducible as exc:
        raise Undecided(str(exc)) from None
    except ForeignVectors as exc:
        raise WrongObjects(str(exc)) from None
    except AnswerMeaningError as exc:
        raise Unparseable(str(exc)) from None


def with_notes(decision: Decision, notes: list) -> Decision:
    """The decision with the readings it rests on said first in its evidence."""
    if not notes:
        return decision
    return dataclasses.replace(decision, evidence="; ".join(notes) + "; " + decision.evidence)
