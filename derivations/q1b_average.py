"""Question 1(b) ii: a query whose output averages v_a and v_b, with n orthonormal keys.

A query is described by its logits in the orthonormal key basis: (x_a, x_b, x_other),
the n − 2 other keys sharing x_other. Any component of q orthogonal to every key
changes no logit, so this loses nothing.
"""
from __future__ import annotations

import sympy as sp

from .attention import softmax_weights
from .result import FAILS, HOLDS, Check, ProofResult, require, show
from .symbols import beta, extra, n

Logits = tuple[sp.Expr, sp.Expr, sp.Expr]


def weights(logits: Logits, count: sp.Expr = n) -> list[sp.Expr]:
    """(w_a, w_b, w_other): the weights of key a, key b and each of the count − 2 others."""
    return softmax_weights(list(logits), [1, 1, count - 2])


# The correct answer: q = beta (k_a + k_b), logits (beta, beta, 0).
AVERAGE_QUERY: Logits = (beta, beta, sp.Integer(0))
AVERAGE_WEIGHT = weights(AVERAGE_QUERY)[0]
# ‖c − ½(v_a + v_b)‖ ≤ 2(1 − 2 w_a)·max‖v_i‖ ≤ (n − 2) e^{−β} max‖v_i‖, and |w_a − ½| is a quarter of that.
AVERAGE_ERROR_BOUND = (n - 2) * sp.exp(-beta)
# The sheet's q = (k_bᵀk_b) k_a + (k_aᵀk_a) k_b = k_a + k_b for unit keys: no scale factor.
SHEET_QUERY: Logits = (sp.Integer(1), sp.Integer(1), sp.Integer(0))


def check_average_query(logits: Logits, scale: sp.Symbol = beta) -> Check:
    """The weights on a and b must both tend to ½ as the query scale grows, for every n ≥ 2."""
    w_a, w_b, _ = (w.subs(n, extra + 2) for w in weights(logits))
    limits = [sp.limit(w, scale, sp.oo) for w in (w_a, w_b)]
    if all(sp.simplify(lim - sp.Rational(1, 2)) == 0 for lim in limits):
        return Check(True, f"w_a, w_b → ½ as {scale} → ∞ for every n ≥ 2")
    at10 = [sp.nsimplify(lim.subs(extra, 8)) for lim in limits]
    shown = [show(lim.subs(extra, n - 2)) for lim in limits]
    return Check(False, f"as {scale} → ∞ the weights tend to ({shown[0]}, {shown[1]}); at n = 10 that is "
                 f"{show(at10[0])} ≈ {float(at10[0]):.4f} each, not ½")


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
    correct = require(check_average_query(AVERAGE_QUERY))
    bound = require(check_error_bound())
    sheet = check_average_query(SHEET_QUERY)
    return ProofResult(
        claim_id="Q1b.ii",
        statement="α_a = α_b iff q ⟂ (k_a − k_b); q = (k_bᵀk_b) k_a + (k_aᵀk_a) k_b answers the question",
        verdict=HOLDS if sheet.ok else FAILS,
        evidence=(
            "α_a = α_b iff k_aᵀq = k_bᵀq is right, but equal weights are not ½ each: the sheet's q = k_a + k_b "
            f"(unit keys) has no growing scale; {sheet.evidence}. The fix q = β(k_a + k_b): {correct.evidence}"
        ),
        decided_by="derivations.q1b_average.prove_average_query",
        answer="q = β(k_a + k_b) with β large: α_a = α_b = e^β/(2e^β + n − 2) → ½, and ‖c − ½(v_a + v_b)‖ ≤ (n − 2)e^{−β}·max_i‖v_i‖.",
        formulas={
            "alpha_a": sp.Eq(sp.Symbol("alpha_a"), sp.simplify(AVERAGE_WEIGHT)),
            "bound": sp.Le(sp.Symbol(r"\|c - \tfrac{1}{2}(v_a + v_b)\| / \max_i \|v_i\|"), AVERAGE_ERROR_BOUND),
        },
        details={"bound_check": bound.evidence},
    )
