"""Question 1(c): one head, random keys k_i ~ N(mu_i, Sigma_i) with orthonormal means.

(c) i: q = beta (mu_a + mu_b) as iso_var → 0. (c) ii: k_a = eta mu_a + Delta_a with
eta ~ N(1, s) (s = ½ in the question): the output, its covariance and Var[t] for any beta.
"""
from __future__ import annotations

import sympy as sp

from .answer_algebra import VAR_HEAD, VAR_T as VAR_T_SYMBOL, Value, add, describe, scale
from .answer_field import AnswerField
from .answer_scale import find_scale, fixed_scale_of_exponent
from .answer_spaces import MEANS, VALUES
from .averaging import AVERAGE_QUERY, AVERAGE_WEIGHT, check_average_query, query_scale
from .output_variance import SINGLE_LOGITS, T, W_A, W_OTHER, covariance_counterexample, exact_covariance, limit_var_t
from .quadrature import normal_variance
from .result import FAILS, HOLDS, HOLDS_WITH_CONDITIONS, PENDING, UNPARSEABLE, Check, Decision, ProofError, ProofResult, require, show
from .symbols import beta, eta, eta_var, extra, iso_var, n

# The sheet's formulas with its fixed scale 10 generalised to beta.
SHEET_T = 1 / (1 + sp.exp(beta * (eta - 1)))
SHEET_W_A = sp.exp(beta * (eta - 1)) / (1 + sp.exp(beta * (eta - 1)))

# Var[t] as a one-dimensional integral over eta ~ N(1, s); evaluated by `var_t` with SciPy.
_pdf = sp.exp(-((eta - 1) ** 2) / (2 * eta_var)) / sp.sqrt(2 * sp.pi * eta_var)
VAR_T = sp.Integral(T**2 * _pdf, (eta, -sp.oo, sp.oo)) - sp.Integral(T * _pdf, (eta, -sp.oo, sp.oo)) ** 2


def var_t(beta_value: float, eta_variance: float = 0.5, keys: int = 2, t_expr: sp.Expr = T) -> float:
    """Var[t] by quadrature (the numeric value of VAR_T); `t_expr` may be the sheet's t."""
    f = sp.lambdify(eta, t_expr.subs({beta: beta_value, n: keys}), "numpy")
    return normal_variance(f, 1.0, eta_variance, breakpoints=(1.0, 0.0))


def prove_average_random_keys() -> ProofResult:
    """Q1c.i's statement and the correct answer q = β(μ_a + μ_b) as α → 0, proved. The verdict stays
    pending here: the sheet's q is decided from its answer file by `decide_query` (derivations.claims)."""
    sigma = sp.sqrt(iso_var)
    g = sp.symbols("g_a g_b g_o", real=True)  # standardised noise of each logit
    noisy = (beta + sigma * beta * g[0], beta + sigma * beta * g[1], sigma * beta * g[2])
    limits = tuple(sp.limit(x, iso_var, 0) for x in noisy)
    if not all(sp.simplify(a - b) == 0 for a, b in zip(limits, AVERAGE_QUERY)):
        raise ProofError(f"the noisy logits tend to {limits}, not {AVERAGE_QUERY}")
    check = require(check_average_query(limits))
    return ProofResult(
        claim_id="Q1c.i",
        statement="q = 10(μ_a + μ_b) gives α_a = α_b = e^10/(2e^10 + n − 2) ≈ ½, the others ≈ 0, so c ≈ ½(v_a + v_b)",
        verdict=PENDING,
        evidence=f"the correct answer q = β(μ_a + μ_b): as iso_var → 0 its logits tend to (β, β, 0) and {check.evidence}",
        decided_by="derivations.q1c_single_head.prove_average_random_keys",
        answer="q = β(μ_a + μ_b) with β large (β ≫ log n, β·sqrt(α) ≪ 1): α_a = α_b → e^β/(2e^β + n − 2) → ½, so c → ½(v_a + v_b).",
        formulas={"alpha_a": sp.Eq(sp.Symbol("alpha_a"), sp.simplify(AVERAGE_WEIGHT))},
    )


def prove_eta_distribution() -> ProofResult:
    """Q1c.ii.eta's statement and the law of η, derived (`eta_law`). The verdict stays pending here: the
    sheet's mean and variance are decided from its answer file by `decide_eta_moment` (derivations.claims)."""
    mean, variance = eta_law()
    return ProofResult(
        claim_id="Q1c.ii.eta",
        statement="under Σ_a = αI + ½ μ_a μ_aᵀ, k_a = η μ_a + Δ_a with η ~ N(1, ½)",
        verdict=PENDING,
        evidence=f"η = μ_aᵀk_a is Gaussian with mean μ_aᵀμ_a = {mean} and variance μ_aᵀΣ_aμ_a = {variance} (symbolic d)",
        decided_by="derivations.q1c_single_head.prove_eta_distribution",
        answer="η = μ_aᵀk_a ~ N(1, ½ + α) → N(1, ½); Δ_a = k_a − ημ_a has covariance α(I − μ_aμ_aᵀ) → 0.",
        formulas={"var_eta": sp.Eq(sp.Symbol(r"\operatorname{Var}[\eta]"), variance)},
    )


