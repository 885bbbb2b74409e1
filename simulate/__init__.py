"""simulate package of attnlab: Monte Carlo of questions 1(c) ii and 1(d) ii.

Key a's length varies (k_a = η μ_a + noise, η ~ N(1, eta_var)); how much does the
attention output c vary, for one head and for two? Modules, in the order data
flows through them:

- ``problem``     the parameter point (means, values, queries), validated
- ``samplers``    ``FaithfulSampler`` (full key vectors) and ``FastSampler`` (exact Gaussian logits)
- ``estimators``  streaming moments and ``Estimate`` objects (estimate, stderr, ci95)
- ``variance``    ``simulate(problem, samples, seed)`` → ``VarianceResult``
- ``predictions`` the quadrature and the answer sheet's formula, from ``derivations.numeric``
- ``sweep``       ``run_sweep(out_dir, samples=..., seed=..., quick=...)``: figures and CSVs
- ``plots``, ``bench``, ``cli``  figures, the benchmark, ``python -m simulate``

Predictions are the iso_var → 0 limit (exact for finite β and n); simulations
take any iso_var ≥ 0.
"""
