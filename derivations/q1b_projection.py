"""Question 1(b) i: the matrix M with M(v_a + v_b) = v_a, for general m, p, d.

The proof works on matrix symbols: A (d×m) holds a_1..a_m as columns, B (d×p) holds
b_1..b_p; orthonormality is AᵀA = I_m and orthogonality of the subspaces is AᵀB = 0.
No numeric size is ever chosen.
"""
from __future__ import annotations

import sympy as sp

from . import answer_spaces
from .answer_algebra import Value, add, describe, mul, scale
from .answer_field import AnswerField
from .result import FAILS, HOLDS, HOLDS_WITH_CONDITIONS, PENDING, Check, Decision, ProofResult, require

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
    """Q1b.i's statement and the correct answer M = A Aᵀ, proved. The verdict stays pending here: the
    sheet's own M is decided from derivations/sheet_answers.toml by `decide_matrix` (derivations.claims)."""
    check = require(check_projection())
    return ProofResult(
        claim_id="Q1b.i",
        statement="M = Σ_i a_i a_iᵀ / (a_iᵀ a_i) gives M s = v_a (with the derivation shown)",
        verdict=PENDING,
        evidence=f"the correct answer M = A Aᵀ: {check.evidence}",
        decided_by="derivations.q1b_projection.prove_projection",
        answer="M = A Aᵀ = Σ_i a_i a_iᵀ, the orthogonal projection onto span(a_1..a_m): M(v_a + v_b) = A(AᵀA)x + A(AᵀB)y = A x = v_a.",
        formulas={"M": sp.Eq(sp.MatrixSymbol("M", d, d), PROJECTION, evaluate=False),
                  "Ms": sp.Eq(PROJECTION * (V_A + V_B), V_A, evaluate=False)},
    )


def _hint_vector(name: str) -> Value:
    f = answer_spaces.MATRIX.factor(name)
    return Value((((f,), sp.Integer(1)),), *f.shape)


def decide_matrix(M: Value, free: list) -> Decision:
    """Decide an answer M to (b) i: M must be d×d and M(A x + B y) − A x must reduce to 0.

    ``M`` is the evaluated answer (`answer_algebra.Value` in `answer_spaces.MATRIX`), ``free``
    its free scalars. The residual is reduced with AᵀA = I_m, BᵀB = I_p, AᵀB = 0 for symbolic
    d, m, p (QUESTIONS.md 1(b) i). A residual that vanishes for particular values of the free
    scalars gives ``holds-with-conditions`` naming them.
    """
    if M.shape != ("d", "d"):
        return Decision(FAILS, f"M = {M.text()} is {describe(*M.shape)}; M s = v_a needs a d×d matrix "
                        f"(M s would be {describe(M.rows, '1') if M.cols == 'd' else 'undefined: M has ' + M.cols + ' columns, s has d rows'})",
                        counterexample=_shape_counterexample(M))
    x, y = _hint_vector("x"), _hint_vector("y")
    v_a = mul(answer_spaces.MATRIX, _hint_vector("A"), x)
    v_b = mul(answer_spaces.MATRIX, _hint_vector("B"), y)
    residual = add(mul(answer_spaces.MATRIX, M, add(v_a, v_b)), scale(v_a, -1)).simplified()
    shown = f"M(v_a + v_b) − v_a = ({M.text()})(A x + B y) − A x"
    if not residual.terms:
        return Decision(HOLDS, f"{shown} reduces to 0 using AᵀA = I, AᵀB = 0, BᵀB = I, for symbolic d, m, p")
    coefficients = [c for _, c in residual.terms]
    symbols = sorted(set().union(*[sp.sympify(c).free_symbols for c in coefficients]), key=str)
    solutions = sp.solve(coefficients, symbols, dict=True) if symbols else []
    if solutions:
        cond = " or ".join(", ".join(f"{k} = {v}" for k, v in sol.items()) for sol in solutions)
        return Decision(HOLDS_WITH_CONDITIONS, f"{shown} reduces to {residual.text()}, which vanishes only when {cond}",
                        condition=cond)
    return Decision(FAILS, f"{shown} reduces to {residual.text()}, not 0", counterexample=_numeric_counterexample(M))


def _shape_counterexample(M: Value) -> str:
    return f"with d = 3, m = 1, p = 1: M is {M.rows.replace('d', '3').replace('m', '1').replace('p', '1')}×" \
           f"{M.cols.replace('d', '3').replace('m', '1').replace('p', '1')} and cannot map s ∈ R³ to v_a ∈ R³"


def _numeric_counterexample(M: Value) -> str:
    """d = 3, a_1 = e_1, b_1 = e_2 (m = p = 1), v_a = e_1, v_b = e_2: M s against v_a, in numbers."""
    import numpy as np

    mats = {"A": np.array([[1.0], [0.0], [0.0]]), "B": np.array([[0.0], [1.0], [0.0]]), "I": np.eye(3),
            "I_m": np.eye(1), "I_p": np.eye(1)}
    total = np.zeros((3, 3))
    for word, coef in M.terms:
        if sp.sympify(coef).free_symbols:
            coef = sp.sympify(coef).subs({s: 2 for s in sp.sympify(coef).free_symbols})
        prod = None
        for f in word:
            mat = mats.get(f.name, 2 * np.eye(1))  # a diagonal of per-index coefficients: take them all 2
            mat = mat.T if f.transposed else mat
            prod = mat if prod is None else prod @ mat
        total = total + float(coef) * prod
    s = np.array([1.0, 1.0, 0.0])
    return f"d = 3, a_1 = e_1, b_1 = e_2, v_a = e_1, v_b = e_2 (free scalars 2): M s = {np.round(total @ s, 6).tolist()}, v_a = [1.0, 0.0, 0.0]"


# The answer file's field of (b) i (ANSWER-FILE.md), decided here.
FIELDS = (AnswerField("q1b_i", "M", space=answer_spaces.MATRIX, decide=lambda v, f, _: decide_matrix(v, f),
                      decided_by=decide_matrix, claim="Q1b.i"),)
