"""Question 1(d): two heads, q_1 = beta·mu_a and q_2 = beta·mu_b, c = ½(c_1 + c_2)."""
from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy import stats as sps

from .answer_algebra import VAR_HEAD, VAR_T, Value, add, describe, scale
from .answer_field import FLAG, AnswerField
from .answer_spaces import MEANS, VALUES
from .answer_value import NO_VALUE, no_value, value, value_with_notes, with_notes
from .attention import softmax_weights
from .answer_scale import find_head_scales
from .averaging import MEAN_NAMES, decide_average, logits_of
from .output_variance import covariance_counterexample, exact_covariance, limit_var_t
from .quadrature import normal_variance
from .result import FAILS, HOLDS, HOLDS_WITH_CONDITIONS, PENDING, UNPARSEABLE, Check, Decision, ProofResult, require, show
from .symbols import beta, eta, eta_var, extra, n

# In the mu basis a query is (coefficient on mu_a, coefficient on mu_b); iso_var → 0.
Query = tuple[sp.Expr, sp.Expr]
HEAD_1: Query = (beta, sp.Integer(0))
HEAD_2: Query = (sp.Integer(0), beta)
SHEET_HEADS: tuple[Query, Query] = ((10 * sp.Integer(1), 10 * sp.Integer(1)), (10 * sp.Integer(1), 10 * sp.Integer(1)))
SCALED_SHEET_HEADS: tuple[Query, Query] = ((beta, beta), (beta, beta))

# (d) ii with k_a = eta mu_a: head 1 sees logits (beta·eta at a, 0 at the n − 1 others);
# head 2 sees (beta at b, 0 at the n − 1 others, a included since mu_aᵀmu_b = 0).
H1_A, H1_OTHER = softmax_weights([beta * eta, sp.Integer(0)], [1, n - 1])
H2_B, H2_OTHER = softmax_weights([beta, sp.Integer(0)], [1, n - 1])


def head_weights(query: Query, eta_value: sp.Expr = sp.Integer(1)) -> list[sp.Expr]:
    """(w_a, w_b, w_other) of one head whose query is coef_a·mu_a + coef_b·mu_b."""
    coef_a, coef_b = query
    return softmax_weights([coef_a * eta_value, coef_b, sp.Integer(0)], [1, 1, n - 2])


def check_two_heads(q1: Query, q2: Query) -> Check:
    """The question's requirements: q_1, q_2 different expressions, and ½(c_1 + c_2) → ½(v_a + v_b)."""
    if all(sp.simplify(a - b) == 0 for a, b in zip(q1, q2)):
        return Check(False, f"q_1 = q_2 = {q1[0]}·μ_a + {q1[1]}·μ_b: the question requires different expressions")
    mixed = [(w1 + w2) / 2 for w1, w2 in zip(head_weights(q1), head_weights(q2))]
    limits = [sp.limit(w.subs(n, extra + 2), beta, sp.oo) for w in mixed]
    if [sp.simplify(x) for x in limits] != [sp.Rational(1, 2), sp.Rational(1, 2), 0]:
        shown = [sp.simplify(x.subs(extra, n - 2)) for x in limits]
        return Check(False, f"as β → ∞ the averaged weights on (a, b, other) tend to {shown}, not (½, ½, 0)")
    return Check(True, "q_1 ≠ q_2 and the averaged weights on (a, b, others) → (½, ½, 0) as β → ∞ for every n ≥ 2")


def var_head1(beta_value: float, eta_variance: float = 0.5, keys: int = 2) -> float:
    """Var[h_a] of head 1 by quadrature: the two-head output's only random part."""
    f = sp.lambdify(eta, H1_A.subs({beta: beta_value, n: keys}), "numpy")
    return normal_variance(f, 1.0, eta_variance, breakpoints=(0.0,))