SHEET_LOGITS = {"a": 10 * eta, "b": sp.Integer(10), "other": sp.Integer(0)}


def prove_logits(claimed: dict[str, sp.Expr] = SHEET_LOGITS, query: tuple[sp.Expr, sp.Expr] | None = None) -> ProofResult:
    """Q1c.ii.logits: the claimed logits against those of the query (coefficients on μ_a, μ_b; default
    the sheet's 10, 10, or the answer file's (c) i q via derivations.claims) with k_a = ημ_a + Δ_a."""
    d = sp.Symbol("d", integer=True, positive=True)
    mu_a, mu_b, mu_i, delta = (sp.MatrixSymbol(s, d, 1) for s in ("mu_a", "mu_b", "mu_i", "Delta"))
    rules = {mu_a.T * mu_a: sp.Identity(1), mu_b.T * mu_b: sp.Identity(1), mu_a.T * mu_b: sp.ZeroMatrix(1, 1),
             mu_b.T * mu_a: sp.ZeroMatrix(1, 1), mu_i.T * mu_a: sp.ZeroMatrix(1, 1), mu_i.T * mu_b: sp.ZeroMatrix(1, 1)}
    coef_a, coef_b = query if query is not None else (sp.Integer(10), sp.Integer(10))
    q = coef_a * mu_a + coef_b * mu_b
    eps = sp.Symbol("epsilon", nonnegative=True)  # Delta = eps·u with eps² ∝ iso_var → 0
    keys = {"a": eta * mu_a + eps * delta, "b": mu_b + eps * delta, "other": mu_i + eps * delta}
    logits = {}
    for name, k in keys.items():
        expr = (k.T * q).expand().subs(rules).doit()
        expr = expr[0, 0] if hasattr(expr, "shape") else expr
        logits[name] = sp.limit(sp.simplify(expr.subs(delta.T * mu_a, sp.Symbol("u_a") * sp.Identity(1)).subs(delta.T * mu_b, sp.Symbol("u_b") * sp.Identity(1)).doit()), eps, 0)
    ok = all(sp.simplify(sp.sympify(logits[k]) - claimed[k]) == 0 for k in claimed)
    return ProofResult(
        claim_id="Q1c.ii.logits",
        statement="with that q: k_iᵀq ≈ 0 (i ≠ a, b), 10η (i = a), 10 (i = b)",
        verdict=HOLDS if ok else FAILS,
        evidence=(f"with q = {show(coef_a)}·μ_a + {show(coef_b)}·μ_b, in the limit iso_var → 0 the logits are a: {show(logits['a'])}, "
                  f"b: {show(logits['b'])}, others: {show(logits['other'])} (matrix-symbol algebra, symbolic d); claimed "
                  f"a: {show(claimed['a'])}, b: {show(claimed['b'])}, others: {show(claimed['other'])}"),
        decided_by="derivations.q1c_single_head.prove_logits",
        answer="With q = β(μ_a + μ_b): k_aᵀq → βη, k_bᵀq → β, k_iᵀq → 0 for the others, as α → 0.",
        formulas={"logits": sp.Matrix(SINGLE_LOGITS).T},
    )


def prove_weights() -> ProofResult:
    """Q1c.ii.weights' statement and the exact weights for n keys. The verdict stays pending here: the
    sheet's weights are decided from its answer file by `decide_weight` (derivations.claims)."""
    total = sp.simplify(W_A + T + (n - 2) * W_OTHER)
    if total != 1:
        raise ProofError(f"the exact weights sum to {total}, not 1")
    return ProofResult(
        claim_id="Q1c.ii.weights",
        statement="α_a = α_b = 1/(1 + e^{10(η−1)}) and the others 0",
        verdict=PENDING,
        evidence=f"exact α_a = {show(W_A)}, α_b = {show(T)}, summing to 1 with the others (proved)",
        decided_by="derivations.q1c_single_head.prove_weights",
        answer="α_a = e^{βη}/(e^{βη} + e^β + n − 2), α_b = t = e^β/(e^{βη} + e^β + n − 2), each other α_i = 1/(e^{βη} + e^β + n − 2).",
        formulas={"alpha_a": sp.Eq(sp.Symbol("alpha_a"), W_A), "t": sp.Eq(sp.Symbol("t"), T)},
    )


