"""The Greek letters by their LaTeX names: the one table the parser, the evaluator and the printers read.

`GREEK_LETTER` maps a name as written after a backslash (``beta``, ``varepsilon``, ``Sigma``)
to its letter (β, ε, Σ); `GREEK` lists the names. ``ell`` (ℓ) is not Greek: it is a known
scalar (``answer_algebra.KNOWN_SCALARS``), printed as ℓ by `result`. Imports nothing.
"""
from __future__ import annotations

GREEK_LETTER: dict[str, str] = dict(zip(
    ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi rho "
     "sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega").split(),
    "α β γ δ ε ε ζ η θ θ ι κ λ μ ν ξ π ρ σ τ υ φ φ χ ψ ω Γ Δ Θ Λ Ξ Π Σ Υ Φ Ψ Ω".split()))
GREEK = tuple(GREEK_LETTER)
