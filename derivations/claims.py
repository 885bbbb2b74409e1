"""The registry: every claim id of CLAIMS.md, in its order, mapped to the function that decides it."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from . import q1a_copying, q1b_average, q1b_projection, q1c_single_head, q1d_multi_head, q2g_complexity
from .q2q3_measured_and_prose import accuracy_claim, prose_claim
from .result import ProofResult

REGISTRY: dict[str, Callable[[], ProofResult]] = {
    "Q1a.i": q1a_copying.prove_weights_distribution,
    "Q1a.ii": q1a_copying.prove_copy_condition,
    "Q1a.iii": q1a_copying.prove_copy_output,
    "Q1a.iv": q1a_copying.prove_copy_intuition,
    "Q1b.i": q1b_projection.prove_projection,
    "Q1b.ii": q1b_average.prove_average_query,
    "Q1c.i": q1c_single_head.prove_average_random_keys,
    "Q1c.ii.eta": q1c_single_head.prove_eta_distribution,
    "Q1c.ii.logits": q1c_single_head.prove_logits,
    "Q1c.ii.weights": q1c_single_head.prove_weights,
    "Q1c.ii.output": q1c_single_head.prove_output,
    "Q1c.ii.threshold": q1c_single_head.prove_threshold,
    "Q1c.ii.variance": q1c_single_head.prove_variance,
    "Q1c.ii.bound": q1c_single_head.prove_variance_bound,
    "Q1d.i": q1d_multi_head.prove_two_heads,
    "Q1d.ii": q1d_multi_head.prove_two_head_variance,
    "Q2d": partial(accuracy_claim, "Q2d"),
    "Q2f": partial(accuracy_claim, "Q2f"),
    "Q2g.i": partial(accuracy_claim, "Q2g.i"),
    "Q2g.ii": q2g_complexity.prove_complexity_ratio,
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