def prove_output() -> ProofResult:
    """Q1c.ii.output's statement and the exact output. The verdict stays pending here: the sheet's c is
    parsed and decided coefficient by coefficient by `decide_output` (derivations.claims.output_claim)."""
    return ProofResult(
        claim_id="Q1c.ii.output",
        statement="C ≈ (e^{10(η−1)} V_a + V_b) / (1 + e^{10(η−1)})",
        verdict=PENDING,
        evidence=f"exact c = ({show(W_A)})·v_a + ({show(T)})·v_b + (the other keys' weight)·(their values)",
        decided_by="derivations.q1c_single_head.prove_output",
        answer="c = (1 − t)v_a + t v_b + O((n − 2)e^{−β}) with t = 1/(1 + e^{β(η−1)} + (n − 2)e^{−β}).",
        formulas={"c": sp.Eq(sp.Symbol("c"), W_A * sp.Symbol("v_a") + T * sp.Symbol("v_b"))},
    )


def prove_threshold() -> ProofResult:
    """Q1c.ii.threshold's statement and the exact 99% threshold. The verdict stays pending here: the
    sheet's threshold is decided from its answer file by `decide_threshold` (derivations.claims)."""
    eta_99 = sp.log(99 * (sp.exp(beta) + n - 2)) / beta
    at = sp.simplify(W_A.subs(eta, eta_99))
    if at != sp.Rational(99, 100):
        raise ProofError(f"α_a at the threshold is {at}, not 99/100")
    return ProofResult(
        claim_id="Q1c.ii.threshold",
        statement="if η > 1.1 then C ≈ V_a",
        verdict=PENDING,
        evidence=f"α_a ≥ 0.99 exactly when η ≥ {show(eta_99)} (α_a there simplifies to 99/100)",
        decided_by="derivations.q1c_single_head.prove_threshold",
        answer="C ≈ V_a (weight ≥ 0.99) needs η ≥ ln(99(e^β + n − 2))/β: 1 + ln 99/β for n = 2, ≈ 1.46 at β = 10.",
        formulas={"eta_99": sp.Eq(sp.Symbol("eta_{0.99}"), eta_99)},
    )


def covariance_from_weight(va: sp.Matrix, vb: sp.Matrix, variance: sp.Expr) -> sp.Matrix:
    """The correct Cov[c] when c = (1 − t) v_a + t v_b: Var[t] (v_a − v_b)(v_a − v_b)ᵀ."""
    return variance * (va - vb) * (va - vb).T


def sheet_covariance(va: sp.Matrix, vb: sp.Matrix, variance: sp.Expr) -> sp.Matrix:
    """The sheet's Var[C] = V_a·Var[t] + V_b·Var[1 − t] = (V_a + V_b)·Var[t]."""
    return (va + vb) * variance


def check_covariance_formula(candidate=covariance_from_weight, dim: int = 2) -> Check:
    """A candidate Cov[c] for c = (1 − t)v_a + t v_b must equal E[(c − Ec)(c − Ec)ᵀ].

    c − E[c] = (t − E[t])(v_b − v_a) exactly (the affine identity checked here), so
    E[(c − Ec)(c − Ec)ᵀ] = Var[t](v_a − v_b)(v_a − v_b)ᵀ by linearity of expectation.
    """
    t, mean_t, var = sp.symbols("t m_t V", positive=True)
    va = sp.Matrix(sp.symbols(f"va1:{dim + 1}", real=True))
    vb = sp.Matrix(sp.symbols(f"vb1:{dim + 1}", real=True))
    c = lambda tt: (1 - tt) * va + tt * vb  # noqa: E731
    if (c(t) - c(mean_t) - (t - mean_t) * (vb - va)).applyfunc(sp.expand) != sp.zeros(dim, 1):
        return Check(False, "c − E[c] is not (t − E[t])(v_b − v_a)")
    truth = covariance_from_weight(va, vb, var)
    got = sp.Matrix(candidate(va, vb, var))
    # V_b = −V_a = −e_1: the values cancel in the sheet's sum, not in the real covariance.
    example = {**{s: 0 for s in list(va) + list(vb)}, va[0]: 1, vb[0]: -1}
    if got.shape != (dim, dim):
        return Check(False, f"gives a {got.shape[0]}×{got.shape[1]} object, not a d×d covariance; with V_b = −V_a = −e_1 "
                     f"it gives {list(got.subs(example))} (no variance at all) while Cov[c] = {truth.subs(example)[0, 0]}·e_1e_1ᵀ")
    if (got - truth).applyfunc(sp.simplify) != sp.zeros(dim, dim):
        return Check(False, f"with V_b = −V_a = −e_1 it gives {got.subs(example).tolist()}, the truth {truth.subs(example).tolist()}")
    return Check(True, "Cov[c] = Var[t](v_a − v_b)(v_a − v_b)ᵀ (c − E[c] = (t − E[t])(v_b − v_a), proved)")


