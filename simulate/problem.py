"""The attention set-up of questions 1(c) ii and 1(d) ii, as data.

n mutually orthogonal unit means μ_i in R^d; keys k_i ~ N(μ_i, iso_var·I) for
i ≠ a and k_a ~ N(μ_a, iso_var·I + eta_var·μ_a μ_aᵀ); queries built from the
means according to ``heads``; the output is the average of the heads' outputs.

``iso_var`` is the question's small covariance scale (the question calls it α;
α is reserved for attention weights here).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

HEADS = ("single", "multi", "seed-multi")


class ProblemError(ValueError):
    """An invalid parameter; the message is one line meant for the user."""


@dataclass(frozen=True, eq=False)
class Problem:
    """One parameter point. Build with :func:`make_problem`, which validates.

    ``means`` and ``values`` are (n, d) arrays: row i is μ_i and v_i.
    """

    heads: str
    beta: float
    n: int
    d: int
    eta_var: float
    iso_var: float
    means: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    a: int = 0
    b: int = 1
    values_source: str = "given"
    means_source: str = "standard basis"

    @property
    def queries(self) -> np.ndarray:
        """(h, d) array, one query per head."""
        mu_a, mu_b = self.means[self.a], self.means[self.b]
        if self.heads == "single":
            return self.beta * (mu_a + mu_b)[None, :]
        if self.heads == "multi":
            return self.beta * np.stack([mu_a, mu_b])
        both = self.beta * (mu_a + mu_b)
        return np.stack([both, both])

    @property
    def key_a_factor(self) -> np.ndarray:
        """U with Σ_a = iso_var·I + U Uᵀ: the extra spread of key a along μ_a."""
        return math.sqrt(self.eta_var) * self.means[self.a][:, None]

    def params(self) -> dict:
        """The scalar parameters, for echoing in JSON and CSV."""
        return {
            "heads": self.heads, "beta": self.beta, "n": self.n, "d": self.d,
            "eta_var": self.eta_var, "iso_var": self.iso_var, "a": self.a, "b": self.b,
            "values": self.values_source, "means": self.means_source,
        }


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ProblemError(message)


def validate(heads: str, beta: float, n: int, d: int, eta_var: float, iso_var: float,
             a: int = 0, b: int = 1) -> None:
    """Raise :class:`ProblemError` naming the first invalid parameter."""
    _check(heads in HEADS, f"--heads must be one of {', '.join(HEADS)} (got {heads!r})")
    _check(math.isfinite(beta), f"--beta must be finite (got {beta})")
    _check(n >= 2, f"--n must be at least 2 (got {n})")
    _check(d >= n, f"--d must be at least n = {n}: the n means are orthogonal in R^d (got {d})")
    _check(math.isfinite(eta_var) and eta_var >= 0, f"--eta-var must be a finite non-negative variance (got {eta_var})")
    _check(math.isfinite(iso_var) and iso_var >= 0, f"--iso-var must be a finite non-negative variance (got {iso_var})")
    _check(0 <= a < n and 0 <= b < n, f"--a and --b must be key indices in [0, {n}) (got {a}, {b})")
    _check(a != b, f"--a and --b must differ (got {a} for both)")


def orthonormal_means(n: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Standard basis e_1..e_n by default; a uniformly random orthonormal set given ``rng``."""
    if rng is None:
        return np.eye(n, d)
    # QR of a Gaussian matrix, signs fixed by R's diagonal, is Haar-distributed.
    q, r = np.linalg.qr(rng.standard_normal((d, n)))
    return (q * np.sign(np.diag(r))).T.copy()


def draw_values(n: int, d: int, seed: int) -> np.ndarray:
    """v_i ~ N(0, I/d), so that ‖v_i‖ ≈ 1 whatever d is."""
    return np.random.default_rng(seed).standard_normal((n, d)) / math.sqrt(d)


def make_problem(heads: str = "single", beta: float = 10.0, n: int = 8, d: int | None = None,
                 eta_var: float = 0.5, iso_var: float = 0.0, *, values: np.ndarray | None = None,
                 values_seed: int = 0, random_means_seed: int | None = None,
                 a: int = 0, b: int = 1) -> Problem:
    """Validate the parameters and build the means, values and queries.

    ``d`` defaults to n. ``values`` (an (n, d) array) overrides drawing them from
    ``values_seed``. ``random_means_seed`` switches from the standard basis to a
    random orthonormal set of means drawn with that seed.
    """
    d = n if d is None else d
    validate(heads, beta, n, d, eta_var, iso_var, a, b)
    if values is None:
        values, values_source = draw_values(n, d, values_seed), f"N(0, I/d), seed {values_seed}"
    else:
        values_source = "given"
    values = np.array(values, dtype=float)  # a copy: it is frozen below
    _check(values.shape == (n, d), f"values must have shape (n, d) = ({n}, {d}) (got {values.shape})")
    _check(bool(np.all(np.isfinite(values))), "values must be finite")
    rng = None if random_means_seed is None else np.random.default_rng(random_means_seed)
    means = orthonormal_means(n, d, rng)
    means_source = "standard basis" if rng is None else f"random orthonormal, seed {random_means_seed}"
    for arr in (means, values):
        arr.setflags(write=False)
    return Problem(heads, float(beta), int(n), int(d), float(eta_var), float(iso_var),
                   means, values, int(a), int(b), values_source, means_source)
