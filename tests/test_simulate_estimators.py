"""Streaming moments, standard errors and reproducibility of the estimators."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, norm

from simulate.estimators import Estimate, Moments, variance_estimate
from simulate.problem import make_problem
from simulate.variance import simulate

SEED = 0


def _close(a: Moments, b: Moments, scale: float, offset: float) -> None:
    """Equal up to the data's own conditioning: storing offset + deviation in float64
    already costs the deviations a relative error of about 1e-16·|offset|/scale."""
    assert a.count == b.count
    tol = 1e-9 + 1e-13 * abs(offset) / scale
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=tol * scale)
    for got, want, power in ((a.m2, b.m2, 2), (a.m3, b.m3, 3), (a.m4, b.m4, 4)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale**power * a.count)


@settings(max_examples=60, deadline=None)
@given(
    p=st.integers(1, 4),
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=8).filter(lambda s: sum(s) >= 2),
    offset=st.sampled_from([0.0, 1.0, -3e3, 1e6]),
    scale=st.sampled_from([1e-3, 1.0, 50.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_merged_chunks_equal_one_pass(p, sizes, offset, scale, seed):
    """Merging chunk summaries gives the moments of all the data, whatever the split,
    including a large mean offset (where raw power sums would lose every digit)."""
    rng = np.random.default_rng(seed)
    x = offset + scale * rng.standard_exponential((sum(sizes), p))
    merged = Moments.empty(p)
    start = 0
    for size in sizes:
        merged = merged + Moments.of(x[start:start + size])
        start += size
    direct = Moments.of(x)
    _close(merged, direct, scale, offset)
    # and the direct moments are the textbook definitions
    e = x - x.mean(axis=0)
    sq = (e * e).sum(axis=1)
    _close(direct, Moments(len(x), x.mean(axis=0), e.T @ e, e.T @ sq, float(sq @ sq)), scale, offset)


def test_stderr_of_variance_is_exact_for_population_moments():
    """With population moments plugged in, the total-variance stderr is the exact
    finite-sample value; for Gaussian data Var[tr S] = 2 tr(Σ²)/(N − 1)."""
    for cov in (np.array([[2.0]]), np.diag([1.0, 4.0, 0.5]), np.array([[1.0, 0.6], [0.6, 2.0]])):
        for n in (5, 100, 10_000):
            tr, tr2 = np.trace(cov), np.sum(cov * cov)
            fourth = tr**2 + 2 * tr2  # E‖x − μ‖⁴ for a Gaussian
            p = len(cov)
            m = Moments(n, np.zeros(p), cov * (n - 1), np.zeros(p), fourth * n)
            est = m.total_variance_estimate()
            assert est.estimate == pytest.approx(tr)
            assert est.stderr == pytest.approx(np.sqrt(2 * tr2 / (n - 1)), rel=1e-12)


CASES = {
    "uniform": (lambda rng, size: rng.uniform(0, 1, size), 1 / 12),
    "two-point": (lambda rng, size: (rng.uniform(0, 1, size) < 0.3).astype(float), 0.21),
    "exponential": (lambda rng, size: rng.standard_exponential(size), 1.0),
    "gaussian 3-d": (lambda rng, size: rng.standard_normal(size + (3,)) * [1.0, 2.0, 0.5], 1 + 4 + 0.25),
}


@pytest.mark.parametrize("case", list(CASES))
def test_variance_intervals_cover_at_their_nominal_rate(case, seed=SEED):
    """Over 400 independent replications the 95% interval misses the true (total)
    variance about 5% of the time, and the stderr matches the spread of the estimates.
    Bounds: binomial 0.001/8 quantiles for the miss count and a chi-square band for
    the spread (8 checks in this test over its four cases)."""
    draw, true_var = CASES[case]
    reps, n = 400, 4000
    rng = np.random.default_rng((seed, list(CASES).index(case)))
    data = draw(rng, (reps, n))
    estimates = [Moments.of(row).total_variance_estimate() for row in data]
    values = np.array([e.estimate for e in estimates])
    misses = sum(not e.covers(true_var) for e in estimates)
    assert binom.ppf(0.001 / 8, reps, 0.05) <= misses <= binom.ppf(1 - 0.001 / 8, reps, 0.05), misses
    ratio = values.std(ddof=1) / np.sqrt(np.mean([e.stderr**2 for e in estimates]))
    z = norm.ppf(1 - 0.001 / 16)
    # sd of a sample sd over 400 draws ≈ 1/sqrt(2·399) in relative terms; heavy tails widen it,
    # so allow twice that.
    assert abs(ratio - 1) <= 2 * z / np.sqrt(2 * (reps - 1)), ratio


def test_estimate_object():
    est = Estimate(2.0, 0.5)
    low, high = est.ci95
    assert low == pytest.approx(2 - 1.959964 * 0.5) and high == pytest.approx(2 + 1.959964 * 0.5)
    assert est.covers(2.9) and not est.covers(3.0)
    assert est.z(1.0) == pytest.approx(2.0)
    assert est.to_json() == {"estimate": 2.0, "stderr": 0.5, "ci95": [low, high]}
    vec = Estimate(np.array([1.0, 2.0]), np.array([0.1, 0.2])).to_json()
    assert vec["ci95"][0] == pytest.approx([1 - 0.196, 2 - 0.392], abs=1e-4)
    with pytest.raises(ValueError):
        variance_estimate(Moments.of(np.ones((10, 2))))
    with pytest.raises(ValueError):
        Moments.of(np.ones(3)).total_variance_estimate()


def test_reproducible_bit_for_bit():
    prob = make_problem("multi", 10.0, 8, 12, 0.5, 1e-4)
    for sampler in ("fast", "faithful"):
        runs = [simulate(prob, 3000, seed=7, sampler=sampler, chunk=1000, with_prediction=False) for _ in range(2)]
        assert runs[0].to_json() == runs[1].to_json()
    other = simulate(prob, 3000, seed=8, chunk=1000, with_prediction=False)
    assert other.total_variance.estimate != runs[0].total_variance.estimate


def test_chunk_size_only_changes_rounding_for_the_fast_sampler():
    """The fast sampler draws one array per chunk in C order, so every chunking consumes
    the same variates; what changes is only the order of floating-point sums."""
    prob = make_problem("single", 5.0, 6, 6, 0.5, 0.0)
    a, b = (simulate(prob, 10_000, seed=3, chunk=c, with_prediction=False) for c in (10_000, 777))
    for name in ("weight_a_mean", "weight_a_var", "total_variance"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.estimate == pytest.approx(y.estimate, rel=1e-10)
        assert x.stderr == pytest.approx(y.stderr, rel=1e-8)