def prove_variance() -> ProofResult:
    """Q1c.ii.variance's statement and the correct Cov[c], proved. The verdict stays pending here: the
    sheet's formula is decided from its answer file by `decide_covariance` (derivations.claims)."""
    correct = require(check_covariance_formula())
    vt = var_t(10.0, 0.5)
    return ProofResult(
        claim_id="Q1c.ii.variance",
        statement="Var[C] = V_a·Var[t] + V_b·Var[1−t] = (V_a + V_b)·Var[t], t = 1/(1 + e^{10(η−1)})",
        verdict=PENDING,
        evidence=f"the correct answer: {correct.evidence}; at β = 10, Var[η] = ½, Var[t] = {vt:.6f} (quadrature)",
        decided_by="derivations.q1c_single_head.prove_variance",
        answer="Cov[c] = Var[t]·(v_a − v_b)(v_a − v_b)ᵀ (exact for n = 2, up to O((n−2)e^{−β}) otherwise), with Var[t] the integral below; tr Cov[c] = Var[t]·‖v_a − v_b‖² → ¼‖v_a − v_b‖² as β → ∞.",
        formulas={"var_t": sp.Eq(sp.Symbol(r"\operatorname{Var}[t]"), VAR_T), "cov_c": sp.Eq(sp.Symbol(r"\operatorname{Cov}[c]"), sp.Symbol(r"\operatorname{Var}[t]") * sp.Symbol("(v_a - v_b)(v_a - v_b)^T"))},
        details={"var_t_beta10": vt},
    )


def prove_variance_bound(claimed_upper: sp.Expr = sp.Rational(1, 4)) -> ProofResult:
    m = sp.Symbol("m", real=True)
    # Var[t] = E[t²] − m² ≤ E[t] − m² = m(1 − m) (since t² ≤ t on [0, 1]), and ¼ − m(1 − m) = (m − ½)².
    popoviciu = sp.expand(sp.Rational(1, 4) - m * (1 - m) - (m - sp.Rational(1, 2)) ** 2) == 0
    slope = sp.simplify(sp.diff(T, eta).subs(n, extra + 2))
    strictly_decreasing = bool(slope.is_negative)
    lim, lim_check = limit_var_t()
    vt = var_t(10.0, 0.5)
    # The claimed upper end must hold for every beta, and Var[t] reaches ¼ in the limit.
    ok = popoviciu and strictly_decreasing and lim_check.ok and 0 < vt <= float(claimed_upper) and lim <= claimed_upper
    return ProofResult(
        claim_id="Q1c.ii.bound",
        statement="Var[t] lies in (0, ¼]",
        verdict=HOLDS if ok else FAILS,
        evidence=(
            f"t ∈ (0, 1) so Var[t] ≤ E[t](1 − E[t]) ≤ ¼ ((m − ½)² ≥ 0); dt/dη < 0 (proved) and η is non-degenerate, so Var[t] > 0; "
            f"Var[t] = {vt:.6f} at β = 10, Var[η] = ½ (quadrature); {lim_check.evidence}"
        ),
        decided_by="derivations.q1c_single_head.prove_variance_bound",
        answer="0 < Var[t] < ¼ for every finite β, and Var[t] → ¼ as β → ∞ (t becomes the coin flip 1[η < 1]).",
        formulas={"limit": sp.Eq(sp.Limit(sp.Symbol(r"\operatorname{Var}[t]"), beta, sp.oo), lim)},
        details={"var_t_beta10": vt},
    )


# ---------------------------------------------------------------------------- any answer to (c) ii

ALPHA_NAMES = ("alpha", "sigma^2")  # the question's small covariance scale, as students write it
THRESHOLD_WEIGHT = sp.Rational(99, 100)  # "c ≈ v_a": α_a ≥ 0.99 (ANSWER-FILE.md, threshold)


def eta_law() -> tuple[sp.Expr, sp.Expr]:
    """(E[η], Var[η]) for η = μ_aᵀk_a, k_a ~ N(μ_a, αI + ½μ_aμ_aᵀ), by matrix-symbol algebra (symbolic d)."""
    d = sp.Symbol("d", integer=True, positive=True)
    mu = sp.MatrixSymbol("mu_a", d, 1)
    sigma_a = iso_var * sp.Identity(d) + sp.Rational(1, 2) * mu * mu.T
    unit = {mu.T * mu: sp.Identity(1)}
    mean = (mu.T * mu).subs(unit).doit()
    variance = (mu.T * sigma_a * mu).expand().subs(unit).doit()
    as_scalar = lambda x: sp.simplify(x[0, 0] if hasattr(x, "shape") else x)  # noqa: E731
    return as_scalar(mean), as_scalar(variance)


