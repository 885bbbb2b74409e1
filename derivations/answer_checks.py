"""Every field of an answer file decided by the proofs of its question part.

`check_answers` takes what `answer_file.read_answers` returns and gives one `FieldResult`
per field: the text is parsed (`answer_grammar`, never evaluated), given a meaning in the
part's space (`answer_spaces`), and passed to the deciding function of the question's
module, whose name is recorded in ``decided_by``. A field that does not parse is
``unparseable`` with the reason; a shape error while evaluating is a ``fails`` naming the
shapes; the other fields are decided all the same. Fields that depend on another part
(the scale of (c) i for (c) ii, the heads of (d) i for (d) ii) read it from the same file.
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache

import sympy as sp

from . import answer_spaces, q1b_average, q1b_projection, q1c_single_head, q1d_multi_head, q2g_complexity
from .answer_algebra import AnswerMeaningError, ForeignVectors, NotReducible, ShapeMismatch, evaluate_with_notes
from .answer_scale import find_head_scales, find_scale
from .answer_file import COUNTS, DEPENDS_ON, PARTS
from .answer_grammar import AnswerSyntaxError
from .result import FAILS, NOT_CHECKABLE, UNPARSEABLE, Decision, FieldResult
from .symbols import beta

# The scalars of (c) ii may be written with the means (E[η] = μ_aᵀμ_a): they live in the means' space.
SPACE = {"matrix": answer_spaces.MATRIX, "query_keys": answer_spaces.KEYS, "query_means": answer_spaces.MEANS,
         "heads": answer_spaces.MEANS, "cov_single": answer_spaces.VALUES, "cov_two_heads": answer_spaces.VALUES,
         "eta_mean": answer_spaces.MEANS, "eta_var": answer_spaces.MEANS, "weight_a": answer_spaces.MEANS,
         "weight_b": answer_spaces.MEANS, "threshold": answer_spaces.MEANS}
KEYS = ("k_a", "k_b", "k_i")


def _name(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


class Unparseable(Exception):
    pass


class WrongObjects(Exception):
    """A well-formed answer built from vectors this part cannot use: `fails`, with the reason."""


class Undecided(Exception):
    """A well-formed answer with a step the question's relations do not reduce: `not-checkable`."""


# What `_value` raises for a text that has no value in its part's space, and the verdict of each.
NO_VALUE = (Unparseable, Undecided, WrongObjects, ShapeMismatch)


def _no_value(exc: Exception) -> Decision:
    """The decision for an answer whose text has no value here (one of `NO_VALUE`)."""
    if isinstance(exc, Unparseable):
        return Decision(UNPARSEABLE, str(exc))
    if isinstance(exc, Undecided):
        return Decision(NOT_CHECKABLE, str(exc))
    if isinstance(exc, WrongObjects):
        return Decision(FAILS, str(exc))
    return Decision(FAILS, f"the expression adds or multiplies objects of incompatible shapes: {exc}")


def _value(text, kind: str):
    """(value, free scalars) of an answer text in its part's space (raises `Unparseable`, `ShapeMismatch`)."""
    value, free, _ = _value_with_notes(text, kind)
    return value, free


def _value_with_notes(text, kind: str):
    """`_value` and the readings taken of names outside the format (`answer_algebra.readings`)."""
    if not isinstance(text, str):
        raise Unparseable(f"expected a string holding mathematics, got {type(text).__name__} {text!r}")
    try:
        return evaluate_with_notes(text, SPACE.get(kind, answer_spaces.SCALARS), answer_spaces.ALL_OBJECT_NAMES)
    except AnswerSyntaxError as exc:
        raise Unparseable(f"does not parse: {exc}") from None
    except NotReducible as exc:
        raise Undecided(str(exc)) from None
    except ForeignVectors as exc:
        raise WrongObjects(str(exc)) from None
    except AnswerMeaningError as exc:
        raise Unparseable(str(exc)) from None


def _scale_of_query(text) -> sp.Expr | None:
    """The scale of a (c) i answer, for (c) ii: its growing letter (β, λ, t; β for α^{-1/4}), or the number on μ_a."""
    try:
        q, free = _value(text, "query_means")
        logits = q1b_average.logits_of(q, answer_spaces.MEANS, ("mu_a", "mu_b", "mu_i"))
    except NO_VALUE:
        return None
    scale = find_scale(logits, free, noise_is_scale=True)
    if scale.grows:  # the letter itself (t, λ): a weight written with it is at that scale
        return beta if scale.noise else scale.symbols[0]
    return logits[0] if logits[0].is_number and logits[0] > 0 else None


