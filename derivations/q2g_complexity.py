"""Question 2(g) ii: attention cost of the perceiver and vanilla models, counted from shapes.

Each attention layer with a query length q and key length k costs q·k·d for the
scores QKᵀ and as much again for the weighted sum of values; the common factor 2d
cancels in the ratio. Only attention is counted, as the question asks (the MLPs and
projections cost ℓ·d² per layer in both models).
"""
from __future__ import annotations

import sympy as sp

from .result import FAILS, HOLDS, Check, ProofResult

L, ell, m, d = sp.symbols("L ell m d", integer=True, positive=True)

# (name, query length, key length, how many such layers)
PERCEIVER_LAYERS = (("down-projection", m, ell, 1), ("middle blocks", m, m, L - 2), ("up-projection", ell, m, 1))
VANILLA_LAYERS = (("blocks", ell, ell, L),)


def attention_cost(layers) -> sp.Expr:
    return sp.expand(sum(2 * d * q * k * count for _, q, k, count in layers))


PERCEIVER_COST = attention_cost(PERCEIVER_LAYERS)
VANILLA_COST = attention_cost(VANILLA_LAYERS)
RATIO = sp.simplify(PERCEIVER_COST / VANILLA_COST)
SHEET_RATIO = ((L - 2) * m**2 + 2 * ell * m) / (L * ell**2)


def check_ratio(candidate: sp.Expr = SHEET_RATIO) -> Check:
    diff = sp.simplify(candidate - RATIO)
    if diff == 0:
        return Check(True, f"cost(perceiver) = {sp.factor(PERCEIVER_COST)}, cost(vanilla) = {sp.factor(VANILLA_COST)}; their ratio equals {candidate}")
    point = {L: 4, ell: 128, m: 64}
    return Check(False, f"{candidate} differs from the counted ratio {RATIO}: at L=4, ℓ=128, m=64 it gives "
                 f"{candidate.subs(point)} instead of {RATIO.subs(point)}")


def prove_complexity_ratio() -> ProofResult:
    check = check_ratio()
    at_course = RATIO.subs({L: 4, ell: 128, m: 64})
    return ProofResult(
        claim_id="Q2g.ii",
        statement="cost(perceiver) / cost(vanilla) = ((L−2)m² + 2ℓm) / (L ℓ²)",
        verdict=HOLDS if check.ok else FAILS,
        evidence=f"{check.evidence}; at the course's L = 4, ℓ = 128, m = 64 the perceiver's attention costs {at_course} of vanilla's (attention only)",
        decided_by="derivations.q2g_complexity.prove_complexity_ratio",
        answer="Perceiver attention: O((mℓ + (L − 2)m² + ℓm)·d) = O(((L−2)m² + 2ℓm)d); vanilla: O(Lℓ²d). Linear in ℓ instead of quadratic.",
        formulas={"perceiver": sp.Eq(sp.Symbol(r"\mathrm{cost}_{perceiver}"), sp.factor(PERCEIVER_COST)),
                  "vanilla": sp.Eq(sp.Symbol(r"\mathrm{cost}_{vanilla}"), VANILLA_COST),
                  "ratio": sp.Eq(sp.Symbol(r"\mathrm{ratio}"), RATIO)},
        details={"ratio_course": str(at_course), "ratio_course_float": float(at_course)},
    )
