"""Question 1(b) ii: a query whose output averages v_a and v_b, with n orthonormal keys.

A query is described by its logits in the orthonormal key basis: (x_a, x_b, x_other),
the n − 2 other keys sharing x_other. Any component of q orthogonal to every key
changes no logit, so this loses nothing. The criterion "the output averages v_a and v_b",
shared with (c) and (d), is `averaging`'s.
"""
from __future__ import annotations

import sympy as sp

from . import answer_spaces
from .answer_algebra import Space, Value, describe
from .answer_field import AnswerField
from .answer_scale import find_scale
from .averaging import AVERAGE_QUERY, AVERAGE_WEIGHT, MEAN_NAMES, Logits, check_average_query, decide_average, logits_of
from .result import FAILS, Check, Decision, ProofResult, PENDING, require
from .symbols import beta, extra, n

# ‖c − ½(v_a + v_b)‖ ≤ 2(1 − 2 w_a)·max‖v_i‖ ≤ (n − 2) e^{−β} max‖v_i‖, and |w_a − ½| is a quarter of that.
AVERAGE_ERROR_BOUND = (n - 2) * sp.exp(-beta)
# The sheet's q = (k_bᵀk_b) k_a + (k_aᵀk_a) k_b = k_a + k_b for unit keys: no scale factor.
SHEET_QUERY: Logits = (sp.Integer(1), sp.Integer(1), sp.Integer(0))


def check_error_bound(bound: sp.Expr = AVERAGE_ERROR_BOUND) -> Check:
    """bound ≥ 2(1 − 2 w_a), the exact worst-case ‖c − ½(v_a+v_b)‖ / max‖v_i‖, for every n ≥ 2, β > 0."""
    exact = 2 * (1 - 2 * AVERAGE_WEIGHT)
    gap = sp.simplify((bound - exact).subs(n, extra + 2))
    if gap.is_nonnegative:
        return Check(True, f"(n−2)e^(−β) − 2(1 − 2w_a) = {gap.subs(extra, n - 2)} ≥ 0")
    for k in (0, 1, 8, 100):
        for b in (sp.Rational(1, 10), 1, 5, 20):
            value = gap.subs({extra: k, beta: b})
            if sp.N(value) < 0:
                return Check(False, f"bound {bound} is below the exact error at n = {k + 2}, β = {b}: gap {sp.N(value, 6)}")
    return Check(False, f"cannot show bound − exact = {gap} ≥ 0")


def prove_average_query() -> ProofResult:
    """Q1b.ii's statement and the correct answer q = β(k_a + k_b) with its error bound, proved. The verdict
    stays pending here: the sheet's q is decided from its answer file by `decide_query` (derivations.claims)."""
    correct = require(check_average_query(AVERAGE_QUERY))
    bound = require(check_error_bound())
    return ProofResult(
        claim_id="Q1b.ii",
        statement="α_a = α_b iff q ⟂ (k_a − k_b); q = (k_bᵀk_b) k_a + (k_aᵀk_a) k_b answers the question",
        verdict=PENDING,
        evidence=f"the correct answer q = β(k_a + k_b): {correct.evidence}; {bound.evidence}",
        decided_by="derivations.q1b_average.prove_average_query",
        answer="q = β(k_a + k_b) with β large: α_a = α_b = e^β/(2e^β + n − 2) → ½, and ‖c − ½(v_a + v_b)‖ ≤ (n − 2)e^{−β}·max_i‖v_i‖.",
        formulas={
            "alpha_a": sp.Eq(sp.Symbol("alpha_a"), sp.simplify(AVERAGE_WEIGHT)),
            "bound": sp.Le(sp.Symbol(r"\|c - \tfrac{1}{2}(v_a + v_b)\| / \max_i \|v_i\|"), AVERAGE_ERROR_BOUND),
        },
        details={"bound_check": bound.evidence},
    )


def decide_query(q: Value, free: list, space: Space, keys: tuple[str, str, str],
                 what: str = "logits (k_aᵀq, k_bᵀq, k_iᵀq) =", noise_is_scale: bool = False) -> Decision:
    """Decide a query answer to (b) ii or (c) i: a d-vector whose output tends to ½(v_a + v_b).

    ``q`` is the evaluated answer, ``free`` its free scalars, ``keys`` the names of k_a, k_b and
    a generic other key (or the means). Raises nothing: a wrong shape is a ``fails``.
    """
    if q.shape != ("d", "1"):
        return Decision(FAILS, f"q = {q.text()} is {describe(*q.shape)}; a query is a d-vector")
    logits = logits_of(q, space, keys)
    scale = find_scale(logits, free, noise_is_scale=noise_is_scale)
    return decide_average([tuple(scale.as_beta(logits))], scale, what)


# The answer file's query fields (ANSWER-FILE.md), both decided by `decide_query`: (b) ii's in the
# keys, and (c) i's in the means, whose noise variance α may build the scale (judged as α → 0).
KEY_NAMES = ("k_a", "k_b", "k_i")
FIELDS = (
    AnswerField("q1b_ii", "q", space=answer_spaces.KEYS, decided_by=decide_query, claim="Q1b.ii",
                decide=lambda v, f, _: decide_query(v, f, answer_spaces.KEYS, KEY_NAMES)),
    AnswerField("q1c_i", "q", space=answer_spaces.MEANS, decided_by=decide_query, claim="Q1c.i",
                decide=lambda v, f, _: decide_query(v, f, answer_spaces.MEANS, MEAN_NAMES,
                                                    "as α → 0 the logits (k_aᵀq, k_bᵀq, k_iᵀq) →", noise_is_scale=True)),
)