def check_two_head_limit(candidate: sp.Expr) -> Check:
    """A claimed β → ∞ limit of Var[h_a] must equal the derived P(η<0)(1 − P(η<0))."""
    lim, derivation = limit_var_head1()
    require(derivation)
    if sp.simplify(candidate - lim) == 0:
        return Check(True, derivation.evidence)
    at_half = {eta_var: sp.Rational(1, 2)}
    return Check(False, f"claimed limit {candidate} ≠ derived {lim}: at Var[η] = ½, {float(sp.sympify(candidate).subs(at_half)):.4f} "
                 f"against {float(lim.subs(at_half)):.4f}")


def limit_var_head1() -> tuple[sp.Expr, Check]:
    """h_a → 1[η > 0] as β → ∞, so Var[h_a] → P(η<0)(1 − P(η<0)); 0 when η < 0 is ignored."""
    u = sp.Symbol("u", positive=True)
    pos = sp.limit(H1_A.subs(eta, u).subs(n, extra + 2), beta, sp.oo)
    neg = sp.limit(H1_A.subs(eta, -u).subs(n, extra + 2), beta, sp.oo)
    p = sps.P(sps.Normal("eta", 1, sp.sqrt(eta_var)) < 0)
    limit = sp.simplify(p * (1 - p))
    ok = pos == 1 and neg == 0
    return limit, Check(ok, f"h_a → 1 for η > 0 and → 0 for η < 0, so Var[h_a] → P(η<0)(1 − P(η<0)) = {limit}, "
                        f"= {float(limit.subs(eta_var, sp.Rational(1, 2))):.4f} at Var[η] = ½; ignoring η < 0 (as the question allows) it → 0")


def prove_two_heads() -> ProofResult:
    """Q1d.i's statement and the correct heads q_1 = βμ_a, q_2 = βμ_b, proved. The verdict stays pending
    here: the sheet's heads are decided from its answer file by `decide_heads` (derivations.claims)."""
    correct = require(check_two_heads(HEAD_1, HEAD_2))
    return ProofResult(
        claim_id="Q1d.i",
        statement="q_1 = q_2 = 10(μ_a + μ_b) answers (d) i, with C ≈ ½(V_a + V_b)",
        verdict=PENDING,
        evidence=f"the correct answer q_1 = βμ_a, q_2 = βμ_b: {correct.evidence}",
        decided_by="derivations.q1d_multi_head.prove_two_heads",
        answer="q_1 = βμ_a, q_2 = βμ_b with β large: head 1 copies v_a (weight e^β/(e^β + n − 1) → 1), head 2 copies v_b, so c = ½(c_1 + c_2) → ½(v_a + v_b).",
        formulas={"q": sp.Eq(sp.Symbol("(q_1, q_2)"), sp.Tuple(beta * sp.Symbol("mu_a"), beta * sp.Symbol("mu_b"))),
                  "h_a": sp.Eq(sp.Symbol("h_a"), sp.simplify(H1_A.subs(eta, 1)))},
    )


def sheet_k_b_mean_along_mu_a() -> sp.Expr:
    """E[μ_aᵀk_b] under the question's k_b ~ N(μ_b, αI): μ_aᵀμ_b, which orthogonality makes 0."""
    d = sp.Symbol("d", integer=True, positive=True)
    mu_a, mu_b = sp.MatrixSymbol("mu_a", d, 1), sp.MatrixSymbol("mu_b", d, 1)
    mean = (mu_a.T * mu_b).subs(mu_a.T * mu_b, sp.ZeroMatrix(1, 1)).doit()
    return sp.Integer(0) if mean == sp.ZeroMatrix(1, 1) else mean


