"""The fast sampler (logits drawn directly) agrees in distribution with the faithful one.

Two-sample Kolmogorov-Smirnov tests (``scipy.stats.ks_2samp``) on one-dimensional
statistics of independent draws from both samplers: every logit k_iᵀq_h, the
sum and difference of the two heads' logits of keys a and b (these pin down the
covariance between heads, which the fast sampler must not assume away), the
weight on v_a of head 1 and averaged over the heads, and a projection of c.
Threshold: every p-value ≥ 0.001/k for the k tests made (Bonferroni; family-wise
false-alarm rate at most 0.001). The set-up is deliberately off the defaults:
random orthonormal means, d > n, a and b not the first keys, iso_var large enough
that its term matters. A mutation test shows the same procedure rejects a fast
sampler that treats the heads as independent, or that drops the iso_var term
from key a.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp

from simulate.problem import HEADS, make_problem
from simulate.samplers import FastSampler, FaithfulSampler, softmax

SEED = 0
SAMPLES = 20_000
ALPHA_FAMILY = 0.001
AGREEMENT_TESTS = 38  # the k of test_fast_and_faithful_samplers_agree_in_distribution


def problem(heads: str):
    return make_problem(heads, 3.0, 5, 9, 0.5, 0.2, random_means_seed=3, values_seed=4, a=1, b=3)


def statistics(prob, logits: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    h = logits.shape[1]
    for head in range(h):
        for i in range(prob.n):
            out[f"logit h{head} k{i}"] = logits[:, head, i].copy()
    if h == 2 and prob.heads != "seed-multi":  # seed-multi: the heads coincide, tested exactly elsewhere
        for i in (prob.a, prob.b):
            out[f"logit sum k{i}"] = logits[:, 0, i] + logits[:, 1, i]
            out[f"logit diff k{i}"] = logits[:, 0, i] - logits[:, 1, i]
    weights = softmax(logits.copy())
    out["weight_a head 1"] = weights[:, 0, prob.a]
    mean_weights = weights.mean(axis=1)
    out["weight_a averaged"] = mean_weights[:, prob.a]
    direction = np.random.default_rng(99).standard_normal(prob.d)
    out["c projected"] = mean_weights @ (prob.values @ direction)
    return out


def pvalues(prob, fast, faithful, seed) -> dict[str, float]:
    rng_fast, rng_faithful = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    a = statistics(prob, fast.logits(rng_fast, SAMPLES))
    b = statistics(prob, faithful.logits(rng_faithful, SAMPLES))
    return {name: ks_2samp(a[name], b[name]).pvalue for name in a}


@pytest.fixture(scope="module")
def all_pvalues():
    out = {}
    for index, heads in enumerate(HEADS):
        prob = problem(heads)
        for name, p in pvalues(prob, FastSampler(prob), FaithfulSampler(prob), (SEED, index)).items():
            out[f"{heads}: {name}"] = p
    return out


def test_fast_and_faithful_samplers_agree_in_distribution(all_pvalues):
    k = len(all_pvalues)
    assert k == AGREEMENT_TESTS
    worst = min(all_pvalues, key=all_pvalues.get)
    assert all_pvalues[worst] >= ALPHA_FAMILY / k, f"{worst}: p = {all_pvalues[worst]:.2e} (k = {k})"


MOMENT_SAMPLES = 200_000


def exact_linear_statistics(prob) -> dict[str, tuple[np.ndarray, float, float]]:
    """{name: (weights w over the (h, n) logits, exact mean, exact variance)} of Gaussian linear
    statistics wᵀ·logits, from the problem's definition alone: key i's logit for head j is
    q_jᵀk_i with k_i ~ N(μ_i, iso_var·I) for i ≠ a and k_a ~ N(μ_a, iso_var·I + eta_var·μ_a μ_aᵀ),
    keys independent. Every logit, the sum and difference of two heads' logits of one key (the
    covariance between heads), and head 0's logits of keys a and b summed (keys independent)."""
    q, mu, h, n = prob.queries, prob.means, len(prob.queries), prob.n

    def cov(i):
        extra = prob.eta_var * np.outer(mu[prob.a], mu[prob.a]) if i == prob.a else 0.0
        return prob.iso_var * np.eye(prob.d) + extra

    out = {}

    def add(name, w):
        mean = sum(w[j, i] * q[j] @ mu[i] for j in range(h) for i in range(n))
        var = sum(w[:, i] @ q @ cov(i) @ q.T @ w[:, i] for i in range(n))
        out[name] = (w, float(mean), float(var))

    for j in range(h):
        for i in range(n):
            w = np.zeros((h, n)); w[j, i] = 1.0
            add(f"logit h{j} k{i}", w)
    if h == 2 and prob.heads != "seed-multi":  # seed-multi's heads coincide: tested exactly elsewhere
        for i in (prob.a, prob.b, next(k for k in range(n) if k not in (prob.a, prob.b))):
            for sign, label in ((1.0, "sum"), (-1.0, "diff")):
                w = np.zeros((h, n)); w[0, i], w[1, i] = 1.0, sign
                add(f"heads {label} k{i}", w)
    w = np.zeros((h, n)); w[0, prob.a] = w[0, prob.b] = 1.0
    add("keys a+b h0", w)
    return out


