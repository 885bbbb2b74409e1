"""`python -m report --answers FILE --out DIR`: the feedback page for one answer file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from report.feedback import FeedbackError, build

ANSWERS = """\
[q1b_i]
M = 'A^\\top'

[q1b_ii]
q = '\\lambda (k_a + k_b)'

[q2g_ii]
ratio = 'm/ell'
"""


def test_feedback_page_shows_each_verdict_with_typeset_formulas(tmp_path):
    path = tmp_path / "student.toml"
    path.write_text(ANSWERS)
    md, html = build(path, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    page = html.read_text(encoding="utf-8")
    # A^T is m×d (fails on its shape), λ is taken as the scale (holds), m/ℓ is not the counted ratio (fails).
    assert "### `M`: **fails**" in text and "m×d" in text
    assert "### `q`: **holds**" in text and "λ" in text
    assert "### `ratio`: **fails**" in text and "Counterexample" in text
    assert page.count('<img class="math"') == 3 and "http" not in page.replace('lang="en"', "")
    assert page.count("v-fails") >= 2


def test_feedback_user_error_writes_nothing(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[q1z]\n")
    with pytest.raises(FeedbackError, match="unknown part"):
        build(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_feedback_cli_one_line_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("not toml [")
    proc = subprocess.run([sys.executable, "-m", "report", "--answers", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "not TOML" in proc.stderr