def prove_two_head_variance() -> ProofResult:
    """Q1d.ii's statement and the two-head variance, derived (limits of Var[h_a]; quadrature at β = 10).
    The verdict stays pending here: the sheet's cov_c and its step k_b = η_b μ_a are decided in
    derivations.claims.two_head_variance_claim."""
    lim, lim_check = limit_var_head1()
    require(lim_check)
    single_lim, _ = limit_var_t()
    multi = 0.5 * var_head1(10.0, 0.5)
    return ProofResult(
        claim_id="Q1d.ii",
        statement="with k_a = η_a μ_a + Δ_a, k_b = η_b μ_a + Δ_b: C = (e^{10(η_a−η_b)} V_a + V_b)/(e^{10(η_a−η_b)} + 1) and Var[C] = (V_a + V_b)·Var[t]",
        verdict=PENDING,
        evidence=(f"{lim_check.evidence}; at β = 10 (n = 2, v_a = e_1, v_b = e_2) q_1 = βμ_a, q_2 = βμ_b give "
                  f"tr Cov[c] = {multi:.6f} (quadrature)"),
        decided_by="derivations.q1d_multi_head.prove_two_head_variance",
        answer=("Head 2 does not depend on η; head 1 gives c_1 = S̄ + h_a(v_a − S̄) with S̄ the mean of the other values, so "
                "Cov[c] = ¼Var[h_a](v_a − S̄)(v_a − S̄)ᵀ. As β → ∞, Var[h_a] → P(η<0)P(η>0) ≈ 0.072 (→ 0 ignoring η < 0), so tr Cov[c] → "
                "about 0.018‖v_a − S̄‖², against one head's ¼‖v_a − v_b‖²: smaller whenever the values differ (both are 0 when all values are equal)."),
        formulas={"h_a": sp.Eq(sp.Symbol("h_a"), H1_A), "limit": sp.Eq(sp.Limit(sp.Symbol(r"\operatorname{Var}[h_a]"), beta, sp.oo), lim),
                  "single_limit": sp.Eq(sp.Limit(sp.Symbol(r"\operatorname{Var}[t]"), beta, sp.oo), single_lim)},
        details={"trace_cov_multi_beta10": multi, "limit_var_h_a_half": float(lim.subs(eta_var, sp.Rational(1, 2)))},
    )


# ---------------------------------------------------------------------------- any answer to (d)



def proportion(q1: Value, q2: Value) -> sp.Expr | None:
    """r with q_2 = r·q_1 when the two queries are proportional (same words, one ratio), else None."""
    a, b = q1.simplified().as_dict(), q2.simplified().as_dict()
    if set(a) != set(b) or not a:
        return None
    ratios = {sp.simplify(b[w] / a[w]) for w in a}
    return ratios.pop() if len(ratios) == 1 else None


def decide_heads(q1: Value, q2: Value, free: list) -> Decision:
    """Decide (d) i: q_1, q_2 are d-vectors, different by meaning (not proportional), and
    ½(c_1 + c_2) → ½(v_a + v_b), by limits in the scale (or, for a numeric scale, exactly
    up to the largest n; `averaging.decide_average`)."""
    for name, q in (("q_1", q1), ("q_2", q2)):
        if q.shape != ("d", "1"):
            return Decision(FAILS, f"{name} = {q.text()} is {describe(*q.shape)}; a query is a d-vector")
    r = proportion(q1, q2)
    if r is not None:
        same = "the same expression" if r == 1 else f"q_2 = {show(r)}·q_1, a multiple of q_1"
        return Decision(FAILS, f"q_1 = {q1.text()}, q_2 = {q2.text()}: {same}; proportional queries attend to the same keys "
                        "(the same head, sharper or flatter), and the question requires different heads",
                        counterexample="any keys: both heads rank the keys alike, so ½(c_1 + c_2) is one head's kind of output")
    logits = [logits_of(q, MEANS, MEAN_NAMES) for q in (q1, q2)]
    heads, scale = find_head_scales(logits, free)
    return decide_average(heads, scale, "head logits (μ_aᵀq, μ_bᵀq, μ_iᵀq) =")


P_NEG = sp.Rational(1, 2) * sp.erfc(1)  # P(η < 0) for η ~ N(1, ½): Φ(−√2) = erfc(1)/2


