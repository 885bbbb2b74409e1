"""The class's common mistakes: answers grouped per part by meaning, wrong and frequent first.

Groupings worked out by hand: A Aᵀ = A*A.T; ½(k_a + k_b) = 0.5 k_a + 0.5 k_b = (k_a + k_b)/2 (a fixed scale ½:
fails); k_a + k_b is another answer (fails too, a different value); Aᵀ fails on its shape.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from derivations.answer_sources import check_source
from derivations.class_summary import group_class, render_html

ROOT = Path(__file__).resolve().parents[1]
CLASS = {
    "s1.toml": "[q1b_i]\nM = 'A A^T'\n[q1b_ii]\nq = 'k_a + k_b'\n",
    "s2.toml": "[q1b_i]\nM = 'A*A.T'\n[q1b_ii]\nq = '\\frac{1}{2}(k_a + k_b)'\n",
    "s3.toml": "[q1b_i]\nM = 'A^T'\n[q1b_ii]\nq = '0.5 k_a + 0.5 k_b'\n",
    "s4.md": "(b) i. $M = A^\\top <script>$\n\nii. $q = \\frac{k_a+k_b}{2}$\n",
}


def _class(tmp_path):
    paths = []
    for name, text in CLASS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    return paths, [check_source(p) for p in paths]


def test_answers_are_grouped_by_meaning_wrong_and_frequent_first(tmp_path):
    paths, results = _class(tmp_path)
    grouped = group_class(paths, results)
    q = grouped[("q1b_ii", "q")]
    assert [g.count for g in q] == [3, 1] and all(g.verdict == "fails" for g in q)
    assert sorted(Path(f).name for f in q[0].files) == ["s2.toml", "s3.toml", "s4.md"] and q[0].counterexample
    m = grouped[("q1b_i", "M")]
    holds = [g for g in m if g.verdict == "holds"]
    assert len(holds) == 1 and sorted(Path(f).name for f in holds[0].files) == ["s1.toml", "s2.toml"]
    assert m[-1] is holds[0]  # right answers after the wrong ones
    assert ("q1c_i", "q") in grouped and grouped[("q1c_i", "q")][0].verdict == "not-found"  # s4.md has no (c)


def test_summary_html_escapes_the_class_text(tmp_path):
    paths, results = _class(tmp_path)
    paths, results = paths[::-1], results[::-1]  # s4.md first: its text stands for the Aᵀ group
    grouped = group_class(paths, results)
    assert grouped[("q1b_i", "M")][0].given == "A^\\top <script>" and grouped[("q1b_i", "M")][0].count == 2
    html = render_html(grouped, len(paths))
    assert "<script>" not in html and "A^\\top &lt;script&gt;" in html


def test_cli_writes_the_summary_and_refuses_an_input_as_folder(tmp_path):
    paths, _ = _class(tmp_path)
    run = [sys.executable, "-m", "derivations", "check", *paths, "--quiet", "--summary"]
    proc = subprocess.run(run + [str(tmp_path / "out")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "out" / "SUMMARY.md").read_text(encoding="utf-8")
    assert md.index("## [q1b_i] M") < md.index("## [q1b_ii] q") and "3 files, fails 3" in md
    proc = subprocess.run(run + [paths[0]], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_summary_html_typesets_each_group_as_the_feedback_page_does(tmp_path):
    paths, results = _class(tmp_path)
    html = render_html(group_class(paths, results), len(paths))
    images = html.count('<img class="math" src="data:image/png;base64,')
    groups = html.count("<code>")  # every answer keeps its text as written, typeset or not
    assert images >= 2  # the right and the wrong (b) i answers at least, typeset by mathtext
    assert groups >= images  # an image never replaces the text a TA reads
