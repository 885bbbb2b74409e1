"""The Gradescope autograder: run_autograder on a submission laid out as Gradescope lays it out.

Expected scores are worked out by hand from the default rubric (docs/gradescope.md, gradescope/points.toml)
and verdicts decided by hand in tests/test_derivations_answers.py: A Aᵀ holds (3 of 3 points),
k_a + k_b fails (0 of 4), 10(μ_a + μ_b) holds with a condition (half of 2).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "gradescope" / "run_autograder"


def _autograder(tmp_path: Path, files: dict[str, str], rubric: str | None = None) -> subprocess.CompletedProcess:
    root = tmp_path / "autograder"
    sub = root / "submission"
    for name, text in files.items():
        (sub / name).parent.mkdir(parents=True, exist_ok=True)
        (sub / name).write_text(text, encoding="utf-8")
    sub.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, AUTOGRADER=str(root), ATTNLAB_SOURCE=str(ROOT), ATTNLAB_PYTHON=sys.executable)
    if rubric is not None:
        (tmp_path / "points.toml").write_text(rubric, encoding="utf-8")
        env["ATTNLAB_RUBRIC"] = str(tmp_path / "points.toml")
    return subprocess.run(["bash", str(RUN)], capture_output=True, text=True, timeout=300, env=env)


def _results(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "autograder" / "results" / "results.json").read_text(encoding="utf-8"))


ANSWERS = "[q1b_i]\nM = 'A A^\\top'\n\n[q1b_ii]\nq = 'k_a + k_b'\n\n[q1c_i]\nq = '10(\\mu_a + \\mu_b)'\n"


def test_run_autograder_writes_gradescope_results(tmp_path):
    proc = _autograder(tmp_path, {"answers.toml": ANSWERS})
    assert proc.returncode == 0, proc.stderr
    res = _results(tmp_path)
    tests = {t["name"]: t for t in res["tests"]}
    assert len(tests) == 7 and all({"name", "score", "max_score", "output", "visibility"} <= set(t) for t in tests.values())
    assert tests["1(b) i: the matrix M"]["score"] == 3 and tests["1(b) ii: a query that averages"]["score"] == 0
    assert tests["1(c) i: a query for noisy keys"]["score"] == 1.0  # holds-with-conditions: half of 2
    assert res["score"] == 4.0 and sum(t["max_score"] for t in tests.values()) == 17
    failed = tests["1(b) ii: a query that averages"]["output"]
    assert "verdict: fails" in failed and "counterexample:" in failed
    assert "not found in the submission" in tests["1(d) i: two heads"]["output"]


def test_rubric_sets_points_and_share(tmp_path):
    proc = _autograder(tmp_path, {"answers.toml": ANSWERS}, rubric="holds_with_conditions = 1\n[points]\nq1b_ii = 0\n")
    assert proc.returncode == 0, proc.stderr
    res = _results(tmp_path)
    assert res["score"] == 5.0 and "1(b) ii: a query that averages" not in {t["name"] for t in res["tests"]}
    bad = _autograder(tmp_path / "b", {"answers.toml": ANSWERS}, rubric="[points]\nq9 = 1\n")
    assert bad.returncode == 2 and "unknown part 'q9'" in bad.stderr and "Traceback" not in bad.stderr


def test_write_up_submission_is_read_and_student_text_stays_text(tmp_path):
    writeup = ("# 1. Attention\n(b) i. $M = A A^\\top$\n\nii. $q = \\beta (k_a + k_b) <b>bold</b>$\n\n"
               "(d) i. $q_1 = \\beta \\mu_a$, $q_2 = \\beta \\mu_b$\n")
    proc = _autograder(tmp_path, {"hw/writeup.md": writeup, "hw/notes.txt": "not read"})
    assert proc.returncode == 0, proc.stderr
    res = _results(tmp_path)
    tests = {t["name"]: t for t in res["tests"]}
    assert tests["1(b) i: the matrix M"]["score"] == 3 and tests["1(d) i: two heads"]["score"] == 1
    out = tests["1(b) ii: a query that averages"]["output"]
    assert "<b>bold</b>" in out and tests["1(b) ii: a query that averages"]["output_format"] == "text"
    assert "read from: hw/writeup.md: line 2" in tests["1(b) i: the matrix M"]["output"]


def test_empty_submission_still_gets_results(tmp_path):
    proc = _autograder(tmp_path, {})
    assert proc.returncode == 0, proc.stderr
    res = _results(tmp_path)
    assert res["score"] == 0 and "nothing to grade" in res["output"]


def test_setup_script_installs_and_places_run_autograder():
    text = (ROOT / "gradescope" / "setup.sh").read_text(encoding="utf-8")
    assert "/autograder/venv" in text and "lark" in text and "cp /autograder/source/gradescope/run_autograder" in text
    assert shutil.which("bash")


def test_a_submission_field_over_its_size_budget_is_not_checkable_and_the_rest_graded(tmp_path):
    # the degree-200 ratio of issue 34: decided under check's budget, never stalling the autograder
    huge = r"\frac{(L + m + \ell + d)^{200} - (L - m + \ell - d)^{200}}{L \ell^2 (L + m + \ell)^{199}}"
    proc = _autograder(tmp_path, {"answers.toml": ANSWERS + f"\n[q2g_ii]\nratio = '{huge}'\n"})
    assert proc.returncode == 0, proc.stderr
    tests = {t["name"]: t for t in _results(tmp_path)["tests"]}
    assert tests["1(b) i: the matrix M"]["score"] == 3
    ratio = next(t for name, t in tests.items() if name.startswith("2(g)"))
    assert ratio["score"] == 0 and "not-checkable" in ratio["output"] and "too large" in ratio["output"]