@pytest.fixture(scope="module")
def moment_pvalues():
    """Two-sided p-values of every mean (z-test with the exact variance) and every variance
    (exact chi-square of the sample variance) of exact_linear_statistics, for both samplers and
    the three head choices, MOMENT_SAMPLES draws each, one fixed seed per case."""
    from scipy.stats import chi2, norm
    out = {}
    for index, heads in enumerate(HEADS):
        prob = problem(heads)
        stats = exact_linear_statistics(prob)
        for k, sampler in enumerate((FastSampler(prob), FaithfulSampler(prob))):
            logits = sampler.logits(np.random.default_rng((SEED, 20, index, k)), MOMENT_SAMPLES)
            for name, (w, mean, var) in stats.items():
                x = np.einsum("mjn,jn->m", logits, w)
                z = (x.mean() - mean) / np.sqrt(var / len(x))
                s2 = x.var(ddof=1) * (len(x) - 1) / var
                p_var = 2 * min(chi2.cdf(s2, len(x) - 1), chi2.sf(s2, len(x) - 1))
                out[f"{sampler.name} {heads}: {name} mean"] = 2 * norm.sf(abs(z))
                out[f"{sampler.name} {heads}: {name} variance"] = min(1.0, p_var)
    return out


def test_both_samplers_give_the_logits_exact_means_and_variances(moment_pvalues):
    """Both samplers against the exact Gaussian law of the logits (not against each other), with
    iso_var = 0.2, eta_var = 0.5, β = 3, random orthonormal means, d = 9 > n = 5, a = 1, b = 3.

    Statistics and false alarms: k = len(moment_pvalues) (136) two-sided tests, each at level
    0.001/k (Bonferroni): the family-wise false-alarm rate is at most 0.001. Seeds are fixed.

    Power, with N = 200,000 draws and the threshold z* = Φ⁻¹(1 − 0.001/(2k)) ≈ 4.48: a relative
    error ε in a variance moves its statistic by ε/sqrt(2/N) = 316·ε standard errors, a mean
    error Δ by Δ·sqrt(N)/sd. So, for each sampler:
      * iso_var 5% off: the keys other than a have variance iso_var·‖q_j‖² alone: 15.8 standard
        errors, power Φ(15.8 − 4.5) > 1 − 1e-28;
      * η's variance (eta_var) 5% off: key a's logit variance moves by 2.8% (single head:
        4.5 of 8.1) to 3.6% (multi, head 1: 4.5 of 6.3): ≥ 8.8 standard errors, power ≥ 0.99999;
      * η's mean 5% off (1 → 1.05): key a's logit mean moves by 0.05·β = 0.15 against an sd of at
        most 2.85: ≥ 23 standard errors;
      * the covariance between heads (zero for multi: orthogonal queries; total for seed-multi,
        tested exactly in test_simulate_coverage.py) and the independence of keys a and b enter
        through the sum and difference statistics.
    A test of the value vectors cannot use logits: see test_without_randomness_the_output_is_the_
    exact_weighted_values."""
    k = len(moment_pvalues)
    assert k == 136
    worst = min(moment_pvalues, key=moment_pvalues.get)
    assert moment_pvalues[worst] >= 0.001 / k, f"{worst}: p = {moment_pvalues[worst]:.2e} (k = {k})"


