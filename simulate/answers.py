"""Monte Carlo beside the proof: a query answer's output c simulated under the keys of (c) i and (c) ii.

For ``python -m simulate check`` (`simulation`, which derivations' checker runs in its workers
beside the decisions, `derivations.answer_grading.Beside`). A query (or the two heads of (d) i) is turned into numbers in the
means' basis (a symbolic scale is set to `BETA`, and the text says so), then `simulate/`
draws the keys: (c) i with Σ_i = αI (α = `ISO_VAR`), (c) ii with Σ_a = αI + ½μ_aμ_aᵀ. The
estimates are the root-mean-square distance of c to ½(v_a + v_b) and tr Cov[c], with their
95% intervals where `simulate` gives one. These are simulations, reported as such; the
verdict stays the proof's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derivations import answer_spaces
from derivations.answer_algebra import evaluate
from derivations.answer_grading import Beside
from derivations.answer_scale import find_head_scales
from derivations.field_guard import failure
from derivations.averaging import logits_of
from derivations.symbols import beta

BETA = 10.0
N_KEYS, DIM, VALUES_SEED, SEED = 8, 16, 0, 0
ISO_VAR = 1e-4
KEYS = {"q1b_ii": (answer_spaces.KEYS, ("k_a", "k_b", "k_i")), "q1c_i": (answer_spaces.MEANS, ("mu_a", "mu_b", "mu_i")),
        "q1d_i": (answer_spaces.MEANS, ("mu_a", "mu_b", "mu_i"))}


def _numeric_logits(texts: list[str], part: str) -> tuple[list[tuple[float, float, float]], str] | None:
    space, names = KEYS[part]
    try:
        values = [evaluate(t, space, answer_spaces.ALL_OBJECT_NAMES) for t in texts]
        if any(v.shape != ("d", "1") for v, _ in values):
            return None
        logits = [logits_of(v, space, names) for v, _ in values]
    except Exception:  # an unparseable or ill-shaped answer has nothing to simulate
        return None
    free = [s for _, f in values for s in f]
    heads, scale = find_head_scales(logits, free, noise_is_scale=part != "q1b_ii")
    note = scale.note
    out = []
    for h in heads:
        h = [sp.sympify(x).subs(beta, BETA) for x in h]
        if any(x.free_symbols for x in h):
            return None
        out.append(tuple(float(x) for x in h))
    said = f"β = {BETA:g}" + (f" ({note})" if note else "") if scale.grows else "its own numbers"
    return out, said


def _problem(heads: list[tuple[float, float, float]], eta_var: float):
    from .problem import Problem, make_problem

    @dataclass(frozen=True, eq=False)
    class AnswerProblem(Problem):
        """The question's keys with the answer's queries (one per head)."""

        given: np.ndarray = field(default=None, repr=False)

        @property
        def queries(self) -> np.ndarray:
            return self.given

    base = make_problem("single" if len(heads) == 1 else "multi", BETA, N_KEYS, DIM, eta_var, ISO_VAR, values_seed=VALUES_SEED)
    means = base.means
    others = [i for i in range(N_KEYS) if i not in (base.a, base.b)]
    queries = np.stack([x_a * means[base.a] + x_b * means[base.b] + x_o * means[others].sum(axis=0) for x_a, x_b, x_o in heads])
    fields = {k: getattr(base, k) for k in ("heads", "beta", "n", "d", "eta_var", "iso_var", "means", "values", "a", "b",
                                            "values_source", "means_source")}
    return AnswerProblem(**fields, given=queries)


def simulate_query(texts: list[str], part: str, samples: int) -> dict | None:
    """Simulated c for one query answer (or two heads): a dict with the numbers and a sentence, or None."""
    from .variance import simulate

    found = _numeric_logits(texts, part)
    if found is None:
        return None
    heads, said = found
    out = {"samples": samples, "n": N_KEYS, "d": DIM, "iso_var": ISO_VAR, "scale": said}
    sentences = []
    for label, eta_var in (("(c) i keys", 0.0), ("(c) ii keys", 0.5)):
        problem = _problem(heads, eta_var)
        res = simulate(problem, samples, seed=SEED, with_prediction=False)
        target = 0.5 * (problem.values[problem.a] + problem.values[problem.b])
        mean_c = np.asarray(res.mean_c.estimate, dtype=float)
        tr = float(res.total_variance.estimate)
        rms = math.sqrt(float(np.sum((mean_c - target) ** 2)) + max(tr, 0.0))
        half = 1.96 * float(res.total_variance.stderr)
        out[label] = {"rms_distance": rms, "trace_cov": tr, "trace_cov_ci95": [tr - half, tr + half]}
        sentences.append(f"{label}: RMS distance of c to ½(v_a + v_b) {rms:.4g}, tr Cov[c] = {tr:.4g} ± {half:.2g}")
    out["text"] = (f"Monte Carlo ({samples} samples, seed {SEED}, n = {N_KEYS}, d = {DIM}, values N(0, I/d) seed {VALUES_SEED}, "
                   f"α = {ISO_VAR:g}, {said}): " + "; ".join(sentences) + " (a simulation, not a proof)")
    return out


def simulation_inputs(rows: list[dict]) -> list[tuple[list[str], str] | None]:
    """For each row of one file, the (texts, part) that `simulate_query` takes, or None (not a query answer)."""
    given = {(r["part"], r["field"]): r["given"] for r in rows}
    out: list[tuple[list[str], str] | None] = []
    for r in rows:
        found = None
        if r["verdict"] != "unparseable":
            if r["part"] in ("q1b_ii", "q1c_i") and r["field"] == "q":
                found = ([r["given"]], r["part"])
            elif r["part"] == "q1d_i" and ("q1d_i", "q1") in given and ("q1d_i", "q2") in given:
                found = ([given[("q1d_i", "q1")], given[("q1d_i", "q2")]], "q1d_i")
        out.append(found)
    return out


def simulate_rows(rows: list[dict], samples: int) -> list[dict]:
    """The rows of one file with ``simulated`` added to its query answers."""
    return [{**r, "simulated": simulate_query(found[0], found[1], samples)} if found else dict(r)
            for r, found in zip(rows, simulation_inputs(rows))]


def simulate_guarded(texts: list[str], part: str, samples: int) -> dict | None:
    """`simulate_query`, with a failure reported in its ``text`` instead of raised (it runs in a worker)."""
    try:
        return simulate_query(texts, part, samples)
    except Exception as exc:  # noqa: BLE001 - a simulation beside the proof never stops the run
        return {"text": f"not simulated: {failure(exc)}"}


def simulation(samples: int) -> Beside:
    """The Monte Carlo column of ``python -m simulate check``, with ``samples`` per query answer."""
    return Beside(preload=__name__, inputs=lambda rows: [found and (*found, samples) for found in simulation_inputs(rows)],
                  run=simulate_guarded)
