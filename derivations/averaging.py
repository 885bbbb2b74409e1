"""Whether a query's output averages v_a and v_b: the criterion of Question 1 (b) ii, (c) and (d).

A query is described by its logits in an orthonormal basis (keys, or the means of (c) and (d)):
(x_a, x_b, x_other), the n − 2 other keys sharing x_other. `decide_average` judges one head or
the mean of several: as their scale grows (a proof by limits) or, at a fixed scale, number by
number up to the largest n it averages for. The question modules (q1b_average, q1c_single_head,
q1d_multi_head) decide their answers with it; it imports none of them.
"""
from __future__ import annotations

import sympy as sp

from .answer_algebra import Space, Value, matrix_value, mul, transpose
from .answer_scale import Scale, find_scale
from .answer_value import NO_VALUE, value
from .attention import softmax_weights
from .result import FAILS, HOLDS, HOLDS_WITH_CONDITIONS, Check, Decision, show
from .symbols import beta, extra, n

Logits = tuple[sp.Expr, sp.Expr, sp.Expr]


def weights(logits: Logits, count: sp.Expr = n) -> list[sp.Expr]:
    """(w_a, w_b, w_other): the weights of key a, key b and each of the count − 2 others."""
    return softmax_weights(list(logits), [1, 1, count - 2])


# The correct answer: q = beta (k_a + k_b), logits (beta, beta, 0).
AVERAGE_QUERY: Logits = (beta, beta, sp.Integer(0))
AVERAGE_WEIGHT = weights(AVERAGE_QUERY)[0]
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


# ---------------------------------------------------------------------------- any query

TOLERANCE = sp.Rational(1, 100)  # "averages": both weights within 0.01 of ½


