"""Question 1(b) i: the matrix M with M(v_a + v_b) = v_a, for general m, p, d.

The proof works on matrix symbols: A (d×m) holds a_1..a_m as columns, B (d×p) holds
b_1..b_p; orthonormality is AᵀA = I_m and orthogonality of the subspaces is AᵀB = 0.
No numeric size is ever chosen.
"""
from __future__ import annotations

import sympy as sp

from .result import FAILS, HOLDS, Check, ProofResult

d, m, p = sp.symbols("d m p", integer=True, positive=True)
A = sp.MatrixSymbol("A", d, m)
B = sp.MatrixSymbol("B", d, p)
x = sp.MatrixSymbol("x", m, 1)  # v_a = A x: the hint's weights c_1..c_m
y = sp.MatrixSymbol("y", p, 1)  # v_b = B y
V_A = A * x
V_B = B * y
ASSUMPTIONS = {A.T * A: sp.Identity(m), A.T * B: sp.ZeroMatrix(m, p), B.T * A: sp.ZeroMatrix(p, m), B.T * B: sp.Identity(p)}

# The correct answer: the orthogonal projection onto A.
PROJECTION = A * A.T


def _reduce(expr: sp.MatrixExpr) -> sp.MatrixExpr:
    return sp.simplify(expr.expand().subs(ASSUMPTIONS).doit())


def check_projection(M: sp.MatrixExpr = PROJECTION) -> Check:
    """M (v_a + v_b) − v_a must reduce to the zero matrix under AᵀA = I, AᵀB = 0."""
    residual = _reduce(M * (V_A + V_B) - V_A)
    if residual == sp.ZeroMatrix(d, 1) or residual == 0:
        return Check(True, f"M(v_a + v_b) − v_a = {M}·(A x + B y) − A x reduces to 0 using AᵀA = I, AᵀB = 0, for symbolic d, m, p")
    return Check(False, f"M = {M}: M(v_a + v_b) − v_a reduces to {residual}, not 0")


def sheet_sum_equals_projection() -> bool:
    """Entry (k, l) of Σ_i a_i a_iᵀ / (a_iᵀ a_i) with unit a_i equals entry (k, l) of A Aᵀ, for symbolic m."""
    k, l, i = sp.symbols("k l i", integer=True, nonnegative=True)
    sheet_entry = sp.Sum(A[k, i] * A[l, i] / 1, (i, 0, m - 1))  # a_iᵀ a_i = 1: unit basis vectors
    return bool(sp.simplify(PROJECTION[k, l] - sheet_entry) == 0 or PROJECTION[k, l].dummy_eq(sheet_entry))


def prove_projection() -> ProofResult:
    check = check_projection()
    same = sheet_sum_equals_projection()
    ok = check.ok and same
    return ProofResult(
        claim_id="Q1b.i",
        statement="M = Σ_i a_i a_iᵀ / (a_iᵀ a_i) gives M s = v_a (with the derivation shown)",
        verdict=HOLDS if ok else FAILS,
        evidence=check.evidence + ("; the sheet's Σ_i a_i a_iᵀ/(a_iᵀa_i) equals A Aᵀ entrywise" if same else "; the sheet's sum is not A Aᵀ"),
        decided_by="derivations.q1b_projection.prove_projection",
        answer="M = A Aᵀ = Σ_i a_i a_iᵀ, the orthogonal projection onto span(a_1..a_m): M(v_a + v_b) = A(AᵀA)x + A(AᵀB)y = A x = v_a.",
        formulas={"M": sp.Eq(sp.MatrixSymbol("M", d, d), PROJECTION, evaluate=False),
                  "Ms": sp.Eq(PROJECTION * (V_A + V_B), V_A, evaluate=False)},
    )