def _with_iso_var(expr: sp.Expr) -> sp.Expr:
    return expr.subs({s: iso_var for s in expr.free_symbols if s.name in ALPHA_NAMES})


def decide_eta_moment(value: Value, free: list, which: str) -> Decision:
    """Decide E[η] (``which`` = "mean") or Var[η] (``which`` = "var") against `eta_law`.

    A symbol α (or σ²) in the answer is the question's vanishing covariance scale; an answer
    right only as α → 0 holds with that said. A non-scalar answer fails on its shape.
    """
    if not value.is_scalar:
        return Decision(FAILS, f"{value.text()} is {describe(*value.shape)}; the {which} of η is a scalar")
    given = _with_iso_var(value.scalar())
    truth = eta_law()[0 if which == "mean" else 1]
    label = "E[η] = μ_aᵀE[k_a] = μ_aᵀμ_a" if which == "mean" else "Var[η] = μ_aᵀΣ_aμ_a"
    if sp.simplify(given - truth) == 0:
        return Decision(HOLDS, f"{label} = {show(truth)}, equal to the answer {show(given)} (symbolic d)")
    if given.free_symbols - {iso_var}:
        extra_syms = ", ".join(sorted(str(x) for x in given.free_symbols - {iso_var}))
        return Decision(FAILS, f"{label} = {show(truth)}; the answer {show(given)} depends on {extra_syms}",
                        counterexample=f"α = 0: {show(truth.subs(iso_var, 0))} against {show(given.subs(iso_var, 0))}")
    if sp.simplify(sp.limit(given - truth, iso_var, 0)) == 0:
        return Decision(HOLDS, f"{label} = {show(truth)} → {show(truth.subs(iso_var, 0))} as α → 0 (the question's limit), "
                        f"equal to the answer {show(given)} there")
    at = {iso_var: 0}
    return Decision(FAILS, f"{label} = {show(truth)}, not {show(given)}",
                    counterexample=f"α → 0: {which} {show(truth.subs(at))} = {float(truth.subs(at)):.4g}, the answer {float(given.subs(at)):.4g}")


WEIGHT_RESERVED = frozenset({"t"})  # in a weight or a threshold, t is α_a (ANSWER-FILE.md), never the scale


ETA_STANDINS = frozenset({"gamma", "epsilon", "varepsilon", "xi", "zeta", "theta", "nu", "kappa"})


def _read_eta(expr: sp.Expr, free: list) -> tuple[sp.Expr, str]:
    """η written with another letter (k_a = γμ_a, "ε ~ N(1, ½)"): where the answer has no η and
    exactly one such Greek letter, it is read as η, and the note says so."""
    if expr.has(eta):
        return expr, ""
    standins = [s for s in free if s in expr.free_symbols and s.name.partition("_")[0] in ETA_STANDINS]
    if len(standins) != 1:
        return expr, ""
    return expr.subs(standins[0], eta), f"read {show(standins[0])} as η (k_a ≈ {show(standins[0])}·μ_a)"


def _scale_of(expr: sp.Expr, free: list, file_scale) -> tuple[sp.Expr, sp.Expr | None, str]:
    """The scale an answer in η is judged at (`answer_scale`): the file's (c) i scale letter where the
    answer uses it, else the answer's own growing symbol (written β), else the size of the
    coefficient of η in an exponent (e^{10(1−η)} → 10), else the file's (c) i scale. Returns
    (the answer written in β, the scale: β, a number or None, the note)."""
    if isinstance(file_scale, sp.Symbol) and file_scale != beta and expr.has(file_scale):
        return expr.subs(file_scale, beta), beta, f"took {show(file_scale)} as the scale β, as the answer to (c) i does"
    scale = find_scale([expr], free, reserved=WEIGHT_RESERVED)
    if scale.grows:
        return scale.as_beta([expr])[0], beta, scale.note
    k = fixed_scale_of_exponent(expr, eta)
    if k is not None:
        return expr, k, f"scale {k} read from the exponent"
    if isinstance(file_scale, sp.Symbol):
        return expr, beta, ""
    if file_scale is not None:
        return expr, file_scale, f"scale {file_scale} from the answer to (c) i"
    return expr, None, ""


