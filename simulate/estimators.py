"""Streaming moments and the estimates built from them, each with its standard error.

A :class:`Moments` holds, for vector data x in R^p about the sample mean x̄,

    M2 = Σ (x − x̄)(x − x̄)ᵀ,   M3 = Σ ‖x − x̄‖² (x − x̄),   M4 = Σ ‖x − x̄‖⁴,

which is exactly what the standard error of a (total) variance needs. Chunks are
summarised exactly (two passes over the chunk) and merged pairwise by shifting
each side to the combined mean (the vector form of Chan et al. / Pébay's update),
so memory stays bounded at any sample count and no raw power sums are formed.

For the variance of the total variance T̂ = tr M2 / (N − 1) we use the exact
finite-sample identity, summed over components,

    Var[T̂] = (E‖x − μ‖⁴ − T²) / N + 2 tr(Σ²) / (N (N − 1)),

with plug-in estimates; for p = 1 it is the familiar
Var[s²] = μ₄/N − σ⁴ (N − 3)/(N (N − 1)). Intervals are normal approximations,
estimate ± 1.96·stderr.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: scalar or array ``estimate`` with ``stderr`` and a 95% interval.

    ``ci95`` is (low, high), each shaped like ``estimate``.
    """

    estimate: Any
    stderr: Any

    @property
    def ci95(self) -> tuple[Any, Any]:
        return (self.estimate - Z95 * self.stderr, self.estimate + Z95 * self.stderr)

    def z(self, reference: Any) -> Any:
        """(estimate − reference) / stderr: how many standard errors from ``reference``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.asarray(self.estimate) - reference) / np.asarray(self.stderr)

    def covers(self, reference: Any) -> Any:
        low, high = self.ci95
        return np.logical_and(low <= reference, reference <= high)

    def to_json(self) -> dict:
        low, high = self.ci95
        if np.ndim(self.estimate) == 0:
            return {"estimate": float(self.estimate), "stderr": float(self.stderr),
                    "ci95": [float(low), float(high)]}
        return {"estimate": np.asarray(self.estimate).tolist(), "stderr": np.asarray(self.stderr).tolist(),
                "ci95": [np.asarray(low).tolist(), np.asarray(high).tolist()]}


@dataclass(frozen=True)
class Moments:
    """Count, mean and central moments of p-dimensional data (see the module docstring)."""

    count: int
    mean: np.ndarray  # (p,)
    m2: np.ndarray    # (p, p)
    m3: np.ndarray    # (p,)
    m4: float

    @classmethod
    def empty(cls, p: int) -> "Moments":
        return cls(0, np.zeros(p), np.zeros((p, p)), np.zeros(p), 0.0)

    @classmethod
    def of(cls, x: np.ndarray) -> "Moments":
        """Moments of a batch, rows are samples: (m, p), or (m,) for scalar data."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[0] == 0:
            return cls.empty(x.shape[1])
        mean = x.mean(axis=0)
        e = x - mean
        sq = np.einsum("ij,ij->i", e, e)
        return cls(x.shape[0], mean, e.T @ e, e.T @ sq, float(sq @ sq))

    def _shifted(self, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """M2, M3, M4 about (mean + delta) instead of mean."""
        n, m2, m3 = self.count, self.m2, self.m3
        dd = float(delta @ delta)
        m2d = m2 @ delta
        tr = float(np.trace(m2))
        new_m4 = self.m4 + 4 * float(delta @ m2d) + n * dd * dd - 4 * float(delta @ m3) + 2 * dd * tr
        new_m3 = m3 - 2 * m2d - tr * delta - n * dd * delta
        new_m2 = m2 + n * np.outer(delta, delta)
        return new_m2, new_m3, new_m4

    def merge(self, other: "Moments") -> "Moments":
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        total = self.count + other.count
        mean = self.mean + (other.mean - self.mean) * (other.count / total)
        a2, a3, a4 = self._shifted(mean - self.mean)
        b2, b3, b4 = other._shifted(mean - other.mean)
        return Moments(total, mean, a2 + b2, a3 + b3, a4 + b4)

    def __add__(self, other: "Moments") -> "Moments":
        return self.merge(other)

    # --- estimates -----------------------------------------------------------

    def _need(self, k: int) -> None:
        if self.count < k:
            raise ValueError(f"need at least {k} samples (have {self.count})")

    def covariance(self) -> np.ndarray:
        self._need(2)
        return self.m2 / (self.count - 1)

    def mean_estimate(self) -> Estimate:
        """Mean of each component, stderr sqrt(s²/N)."""
        var = np.diagonal(self.covariance())
        return Estimate(self.mean.copy(), np.sqrt(var / self.count))

    def total_variance_estimate(self) -> Estimate:
        """tr Cov[x] (unbiased), with the fourth-moment standard error of the module docstring."""
        self._need(4)
        n = self.count
        cov = self.covariance()
        t = float(np.trace(cov))
        fourth = self.m4 / n
        var_t = (fourth - t * t) / n + 2.0 * float(np.sum(cov * cov)) / (n * (n - 1))
        return Estimate(t, math.sqrt(max(var_t, 0.0)))

    def scalar_mean_estimate(self) -> Estimate:
        e = self.mean_estimate()
        return Estimate(float(e.estimate[0]), float(e.stderr[0]))


def variance_estimate(moments: Moments) -> Estimate:
    """Var[x] of scalar data: the p = 1 case of the total variance."""
    if moments.mean.shape != (1,):
        raise ValueError("variance_estimate needs scalar data; use total_variance_estimate")
    return moments.total_variance_estimate()