def _head_coefficients(heads) -> list[tuple[sp.Expr, sp.Expr]]:
    """(coefficient on μ_a, on μ_b) of each head: with k_a = ημ_a a head's logits are (coef_a·η, coef_b)."""
    return [(h[0], h[1]) for h in heads]


def _head_weight(coef_a, coef_b):
    """α_a of one head for n = 2 (keys a and b only), as a function of η."""
    return 1 / (1 + sp.exp(coef_b - coef_a * eta))


def _head_variances(value: Value, coefs, one_t: bool) -> tuple[Value, str]:
    """The answer with Var(c_1), Var(c_2) read for the file's heads (`answer_algebra.VAR_HEAD`):
    Var[h_j] is Var[t] for a head that depends on η when one t describes them all (``one_t``: one
    such head, or both the same head), 0 for a head that does not."""
    used = [j for j, sym in VAR_HEAD.items() if any(sp.sympify(c).has(sym) for _, c in value.terms)]
    if not used:
        return value, ""
    subs, said = {}, []
    for j in used:
        a, _ = coefs[j - 1]
        if sp.simplify(a) == 0:
            subs[VAR_HEAD[j]] = 0
            said.append(f"Var(c_{j}) = 0 (head {j} does not depend on η)")
        elif one_t:
            subs[VAR_HEAD[j]] = VAR_T
            said.append(f"Var(c_{j}) = Var[t](v_a − v_b)(v_a − v_b)ᵀ (head {j}'s weight on v_a is t)")
    out = Value(tuple((w, sp.sympify(c).subs(subs)) for w, c in value.terms), value.rows, value.cols)
    return out, ("; reading " + ", ".join(said)) if said else ""


def _zero_at_fixed_scale(lead: str, varying) -> Decision:
    """The answer 0 for heads of a fixed scale: Var[h] > 0 at every scale, 0 only in a limit the answer does not take.

    With no scale at all (a head μ_a) the weight 1/(1 + e^{−η}) varies with η everywhere: fails.
    With a larger fixed number the variance is small, and 0 is its large-scale limit: holds
    with that condition. Both sizes are the quadrature of Var[h_a] over η ~ N(1, ½), n = 2.
    """
    a, b = varying[0]
    weight = sp.lambdify(eta, _head_weight(a, b), "numpy")
    var_h = normal_variance(weight, 1.0, 0.5, breakpoints=(0.0,))
    tr = float(var_h) / 4 if len(varying) == 1 else float(var_h)
    size = f"Var[h_a] = {var_h:.4g} at the heads' own scale {show(a)} (quadrature, η ~ N(1, ½)), so tr Cov[c] = " \
           f"{tr:.4g}·‖v_a − v_b‖²"
    if bool(sp.Abs(a) <= 1):
        return Decision(FAILS, f"{lead}; the heads have no growing scale: {size}, not 0, and no limit makes it vanish",
                        counterexample=f"v_a = e_1, v_b = e_2: tr Cov[c] = {2 * tr:.4g}, not 0")
    return Decision(HOLDS_WITH_CONDITIONS, f"{lead}; {size}: small, and 0 only as the scale grows (with η < 0 ignored)",
                    condition=f"a growing scale, ignoring η < 0 (at {show(a)}: tr Cov[c] = {tr:.4g}·‖v_a − v_b‖²)")