def _leftover(given: sp.Expr, prefix: str, what: str, allowed=frozenset({eta, beta, n})) -> Decision | None:
    """`fails` when an answer depends on symbols the question's quantity does not (d, γ and ε together;
    η in a threshold on η)."""
    extra_symbols = sorted(given.free_symbols - allowed, key=str)
    if not extra_symbols:
        return None
    point = {**{s: 2 for s in extra_symbols}, beta: 10, n: 2, eta: 2}
    other = {**point, **{s: 3 for s in extra_symbols}}
    values = [float(sp.N(given.subs(p), 15)) for p in (point, other)]
    names = ", ".join(show(s) for s in extra_symbols)
    inputs = ", ".join(show(s) for s in sorted(allowed, key=str))
    return Decision(FAILS, f"{prefix}the answer depends on {names}, and {what} is a function of {inputs} only",
                    counterexample=f"β = 10, n = 2, η = 2: {names} = 2 gives {values[0]:.6g}, {names} = 3 gives {values[1]:.6g}")


def _at_scale(expr: sp.Expr, scale_value) -> sp.Expr:
    return expr.subs(beta, scale_value) if scale_value is not None and not isinstance(scale_value, sp.Symbol) else expr


def decide_weight(value: Value, free: list, which: str, file_scale=None) -> Decision:
    """Decide α_a (``which`` = "a") or α_b ("b") of (c) ii against the exact weights for general n.

    Exact: α_a = e^{βη}/(e^{βη} + e^β + n − 2), α_b = e^β/(…) (q = β(μ_a + μ_b), α → 0).
    Equal for every n: holds; equal only at n = 2: holds-with-conditions (n = 2); otherwise
    fails with the two values at a concrete η.
    """
    if not value.is_scalar:
        return Decision(FAILS, f"{value.text()} is {describe(*value.shape)}; a weight is a scalar")
    given, reading = _read_eta(value.scalar(), free)
    given, sym, note = _scale_of(given, free, file_scale)
    exact = W_A if which == "a" else T
    exact = _at_scale(exact, sym)
    prefix = "".join(x + "; " for x in (reading, note) if x)
    wrong = _leftover(given, prefix, f"α_{which}")
    if wrong is not None:
        return wrong
    shown_exact = f"exact α_{which} = {show(exact)}"
    if sp.simplify(given - exact) == 0:
        return Decision(HOLDS, f"{prefix}{shown_exact} for n keys, equal to the answer (simplified residual 0)")
    residual2 = sp.simplify((given - exact).subs(n, 2))
    if residual2 == 0:
        others = sp.simplify((n - 2) * W_OTHER if sym is None else _at_scale((n - 2) * W_OTHER, sym))
        return Decision(HOLDS_WITH_CONDITIONS, f"{prefix}equals the exact weight for n = 2 (residual 0 there); for n keys "
                        f"{shown_exact}, the other keys taking {show(others)} together", condition="n = 2")
    point = {beta: 10, n: 2}
    for e in (2, 0, sp.Rational(1, 2), sp.Rational(3, 2)):
        g_val, x_val = (float(sp.N(x.subs(point).subs(eta, e), 20)) for x in (given, exact))
        if abs(g_val - x_val) > 1e-6:
            break
    where = "β = 10, " if given.has(beta) or exact.has(beta) else ""
    return Decision(FAILS, f"{prefix}{shown_exact}; the answer minus it simplifies to {show(sp.simplify(given - exact))}, not 0 "
                    "(not even for n = 2)", counterexample=f"{where}n = 2, η = {e}: the answer gives {g_val:.6g}, exact α_{which} = {x_val:.6g}")


