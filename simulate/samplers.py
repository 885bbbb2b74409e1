"""Two exact samplers of the attention logits, and the attention that follows.

Both return logits as an (m, h, n) array: m samples, h heads, n keys, entry
k_iᵀq_h. ``FaithfulSampler`` draws every key as a full vector in R^d, exactly as
the question states the model; ``FastSampler`` draws the logits directly. The
fast one is exact, not an approximation: each key's logits are a linear map of a
Gaussian vector, so for key i the h-vector (k_iᵀq_1, …, k_iᵀq_h) is Gaussian with

    mean        Q μ_i
    covariance  Q Σ_i Qᵀ = iso_var·Q Qᵀ + [i = a]·(Q U)(Q U)ᵀ,   Σ_a = iso_var·I + U Uᵀ,

where Q stacks the queries as rows, and different keys are independent. The
heads of one key are correlated in general (for ``seed-multi`` perfectly), so the
covariance is used whole rather than assuming independent heads. A test checks
the two samplers against each other in distribution.
"""
from __future__ import annotations

import math

import numpy as np

from .problem import Problem

SAMPLERS = ("fast", "faithful")


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """A symmetric S with S Sᵀ = cov, also for singular cov (where Cholesky fails)."""
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


class FastSampler:
    """Samples the (m, h, n) logits directly: h·n normal variates per sample."""

    name = "fast"

    def __init__(self, problem: Problem):
        q = problem.queries                                  # (h, d)
        self.h, self.n = q.shape[0], problem.n
        self.mean = (problem.means @ q.T).T.copy()           # (h, n): entry μ_iᵀq_h
        iso = problem.iso_var * (q @ q.T)                    # (h, h)
        qu = q @ problem.key_a_factor                        # (h, 1)
        roots = np.empty((self.n, self.h, self.h))
        roots[:] = _psd_sqrt(iso)
        roots[problem.a] = _psd_sqrt(iso + qu @ qu.T)
        # Stored as (h, h, n) so that mixing the heads broadcasts over all keys at once.
        self.roots = np.ascontiguousarray(roots.transpose(1, 2, 0))
        offdiag = self.roots * (1 - np.eye(self.h))[:, :, None]
        self.independent = not np.any(offdiag)

    def logits(self, rng: np.random.Generator, m: int) -> np.ndarray:
        z = rng.standard_normal((m, self.h, self.n))
        if self.independent:
            out = z
            out *= np.diagonal(self.roots).T               # (h, n)
        else:
            # out[:, j, i] = Σ_k roots[j, k, i]·z[:, k, i]: h² broadcasts, cheaper than a per-key matmul.
            out = np.zeros_like(z)
            for j in range(self.h):
                for k in range(self.h):
                    out[:, j, :] += self.roots[j, k] * z[:, k, :]
        out += self.mean
        return out


class FaithfulSampler:
    """Samples all n keys as vectors in R^d, then forms k_iᵀq_h: n·d + 1 variates per sample."""

    name = "faithful"
    # Keys are built in blocks that fit in cache; the passes over them then cost
    # little beside generating the variates.
    block = 512

    def __init__(self, problem: Problem):
        self.problem = problem
        self.iso_sd = math.sqrt(problem.iso_var)
        self.u_a = problem.key_a_factor[:, 0]                # (d,)
        self.qt = problem.queries.T.copy()                   # (d, h)
        self._buf = np.empty((0, problem.n, problem.d))

    def keys(self, rng: np.random.Generator, m: int) -> np.ndarray:
        """(m, n, d) keys: k_i = μ_i + sqrt(iso_var)·z_i, plus ξ·U for key a (ξ ~ N(0, 1)).

        The returned array is a reused buffer, overwritten by the next call.
        """
        p = self.problem
        if self._buf.shape[0] != m:
            self._buf = np.empty((m, p.n, p.d))
        k = self._buf
        rng.standard_normal(out=k)
        k *= self.iso_sd
        k += p.means
        xi = rng.standard_normal(m)
        k[:, p.a, :] += xi[:, None] * self.u_a
        return k

    def logits(self, rng: np.random.Generator, m: int) -> np.ndarray:
        p = self.problem
        out = np.empty((m, p.n, self.qt.shape[1]))
        for start in range(0, m, self.block):
            size = min(self.block, m - start)
            k = self.keys(rng, size)
            np.matmul(k.reshape(size * p.n, p.d), self.qt, out=out[start:start + size].reshape(size * p.n, -1))
        return np.ascontiguousarray(out.transpose(0, 2, 1))


def make_sampler(problem: Problem, kind: str = "fast"):
    if kind == "fast":
        return FastSampler(problem)
    if kind == "faithful":
        return FaithfulSampler(problem)
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)} (got {kind!r})")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Attention weights over the last axis (keys), computed in place on ``logits``."""
    logits -= logits.max(axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=-1, keepdims=True)
    return logits

