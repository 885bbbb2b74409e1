"""Monte Carlo estimates of the output's mean and variance, streamed in chunks.

:func:`simulate` draws ``samples`` logit vectors with a seeded generator, in
chunks of ``chunk``, and keeps only running moments of

* the weight on v_a (for ``multi``: head 1's weight on v_a), and
* the output c, in coordinates of an orthonormal basis of span{v_i}: c lies in
  that span, so distances (and hence tr Cov[c]) are preserved while the moment
  matrices are n × n instead of d × d.

The result is bit-for-bit reproducible for a given seed and chunk size.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .estimators import Estimate, Moments, variance_estimate
from .predictions import Prediction, predict
from .problem import Problem
from .samplers import make_sampler, softmax

DEFAULT_CHUNK = 1 << 15


@dataclass(frozen=True)
class VarianceResult:
    """Estimates for one parameter point, with the predictions beside them."""

    problem: Problem
    sampler: str
    samples: int
    seed: int
    chunk: int
    weight_a_mean: Estimate
    weight_a_var: Estimate
    total_variance: Estimate
    mean_c: Estimate
    predicted: Prediction | None = field(default=None)

    def z_scores(self) -> dict:
        """Standard errors between each estimate and its quadrature prediction."""
        if self.predicted is None:
            return {}
        p = self.predicted
        return {
            "weight_a_mean": float(self.weight_a_mean.z(p.weight_a_mean)),
            "weight_a_var": float(self.weight_a_var.z(p.weight_a_var)),
            "total_variance": float(self.total_variance.z(p.total_variance)),
        }

    def to_json(self) -> dict:
        params = self.problem.params() | {
            "samples": self.samples, "seed": self.seed, "sampler": self.sampler, "chunk": self.chunk,
        }
        out = {
            "params": params,
            "weight_a": {"mean": self.weight_a_mean.to_json(), "var": self.weight_a_var.to_json(),
                         "note": "multi: head 1's weight on v_a"},
            "total_variance": self.total_variance.to_json(),
            "mean_c": self.mean_c.to_json(),
        }
        out["predicted"] = None if self.predicted is None else self.predicted.to_json()
        out["z"] = self.z_scores() or None
        return out


class _ValueBasis:
    """y = R ᾱ with Vᵀ = Q R (thin QR): c = Q y, and Q has orthonormal columns."""

    def __init__(self, values: np.ndarray):
        self.q, r = np.linalg.qr(values.T)            # (d, r), (r, n)
        self.rt = r.T.copy()                          # (n, r)

    def coords(self, weights: np.ndarray) -> np.ndarray:
        return weights @ self.rt

    def mean_c(self, y_moments: Moments) -> Estimate:
        """Mean of c and its per-component stderr, mapped back to R^d."""
        n = y_moments.count
        cov_c_diag = np.einsum("ij,jk,ik->i", self.q, y_moments.covariance(), self.q)
        return Estimate(self.q @ y_moments.mean, np.sqrt(np.clip(cov_c_diag, 0, None) / n))


def chunk_sizes(samples: int, chunk: int):
    full, rest = divmod(samples, chunk)
    yield from [chunk] * full
    if rest:
        yield rest


def stream(problem: Problem, samples: int, seed: int, sampler: str = "fast",
           chunk: int = DEFAULT_CHUNK, progress: bool = False):
    """Yield (weight on v_a, output coordinates y) per chunk; see the module docstring."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1 (got {samples})")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 (got {chunk})")
    rng = np.random.default_rng(seed)
    draw = make_sampler(problem, sampler)
    basis = _ValueBasis(problem.values)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=samples, unit="sample", unit_scale=True, leave=False, desc=f"{problem.heads} {sampler}")
    try:
        for m in chunk_sizes(samples, chunk):
            weights = softmax(draw.logits(rng, m))     # (m, h, n)
            w_a = weights[:, 0, problem.a].copy()
            # The output is the average of the heads' outputs, and c is linear in the weights.
            y = basis.coords(weights.mean(axis=1))
            yield w_a, y
            if bar is not None:
                bar.update(m)
    finally:
        if bar is not None:
            bar.close()


def simulate(problem: Problem, samples: int, seed: int = 0, sampler: str = "fast",
             chunk: int = DEFAULT_CHUNK, progress: bool = False, with_prediction: bool = True) -> VarianceResult:
    """Estimate the weight on v_a (mean, variance), mean of c and tr Cov[c] at one point.

    ``samples`` must be at least 4 (the variance's standard error needs them).
    """
    if samples < 4:
        raise ValueError(f"samples must be at least 4 (got {samples})")
    w_mom = Moments.empty(1)
    y_mom = Moments.empty(min(problem.n, problem.d))
    for w_a, y in stream(problem, samples, seed, sampler, chunk, progress):
        w_mom = w_mom + Moments.of(w_a)
        y_mom = y_mom + Moments.of(y)
    basis = _ValueBasis(problem.values)
    return VarianceResult(
        problem=problem, sampler=sampler, samples=samples, seed=seed, chunk=chunk,
        weight_a_mean=w_mom.scalar_mean_estimate(),
        weight_a_var=variance_estimate(w_mom),
        total_variance=y_mom.total_variance_estimate(),
        mean_c=basis.mean_c(y_mom),
        predicted=predict(problem) if with_prediction else None,
    )


def weight_samples(problem: Problem, samples: int, seed: int = 0, sampler: str = "fast",
                   chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """The weight on v_a of every sample (for histograms; holds all of them in memory)."""
    return np.concatenate([w for w, _ in stream(problem, samples, seed, sampler, chunk)])