def decide_two_head_covariance(value: Value, free: list, heads=None, ignore_negative: bool = False) -> Decision:
    """Decide Cov[c] of (d) ii for c = ½(c_1 + c_2), n = 2, k_a = ημ_a, η ~ N(1, ½).

    ``heads`` are the file's (d) i queries as logits (coef on μ_a, on μ_b, on μ_i), written in β;
    default q_1 = βμ_a, q_2 = βμ_b. Then c = v_b + ½(h_1 + h_2)(v_a − v_b) with h_j head j's
    α_a, so Cov[c] = Var[½(h_1 + h_2)](v_a − v_b)(v_a − v_b)ᵀ: ¼Var[t] when one head varies
    (t its α_a), Var[t] when both are the same head. An answer 0 is right in the limit β → ∞
    when the varying head's weight → 1 for all η > 0 and the answer ignores η < 0, as the
    question allows (``ignore_negative``).
    """
    heads = heads or [(beta, sp.Integer(0), sp.Integer(0)), (sp.Integer(0), beta, sp.Integer(0))]
    coefs = _head_coefficients(heads)
    varying = [c for c in coefs if sp.simplify(c[0]) != 0]
    shown_heads = ", ".join(f"(μ_aᵀq, μ_bᵀq) = ({show(a)}, {show(b)})" for a, b in coefs)
    if value.is_scalar and value.is_zero():
        value = Value((), "d", "d")
    if value.shape != ("d", "d"):
        truth = exact_covariance(sp.Rational(1, 4))
        return Decision(FAILS, f"{value.text()} is {describe(*value.shape)}: the covariance of the d-vector c is a d×d matrix",
                        counterexample=covariance_counterexample(value, truth))
    if not varying:
        factor, t_is = sp.Integer(0), "no head depends on η"
    elif len(varying) == 1:
        factor, t_is = sp.Rational(1, 4), "t = the α_a of the head that depends on η"
    elif all(sp.simplify(a - varying[0][0]) == 0 and sp.simplify(b - varying[0][1]) == 0 for a, b in varying):
        factor, t_is = sp.Integer(1), "t = the α_a of either head (they are the same head)"
    else:
        factor, t_is = None, "both heads depend on η differently"
    truth = exact_covariance(factor) if factor is not None else None
    lead = f"heads {shown_heads}; c = v_b + ½(h_1 + h_2)(v_a − v_b) for n = 2, so Cov[c] = Var[½(h_1 + h_2)](v_a − v_b)(v_a − v_b)ᵀ"
    value, said = _head_variances(value, coefs, one_t=factor is not None)
    lead += said
    if truth is not None and not add(value, scale(truth, -1)).simplified().terms:
        return Decision(HOLDS, f"{lead} = {truth.text()} ({t_is}); the answer minus it simplifies to 0")
    if value.is_zero():
        flips = [sp.limit(b / a, beta, sp.oo) if (a.has(beta) or b.has(beta)) else b / a for a, b in varying]
        fixed = varying and not any(a.has(beta) or b.has(beta) for a, b in varying)
        if fixed and all(bool(f <= 0) for f in flips):
            return _zero_at_fixed_scale(lead, varying)
        if all(bool(f <= 0) for f in flips):
            p = float(P_NEG)
            limit_cov = sp.Rational(1, 4) * P_NEG * (1 - P_NEG) if len(varying) == 1 else P_NEG * (1 - P_NEG)
            kept = (f"with η < 0 kept, h → 1[η > 0] as β → ∞ and Cov[c] → {float(limit_cov):.4f}·(v_a − v_b)(v_a − v_b)ᵀ "
                    f"(P(η < 0) = {p:.4f} for η ~ N(1, ½))")
            if ignore_negative:
                return Decision(HOLDS, f"{lead}; as β → ∞ the varying head's α_a → 1 for every η > 0, and the answer uses the "
                                f"question's leave to ignore k_aᵀq_i < 0, so Cov[c] → 0 ({kept})")
            return Decision(HOLDS_WITH_CONDITIONS, f"{lead}; {kept}; 0 only when k_aᵀq_i < 0 is ignored, which the answer "
                            "does not say (ignore_negative = false)", condition="ignoring k_aᵀq_i < 0 (η < 0), as the question allows")
        return Decision(FAILS, f"{lead}; a head's α_a flips at η = {', '.join(show(f) for f in flips)} > 0, where η has mass: "
                        "Cov[c] does not vanish as β → ∞", counterexample="β → ∞: Var[t] → P(η < 1)(1 − P(η < 1)) = ¼ for a flip at η = 1")
    if truth is None:
        return Decision(FAILS, f"{lead}; both heads depend on η differently, which no multiple of Var[t] describes; the answer "
                        f"{value.text()} is not 0")
    return Decision(FAILS, f"{lead} = {truth.text()} ({t_is}); the answer minus it is "
                    f"{add(value, scale(truth, -1)).simplified().text()}", counterexample=covariance_counterexample(value, truth))


