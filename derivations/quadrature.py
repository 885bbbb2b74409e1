"""Expectations over eta ~ N(mean, var) by adaptive quadrature (SciPy's quad_vec)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from scipy import integrate

Z_RANGE = 12.0  # the normal mass beyond 12 standard deviations is below 1e-32
_NORM = 1.0 / np.sqrt(2.0 * np.pi)


def normal_expectation(
    f: Callable[[float], np.ndarray], mean: float, var: float, breakpoints: Iterable[float] = ()
) -> np.ndarray:
    """E[f(eta)] for eta ~ N(mean, var); `breakpoints` are eta values where f changes fast.

    Integrates over z = (eta − mean)/sqrt(var) on [−12, 12]; the breakpoints keep the
    adaptive rule from stepping over the steep sigmoid transitions at large scales.
    """
    if var == 0:  # a point mass: no integral to take
        with np.errstate(over="ignore"):
            return np.asarray(f(float(mean)), dtype=float)
    sd = float(np.sqrt(var))
    points = sorted({(b - mean) / sd for b in breakpoints if abs((b - mean) / sd) < Z_RANGE})

    def integrand(zv: float) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.asarray(f(mean + sd * zv), dtype=float) * (_NORM * np.exp(-0.5 * zv * zv))  # scipy.stats.norm.pdf, without its per-call overhead

    value, _ = integrate.quad_vec(integrand, -Z_RANGE, Z_RANGE, points=points or None, epsabs=1e-13, epsrel=1e-9, limit=20000)
    return value


def normal_variance(f: Callable[[float], float], mean: float, var: float, breakpoints: Iterable[float] = ()) -> float:
    """Var[f(eta)] for eta ~ N(mean, var), from E[f] and E[f²] in one quadrature."""
    m1, m2 = normal_expectation(lambda e: np.array([f(e), f(e) ** 2]), mean, var, breakpoints)
    return float(m2 - m1**2)
