"""Expectations over eta ~ N(mean, var) by adaptive quadrature (SciPy's quad_vec)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from scipy import integrate, stats

Z_RANGE = 12.0  # the normal mass beyond 12 standard deviations is below 1e-32


def normal_expectation(
    f: Callable[[float], np.ndarray], mean: float, var: float, breakpoints: Iterable[float] = ()
) -> np.ndarray:
    """E[f(eta)] for eta ~ N(mean, var); `breakpoints` are eta values where f changes fast.

    Integrates over z = (eta − mean)/sqrt(var) on [−12, 12]; the breakpoints keep the
    adaptive rule from stepping over the steep sigmoid transitions at large scales.
    """
    sd = float(np.sqrt(var))
    points = sorted({(b - mean) / sd for b in breakpoints if abs((b - mean) / sd) < Z_RANGE})

    def integrand(zv: float) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.asarray(f(mean + sd * zv), dtype=float) * stats.norm.pdf(zv)

    value, _ = integrate.quad_vec(integrand, -Z_RANGE, Z_RANGE, points=points or None, epsabs=1e-14, epsrel=1e-11, limit=20000)
    return value