# ---------------------------------------------------------------------------- the answer file's fields

def decide_head_pair(field: str, text, heads: dict) -> Decision:
    """(d) i's q1 and q2 judged together (``heads``: the part's answers); each field reports the pair's decision."""
    if "q1" not in heads or "q2" not in heads:
        other = "q2" if field == "q1" else "q1"
        return Decision(FAILS, f"(d) i needs both queries; {other} is missing")
    if not all(isinstance(heads[k], str) for k in ("q1", "q2")):
        return Decision(UNPARSEABLE, "q1 and q2 must be strings holding mathematics")
    return _heads_decision(heads["q1"], heads["q2"])


@lru_cache(maxsize=1024)
def _heads_decision(t1: str, t2: str) -> Decision:
    try:
        (q1, f1, n1), (q2, f2, n2) = value_with_notes(t1, MEANS), value_with_notes(t2, MEANS)
    except NO_VALUE as exc:
        return no_value(exc)
    return with_notes(decide_heads(q1, q2, f1 + [s for s in f2 if s not in f1]), list(dict.fromkeys(n1 + n2)))


def file_heads(given: dict):
    """The (d) i heads of a file as logits in β, when both parse as d-vectors; else None (the question's heads)."""
    part = given.get("q1d_i", {})
    if "q1" not in part or "q2" not in part:
        return None
    try:
        (q1, f1), (q2, f2) = value(part["q1"], MEANS), value(part["q2"], MEANS)
        if q1.shape != ("d", "1") or q2.shape != ("d", "1"):
            return None
        logits = [logits_of(q, MEANS, MEAN_NAMES) for q in (q1, q2)]
    except NO_VALUE:
        return None
    heads, _ = find_head_scales(logits, f1 + [s for s in f2 if s not in f1])
    return tuple(tuple(h) for h in heads)


def _two_head_context(given: dict):
    """(heads, ignore_negative) that (d) ii's cov_c is judged with, or None for the question's heads, η < 0 counted."""
    heads = file_heads(given)
    ignore = given.get("q1d_ii", {}).get("ignore_negative", False)
    if heads is None and ignore is not True:
        return None
    return (heads if heads is not None else ((beta, sp.Integer(0), sp.Integer(0)), (sp.Integer(0), beta, sp.Integer(0))),
            ignore is True)


_HEADS = (("q1d_i", "q1"), ("q1d_i", "q2"))
FIELDS = (
    AnswerField("q1d_i", "q1", space=MEANS, together=True, decide_part=decide_head_pair, decided_by=decide_heads,
                depends_on=_HEADS, claim="Q1d.i"),
    AnswerField("q1d_i", "q2", space=MEANS, together=True, decide_part=decide_head_pair, decided_by=decide_heads,
                depends_on=_HEADS),  # judged with q1, whose row states the claim
    AnswerField("q1d_ii", "cov_c", space=VALUES, decided_by=decide_two_head_covariance, claim="Q1d.ii",
                decide=lambda v, f, x: decide_two_head_covariance(
                    v, f, heads=None if x is None else [tuple(h) for h in x[0]], ignore_negative=bool(x and x[1])),
                depends_on=_HEADS + (("q1d_ii", "ignore_negative"),), context=_two_head_context),
    AnswerField("q1d_ii", "ignore_negative", FLAG),
)