def decide_threshold(value: Value, free: list, file_scale=None) -> Decision:
    """Decide "the η above which c ≈ v_a" (α_a ≥ 0.99) of (c) ii.

    Exact: α_a ≥ 0.99 ⇔ η ≥ ln(99(e^β + n − 2))/β, which is 1 + ln 99/β for n = 2. A numeric
    threshold holds when α_a ≥ 0.99 there (up to the largest n where it still does).
    """
    if not value.is_scalar:
        return Decision(FAILS, f"{value.text()} is {describe(*value.shape)}; a threshold on η is a scalar")
    # η cannot appear in a threshold on η, so no letter is read as η here: γ in 1 + ln 99/γ is the scale
    given, sym, note = _scale_of(value.scalar(), free, file_scale)
    wrong = _leftover(given, note + "; " if note else "", "the threshold on η", frozenset({beta, n}))
    if wrong is not None:
        return wrong
    exact = sp.log(99 * (sp.exp(beta) + n - 2)) / beta
    exact2 = 1 + sp.log(99) / beta
    prefix = (note + "; " if note else "")
    if isinstance(sym, sp.Symbol) and not given.has(beta):
        sym = None  # a number against a symbolic scale: right for large enough β
    if sym is None and not given.is_number:
        return Decision(FAILS, f"{prefix}α_a ≥ 0.99 ⇔ η ≥ {show(exact)}, which depends on the scale β; the answer "
                        f"{show(given)} has no scale", counterexample=f"β = 10 and β = 20 (n = 2) need η ≥ "
                        f"{float(exact2.subs(beta, 10)):.4f} and {float(exact2.subs(beta, 20)):.4f}")
    if sym is None:
        if given > 1:
            need = sp.log(99) / (given - 1)
            return Decision(HOLDS_WITH_CONDITIONS, f"no scale given: at n = 2, α_a(η = {given}) ≥ 0.99 exactly when "
                            f"β ≥ ln 99/({given} − 1) = {float(need):.4g}", condition=f"β ≥ {float(need):.4g}, n = 2")
        return Decision(FAILS, f"at η = {given} ≤ 1, α_a ≤ ½ for every β (n = 2)", counterexample=f"β = 10, n = 2: α_a = {float(W_A.subs({beta: 10, n: 2, eta: given})):.4g}")
    if given.has(beta):
        if sp.simplify(given - exact) == 0:
            return Decision(HOLDS, f"{prefix}α_a ≥ 0.99 ⇔ η ≥ {show(exact)}, the answer (for n keys)")
        if sp.simplify(given - exact2) == 0:
            return Decision(HOLDS_WITH_CONDITIONS, f"{prefix}α_a ≥ 0.99 ⇔ η ≥ {show(exact)}; the answer is its n = 2 value",
                            condition="n = 2")
        w = W_A.subs({beta: 10, n: 2, eta: given.subs(beta, 10)})
        return Decision(FAILS, f"{prefix}α_a ≥ 0.99 ⇔ η ≥ {show(exact)}; the answer minus it is {show(sp.simplify(given - exact2))} at n = 2",
                        counterexample=f"β = 10, n = 2: at η = {float(given.subs(beta, 10)):.4g}, α_a = {float(w):.4g}")
    k = sym
    if given.has(n):
        if sp.simplify(given - exact.subs(beta, k)) == 0:
            return Decision(HOLDS, f"{prefix}α_a ≥ 0.99 ⇔ η ≥ {show(exact.subs(beta, k))} at scale {k}, the answer (for n keys)")
        given = given.subs(n, 2)
        prefix += "the answer at n = 2; "
    w = sp.simplify(W_A.subs({beta: k, n: 2, eta: given}))
    need = exact2.subs(beta, k)
    if bool(w >= THRESHOLD_WEIGHT):
        n_max = sp.floor(sp.exp(k * given) / 99 - sp.exp(k) + 2)
        return Decision(HOLDS_WITH_CONDITIONS, f"{prefix}at η = {given}, α_a = {show(w)} = {float(w):.4f} ≥ 0.99 for n = 2; "
                        f"the exact threshold is ln(99(e^{k} + n − 2))/{k} = {float(need):.4f} at n = 2, and η = {given} stays "
                        f"above it while n ≤ {n_max}", condition=f"n ≤ {n_max}")
    return Decision(FAILS, f"{prefix}at η = {given}, α_a = {show(w)} = {float(w):.4f} < 0.99, so c = {float(w):.3f}·v_a + "
                    f"{1 - float(w):.3f}·v_b (n = 2); α_a ≥ 0.99 needs η ≥ 1 + ln(99)/{k} = {float(need):.4f}",
                    counterexample=f"n = 2, η = {given}: α_a = {float(w):.4f}")


def decide_covariance(value: Value, free: list, file_scale=None) -> Decision:
    """Decide Cov[c] of (c) ii: Var[t](v_a − v_b)(v_a − v_b)ᵀ, a d×d matrix (t = α_a, n = 2).

    c − E[c] = (t − E[t])(v_b − v_a) (proved by `check_covariance_formula`), so the answer
    must be d×d and equal to it; the residual is the evidence, numbers the counterexample.
    The β → ∞ limit ¼(v_a − v_b)(v_a − v_b)ᵀ (Var[t] → ¼, `limit_var_t`) holds as a limit,
    as the large-scale answers of the other parts do; with the file's (c) i scale a fixed
    number ``file_scale``, it holds with that condition, Var[t] at that scale by quadrature.
    """
    require(check_covariance_formula())
    truth = exact_covariance()
    heads = [j for j, sym in VAR_HEAD.items() if any(sp.sympify(c).has(sym) for _, c in value.terms)]
    if heads:
        return Decision(UNPARSEABLE, f"Var(c_{heads[0]}) is the variance of one head's output in (d) ii; (c) ii has one head, "
                        "whose output is c: write Cov[c] with Var[t]")
    if value.is_scalar and value.is_zero():
        value = Value((), "d", "d")
    if value.shape != ("d", "d"):
        return Decision(FAILS, f"{value.text()} is {describe(*value.shape)}: the covariance of the d-vector c is a d×d matrix, "
                        f"Cov[c] = {truth.text()}", counterexample=covariance_counterexample(value, truth))
    residual = add(value, scale(truth, -1)).simplified()
    if not residual.terms:
        return Decision(HOLDS, f"the answer minus Cov[c] = {truth.text()} simplifies to 0; c − E[c] = (t − E[t])(v_b − v_a) "
                        "exactly for n = 2 (proved), and the n − 2 other keys add O((n − 2)e^(−β))")
    limit, derivation = limit_var_t()
    quarter = limit.subs(eta_var, sp.Rational(1, 2))  # Var[t] → ¼ for the question's η ~ N(1, ½)
    limit_truth = Value(tuple((w, sp.sympify(c).subs(VAR_T_SYMBOL, quarter)) for w, c in truth.terms), "d", "d")
    if derivation.ok and not add(value, scale(limit_truth, -1)).simplified().terms:
        lead = (f"Cov[c] = {truth.text()} exactly; {derivation.evidence} as β → ∞ (η ~ N(1, ½)), so the answer "
                f"{value.text()} is its limit")
        if file_scale is not None and file_scale != beta and sp.sympify(file_scale).is_number:
            at = var_t(float(file_scale), 0.5)
            return Decision(HOLDS_WITH_CONDITIONS, f"{lead}; at the file's (c) i scale {file_scale}, Var[t] = {at:.4f} (quadrature)",
                            condition=f"a growing scale (at scale {file_scale}: Var[t] = {at:.4f}, not ¼)")
        return Decision(HOLDS, f"{lead} (the question's large scale; limits, proved)")
    return Decision(FAILS, f"the answer minus Cov[c] = {truth.text()} is {residual.text()}, not 0",
                    counterexample=covariance_counterexample(value, truth))


