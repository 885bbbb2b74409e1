"""Real public answers to Question 1 and 2(g) ii, typed as their authors wrote them, decided as a careful TA decides them.

`tests/data/real_answers.toml` holds each formula with its source (repository, file, commit), the
verdict decided by hand beforehand (standalone SymPy and Monte Carlo, said in its ``how``), and the
other parts of the same write-up that it depends on (``context``). The checker must agree on every
one; a right answer marked `fails` is the worst disagreement there is.
"""
from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from derivations.answer_checks import decide_field

CORPUS = Path(__file__).resolve().parent / "data" / "real_answers.toml"
ENTRIES = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["answer"]


def _decide(entry: dict):
    answers = {part: dict(fields) for part, fields in entry.get("context", {}).items()}
    if entry["part"] == "q1d_i":
        answers["q1d_i"] = {"q1": entry["q1"], "q2": entry["q2"]}
        return decide_field("q1d_i", "q1", entry["q1"], answers)
    answers.setdefault(entry["part"], {})[entry["field"]] = entry["given"]
    return decide_field(entry["part"], entry["field"], entry["given"], answers)


def test_the_corpus_is_real_and_broad():
    assert len({(e["part"], e.get("given"), e.get("q1"), e.get("q2")) for e in ENTRIES}) >= 40
    assert all(e["source"].strip() and e["how"].strip() for e in ENTRIES)
    parts = Counter(e["part"] for e in ENTRIES)
    assert set(parts) >= {"q1b_i", "q1b_ii", "q1c_i", "q1c_ii", "q1d_i", "q1d_ii", "q2g_ii"}
    assert {e["verdict"] for e in ENTRIES} >= {"holds", "holds-with-conditions", "fails"}


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['id']}:{e['part']}" for e in ENTRIES])
def test_real_answer_decided_as_by_hand(entry):
    r = _decide(entry)
    assert r.verdict == entry["verdict"], f"{entry['source']}: {r.decision.evidence}"
