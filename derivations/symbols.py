"""Symbols shared by the proofs of Question 1, with the assumptions that make limits sound."""
import sympy as sp

beta = sp.Symbol("beta", positive=True)  # the query scale
eta = sp.Symbol("eta", real=True)  # k_a's length along mu_a
n = sp.Symbol("n", integer=True, positive=True)  # number of keys (n >= 2 in every proof)
extra = sp.Symbol("k", integer=True, nonnegative=True)  # n - 2, so that n >= 2 is provable
iso_var = sp.Symbol("sigma^2", nonnegative=True)  # the questions' vanishing covariance scale ("alpha" there)
eta_var = sp.Symbol("s", positive=True)  # Var[eta]; the questions fix it to 1/2
z = sp.Symbol("z", real=True)  # standard normal variable of the quadratures
