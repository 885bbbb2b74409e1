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