@pytest.mark.parametrize("heads", HEADS)
def test_without_randomness_the_output_is_the_exact_weighted_values(heads):
    """eta_var = iso_var = 0: every key is its mean, so the simulation's output is exactly the
    heads' average of Σ_i softmax(β·μ_iᵀq_j)_i v_i (computed here from the definition), with zero
    variance; any error in the value vectors (a 5% scale is 0.05·‖c‖ ≈ 0.02 here) or in the
    logits' means shows far above the 1e-12 tolerance."""
    from simulate.variance import simulate
    prob = make_problem(heads, 1.5, 5, 7, 0.0, 0.0, random_means_seed=2, values_seed=6, a=2, b=4)
    logits = prob.queries @ prob.means.T  # (h, n)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    c = weights.mean(axis=0) @ prob.values
    result = simulate(prob, 64, seed=1, with_prediction=False)
    assert np.linalg.norm(c) > 0.2
    np.testing.assert_allclose(result.mean_c.estimate, c, rtol=0, atol=1e-12)
    assert abs(result.total_variance.estimate) < 1e-20 and abs(result.weight_a_var.estimate) < 1e-20
    assert result.weight_a_mean.estimate == pytest.approx(weights[0, prob.a], abs=1e-12)


class IndependentHeads(FastSampler):
    """Mutant: drops the covariance between heads (the mistake the fast sampler must avoid)."""

    def __init__(self, prob):
        super().__init__(prob)
        cov = np.einsum("jki,lki->jli", self.roots, self.roots)  # (h, h, n): S Sᵀ per key
        self.roots = np.sqrt(np.einsum("jji->ji", cov))[:, None, :] * np.eye(self.h)[:, :, None]
        self.independent = True


class NoIsoOnKeyA(FastSampler):
    """Mutant: key a's logit variance without the iso_var term."""

    def __init__(self, prob):
        super().__init__(prob)
        qu = prob.queries @ prob.key_a_factor
        vals, vecs = np.linalg.eigh(qu @ qu.T)
        self.roots[:, :, prob.a] = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
        self.independent = not np.any(self.roots * (1 - np.eye(self.h))[:, :, None])


@pytest.mark.parametrize("heads, mutant", [("seed-multi", IndependentHeads), ("single", NoIsoOnKeyA),
                                           ("multi", NoIsoOnKeyA)])
def test_the_two_sample_test_rejects_a_wrong_fast_sampler(heads, mutant):
    prob = problem(heads)
    p = pvalues(prob, mutant(prob), FaithfulSampler(prob), (SEED, 10))
    # Rejected with a wide margin: a thousand times below the agreement test's threshold.
    assert min(p.values()) < ALPHA_FAMILY / AGREEMENT_TESTS / 1000


def test_faithful_keys_have_the_stated_distribution():
    """Key moments: mean μ_i, covariance iso_var·I (+ eta_var·μ_a μ_aᵀ for key a), keys uncorrelated."""
    prob = make_problem("single", 1.0, 3, 4, 0.7, 0.2, random_means_seed=5, a=2, b=0)
    keys = FaithfulSampler(prob).keys(np.random.default_rng(SEED), 100_000).copy()
    flat = keys.reshape(len(keys), -1)
    cov = np.cov(flat, rowvar=False)
    expected = np.kron(np.eye(3), 0.2 * np.eye(4))
    expected[8:, 8:] += 0.7 * np.outer(prob.means[2], prob.means[2])
    # Sample covariance entries have sd ≤ sqrt((σ_ii σ_jj + σ_ij²)/N) ≤ 0.004 here; 6 sd is generous.
    assert np.max(np.abs(cov - expected)) < 0.025
    assert np.max(np.abs(flat.mean(axis=0) - prob.means.ravel())) < 6 * np.sqrt(0.9 / 100_000)


def test_means_are_orthonormal():
    for seed in (None, 0, 1):
        prob = make_problem("multi", 2.0, 6, 11, 0.5, 0.0, random_means_seed=seed)
        assert np.allclose(prob.means @ prob.means.T, np.eye(6), atol=1e-12)


def test_queries_follow_the_head_choice():
    mu = make_problem("single", 2.5, 4, 6, 0.5, 0.0, random_means_seed=2).means
    q = {h: make_problem(h, 2.5, 4, 6, 0.5, 0.0, random_means_seed=2).queries for h in HEADS}
    assert np.allclose(q["single"], [2.5 * (mu[0] + mu[1])])
    assert np.allclose(q["multi"], [2.5 * mu[0], 2.5 * mu[1]])
    assert np.allclose(q["seed-multi"], [2.5 * (mu[0] + mu[1])] * 2)
