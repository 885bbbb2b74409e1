"""The derivations' formulas as numbers: lambdified SymPy expressions and quadratures.

This is the only door through which `simulate`, the `models` tests and `report` get
analytic predictions; nothing here types a formula, it only evaluates the
expressions of the proof modules. Predictions are the iso_var → 0 limit of the
questions, exact for any finite beta and n.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from . import q1b_average, q1c_single_head, q1d_multi_head, q2g_complexity
from .quadrature import normal_expectation, normal_variance
from .symbols import beta, eta, n

HEADS = ("single", "multi", "seed-multi")


@lru_cache(maxsize=None)
def _compile(exprs: tuple[sp.Expr, ...], keys: int):
    # n is substituted before lambdify: (n − 2)·exp(x) with n = 2 then vanishes
    # symbolically instead of evaluating 0·inf = nan at large logits.
    return sp.lambdify((eta, beta), [e.subs(n, keys) for e in exprs], "numpy")


def _evaluate(exprs: tuple[sp.Expr, ...], eta_value, beta_value, keys: int) -> tuple[np.ndarray, ...]:
    with np.errstate(over="ignore"):
        out = _compile(exprs, int(keys))(np.asarray(eta_value, dtype=float), float(beta_value))
    shape = np.shape(eta_value)
    return tuple(np.broadcast_to(np.asarray(o, dtype=float), shape).copy() for o in out)


def single_head_weights(eta_value, beta_value: float, keys: int):
    """(w_a, w_b, w_other) for q = beta(mu_a + mu_b) and k_a = eta·mu_a; w_other is each other key's weight."""
    return _evaluate((q1c_single_head.W_A, q1c_single_head.T, q1c_single_head.W_OTHER), eta_value, beta_value, keys)


def multi_head_weights(eta_value, beta_value: float, keys: int):
    """(h1_a, h1_other, h2_b, h2_other) for q_1 = beta·mu_a, q_2 = beta·mu_b and k_a = eta·mu_a."""
    exprs = (q1d_multi_head.H1_A, q1d_multi_head.H1_OTHER, q1d_multi_head.H2_B, q1d_multi_head.H2_OTHER)
    return _evaluate(exprs, eta_value, beta_value, keys)


def sheet_weight_t(eta_value, beta_value: float):
    """The sheet's t = 1/(1 + e^{beta(eta − 1)}) (its scale 10 generalised to beta)."""
    return _evaluate((q1c_single_head.SHEET_T,), eta_value, beta_value, 2)[0]


def average_error_bound(beta_value, keys):
    """(n − 2)e^{−beta}: bounds ‖c − ½(v_a + v_b)‖ / max_i‖v_i‖ for q = beta(k_a + k_b) with
    orthonormal keys, and so also |w_a − ½| and |w_b − ½| (each at most a quarter of it)."""
    f = sp.lambdify((beta, n), q1b_average.AVERAGE_ERROR_BOUND, "numpy")
    return f(np.asarray(beta_value, dtype=float), np.asarray(keys, dtype=float))


def complexity_ratio(layers, length, bottleneck):
    """cost(perceiver)/cost(vanilla) of attention, from `derivations.q2g_complexity.RATIO`."""
    g = q2g_complexity
    f = sp.lambdify((g.L, g.ell, g.m), g.RATIO, "numpy")
    return f(np.asarray(layers, dtype=float), np.asarray(length, dtype=float), np.asarray(bottleneck, dtype=float))


def _check(heads: str, beta_value: float, keys: int, eta_var: float, values: np.ndarray, a: int, b: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if heads not in HEADS:
        raise ValueError(f"heads must be one of {HEADS}, not {heads!r}")
    if values.ndim != 2 or values.shape[0] != keys:
        raise ValueError(f"values must have shape (n, d) = ({keys}, d), not {values.shape}")
    if a == b or not (0 <= a < keys and 0 <= b < keys):
        raise ValueError(f"a and b must be distinct indices below n = {keys}")
    if not (np.isfinite(beta_value) and eta_var >= 0):
        raise ValueError("beta must be finite and eta_var non-negative")
    return values


def _output_basis(heads: str, beta_value: float, keys: int, values: np.ndarray, a: int, b: int):
    """c(eta) = weights(eta) @ basis + offset, with the weights and basis of each head model."""
    others_ab = values[[i for i in range(keys) if i not in (a, b)]].sum(axis=0)
    if heads in ("single", "seed-multi"):  # seed-multi: two identical heads average to one
        basis = np.stack([values[a], values[b], others_ab])

        def weights(e):
            w_a, w_b, w_o = single_head_weights(e, beta_value, keys)
            return np.stack([w_a, w_b, w_o])

        return basis, weights, np.zeros(values.shape[1])
    not_a = values[[i for i in range(keys) if i != a]].sum(axis=0)
    not_b = values[[i for i in range(keys) if i != b]].sum(axis=0)
    basis = 0.5 * np.stack([values[a], not_a])

    def weights(e):
        h_a, h_o, _, _ = multi_head_weights(e, beta_value, keys)
        return np.stack([h_a, h_o])

    # Head 2 does not depend on eta (k_aᵀmu_b = 0): a constant offset.
    _, _, h2_b, h2_o = multi_head_weights(np.float64(1.0), beta_value, keys)
    offset = 0.5 * (h2_b * values[b] + h2_o * not_b)
    return basis, weights, offset


def predict(heads: str, beta: float, n: int, eta_var: float, values: np.ndarray, a: int = 0, b: int = 1) -> dict:
    """Mean and variance of the weight on v_a and of c, by quadrature over eta ~ N(1, eta_var).

    eta_var = 0 is the unperturbed key (eta = 1): zero variance.
    Returns floats "weight_a_mean", "weight_a_var", "total_variance" (tr Cov[c]) and the
    array "mean_c". For "multi" the weight on v_a is head 1's. Two passes (mean, then
    centred second moments) keep tiny variances accurate.
    """
    values = _check(heads, beta, n, eta_var, values, a, b)
    basis, weights, offset = _output_basis(heads, float(beta), n, values, a, b)
    points = (0.0, 1.0)
    mean_w = normal_expectation(weights, 1.0, eta_var, points)
    mean_c = mean_w @ basis + offset

    def centred(e):
        dw = weights(e) - mean_w
        dc = dw @ basis
        return np.array([dc @ dc, dw[0] ** 2])

    total_variance, weight_a_var = normal_expectation(centred, 1.0, eta_var, points)
    return {
        "weight_a_mean": float(mean_w[0]),
        "weight_a_var": float(weight_a_var),
        "total_variance": float(total_variance),
        "mean_c": mean_c,
    }


def sheet_total_variance(beta: float, eta_var: float, values: np.ndarray, a: int = 0, b: int = 1) -> float:
    """The sheet's Q1c.ii.variance, (V_a + V_b)·Var[t], summed over its components (its "total")."""
    values = np.asarray(values, dtype=float)
    var_t = normal_variance(lambda e: sheet_weight_t(e, beta), 1.0, eta_var, (1.0,))
    return float(np.sum(values[a] + values[b]) * var_t)
