"""Analytic predictions for a :class:`Problem`, taken from ``derivations.numeric``.

No formula is written here: the quadrature (exact for finite β and n, in the
limit iso_var → 0) and the answer sheet's Q1c.ii.variance formula both live in
``derivations/`` as SymPy expressions; this module only passes parameters along.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derivations import numeric

from .problem import Problem

LIMIT_NOTE = "quadrature over eta ~ N(1, eta_var) in the limit iso_var -> 0 (exact for finite beta and n)"
SHEET_NOTE = "answer sheet Q1c.ii.variance: (V_a + V_b) * Var[t], summed over components"
# The sheet writes one formula for one head; its (d) ii answer reuses it for q_1 = q_2.
SHEET_HEADS = ("single", "seed-multi")


@dataclass(frozen=True)
class Prediction:
    weight_a_mean: float
    weight_a_var: float
    total_variance: float
    mean_c: np.ndarray
    sheet_total_variance: float | None

    def to_json(self) -> dict:
        return {
            "weight_a_mean": self.weight_a_mean,
            "weight_a_var": self.weight_a_var,
            "total_variance": self.total_variance,
            "mean_c": np.asarray(self.mean_c).tolist(),
            "sheet_total_variance": self.sheet_total_variance,
            "limit": LIMIT_NOTE,
            "sheet": SHEET_NOTE if self.sheet_total_variance is not None else
            "the answer sheet gives no formula for these heads",
        }


def quadrature(heads: str, beta: float, n: int, eta_var: float, values: np.ndarray,
               a: int = 0, b: int = 1) -> dict:
    """``derivations.numeric.predict`` with its outputs as plain floats and an array."""
    out = numeric.predict(heads, float(beta), int(n), float(eta_var), values, a=a, b=b)
    return {
        "weight_a_mean": float(out["weight_a_mean"]),
        "weight_a_var": float(out["weight_a_var"]),
        "total_variance": float(out["total_variance"]),
        "mean_c": np.asarray(out["mean_c"], dtype=float),
    }


def sheet_total_variance(heads: str, beta: float, eta_var: float, values: np.ndarray,
                         a: int = 0, b: int = 1) -> float | None:
    """The sheet's variance formula where the sheet makes one for these heads, else None."""
    if heads not in SHEET_HEADS:
        return None
    return float(numeric.sheet_total_variance(float(beta), float(eta_var), values, a=a, b=b))


def predict(problem: Problem) -> Prediction:
    p = problem
    q = quadrature(p.heads, p.beta, p.n, p.eta_var, p.values, p.a, p.b)
    sheet = sheet_total_variance(p.heads, p.beta, p.eta_var, p.values, p.a, p.b)
    return Prediction(q["weight_a_mean"], q["weight_a_var"], q["total_variance"], q["mean_c"], sheet)
