"""Write-ups read as written: Markdown, LaTeX and notebook answers found by their labels and symbols.

The fixtures under tests/data/writeups/ are real public write-ups (their source, path and commit in
their first line); `expected.toml` holds the fields extracted from each by hand, by reading it.
The bundled sheet read from ../shared/seed/answers.md must be decided as derivations/sheet_answers.toml.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from derivations.answer_checks import check_answers
from derivations.answer_file import read_answers
from derivations.answer_grammar import clean
from derivations.writeup import MATH_FIELDS, extract, read_writeup
from derivations.writeup_toml import to_toml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "writeups"
EXPECTED = tomllib.loads((DATA / "expected.toml").read_text(encoding="utf-8"))["file"]
SHEET_MD = ROOT.parent / "shared" / "seed" / "answers.md"
SHEET_TOML = ROOT / "derivations" / "sheet_answers.toml"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "derivations", *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_fixtures_are_five_markdown_and_five_latex_write_ups_with_their_sources():
    names = [f["name"] for f in EXPECTED]
    assert sum(n.endswith(".md") for n in names) >= 5 and sum(n.endswith(".tex") for n in names) >= 5
    for n in names:
        text = (DATA / n).read_text(encoding="utf-8")
        head = json.loads(text)["metadata"]["source_note"] if n.endswith(".ipynb") else text[:600]
        assert "Source: github:" in head and "commit " in head, n


@pytest.mark.parametrize("case", EXPECTED, ids=[f["name"] for f in EXPECTED])
def test_reader_finds_what_a_person_finds(case):
    got = read_writeup(DATA / case["name"])
    found = {(f.part, f.field): f for f in got.found}
    want = {(f["part"], f["field"]): f for f in case["fields"]}
    assert set(found) == set(want), case["name"]
    for key, w in want.items():
        f = found[key]
        assert f.expression == w["expression"] or clean(f.expression) == clean(w["expression"]), key
        assert (f.cell, f.line) == (w.get("cell"), w["line"]), key
        assert f.path.endswith(case["name"])
    assert set(got.not_found) == set(MATH_FIELDS) - set(want)


def test_sheet_markdown_is_decided_as_the_sheet_answer_file_field_by_field():
    if not SHEET_MD.is_file():
        pytest.skip("../shared/seed/answers.md is not beside this checkout")
    toml_answers = read_answers(SHEET_TOML)
    md = read_writeup(SHEET_MD)
    math_in_toml = [(p, f) for p, fields in toml_answers.items() for f in fields if (p, f) in MATH_FIELDS]
    assert md.not_found == [] and sorted(math_in_toml) == sorted((f.part, f.field) for f in md.found)
    by_toml = {(r.part, r.field): r.verdict for r in check_answers(toml_answers)}
    by_md = {(r.part, r.field): r.verdict for r in check_answers(md.answers())}
    for key in math_in_toml:
        assert by_md[key] == by_toml[key], key
    # the sheet's known errors survive the reading (QUESTIONS.md): no scale in (b) ii, q_1 = q_2 in (d) i
    assert by_md[("q1b_ii", "q")] == "fails" and by_md[("q1d_i", "q1")] == "fails" and by_md[("q1b_i", "M")] == "holds"


@pytest.mark.parametrize("name", [f["name"] for f in EXPECTED])
def test_extract_only_toml_is_an_answer_file_with_the_same_fields(name, tmp_path):
    got = read_writeup(DATA / name)
    out = tmp_path / "read.toml"
    out.write_text(to_toml(got), encoding="utf-8")
    assert read_answers(out) == got.answers()


def test_toml_escapes_quotes_and_keeps_backslashes(tmp_path):
    got = extract("1. (b) ii. $q = \\beta (k_a + k_b)$\n(c) i. $q = \\beta' \\mu_a + \\beta' \\mu_b$\n", "md", "x.md")
    out = tmp_path / "x.toml"
    out.write_text(to_toml(got), encoding="utf-8")
    assert read_answers(out) == {"q1b_ii": {"q": "\\beta (k_a + k_b)"}, "q1c_i": {"q": "\\beta' \\mu_a + \\beta' \\mu_b"}}


@pytest.mark.parametrize("text, kind, expected", [
    ("\\subsection*{1(b)}\n$q = \\lambda(k_a + k_b)$\n", "tex", ("q1b_ii", "q", "\\lambda(k_a + k_b)")),
    ("\\section{Attention}\n\\subsection{(d) Heads}\n\\begin{enumerate}\n\\item $q_1 = \\beta\\mu_a$, $q_2 = \\beta\\mu_b$\n"
     "\\item $\\mathrm{Var}[c] = 0$\n\\end{enumerate}\n", "tex", ("q1d_ii", "cov_c", "0")),
    ("#### (c) ii\n$$\\eta > \\frac{\\ln 99}{10} + 1$$\n", "md", ("q1c_ii", "threshold", "\\frac{\\ln 99}{10} + 1")),
    ("1. (c) ii. where $\\eta \\sim \\mathcal{N}(1, \\tfrac12)$\n", "md", ("q1c_ii", "eta_var", "\\tfrac12")),
    ("## 2. Pretraining\n### (g)\nii. $$\\frac{\\text{cost(perceiver)}}{\\text{cost(vanilla)}} = \\frac{m}{\\ell}$$\n", "md",
     ("q2g_ii", "ratio", "\\frac{m}{\\ell}")),
    ("(c)\n1. $q = C(\\mu_a + \\mu_b)$\n2. $\\alpha_a = \\frac{e^{C\\eta}}{e^{C\\eta} + e^C}$\n", "md",
     ("q1c_ii", "weight_a", "\\frac{e^{C\\eta}}{e^{C\\eta} + e^C}")),
])
def test_labels_and_symbols_as_people_write_them(text, kind, expected):
    got = {(f.part, f.field): f.expression for f in extract(text, kind).found}
    assert got[expected[:2]] == expected[2]


def test_nothing_is_guessed():
    text = ("(b) ii. Since $k_a^\\top q = k_b^\\top q$ the keys tie.\n```\nq = beta*(k_a + k_b)\n```\n"
            "(c) ii. $\\alpha_a \\approx 1$ when the key is long; $q = 10(\\mu_a + \\mu_b)$ as in i.\n")
    assert extract(text, "md").found == []


def test_cli_shows_where_each_field_was_read_and_what_was_not_found():
    proc = _cli("check", str(DATA / "md_bowieshi_a5.md"), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(r["part"], r["field"]): r for r in json.loads(proc.stdout)["parts"]}
    q = rows[("q1b_ii", "q")]
    assert q["source"].endswith("md_bowieshi_a5.md: line 11") and q["read"] == "\\frac{k_a+k_b}{2}"
    assert q["verdict"] == "fails"  # a fixed scale ½: never averages for n > 2
    assert rows[("q1b_i", "M")]["verdict"] == "not-found" and len(rows) == len(MATH_FIELDS)


def test_cli_user_errors_are_one_line(tmp_path):
    nb = tmp_path / "broken.ipynb"
    nb.write_text("{not json", encoding="utf-8")
    proc = _cli("check", str(nb))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "broken.ipynb: line 1: not a notebook" in proc.stderr
    proc = _cli("check", str(SHEET_TOML), "--extract-only")
    assert proc.returncode == 2 and "--extract-only takes one write-up" in proc.stderr



def test_generated_write_ups_read_back_what_was_written(tmp_path):
    """bench_class --mixed writes one student's drawn answers as TOML, Markdown, LaTeX and a notebook; the reader
    must give back every drawn field as written (η's law needs both moments: a lone one is not written)."""
    import random

    from derivations.answer_sources import read_source
    from derivations.bench_class import _draw, write_mixed_class

    rng = random.Random(0)
    drawn = [_draw(rng) for _ in range(12)]
    for path, fields in zip(write_mixed_class(tmp_path, 12), drawn):
        answers, _ = read_source(path)
        got = {(p, f): v for p, fs in answers.items() for f, v in fs.items()}
        lone_eta = {k for k in fields if k[0] == "q1c_ii" and k[1].startswith("eta_")} if sum(
            k[1].startswith("eta_") for k in fields) == 1 and path.suffix != ".toml" else set()
        assert got == {k: v for k, v in fields.items() if k not in lone_eta}, path.name
