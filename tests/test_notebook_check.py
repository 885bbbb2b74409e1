"""`from derivations import check` in a notebook: a result Jupyter shows as a table, printed as the CLI prints.

Verdicts decided by hand (tests/test_derivations_answers.py): β(k_a + k_b) holds, k_a + k_b fails.
"""
from __future__ import annotations

import pytest

from derivations import check
from derivations.answer_file import AnswerFileError


def test_result_prints_the_cli_lines_and_shows_an_escaped_table():
    res = check("q1b_ii", q=r"\beta (k_a + k_b)")
    assert res.verdicts == {"q": "holds"}
    text = str(res)
    assert text.splitlines()[0] == r"[q1b_ii] q = \beta (k_a + k_b)" and "  verdict: holds" in text
    assert "decided by: derivations.q1b_average.decide_query" in text
    bad = check("q1b_ii", q="k_a + k_b <script>alert(1)</script>")
    html = bad._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<table" in html
    assert r"\(k_a + k_b &lt;script&gt;" in html  # MathJax delimiters around the escaped answer


def test_context_gives_the_scale_of_c_i():
    # α_a = e^{10η}/(e^{10η} + e^{10} + n − 2) ≥ 0.99 ⇔ η ≥ ln(99(e^{10} + n − 2))/10 at (c) i's scale 10 (by hand);
    # without (c) i the scale is unknown and a threshold with a fixed 10 cannot be right for every scale
    threshold = r"\frac{\ln(99(e^{10} + n - 2))}{10}"
    assert check("q1c_ii", threshold=threshold).verdicts == {"threshold": "fails"}
    res = check("q1c_ii", context={"q1c_i": {"q": r"10(\mu_a + \mu_b)"}}, threshold=threshold)
    assert res.verdicts == {"threshold": "holds"} and [r["part"] for r in res.rows] == ["q1c_ii"]


def test_unknown_names_are_one_line_errors():
    with pytest.raises(AnswerFileError, match="unknown field 'qq' in \\[q1b_ii\\]"):
        check("q1b_ii", qq="k_a")
    with pytest.raises(AnswerFileError, match="unknown part 'q9'"):
        check("q9", q="k_a")
