"""How much the output c of (c) ii varies with key a's length η: shared by Question 1 (c) ii and (d) ii.

With q = β(μ_a + μ_b) and α → 0 the logits are (βη, β, 0) (`SINGLE_LOGITS`); t = α_b (`T`)
and c = v_a + t(v_b − v_a), so Cov[c] = Var[t]·(v_a − v_b)(v_a − v_b)ᵀ (`exact_covariance`),
and Var[t] → ¼ as β → ∞ (`limit_var_t`). `covariance_counterexample` shows a covariance
answer against the truth in numbers. The question modules use it; it imports none of them.
"""
from __future__ import annotations

import sympy as sp
from sympy import stats as sps

from .answer_algebra import VAR_T as VAR_T_SYMBOL, Value, add, matrix_value, mul, numeric, scale, transpose
from .answer_spaces import VALUES
from .averaging import weights
from .result import Check, show
from .symbols import beta, eta, eta_var, extra, n

# (c) ii logits with q = beta (mu_a + mu_b), in the iso_var → 0 limit: (beta·eta, beta, 0).
SINGLE_LOGITS = (beta * eta, beta, sp.Integer(0))
W_A, T, W_OTHER = weights(SINGLE_LOGITS)  # T is the weight on v_b, the sheet's t

def limit_var_t() -> tuple[sp.Expr, Check]:
    """Var[t] → P(η < 1)(1 − P(η < 1)) = ¼ as β → ∞: t tends to the indicator of η < 1."""
    u = sp.Symbol("u", positive=True)
    below = sp.limit(T.subs(eta, 1 - u).subs(n, extra + 2), beta, sp.oo)
    above = sp.limit(T.subs(eta, 1 + u).subs(n, extra + 2), beta, sp.oo)
    p = sps.P(sps.Normal("eta", 1, sp.sqrt(eta_var)) < 1)
    limit = sp.simplify(p * (1 - p))
    ok = below == 1 and above == 0 and limit == sp.Rational(1, 4)
    return limit, Check(ok, f"t → 1 for η < 1, → 0 for η > 1, so Var[t] → P(η<1)(1 − P(η<1)) = {limit}")


def _value_vectors():
    import numpy as np
    return {"v_a": np.array([[1.0], [0.0]]), "v_b": np.array([[0.0], [1.0]])}, {"v_a": np.array([[1.0], [0.0]]), "v_b": np.array([[-1.0], [0.0]])}


def exact_covariance(factor: sp.Expr = sp.Integer(1)) -> Value:
    """factor · Var[t] · (v_a − v_b)(v_a − v_b)ᵀ as a value in `answer_spaces.VALUES`."""
    diff = add(matrix_value(VALUES, "v_a"), scale(matrix_value(VALUES, "v_b"), -1))
    return scale(mul(VALUES, diff, transpose(diff)), factor * VAR_T_SYMBOL)


def covariance_counterexample(given: Value, truth: Value, var_value: float = 0.1) -> str:
    """The two covariances in numbers, for v_a = e_1, v_b = e_2 (or v_b = −v_a for a non-matrix answer)."""
    import numpy as np

    from .answer_algebra import INNER_PRODUCTS

    orth, opposite = _value_vectors()
    vecs = orth if given.shape == ("d", "d") else opposite
    scal = {VAR_T_SYMBOL: var_value}
    others = sorted({x for _, c in given.terms for x in sp.sympify(c).free_symbols} - {VAR_T_SYMBOL} - set(INNER_PRODUCTS),
                    key=str)
    scal.update({x: 1.0 for x in others})  # a symbol Cov[c] does not have (β, n): any value shows the difference
    g = numeric(given, vecs, scal)
    tr = numeric(truth, vecs, scal)
    shown = lambda a: "0" if a is None else str(np.round(a, 6).tolist())  # noqa: E731
    names = "v_a = e_1, v_b = e_2" if vecs is orth else "v_a = e_1, v_b = −e_1"
    names += "".join(f", {show(x)} = 1" for x in others)
    return f"{names}, Var[t] = {var_value}: the answer gives {shown(g)}, Cov[c] = {shown(tr)}"