def _heads_of(answers: dict):
    """The (d) i heads as logits in β, when both parse as d-vectors; else None (the question's heads)."""
    part = answers.get("q1d_i", {})
    if "q1" not in part or "q2" not in part:
        return None
    try:
        (q1, f1), (q2, f2) = _value(part["q1"], "heads"), _value(part["q2"], "heads")
        if q1.shape != ("d", "1") or q2.shape != ("d", "1"):
            return None
        logits = [q1b_average.logits_of(q, answer_spaces.MEANS, ("mu_a", "mu_b", "mu_i")) for q in (q1, q2)]
    except NO_VALUE:
        return None
    heads, _ = find_head_scales(logits, f1 + [s for s in f2 if s not in f1])
    return tuple(tuple(h) for h in heads)


@lru_cache(maxsize=4096)
def _decide(kind: str, field: str, text, extra) -> tuple[Decision, str]:
    """One field's decision and its deciding function; cached, since a class repeats answers."""
    if kind == "prose":
        words = len(text.split()) if isinstance(text, str) else 0
        return Decision(NOT_CHECKABLE, f"prose ({words} words): kept, not checkable"), "derivations.answer_checks._decide"
    if kind == "flag":
        if isinstance(text, bool):
            return (Decision(NOT_CHECKABLE, f"ignore_negative = {str(text).lower()}: read by the decision of cov_c"),
                    _name(q1d_multi_head.decide_two_head_covariance))
        return Decision(UNPARSEABLE, f"ignore_negative must be true or false, not {text!r}"), "derivations.answer_checks._decide"
    if kind == "choice":
        if text in COUNTS:
            return (Decision(NOT_CHECKABLE, f"counts = {text!r}: read by the decision of ratio"), _name(q2g_complexity.decide_ratio))
        return Decision(UNPARSEABLE, f"counts must be one of {', '.join(map(repr, COUNTS))}, not {text!r}"), "derivations.answer_checks._decide"
    deciders = {
        "matrix": (q1b_projection.decide_matrix, lambda v, f: q1b_projection.decide_matrix(v, f)),
        "query_keys": (q1b_average.decide_query, lambda v, f: q1b_average.decide_query(v, f, answer_spaces.KEYS, KEYS)),
        "query_means": (q1b_average.decide_query, lambda v, f: q1b_average.decide_query(
            v, f, answer_spaces.MEANS, ("mu_a", "mu_b", "mu_i"), "as α → 0 the logits (k_aᵀq, k_bᵀq, k_iᵀq) →",
            noise_is_scale=True)),
        "eta_mean": (q1c_single_head.decide_eta_moment, lambda v, f: q1c_single_head.decide_eta_moment(v, f, "mean")),
        "eta_var": (q1c_single_head.decide_eta_moment, lambda v, f: q1c_single_head.decide_eta_moment(v, f, "var")),
        "weight_a": (q1c_single_head.decide_weight, lambda v, f: q1c_single_head.decide_weight(v, f, "a", extra)),
        "weight_b": (q1c_single_head.decide_weight, lambda v, f: q1c_single_head.decide_weight(v, f, "b", extra)),
        "threshold": (q1c_single_head.decide_threshold, lambda v, f: q1c_single_head.decide_threshold(v, f, extra)),
        "cov_single": (q1c_single_head.decide_covariance, lambda v, f: q1c_single_head.decide_covariance(v, f, extra)),
        "cov_two_heads": (q1d_multi_head.decide_two_head_covariance, lambda v, f: q1d_multi_head.decide_two_head_covariance(
            v, f, heads=None if extra is None else [tuple(h) for h in extra[0]], ignore_negative=bool(extra and extra[1]))),
        "ratio": (q2g_complexity.decide_ratio, lambda v, f: q2g_complexity.decide_ratio(v, f, extra or "attention")),
    }
    fn, call = deciders[kind]
    try:
        value, free, notes = _value_with_notes(text, kind)
    except NO_VALUE as exc:
        return _no_value(exc), _name(fn)
    try:
        return _with_notes(call(value, free), notes), _name(fn)
    except ShapeMismatch as exc:
        return Decision(FAILS, f"shape error: {exc}"), _name(fn)
    except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, RecursionError) as exc:
        # SymPy could not settle this expression (an undecidable comparison, an unsupported limit):
        # no verdict is invented; the rest of the file is still decided.
        return Decision(NOT_CHECKABLE, f"could not be decided by computer algebra ({type(exc).__name__}: {exc})"), _name(fn)