def logits_of(q: Value, space: Space, keys: tuple[str, str, str]) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(k_aᵀq, k_bᵀq, k_iᵀq) of a d-vector query in an orthonormal basis (keys or means)."""
    return tuple(sp.simplify(mul(space, transpose(matrix_value(space, k)), q).scalar()) for k in keys)


def _mixed(heads: list[Logits]) -> tuple[sp.Expr, sp.Expr]:
    """Weights on a and b of ½(c_1 + c_2) (or of one head when there is one)."""
    ws = [weights(h) for h in heads]
    return tuple(sum(w[i] for w in ws) / len(ws) for i in (0, 1))


def _shown_logits(heads: list[Logits]) -> str:
    return "; ".join(f"({', '.join(show(x) for x in h)})" for h in heads)


def decide_average(heads: list[Logits], scale: Scale, what: str) -> Decision:
    """Does the mean of these heads' outputs tend to ½(v_a + v_b)?

    ``heads`` are logits (on a, on b, on each other key) already written in β when the
    scale grows (`answer_scale.Scale`): then the weights must tend to ½ as β → ∞ for every
    n ≥ 2 (a proof by limits), other free scalars held fixed. With a scale built from the
    keys' noise variance α, the logits' noise (standard deviation sqrt(α)·‖q‖) must vanish
    too. With a fixed scale the weights are exact numbers for each n: the answer averages
    (both within TOLERANCE of ½) up to a largest n, which is the condition; a scale that
    averages only for n = 2 fails.
    """
    w_a, w_b = _mixed(heads)
    prefix = (scale.note + "; " if scale.note else "") + f"{what} {_shown_logits(heads)}"
    leftover = (w_a.free_symbols | w_b.free_symbols) - {n, beta}
    if leftover and not scale.grows:
        return Decision(FAILS, f"{prefix}: the weights depend on {', '.join(show(s) for s in sorted(leftover, key=str))}, "
                        "which the question leaves free, and no scale grows",
                        counterexample=_free_counterexample(w_a, w_b, leftover))
    if scale.noise:
        # each logit's noise has standard deviation sqrt(α)·‖q‖, and ‖q‖ is within a factor √n of Σ|logits|:
        # summed over the heads (all terms ≥ 0), the total vanishes exactly when every head's noise does
        size = sum(sp.Abs(x) for h in heads for x in h)
        spread = sp.limit(scale.noise_std * size, beta, sp.oo)
        if spread != 0:
            return Decision(FAILS, f"{prefix}; the logits' noise has standard deviation of order "
                            f"{show(scale.noise_std * size)}, which tends to {show(spread)}, not 0: the noise does not vanish "
                            "against the scale, so the weights stay random", counterexample="β → ∞ (α = 1/β → 0): the logits of "
                            "a and b differ by a Gaussian of non-vanishing spread, so α_a ≠ α_b in most samples")
    if scale.grows:
        limits = [sp.simplify(sp.limit(w.subs(n, extra + 2), beta, sp.oo).subs(extra, n - 2)) for w in (w_a, w_b)]
        if all(sp.simplify(lim - sp.Rational(1, 2)) == 0 for lim in limits):
            return Decision(HOLDS, f"{prefix}; α_a = {show(w_a)} and α_b → ½ as β → ∞ for every n ≥ 2 (limits, proved)")
        point = {n: 10, beta: 20, **{s: 1 for s in leftover}}
        held = "".join(f", {show(s)} = 1" for s in sorted(leftover, key=str))
        return Decision(FAILS, f"{prefix}; as β → ∞ the weights on (a, b) tend to ({show(limits[0])}, {show(limits[1])}), not (½, ½)",
                        counterexample=f"n = 10, β = 20{held}: α_a = {float(w_a.subs(point)):.6g}, α_b = {float(w_b.subs(point)):.6g}")

    def ok(keys: int) -> bool:  # exact numbers compared by SymPy (adaptive precision, no float rounding)
        return all(bool(sp.Abs(w.subs(n, keys) - sp.Rational(1, 2)) <= TOLERANCE) for w in (w_a, w_b))

    at2 = [float(sp.N(w.subs(n, 2), 30)) for w in (w_a, w_b)]
    if not ok(2):
        return Decision(FAILS, f"{prefix}; α_a = {show(w_a)}, α_b = {show(w_b)}: not within {TOLERANCE} of ½ even for n = 2",
                        counterexample=f"n = 2: α_a = {at2[0]:.6g}, α_b = {at2[1]:.6g}")
    lo = _largest_n(w_a, w_b, ok)
    if lo is None:
        return Decision(HOLDS, f"{prefix}; α_a = {show(w_a)}: the weights never leave ½ ± {TOLERANCE} as n grows "
                        "(no real n > 2 solves α = ½ ± tolerance)")
    hi = lo + 1
    bad = [float(sp.N(w.subs(n, hi), 30)) for w in (w_a, w_b)]
    if lo < 3:
        return Decision(FAILS, f"{prefix}; α_a = {show(w_a)}: ½ only for n = 2 (the question has any n), a fixed scale this small "
                        "does not average", counterexample=f"n = 3: α_a = {bad[0]:.6g}, α_b = {bad[1]:.6g}")
    return Decision(HOLDS_WITH_CONDITIONS,
                    f"{prefix}; α_a = {show(w_a)}: exact numbers for each n; with this fixed scale both weights stay within "
                    f"{TOLERANCE} of ½ up to n = {_count(lo)} keys and no further (n = {_count(hi)}: α_a = {bad[0]:.4f})",
                    condition=f"n ≤ {_count(lo)} (a fixed scale averages only while n − 2 ≪ e^scale)")


def _largest_n(w_a: sp.Expr, w_b: sp.Expr, ok) -> int | None:
    """The largest n with both weights within TOLERANCE of ½, from the roots of α(n) = ½ ± TOLERANCE.

    The weights are rational in n, so SymPy solves α(n) = ½ ± TOLERANCE exactly; the band is
    left at the smallest root above 2. The answer is confirmed at n and n + 1 in 30-digit
    arithmetic. None when no root exists (the weights do not depend on n).
    """
    roots = []
    x = sp.Symbol("x")  # n without its integer assumption, so that solve returns the real root
    for w in (w_a, w_b):
        for target in (sp.Rational(1, 2) - TOLERANCE, sp.Rational(1, 2) + TOLERANCE):
            for r in sp.solve(sp.Eq(w.subs(n, x), target), x):
                value = sp.N(r, 50)  # SymPy floats: a root near e^1000 is exact here, where a float overflows
                if abs(sp.im(value)) < sp.Float("1e-20") and sp.re(value) > 2:
                    roots.append(sp.re(value))
    if not roots:
        return None
    lo = int(sp.floor(min(roots)))
    for _ in range(3):  # a root at (or within rounding of) an integer: step to the last n inside the band
        if ok(lo) or lo <= 2:
            break
        lo -= 1
    for _ in range(3):
        if not ok(lo + 1):
            break
        lo += 1
    return lo


def _count(k: int) -> str:
    """An integer for evidence: exact below 10^6, else its leading digits and power of ten."""
    if k < 10**6:
        return str(k)
    exponent = int(sp.floor(sp.log(sp.Integer(k), 10).evalf(30)))  # no decimal string of a 10^4000 integer
    mantissa = (sp.Integer(k) / sp.Integer(10) ** exponent).evalf(4)
    return f"{float(mantissa):.3f}·10^{exponent}"


def _free_counterexample(w_a, w_b, symbols) -> str:
    point = {**{s: 0 for s in symbols}, n: 10}
    try:
        return f"{', '.join(f'{show(s)} = 0' for s in symbols)}, n = 10: α_a = {float(w_a.subs(point)):.4g}, " \
               f"α_b = {float(w_b.subs(point)):.4g}"
    except (TypeError, ValueError):
        return ""


MEAN_NAMES = ("mu_a", "mu_b", "mu_i")  # the means of (c) and (d), as the answer format names them


def query_scale(text) -> sp.Expr | None:
    """The scale of a (c) i answer, for (c) ii: its growing letter (β, λ, t; β for α^{-1/4}), or the number on μ_a.

    None when the text has no value as a query in the means' space, or its scale is not positive.
    """
    from .answer_spaces import MEANS

    try:
        q, free = value(text, MEANS)
        logits = logits_of(q, MEANS, MEAN_NAMES)
    except NO_VALUE:
        return None
    scale = find_scale(logits, free, noise_is_scale=True)
    if scale.grows:  # the letter itself (t, λ): a weight written with it is at that scale
        return beta if scale.noise else scale.symbols[0]
    return logits[0] if logits[0].is_number and logits[0] > 0 else None
