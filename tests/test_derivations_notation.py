"""The notations and scales real students use (ANSWER-FILE.md, "Notation people write"), each decided.

Every expected verdict is decided by hand from QUESTIONS.md, not read from the code:
- (b) i: M(Ax + By) = Ax with AᵀA = I, AᵀB = 0: A Aᵀ = Σ a_i a_iᵀ = A(AᵀA)^{-1}Aᵀ hold; Aᵀ is m×d.
- (b) ii, (c) i: logits (x_a, x_b, x_o); a growing scale s gives weights e^s/(2e^s + n − 2) → ½.
  A scale built from the noise variance α works only while the logits' noise sqrt(α)·s → 0:
  α^{-1/4} does (α^{1/4} → 0), α^{-1/2} does not (the noise stays of order 1).
- (c) ii: 1/(1 + e^{10(1−η)}) = e^{10η}/(e^{10η} + e^{10}), α_a for n = 2 at scale 10; Var[t] → ¼
  as β → ∞ (t → 1[η < 1], P(η < 1) = ½), so ¼(v_a − v_b)(v_a − v_b)ᵀ is Cov[c]'s limit.
- (d) ii: with q_1 = βμ_a, q_2 = βμ_b, c_2 does not depend on η, so Cov[c] = ¼Cov[c_1] = ¼Var(c_1);
  heads μ_a, μ_b (no scale) have weight 1/(1 + e^{−η}) on v_a, which varies at every η: Cov[c] ≠ 0.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivations.answer_checks import decide_field

H, HC, F, NC, U = "holds", "holds-with-conditions", "fails", "not-checkable", "unparseable"
SCALE_10 = {"q1c_i": {"q": r"10(\mu_a + \mu_b)"}}

# (kind, part, field, given, verdict, other parts of the same file)
KINDS = [
    # juxtaposed subscripted names: TeX takes one character after _
    ("juxtaposed", "q1b_i", "M", r"\sum_{i=1}^m a_ia_i^\top", H, {}),
    ("juxtaposed", "q1b_ii", "q", r"k_ak_b^T k_a", F, {}),  # k_a (k_bᵀk_a) = 0: every logit 0
    ("juxtaposed", "q1b_i", "M", r"AA'", H, {}),
    # ⊗ between vectors is the outer product
    ("otimes", "q1b_i", "M", r"\sum_{i=1}^m a_i \otimes a_i", H, {}),
    ("otimes", "q1b_i", "M", "Σ_i a_i ⊗ a_i", H, {}),
    # numbers without braces, \tfrac, \dfrac
    ("braces", "q1c_i", "q", r"\sqrt2 \beta (\mu_a + \mu_b)", H, {}),
    ("braces", "q1c_ii", "eta_var", r"\frac12", H, {}),
    ("braces", "q1c_ii", "eta_var", r"\tfrac{1}{2}", H, {}),
    ("braces", "q1d_ii", "cov_c", r"\dfrac14 \mathrm{Var}[t] (v_a - v_b)(v_a - v_b)^T", H, {}),
    # ∞ as a scale
    ("infinity", "q1b_ii", "q", r"\infty (k_a + k_b)", H, {}),
    ("infinity", "q1b_ii", "q", "∞·(k_a + k_b)", H, {}),
    # sums with an index condition: Σ_{i≠a,b} k_i has logit 1 on each other key, 0 on a and b
    ("indexed sum", "q1b_ii", "q", r"\lambda(k_a + k_b) - \lambda \sum_{i \neq a, b} k_i", H, {}),
    ("indexed sum", "q1b_ii", "q", r"\beta \sum_{i\ne a} k_i", F, {}),  # logits (0, β, β): weight → 1/(n − 1) on b
    ("indexed sum", "q1b_ii", "q", r"\beta \sum_{j \notin \{a, b\}} k_j", F, {}),
    # σ(·) as the logistic function
    ("sigma", "q1c_ii", "weight_a", r"\sigma(10(\eta - 1))", HC, {}),
    ("sigma", "q1c_ii", "weight_b", r"\sigma(\beta(1 - \eta))", HC, {}),  # 1/(1 + e^{β(η−1)}): α_b for n = 2
    # Var / Cov of the heads' outputs in (d) ii
    ("var of heads", "q1d_ii", "cov_c", r"\frac14 \mathrm{Var}(c_1)", H, {}),
    ("var of heads", "q1d_ii", "cov_c", r"\frac{1}{4}\left(\operatorname{Cov}(c_1) + \operatorname{Cov}(c_2)\right)", H, {}),
    # head 2 (βμ_b) does not vary: ¼Var(c_2) = 0, the limit answer, right only with η < 0 ignored
    ("var of heads", "q1d_ii", "cov_c", r"\frac14 \mathrm{Var}(c_2)", HC, {}),
    # Unicode letters and signs
    ("unicode", "q1c_i", "q", "β(μ_a + μ_b)", H, {}),
    ("unicode", "q1b_i", "M", "A Aᵀ", H, {}),
    ("unicode", "q1c_ii", "cov_c", "Var[t](v_a − v_b)(v_a − v_b)ᵀ", H, {}),
    # inverses and integer powers of square matrices; a power of a non-square matrix stays a shape error
    ("inverse", "q1b_i", "M", r"A (A^T A)^{-1} A^T", H, {}),
    ("inverse", "q1b_i", "M", r"A(A^\top A)^{-1}A^\top", H, {}),
    ("inverse", "q1b_i", "M", r"(A A^T)^2", H, {}),  # A(AᵀA)Aᵀ = A Aᵀ
    ("inverse", "q1b_i", "M", r"A^{-1}", F, {}),
    ("inverse", "q1b_i", "M", r"(A A^T)^{-1}", NC, {}),  # singular when m < d: not a number the relations give
    # names outside the format with one reading in context
    ("reading", "q1b_ii", "q", r"\beta(k_i + k_j)", H, {}),
    ("reading", "q1b_ii", "q", r"\beta(k_a + k_b) - \beta k_j", H, {}),
    ("reading", "q1c_i", "q", r"\beta(u_a + u_b)", H, {}),
    ("reading", "q1b_ii", "q", r"\beta(k_a + k_j)", U, {}),  # no single reading: a message naming k_j
    # matrices written as their columns, norms
    ("columns", "q1b_i", "M", r"[a_1, \dots, a_m][a_1, \dots, a_m]^T", H, {}),
    ("columns", "q1b_i", "M", r"\begin{bmatrix} a_1 & \cdots & a_m \end{bmatrix}^T", F, {}),
    ("norm", "q1b_i", "M", r"\sum_{i=1}^m \frac{a_i a_i^T}{\|a_i\|^2}", H, {}),
    ("columns", "q1b_i", "M", r"(a_1, \dots, a_m)(a_1, \dots, a_m)^\top", H, {}),
    ("wrappers", "q1b_i", "M", r"\textbf{A}\textbf{A}^T", H, {}),
    ("wrappers", "q1d_ii", "cov_c", r"n\mathrm{Var}[t] (v_a - v_b)(v_a - v_b)^T", F, {}),  # n·Var[t]·…, not nVar
    ("variance", "q1c_ii", "cov_c", r"\sigma_t^2 (v_a - v_b)(v_a - v_b)^T", H, {}),
    ("variance", "q1c_ii", "cov_c", r"\mathbb{V}[t](v_a - v_b)(v_a - v_b)^T", H, {}),
    ("indexed sum", "q1c_i", "q", r"\beta\sum_{i \in \{a, b\}} \mu_i", H, {}),
    ("limit", "q1b_ii", "q", r"\lim_{\beta \to \infty} \beta(k_a + k_b)", H, {}),
    ("limit", "q1b_i", "M", r"\sum\limits_{i=1}^{m} a_i a_i^\top", H, {}),
    # plain text as people type it: functions by name, NumPy's @ and .dot, sums as words, scientific notation
    ("plain text", "q1b_i", "M", "A*transpose(A)", H, {}),
    ("plain text", "q1b_i", "M", "A @ A.T", H, {}),
    ("plain text", "q1b_i", "M", "A.dot(A.T)", H, {}),
    ("plain text", "q1b_i", "M", "A*inv(A^T*A)*A^T", H, {}),
    ("plain text", "q1b_i", "M", "sum_i a_i*a_i^T", H, {}),
    ("plain text", "q1b_i", "M", "proj(A)", U, {}),  # an unknown function, never i·n·v-style letters
    ("plain text", "q1b_ii", "q", "1e3*(k_a + k_b)", HC, {}),  # 1000, not 1·e·3
    ("plain text", "q1c_ii", "weight_a", "sigmoid(beta*(eta - 1))", HC, {}),
    ("spacing", "q1c_ii", "cov_c", r"\mathrm{Var}(t)\,(v_a - v_b)(v_a - v_b)^{\top}", H, {}),
    ("variance", "q1c_ii", "cov_c", r"\sigma^2_t (v_a - v_b)(v_a - v_b)^\top", H, {}),  # both scripts on σ
    ("variance", "q1d_ii", "cov_c", r"\frac{1}{4}\mathrm{Var}[h_a](v_a - v_b)(v_a - v_b)^\top", H, {}),
    ("typst", "q1c_i", "q", "q = lambda (mu_a + mu_b) quad lambda >> 1", H, {}),  # Typst math: words, quad
    # a big-O bound has no constants: the ratio of exact counts cannot be decided from it
    ("big-O", "q2g_ii", "ratio", r"\frac{\mathcal{O}(2\ell m + (L-2)m^2)}{\mathcal{O}(L\ell^2)}", NC, {}),
    # a line as written: the name, a chain of relations, a trailing clause
    ("line", "q1b_ii", "q", r"q = \lambda (k_a + k_b) \text{ where } \lambda \to \infty", H, {}),
    ("line", "q1b_ii", "q", r"\beta k_a + \beta k_b, \beta \gg 0", H, {}),
    ("line", "q1b_i", "M", r"M = A A^\top = \sum_{i=1}^m a_i a_i^\top", H, {}),
    ("line", "q1c_ii", "threshold", r"\eta \geq 1 + \frac{\ln 99}{10}", HC, SCALE_10),
]

# The scale, decided in one place: any letter, the noise variance, two heads' own scales.
SCALES = [
    ("q1b_ii", "q", r"t(k_a + k_b)", H, {}),
    ("q1b_ii", "q", r"s(k_a + k_b)", H, {}),
    ("q1b_ii", "q", r"A(k_a + k_b)", H, {}),
    ("q1b_ii", "q", r"C k_a + C k_b", H, {}),
    ("q1b_ii", "q", r"c(k_a + k_b)", H, {}),
    ("q1c_i", "q", r"k(\mu_a + \mu_b)", H, {}),  # k alone is a letter, not a key
    ("q1b_ii", "q", r"\lambda c (k_a + k_b)", H, {}),  # λ grows, c held fixed and positive
    ("q1c_i", "q", r"\alpha^{-1/4}(\mu_a + \mu_b)", H, {}),
    ("q1c_i", "q", r"\alpha^{-1/2}(\mu_a + \mu_b)", F, {}),
    ("q1c_i", "q", r"\frac{1}{\alpha}(\mu_a + \mu_b)", F, {}),
    ("q1b_ii", "q", r"1000(k_a + k_b)", HC, {}),
    ("q1c_ii", "weight_a", r"\frac{1}{1 + e^{10(1-\eta)}}", HC, {}),
    ("q1c_ii", "threshold", r"1 + \frac{\ln 99}{\gamma}", HC, {}),  # γ is the scale here: no η in a threshold
    ("q1c_ii", "weight_a", r"\frac{1}{1 + e^{-10(\eta - 1)}}", HC, {}),
    ("q1c_ii", "weight_a", r"\frac{1}{1 + e^{10(\eta-1)}}", F, {}),  # that is α_b
    ("q1c_ii", "cov_c", r"\frac14 (v_a - v_b)(v_a - v_b)^\top", H, {}),
    ("q1c_ii", "cov_c", r"\frac14 (v_a - v_b)(v_a - v_b)^\top", HC, SCALE_10),
    ("q1c_ii", "cov_c", r"\frac12 (v_a - v_b)(v_a - v_b)^\top", F, {}),
    ("q1d_ii", "cov_c", "0", F, {"q1d_i": {"q1": r"\mu_a", "q2": r"\mu_b"}, "q1d_ii": {"ignore_negative": True}}),
    ("q1d_ii", "cov_c", "0", H, {"q1d_i": {"q1": r"t_1 \mu_a", "q2": r"t_2 \mu_b"}, "q1d_ii": {"ignore_negative": True}}),
    ("q1d_ii", "cov_c", "0", HC, {"q1d_i": {"q1": r"10 \mu_a", "q2": r"10 \mu_b"}, "q1d_ii": {"ignore_negative": True}}),
]

HEADS = [
    (r"t_1 \mu_a", r"t_2 \mu_b", H),
    (r"\beta_1 \mu_a", r"\beta_2 \mu_b", H),
    (r"\alpha^{-1/4} \mu_a", r"\alpha^{-1/4} \mu_b", H),
    (r"q_1 = \lambda \mu_a", r"q_2 = \lambda \mu_b", H),
    (r"\mu_a", r"\mu_b", F),
]


def _decide(part, field, text, others):
    answers = {k: dict(v) for k, v in others.items()}
    answers.setdefault(part, {})[field] = text
    return decide_field(part, field, text, answers)


@pytest.mark.parametrize("kind,part,field,text,verdict,others", KINDS, ids=[f"{k[0]}:{k[3]}" for k in KINDS])
def test_notation_people_write(kind, part, field, text, verdict, others):
    r = _decide(part, field, text, others)
    assert r.verdict == verdict, r.decision.evidence


@pytest.mark.parametrize("part,field,text,verdict,others", SCALES, ids=[f"{s[0]}:{s[2]}:{len(s[4])}" for s in SCALES])
def test_scale_read_as_students_name_it(part, field, text, verdict, others):
    r = _decide(part, field, text, others)
    assert r.verdict == verdict, r.decision.evidence


@pytest.mark.parametrize("q1,q2,verdict", HEADS)
def test_heads_with_their_own_scales(q1, q2, verdict):
    r = _decide("q1d_i", "q1", q1, {"q1d_i": {"q1": q1, "q2": q2}})
    assert r.verdict == verdict, r.decision.evidence


def test_the_evidence_says_which_reading_it_took():
    assert "took t as the scale" in _decide("q1b_ii", "q", r"t(k_a + k_b)", {}).decision.evidence
    assert "read k_i, k_j as the two" in _decide("q1b_ii", "q", r"\beta(k_i + k_j)", {}).decision.evidence
    assert "read u_a, u_b as μ_a, μ_b" in _decide("q1c_i", "q", r"\beta(u_a + u_b)", {}).decision.evidence
    assert "noise variance" in _decide("q1c_i", "q", r"\alpha^{-1/4}(\mu_a + \mu_b)", {}).decision.evidence
    two = _decide("q1d_i", "q1", r"t_1 \mu_a", {"q1d_i": {"q1": r"t_1 \mu_a", "q2": r"t_2 \mu_b"}}).decision.evidence
    assert "no relation between them" in two
    assert "k_j" in _decide("q1b_ii", "q", r"\beta(k_a + k_j)", {}).decision.evidence


def test_a_scale_from_the_exponent_has_the_right_sign_and_size():
    r = _decide("q1c_ii", "weight_a", r"\frac{1}{1 + e^{10(1-\eta)}}", {})
    assert "scale 10" in r.decision.evidence and r.decision.condition == "n = 2"


def test_scientific_notation_is_a_number():
    r = _decide("q1b_ii", "q", "1e3*(k_a + k_b)", {})
    assert "(1000, 1000, 0)" in r.decision.evidence  # 10^3, never 1·e·3 (a scale 3e)


def test_a_large_numeric_scale_gives_its_exact_largest_n():
    import math

    r = _decide("q1b_ii", "q", r"1000(k_a + k_b)", {})
    # e^1000/(2e^1000 + n − 2) ≥ 0.49 while n − 2 ≤ (2/49)e^1000: about 8·10^432 keys
    digits = int(math.log10(2 / 49) + 1000 / math.log(10))
    assert f"·10^{digits}" in r.decision.condition


def test_the_limit_of_the_single_head_covariance_is_said_as_a_limit():
    r = _decide("q1c_ii", "cov_c", r"\frac14 (v_a - v_b)(v_a - v_b)^\top", {})
    assert "β → ∞" in r.decision.evidence
    r = _decide("q1c_ii", "cov_c", r"\frac14 (v_a - v_b)(v_a - v_b)^\top", SCALE_10)
    assert "0.19" in r.decision.condition  # Var[t] at scale 10 by quadrature, not ¼


# --- no internal error is a verdict ---------------------------------------------------------------

_SCALARS = st.sampled_from([r"\beta", r"\lambda", "t", "A", "C", "c", "s", r"\infty", r"\alpha^{-1/4}", "10", r"\sqrt2",
                            r"\frac12", "2", r"t_1", r"\beta_2", "β", "1000", "n", r"e^{\beta}", r"\sqrt{\alpha}"])
_KEYS = st.sampled_from(["k_a", "k_b", "k_i", r"\sum_{i \neq a, b} k_i", r"\sum_{i\ne a} k_i", "k_j", r"\mathbf{k}_a", "K_b"])
_MEANS = st.sampled_from([r"\mu_a", r"\mu_b", r"\mu_i", "μ_a", "u_b", r"\sum_{i \neq a,b} \mu_i", r"\boldsymbol{\mu}_b"])
_MATRICES = st.sampled_from(["A A^T", r"a_ia_i^\top", r"a_i \otimes a_i", r"(A^T A)^{-1}", "A", "B B^T", "I", r"A(A^\top A)^{-1}A^\top",
                             r"\sum_{i=1}^m a_i a_i^T", r"(AA^T)^{-1}", "A^2"])
_ETA = st.sampled_from([r"e^{\beta\eta}", r"e^{10(1-\eta)}", r"\sigma(\beta(\eta-1))", r"e^{\beta}", "n - 2", r"\eta", "1",
                        r"\frac{\ln 99}{\beta}", r"e^{t\eta}"])
_COV = st.sampled_from([r"\mathrm{Var}[t]", r"\frac14", r"\mathrm{Var}(c_1)", r"\operatorname{Cov}(c_2)", "0", r"\mathrm{Var}(\alpha_a)"])


def _combo(terms, ops=("+", "-")):
    return st.lists(st.tuples(st.sampled_from(ops), terms), min_size=1, max_size=3).map(
        lambda xs: " ".join(f"{op} {t}" if i else t for i, (op, t) in enumerate(xs)))


def _vector(scalars, vectors):
    return _combo(st.tuples(scalars, vectors).map(lambda sv: f"{sv[0]} {sv[1]}"))


_ANSWERS = st.one_of(
    _vector(_SCALARS, _KEYS).map(lambda t: ("q1b_ii", "q", t)),
    _vector(_SCALARS, _MEANS).map(lambda t: ("q1c_i", "q", t)),
    st.tuples(_vector(_SCALARS, _MEANS), _vector(_SCALARS, _MEANS)).map(lambda qs: ("q1d_i", qs, None)),
    _combo(st.tuples(_SCALARS, _MATRICES).map(lambda sv: f"{sv[0]} {sv[1]}")).map(lambda t: ("q1b_i", "M", t)),
    st.tuples(_ETA, _ETA, st.sampled_from(["weight_a", "weight_b", "threshold"])).map(
        lambda x: ("q1c_ii", x[2], rf"\frac{{{x[0]}}}{{{x[0]} + {x[1]}}}" if x[2] != "threshold" else f"1 + {x[1]}")),
    _combo(_COV.map(lambda c: rf"{c} (v_a - v_b)(v_a - v_b)^\top")).map(lambda t: ("q1c_ii", "cov_c", t)),
    _combo(_COV.map(lambda c: rf"{c} (v_a - v_b)(v_a - v_b)^\top")).map(lambda t: ("q1d_ii", "cov_c", t)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANSWERS)
def test_well_formed_answers_get_a_verdict_never_an_internal_error(answer):
    """Answers built from the notations above: every checker gives a verdict, and `not-checkable`
    only for a reason the format states (never an exception turned into one)."""
    part, field, text = answer
    if part == "q1d_i":
        q1, q2 = field
        r = decide_field("q1d_i", "q1", q1, {"q1d_i": {"q1": q1, "q2": q2}})
    else:
        r = decide_field(part, field, text, {part: {field: text}})
    assert r.verdict in (H, HC, F, NC, U)
    assert not r.decision.evidence.startswith("could not be decided by computer algebra"), (answer, r.decision.evidence)
