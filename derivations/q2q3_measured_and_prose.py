"""Claims that no proof decides: the accuracies (decided from training results by the
report) and the prose of Question 3."""
from __future__ import annotations

from .answer_field import PROSE, AnswerField
from .result import NOT_CHECKABLE, PENDING, ProofResult

# The sheet's reported dev-set counts, out of 500.
SHEET_ACCURACIES = {"Q2d": 9, "Q2f": 59, "Q2g.i": 14}
DEV_TOTAL = 500

_ACCURACY = {
    "Q2d": ("vanilla finetuned without pretraining: 9/500 = 1.8% on dev", "no-pretraining", "vanilla"),
    "Q2f": ("vanilla pretrained then finetuned: 59/500 = 11.8% on dev", "pretrain-finetune", "vanilla"),
    "Q2g.i": ("perceiver pretrained then finetuned: 14/500 = 2.8% on dev (\"not sure what has gone wrong\")", "pretrain-finetune", "perceiver"),
}

_PROSE = {
    "Q3a": "pretraining on a large, diverse corpus gives representations that transfer to the task with less data and time",
    "Q3b.i": "wrong answers may cause problems for users",
    "Q3b.ii": "since right and wrong outputs can't be told apart, the whole system is unreliable",
    "Q3c": "for an unseen name the model finds the most similar training name and predicts its birthplace; this helps little and harms trust",
}


def accuracy_claim(claim_id: str) -> ProofResult:
    statement, recipe, variant = _ACCURACY[claim_id]
    return ProofResult(
        claim_id=claim_id,
        statement=statement,
        verdict=PENDING,
        evidence=f"decided from recorded training results (report/results/*.json, recipe {recipe}, variant {variant}) by the report",
        decided_by="derivations.q2q3_measured_and_prose.accuracy_claim",
        details={"sheet_correct": SHEET_ACCURACIES[claim_id], "dev_total": DEV_TOTAL, "recipe": recipe, "variant": variant},
    )


def prose_claim(claim_id: str) -> ProofResult:
    evidence = "prose without mathematical content"
    if claim_id == "Q3c":
        evidence = "prose; the strategy it names is measured as the nearest-name baseline (python -m models nearest-name) in the report"
    return ProofResult(
        claim_id=claim_id,
        statement=_PROSE[claim_id],
        verdict=NOT_CHECKABLE,
        evidence=evidence,
        decided_by="derivations.q2q3_measured_and_prose.prose_claim",
    )


# The answer file's fields of Question 3 (ANSWER-FILE.md): prose, kept and not checkable.
FIELDS = tuple(AnswerField("q3", name, PROSE) for name in ("a", "b", "c"))
