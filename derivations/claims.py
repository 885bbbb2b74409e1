"""The registry: every claim id of CLAIMS.md, in its order, mapped to the function that decides it."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path

from . import answer_spaces, q1a_copying, q1b_average, q1b_projection, q1c_single_head, q1d_multi_head, q2g_complexity
from .answer_algebra import evaluate
from .answer_checks import decide_field, plain
from .answer_fields import CLAIM_FIELDS
from .answer_file import read_answers
from .averaging import query_scale
from .q2q3_measured_and_prose import accuracy_claim, prose_claim
from .result import FAILS, ProofResult, worst

# The sheet's answers as an answer file (ANSWER-FILE.md), decided by the same checkers as anyone's.
SHEET_ANSWERS = Path(__file__).resolve().parent / "sheet_answers.toml"

# Claim id -> the (part, field) of the answer file that state it: CLAIM_FIELDS, as the question modules declare.

# What the sheet writes for the two claims of (c) ii that a file has no field for (its own steps).
SHEET_OUTPUT = r"\frac{e^{10(\eta-1)} V_a + V_b}{1 + e^{10(\eta-1)}}"


@lru_cache(maxsize=1)
def sheet_answers() -> dict:
    return read_answers(SHEET_ANSWERS)


def field_claim(claim_id: str, explain: Callable[[], ProofResult], answers: dict | None = None) -> ProofResult:
    """A claim decided by the fields that state it (CLAIM_FIELDS), through `answer_checks`.

    ``explain`` gives the claim's statement, the correct answer and its formulas (the proof
    module's function); verdict, evidence and decided_by come from the field decisions.
    """
    answers = answers or sheet_answers()
    base = explain()
    results = [decide_field(part, field, answers[part][field], answers) for part, field in CLAIM_FIELDS[claim_id]]
    evidence = "; ".join(f"[{r.part}] {r.field} = {plain(r.part, r.field, r.given)}: {r.decision.evidence}"
                         + (f" (condition: {r.decision.condition})" if r.decision.condition else "")
                         + (f" (counterexample: {r.decision.counterexample})" if r.decision.counterexample else "")
                         for r in results)
    deciders = ", ".join(dict.fromkeys(r.decided_by for r in results))
    return dataclasses.replace(base, verdict=worst(r.verdict for r in results), evidence=evidence, decided_by=deciders,
                               details={**base.details, "fields": [r.to_json() for r in results]})


def output_claim(answers: dict | None = None, claimed: str = SHEET_OUTPUT) -> ProofResult:
    """Q1c.ii.output: the sheet's c, parsed and decided coefficient by coefficient (`decide_output`)."""
    answers = answers or sheet_answers()
    base = q1c_single_head.prove_output()
    value, free = evaluate(claimed, answer_spaces.VALUES, answer_spaces.ALL_OBJECT_NAMES)
    scale = query_scale(answers["q1c_i"]["q"]) if "q" in answers.get("q1c_i", {}) else None
    d = q1c_single_head.decide_output(value, free, scale)
    return dataclasses.replace(base, verdict=d.verdict, evidence=f"c = {value.text()}: {d.evidence}"
                               + (f" (condition: {d.condition})" if d.condition else ""),
                               decided_by="derivations.q1c_single_head.decide_output")


def logits_claim(answers: dict | None = None) -> ProofResult:
    """Q1c.ii.logits: the sheet's logits (10η, 10, 0) against those of the file's own (c) i query."""
    answers = answers or sheet_answers()
    q, _ = evaluate(answers["q1c_i"]["q"], answer_spaces.MEANS, answer_spaces.ALL_OBJECT_NAMES)
    coef_a, coef_b, _ = q1b_average.logits_of(q, answer_spaces.MEANS, ("mu_a", "mu_b", "mu_i"))
    return q1c_single_head.prove_logits(query=(coef_a, coef_b))


def two_head_variance_claim(answers: dict | None = None) -> ProofResult:
    """Q1d.ii: the cov_c field, and the sheet's own step k_b = η_b μ_a checked against k_b ~ N(μ_b, αI)."""
    claim = field_claim("Q1d.ii", q1d_multi_head.prove_two_head_variance, answers)
    mean = q1d_multi_head.sheet_k_b_mean_along_mu_a()
    step = (f"the step k_b = η_b μ_a + Δ_b gives k_b a mean component along μ_a, but E[μ_aᵀk_b] = μ_aᵀμ_b = {mean} "
            "under k_b ~ N(μ_b, αI)")
    verdict = worst([claim.verdict] + ([FAILS] if mean == 0 else []))
    return dataclasses.replace(claim, verdict=verdict, evidence=f"{claim.evidence}; {step}",
                               decided_by=claim.decided_by + ", derivations.q1d_multi_head.sheet_k_b_mean_along_mu_a")


REGISTRY: dict[str, Callable[[], ProofResult]] = {
    "Q1a.i": q1a_copying.prove_weights_distribution,
    "Q1a.ii": q1a_copying.prove_copy_condition,
    "Q1a.iii": q1a_copying.prove_copy_output,
    "Q1a.iv": q1a_copying.prove_copy_intuition,
    "Q1b.i": partial(field_claim, "Q1b.i", q1b_projection.prove_projection),
    "Q1b.ii": partial(field_claim, "Q1b.ii", q1b_average.prove_average_query),
    "Q1c.i": partial(field_claim, "Q1c.i", q1c_single_head.prove_average_random_keys),
    "Q1c.ii.eta": partial(field_claim, "Q1c.ii.eta", q1c_single_head.prove_eta_distribution),
    "Q1c.ii.logits": logits_claim,
    "Q1c.ii.weights": partial(field_claim, "Q1c.ii.weights", q1c_single_head.prove_weights),
    "Q1c.ii.output": output_claim,
    "Q1c.ii.threshold": partial(field_claim, "Q1c.ii.threshold", q1c_single_head.prove_threshold),
    "Q1c.ii.variance": partial(field_claim, "Q1c.ii.variance", q1c_single_head.prove_variance),
    "Q1c.ii.bound": q1c_single_head.prove_variance_bound,
    "Q1d.i": partial(field_claim, "Q1d.i", q1d_multi_head.prove_two_heads),
    "Q1d.ii": two_head_variance_claim,
    "Q2d": partial(accuracy_claim, "Q2d"),
    "Q2f": partial(accuracy_claim, "Q2f"),
    "Q2g.i": partial(accuracy_claim, "Q2g.i"),
    "Q2g.ii": partial(field_claim, "Q2g.ii", q2g_complexity.prove_complexity_ratio),
    "Q3a": partial(prose_claim, "Q3a"),
    "Q3b.i": partial(prose_claim, "Q3b.i"),
    "Q3b.ii": partial(prose_claim, "Q3b.ii"),
    "Q3c": partial(prose_claim, "Q3c"),
}

# The answer sheet's claim list, beside the repository (never copied into it).
CLAIMS_FILE = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "CLAIMS.md"


def decide(claim_id: str) -> ProofResult:
    return REGISTRY[claim_id]()


def audit(claim_ids: list[str] | None = None) -> list[ProofResult]:
    return [decide(cid) for cid in (claim_ids or list(REGISTRY))]


def claim_ids_in(path: Path = CLAIMS_FILE) -> list[str]:
    """The ids of the table in CLAIMS.md: the first cell of each row that starts with `| Q`."""
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 2 and cells[1].startswith("Q"):
            ids.append(cells[1])
    return ids