def _with_notes(decision: Decision, notes: list) -> Decision:
    """The decision with the readings it rests on said first in its evidence."""
    if not notes:
        return decision
    return dataclasses.replace(decision, evidence="; ".join(notes) + "; " + decision.evidence)


def decide_field(part: str, field: str, text, answers: dict | None = None) -> FieldResult:
    """Decide one field of an answer file (``answers`` gives the other parts it may depend on)."""
    answers = answers or {}
    kind = PARTS[part][field]
    extra = None
    if ("q1c_i", "q") in DEPENDS_ON.get((part, field), ()) and "q" in answers.get("q1c_i", {}):
        extra = _scale_of_query(answers["q1c_i"]["q"])
    elif kind == "cov_two_heads":
        heads = _heads_of(answers)
        ignore = answers.get("q1d_ii", {}).get("ignore_negative", False)
        extra = (heads, ignore is True) if heads is not None or ignore is True else None
        if extra is not None and extra[0] is None:
            extra = ((( beta, sp.Integer(0), sp.Integer(0)), (sp.Integer(0), beta, sp.Integer(0))), extra[1])
    elif kind == "ratio":
        counts = answers.get("q2g_ii", {}).get("counts", "attention")
        extra = counts if counts in COUNTS else "attention"
    if kind == "heads":
        return _decide_heads(part, field, text, answers)
    if not isinstance(text, (str, bool)) or (isinstance(text, bool) and kind != "flag"):
        expected = "true or false" if kind == "flag" else "a string holding mathematics" if kind != "prose" else "a string"
        return FieldResult(part, field, repr(text), Decision(UNPARSEABLE, f"expected {expected}, got {type(text).__name__} {text!r}"),
                           "derivations.answer_checks.decide_field")
    decision, by = _decide(kind, field, text, extra)
    return FieldResult(part, field, text if isinstance(text, str) else str(text).lower(), decision, by)


@lru_cache(maxsize=1024)
def _heads_decision(t1, t2) -> Decision:
    try:
        (q1, f1, n1), (q2, f2, n2) = _value_with_notes(t1, "heads"), _value_with_notes(t2, "heads")
    except NO_VALUE as exc:
        return _no_value(exc)
    return _with_notes(q1d_multi_head.decide_heads(q1, q2, f1 + [s for s in f2 if s not in f1]), list(dict.fromkeys(n1 + n2)))


def _decide_heads(part: str, field: str, text, answers: dict) -> FieldResult:
    """q1 and q2 are judged together; each field reports the pair's decision (q2 alone: unparseable)."""
    heads = answers.get(part, {})
    by = _name(q1d_multi_head.decide_heads)
    if "q1" not in heads or "q2" not in heads:
        other = "q2" if field == "q1" else "q1"
        return FieldResult(part, field, str(text), Decision(FAILS, f"(d) i needs both queries; {other} is missing"), by)
    if not all(isinstance(heads[k], str) for k in ("q1", "q2")):
        return FieldResult(part, field, str(text), Decision(UNPARSEABLE, "q1 and q2 must be strings holding mathematics"), by)
    return FieldResult(part, field, text, _heads_decision(heads["q1"], heads["q2"]), by)


def check_answers(answers: dict) -> list[FieldResult]:
    """One `FieldResult` per field of the file, in the order of ANSWER-FILE.md's table."""
    return [decide_field(part, field, value, answers) for part, fields in answers.items() for field, value in fields.items()]


def plain(part: str, field: str, text) -> str:
    """The given answer in plain notation (A Aᵀ, 10·μ_a + 10·μ_b) for prose that must carry no LaTeX;
    the text itself when it does not evaluate (or is not mathematics)."""
    kind = PARTS[part][field]
    if kind in ("prose", "flag", "choice") or not isinstance(text, str):
        return str(text)
    try:
        value, _ = _value(text, "heads" if kind == "heads" else kind)
        return value.text()
    except NO_VALUE:
        return text