def decide_output(value: Value, free: list, file_scale=None) -> Decision:
    """Decide a claimed output c = w_a v_a + w_b v_b of (c) ii: each coefficient is decided as a
    weight (`decide_weight`), the worse verdict wins. ``value`` lives in `answer_spaces.VALUES`."""
    from .result import worst

    if value.shape != ("d", "1"):
        return Decision(FAILS, f"{value.text()} is {describe(*value.shape)}; the output c is a d-vector")
    terms = value.as_dict()
    parts = []
    for which, name in (("a", "v_a"), ("b", "v_b")):
        coef = sum((c for w, c in terms.items() if len(w) == 1 and w[0].name == name), sp.Integer(0))
        parts.append((which, decide_weight(Value((((), coef),), "1", "1"), free, which, file_scale)))
    verdict = worst(d.verdict for _, d in parts)
    evidence = "; ".join(f"coefficient of v_{w}: {d.evidence}" for w, d in parts)
    condition = "; ".join(d.condition for _, d in parts if d.condition)
    counter = "; ".join(d.counterexample for _, d in parts if d.counterexample)
    return Decision(verdict, evidence, condition=condition, counterexample=counter)


# The answer file's fields of (c) ii (ANSWER-FILE.md), decided here. The scalars may be written
# with the means (E[η] = μ_aᵀμ_a): they are read in the means' space. A weight, the threshold and
# the covariance are judged at the scale of the file's own (c) i query (`averaging.query_scale`).
_AT_QUERY_SCALE = (("q1c_i", "q"),)


def _file_scale(given: dict):
    """The scale of the file's (c) i query, or None when it has none."""
    return query_scale(given["q1c_i"]["q"]) if "q" in given.get("q1c_i", {}) else None


FIELDS = (
    AnswerField("q1c_ii", "eta_mean", space=MEANS, decide=lambda v, f, _: decide_eta_moment(v, f, "mean"),
                decided_by=decide_eta_moment, claim="Q1c.ii.eta"),
    AnswerField("q1c_ii", "eta_var", space=MEANS, decide=lambda v, f, _: decide_eta_moment(v, f, "var"),
                decided_by=decide_eta_moment, claim="Q1c.ii.eta"),
    AnswerField("q1c_ii", "weight_a", space=MEANS, decide=lambda v, f, scale: decide_weight(v, f, "a", scale),
                decided_by=decide_weight, depends_on=_AT_QUERY_SCALE, context=_file_scale, claim="Q1c.ii.weights"),
    AnswerField("q1c_ii", "weight_b", space=MEANS, decide=lambda v, f, scale: decide_weight(v, f, "b", scale),
                decided_by=decide_weight, depends_on=_AT_QUERY_SCALE, context=_file_scale, claim="Q1c.ii.weights"),
    AnswerField("q1c_ii", "cov_c", space=VALUES, decide=decide_covariance, decided_by=decide_covariance,
                depends_on=_AT_QUERY_SCALE, context=_file_scale, claim="Q1c.ii.variance"),
    AnswerField("q1c_ii", "threshold", space=MEANS, decide=decide_threshold, decided_by=decide_threshold,
                depends_on=_AT_QUERY_SCALE, context=_file_scale, claim="Q1c.ii.threshold"),
)
