"""The named objects of each question part, with their shapes and the products the questions fix.

ANSWER-FILE.md's shape column, as `answer_algebra.Space` objects: (b) i has A (d×m),
B (d×p), I and the columns a_i, b_i of sums; (b) ii the orthonormal keys k_a, k_b, k_i;
(c) and (d) the orthonormal means μ_a, μ_b, μ_i; covariances the values v_a, v_b.
"""
from __future__ import annotations

import sympy as sp

from .answer_algebra import Space, orthonormal_rules

_INDICES = ("i", "j", "k", "l")


def _matrix_rules() -> dict:
    one, zero = sp.Integer(1), sp.Integer(0)
    rules = {("A", True, "A", False): (one, ()), ("B", True, "B", False): (one, ()),
             ("A", True, "B", False): (zero, ()), ("B", True, "A", False): (zero, ())}
    for i in _INDICES:
        a, b = f"a_{i}", f"b_{i}"
        rules.update({(a, True, a, False): (one, ()), (b, True, b, False): (one, ()),
                      (a, True, "B", False): (zero, ()), ("B", True, a, False): (zero, ()),
                      (b, True, "A", False): (zero, ()), ("A", True, b, False): (zero, ()),
                      (a, True, b, False): (zero, ()), (b, True, a, False): (zero, ())})
    return rules


# AᵀA = I_m and BᵀB = I_p leave identity factors; A Aᵀ stays d×d. The pair rules above
# return () (the scalar 1) for AᵀA, which is only right inside a longer product: fix the shape.
def _matrix_space() -> Space:
    space = Space(
        title="(b) i", objects={"A": ("d", "m"), "B": ("d", "p"), "I": ("d", "d"), "I_m": ("m", "m"), "I_p": ("p", "p"),
                                "x": ("m", "1"), "y": ("p", "1")},
        rules=_matrix_rules(), identities=frozenset({"I", "I_m", "I_p"}),
        aliases={"I_d": "I", "Id": "I"}, columns={"a": ("A", "m"), "b": ("B", "p")},
        hint=" (M is built from A, B, I and sums over a_i, b_i)")
    space.rules[("A", True, "A", False)] = (sp.Integer(1), (space.factor("I_m"),))
    space.rules[("B", True, "B", False)] = (sp.Integer(1), (space.factor("I_p"),))
    return space


MATRIX = _matrix_space()
_MEAN_OF_C = "is a mean of the random keys of (c) and (d); (b) ii's keys are fixed: the query is built from k_a, k_b, k_i"
KEYS = Space(title="(b) ii", objects={"k_a": ("d", "1"), "k_b": ("d", "1"), "k_i": ("d", "1")},
             rules=orthonormal_rules(["k_a", "k_b", "k_i"]), aliases={"K_a": "k_a", "K_b": "k_b", "K_i": "k_i"},
             hint=" (the query is built from k_a, k_b, k_i and scalars)",
             foreign={name: _MEAN_OF_C for name in ("mu_a", "mu_b", "mu_i")})
_RANDOM_KEY = ("is a random key in (c) and (d), drawn after q is chosen: the query must be designed from the known "
               "means μ_a, μ_b, μ_i (QUESTIONS.md (c) i)")
MEANS = Space(title="(c) and (d)", objects={"mu_a": ("d", "1"), "mu_b": ("d", "1"), "mu_i": ("d", "1")},
              rules=orthonormal_rules(["mu_a", "mu_b", "mu_i"]),
              hint=" (queries are built from the means μ_a, μ_b, μ_i and scalars)",
              foreign={name: _RANDOM_KEY for name in ("k_a", "k_b", "k_i", "K_a", "K_b", "K_i")})
VALUES = Space(title="a covariance", objects={"v_a": ("d", "1"), "v_b": ("d", "1")},
               aliases={"V_a": "v_a", "V_b": "v_b"},
               hint=" (a covariance is built from v_a, v_b and Var[t])")
SCALARS = Space(title="a scalar field", objects={}, hint="")

ALL_OBJECT_NAMES = frozenset(name for s in (MATRIX, KEYS, MEANS, VALUES) for name in list(s.objects) + list(s.aliases)
                             if name not in ("x", "y")) | frozenset(f"{c}_{i}" for c in "ab" for i in _INDICES)
