"""Question 2(g) ii: attention cost of the perceiver and vanilla models, counted from shapes.

Each attention layer with a query length q and key length k costs q·k·d for the
scores QKᵀ and as much again for the weighted sum of values; the common factor 2d
cancels in the ratio. Only attention is counted, as the question asks (the MLPs and
projections cost ℓ·d² per layer in both models).
"""
from __future__ import annotations

import sympy as sp

from .answer_algebra import Value, describe
from .answer_field import CHOICE, AnswerField
from .answer_spaces import SCALARS
from .result import FAILS, HOLDS, PENDING, Check, Decision, ProofResult

L, ell, m, d = sp.symbols("L ell m d", integer=True, positive=True)

# (name, query length, key length, how many such layers)
PERCEIVER_LAYERS = (("down-projection", m, ell, 1), ("middle blocks", m, m, L - 2), ("up-projection", ell, m, 1))
VANILLA_LAYERS = (("blocks", ell, ell, L),)


def attention_cost(layers) -> sp.Expr:
    return sp.expand(sum(2 * d * q * k * count for _, q, k, count in layers))


def all_layer_cost(layers) -> sp.Expr:
    """Attention plus every d×d product (MODEL.md's blocks): the query and output projections on the
    q query positions (2qd²), key and value projections on the k key positions (2kd²), and the
    MLP d → 4d → d on the q outputs (8qd²)."""
    return sp.expand(sum((2 * d * q * k + 2 * q * d**2 + 2 * k * d**2 + 8 * q * d**2) * count for _, q, k, count in layers))


PERCEIVER_COST = attention_cost(PERCEIVER_LAYERS)
VANILLA_COST = attention_cost(VANILLA_LAYERS)
RATIO = sp.simplify(PERCEIVER_COST / VANILLA_COST)
ALL_RATIO = sp.simplify(all_layer_cost(PERCEIVER_LAYERS) / all_layer_cost(VANILLA_LAYERS))
COURSE_POINT = {L: 4, ell: 128, m: 64, d: 256}


def decide_ratio(value: Value, free: list, counts: str = "attention") -> Decision:
    """Decide an answer for cost(perceiver)/cost(vanilla) of 2(g) ii.

    ``counts`` says what the answer counts: "attention" (scores and weighted sums, 2qkd per
    layer) or "all" (also the projections and MLPs, `all_layer_cost`). The answer must equal
    the ratio counted from the layer shapes (simplified residual 0); otherwise the two are
    compared at the course's L = 4, ℓ = 128, m = 64, d = 256.
    """
    if not value.is_scalar:
        return Decision(FAILS, f"{value.text()} is {describe(*value.shape)}; a ratio of costs is a scalar")
    given = value.scalar()
    subs = {sp.Symbol(s.name, real=True): s for s in (L, ell, m, d)}
    given = given.subs(subs)
    truth = RATIO if counts == "attention" else ALL_RATIO
    what = ("attention only (scores and weighted sums, 2·q·k·d per layer; projections and MLPs not counted)"
            if counts == "attention" else "all layers (attention, the four projections and the MLP of every block)")
    layers = "; ".join(f"{name}: {q}×{k}" + (f" ×{c}" if c != 1 else "") for name, q, k, c in PERCEIVER_LAYERS)
    lead = f"counting {what}: perceiver {layers}; vanilla ℓ×ℓ ×L; ratio {truth}"
    residual = sp.simplify(given - truth)
    if residual == 0:
        return Decision(HOLDS, f"{lead}; the answer minus it simplifies to 0")
    point = dict(COURSE_POINT)
    extra_symbols = sorted(given.free_symbols - set(point), key=str)
    if extra_symbols:  # h heads, f a width: the counted ratio has none of them, so two values of them disagree
        names = ", ".join(map(str, extra_symbols))
        values = [given.subs(point).subs({s: k for s in extra_symbols}) for k in (1, 2)]
        return Decision(FAILS, f"{lead}; the answer depends on {names}, which the counted ratio does not",
                        counterexample=f"L = 4, ℓ = 128, m = 64, d = 256: {names} = 1 gives {float(values[0]):.4g}, "
                        f"{names} = 2 gives {float(values[1]):.4g}, the counted ratio {float(truth.subs(point)):.4g}")
    g_val, t_val = given.subs(point), truth.subs(point)
    return Decision(FAILS, f"{lead}; the answer minus it is {residual}, not 0",
                    counterexample=f"L = 4, ℓ = 128, m = 64, d = 256: the answer gives {g_val} ≈ {float(g_val):.4g}, "
                    f"the counted ratio {t_val} ≈ {float(t_val):.4g}")
SHEET_RATIO = ((L - 2) * m**2 + 2 * ell * m) / (L * ell**2)


def check_ratio(candidate: sp.Expr = SHEET_RATIO) -> Check:
    diff = sp.simplify(candidate - RATIO)
    if diff == 0:
        return Check(True, f"cost(perceiver) = {sp.factor(PERCEIVER_COST)}, cost(vanilla) = {sp.factor(VANILLA_COST)}; their ratio equals {candidate}")
    point = {L: 4, ell: 128, m: 64}
    return Check(False, f"{candidate} differs from the counted ratio {RATIO}: at L=4, ℓ=128, m=64 it gives "
                 f"{candidate.subs(point)} instead of {RATIO.subs(point)}")


def prove_complexity_ratio() -> ProofResult:
    """Q2g.ii's statement and the ratio counted from the layer shapes. The verdict stays pending here: the
    sheet's ratio is decided from its answer file by `decide_ratio` (derivations.claims)."""
    check = check_ratio(RATIO)
    at_course = RATIO.subs({L: 4, ell: 128, m: 64})
    return ProofResult(
        claim_id="Q2g.ii",
        statement="cost(perceiver) / cost(vanilla) = ((L−2)m² + 2ℓm) / (L ℓ²)",
        verdict=PENDING,
        evidence=f"{check.evidence}; at the course's L = 4, ℓ = 128, m = 64 the perceiver's attention costs {at_course} of vanilla's (attention only)",
        decided_by="derivations.q2g_complexity.prove_complexity_ratio",
        answer="Perceiver attention: O((mℓ + (L − 2)m² + ℓm)·d) = O(((L−2)m² + 2ℓm)d); vanilla: O(Lℓ²d). Linear in ℓ instead of quadratic.",
        formulas={"perceiver": sp.Eq(sp.Symbol(r"\mathrm{cost}_{perceiver}"), sp.factor(PERCEIVER_COST)),
                  "vanilla": sp.Eq(sp.Symbol(r"\mathrm{cost}_{vanilla}"), VANILLA_COST),
                  "ratio": sp.Eq(sp.Symbol(r"\mathrm{ratio}"), RATIO)},
        details={"ratio_course": str(at_course), "ratio_course_float": float(at_course)},
    )


# The answer file's fields of 2(g) ii (ANSWER-FILE.md): the ratio, judged by what it counts.
COUNTS = ("attention", "all")


def _counts(given: dict) -> str:
    counts = given.get("q2g_ii", {}).get("counts", "attention")
    return counts if counts in COUNTS else "attention"


FIELDS = (
    AnswerField("q2g_ii", "ratio", space=SCALARS, decide=lambda v, f, counts: decide_ratio(v, f, counts or "attention"),
                decided_by=decide_ratio, depends_on=(("q2g_ii", "counts"),), context=_counts, claim="Q2g.ii"),
    AnswerField("q2g_ii", "counts", CHOICE, choices=COUNTS),
)
