"""Answer files: every part decided for answers written in LaTeX and in plain text, right and wrong.

The expected verdicts are worked out by hand from the questions (QUESTIONS.md), not read
from the code: e.g. M = Aᵀ cannot be d×d, q = β(k_a − k_b) sends all weight to a.
"""
from __future__ import annotations

import builtins
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from derivations.answer_checks import check_answers, decide_field
from derivations.answer_file import AnswerFileError, read_answers
from derivations.answer_grammar import AnswerSyntaxError, parse

H, HC, F, U = "holds", "holds-with-conditions", "fails", "unparseable"

# (part, field, given, verdict, other parts of the same file)
CASES = [
    # (b) i: M with M(v_a + v_b) = v_a
    ("q1b_i", "M", r"A A^\top", H, {}),
    ("q1b_i", "M", "A*A.T", H, {}),
    ("q1b_i", "M", r"\sum_{i=1}^m \frac{a_i a_i^T}{a_i^T a_i}", H, {}),
    ("q1b_i", "M", "I - B*B.T", H, {}),
    ("q1b_i", "M", r"A A^T + B B^T", F, {}),
    ("q1b_i", "M", "2*A*A.T", F, {}),
    ("q1b_i", "M", r"\mathbb{I}", F, {}),
    ("q1b_i", "M", r"\proj_A", U, {}),
    ("q1b_i", "M", "I", F, {}),
    ("q1b_i", "M", r"c A A^T", HC, {}),
    # (b) ii: a query averaging v_a and v_b, orthonormal keys
    ("q1b_ii", "q", r"\beta (k_a + k_b)", H, {}),
    ("q1b_ii", "q", "lambda*(k_a + k_b)", H, {}),
    ("q1b_ii", "q", r"C k_a + C k_b - C k_i", H, {}),
    ("q1b_ii", "q", r"\beta (k_a - k_b)", F, {}),
    ("q1b_ii", "q", "k_a + k_b", F, {}),
    ("q1b_ii", "q", "beta*k_a + 2*beta*k_b", F, {}),
    ("q1b_ii", "q", r"\beta (k_a + k_b + k_i)", F, {}),
    ("q1b_ii", "q", r"50 (k_a + k_b)", HC, {}),
    # (c) i: the same with noisy keys, means mu
    ("q1c_i", "q", r"\beta(\mu_a + \mu_b)", H, {}),
    ("q1c_i", "q", "c*(mu_a + mu_b)", H, {}),
    ("q1c_i", "q", r"10(\mu_a + \mu_b)", HC, {}),
    ("q1c_i", "q", r"\lambda \mu_a + \lambda \mu_b", H, {}),
    ("q1c_i", "q", r"\beta \mu_a", F, {}),
    ("q1c_i", "q", "mu_a + mu_b", F, {}),
    ("q1c_i", "q", r"\beta(\mu_a + \mu_b) + \beta \mu_i", F, {}),
    # (c) ii: the law of eta
    ("q1c_ii", "eta_mean", "1", H, {}),
    ("q1c_ii", "eta_mean", r"\mu_a^T \mu_a", H, {}),
    ("q1c_ii", "eta_mean", "1.0", H, {}),
    ("q1c_ii", "eta_mean", r"\mu_a", F, {}),
    ("q1c_ii", "eta_mean", "0", F, {}),
    ("q1c_ii", "eta_mean", r"\frac{1}{2}", F, {}),
    ("q1c_ii", "eta_var", r"\frac12", H, {}),
    ("q1c_ii", "eta_var", r"\frac{1}{2} + \alpha", H, {}),
    ("q1c_ii", "eta_var", "0.5", H, {}),
    ("q1c_ii", "eta_var", "1", F, {}),
    ("q1c_ii", "eta_var", r"\alpha", F, {}),
    ("q1c_ii", "eta_var", "1/4", F, {}),
    # (c) ii: the weights, general n
    ("q1c_ii", "weight_a", r"\frac{e^{\beta\eta}}{e^{\beta\eta} + e^{\beta} + n - 2}", H, {}),
    ("q1c_ii", "weight_a", "exp(C*eta)/(exp(C*eta) + exp(C) + n - 2)", H, {}),
    ("q1c_ii", "weight_a", r"\frac{e^{10(\eta-1)}}{1 + e^{10(\eta-1)}}", HC, {}),
    ("q1c_ii", "weight_a", r"\frac{1}{1 + e^{\beta(1-\eta)} + (n-2)e^{-\beta\eta}}", H, {}),
    ("q1c_ii", "weight_a", r"\frac{1}{1 + e^{10(\eta-1)}}", F, {}),
    ("q1c_ii", "weight_a", "1/2", F, {}),
    ("q1c_ii", "weight_a", r"\frac{e^{\beta}}{e^{\beta\eta} + e^{\beta} + n - 2}", F, {}),
    ("q1c_ii", "weight_b", r"\frac{e^{\beta}}{e^{\beta\eta} + e^{\beta} + n - 2}", H, {}),
    ("q1c_ii", "weight_b", "1/(1 + exp(10*(eta - 1)))", HC, {}),
    ("q1c_ii", "weight_b", "exp(beta)/(exp(beta*eta) + exp(beta) + n - 2)", H, {}),
    ("q1c_ii", "weight_b", "1 - 1/(1 + exp(10*(eta - 1)))", F, {}),
    ("q1c_ii", "weight_b", r"\frac{1}{2}", F, {}),
    ("q1c_ii", "weight_b", r"\frac{e^{\beta\eta}}{e^{\beta\eta} + e^{\beta}}", F, {}),
    # (c) ii: the covariance of c
    ("q1c_ii", "cov_c", r"\mathrm{Var}[t] (v_a - v_b)(v_a - v_b)^\top", H, {}),
    ("q1c_ii", "cov_c", "Var(t)*(v_b - v_a)*(v_b - v_a).T", H, {}),
    ("q1c_ii", "cov_c", r"\operatorname{Var}(t) (v_a v_a^T - v_a v_b^T - v_b v_a^T + v_b v_b^T)", H, {}),
    ("q1c_ii", "cov_c", r"(V_a + V_b) \cdot \text{Var}[t]", F, {}),
    ("q1c_ii", "cov_c", "Var[t]*(v_a + v_b)*(v_a + v_b).T", F, {}),
    ("q1c_ii", "cov_c", r"\mathrm{Var}[t] (v_a v_a^T + v_b v_b^T)", F, {}),
    # (c) ii: the threshold on eta, with the scale of (c) i
    ("q1c_ii", "threshold", r"1 + \frac{\ln 99}{10}", HC, {"q1c_i": {"q": r"10(\mu_a + \mu_b)"}}),
    ("q1c_ii", "threshold", "1.5", HC, {"q1c_i": {"q": r"10(\mu_a + \mu_b)"}}),
    ("q1c_ii", "threshold", r"\frac{\ln(99(e^\beta + n - 2))}{\beta}", H, {}),
    ("q1c_ii", "threshold", "1.1", F, {"q1c_i": {"q": r"10(\mu_a + \mu_b)"}}),
    ("q1c_ii", "threshold", "1 + 1/beta", F, {}),
    ("q1c_ii", "threshold", "0.9", F, {}),
    # (d) ii: two heads q1 = beta mu_a, q2 = beta mu_b unless the file says otherwise
    ("q1d_ii", "cov_c", r"\frac14 \mathrm{Var}[t] (v_a - v_b)(v_a - v_b)^T", H, {}),
    ("q1d_ii", "cov_c", "0", H, {"q1d_ii": {"ignore_negative": True}}),
    ("q1d_ii", "cov_c", "Var[t]*(v_a - v_b)*(v_a - v_b).T/4", H, {"q1d_i": {"q1": "c*mu_a", "q2": "c*mu_b"}}),
    ("q1d_ii", "cov_c", "0", HC, {}),
    ("q1d_ii", "cov_c", r"\mathrm{Var}[t] (v_a - v_b)(v_a - v_b)^T", F, {}),
    ("q1d_ii", "cov_c", r"(V_a + V_b) \mathrm{Var}[t]", F, {}),
    ("q1d_ii", "cov_c", "0", F, {"q1d_i": {"q1": "10*(mu_a + mu_b)", "q2": "10*(mu_a + mu_b)"}, "q1d_ii": {"ignore_negative": True}}),
    # 2(g) ii
    ("q2g_ii", "ratio", r"\frac{(L-2) m^2 + 2 \ell m}{L \ell^2}", H, {}),
    ("q2g_ii", "ratio", "((L-2)*m^2 + 2*ell*m)/(L*ell^2)", H, {}),
    ("q2g_ii", "ratio", r"\frac{m}{L\ell^2}\left((L-2)m + 2\ell\right)", H, {}),
    ("q2g_ii", "ratio", r"\frac{m}{\ell}", F, {}),
    ("q2g_ii", "ratio", "(L*m^2)/(L*l^2)", F, {}),
    ("q2g_ii", "ratio", r"\frac{(L-2) m^2 + \ell m}{L \ell^2}", F, {}),
    ("q2g_ii", "ratio", r"\frac{(L-2) m^2 + 2 \ell m}{L \ell^2}", F, {"q2g_ii": {"counts": "all"}}),
]


@pytest.mark.parametrize("part,field,given,verdict,others", CASES, ids=[f"{c[0]}.{c[1]}:{c[2]}" for c in CASES])
def test_field_verdicts(part, field, given, verdict, others):
    answers = {k: dict(v) for k, v in others.items()}
    answers.setdefault(part, {})[field] = given
    result = decide_field(part, field, given, answers)
    assert result.verdict == verdict, result.decision.evidence
    assert result.decision.evidence
    if verdict == F:
        assert result.decision.counterexample or "d-vector" in result.decision.evidence or "requires" in result.decision.evidence
    if verdict == HC:
        assert result.decision.condition


HEADS = [
    (r"\beta \mu_a", r"\beta \mu_b", H),
    ("lambda*mu_a", "lambda*mu_b", H),
    (r"\beta(\mu_a - \mu_i)", r"\beta \mu_b", H),
    (r"10(\mu_a + \mu_b)", r"10(\mu_a + \mu_b)", F),      # the same expression
    (r"\beta(\mu_a + \mu_b)", r"2\beta(\mu_a + \mu_b)", F),  # proportional: the same head
    (r"\mu_a", r"\mu_b", F),                              # no scale: only n = 2 averages
    (r"\beta \mu_a", r"\beta(\mu_a + \mu_b)", F),         # weights → (¾, ¼)
    ("10*mu_a", "10*mu_b", HC),
]


@pytest.mark.parametrize("q1,q2,verdict", HEADS)
def test_two_heads_judged_together(q1, q2, verdict):
    answers = {"q1d_i": {"q1": q1, "q2": q2}}
    results = check_answers(answers)
    assert [r.verdict for r in results] == [verdict, verdict]


def test_free_scalar_is_named_as_the_scale():
    r = decide_field("q1b_ii", "q", r"\lambda (k_a + k_b)", {})
    assert r.verdict == H and "λ" in r.decision.evidence and "scale" in r.decision.evidence


def test_fixed_scale_gives_the_largest_n_and_it_is_right():
    import math

    r = decide_field("q1c_i", "q", r"10(\mu_a + \mu_b)", {})
    n_max = int(r.decision.condition.split("≤")[1].split()[0])
    weight = lambda n: math.exp(10) / (2 * math.exp(10) + n - 2)  # noqa: E731
    assert weight(n_max) >= 0.49 > weight(n_max + 1)


def test_shape_errors_name_the_shapes():
    r = decide_field("q1b_i", "M", "A.T", {})
    assert r.verdict == F and "m×d" in r.decision.evidence
    r = decide_field("q1b_i", "M", r"A + A^T", {})
    assert r.verdict == F and "d×m" in r.decision.evidence and "m×d" in r.decision.evidence
    r = decide_field("q1c_ii", "cov_c", "(v_a + v_b) Var[t]", {})
    assert r.verdict == F and "d-vector" in r.decision.evidence and "d×d" in r.decision.evidence
    r = decide_field("q1b_ii", "q", r"k_a^T k_b", {})
    assert r.verdict == F and "scalar" in r.decision.evidence


@pytest.mark.parametrize("text", [r"\frac{1}{", "k_a +", "(((", r"\beta (k_a + k_b", "", "q = ", "€", "9^{9^{9}} k_a", "x" * 3000])
def test_unparseable_text_is_reported_with_a_reason(text):
    r = decide_field("q1b_ii", "q", text, {})
    assert r.verdict == U and r.decision.evidence


def test_one_unparseable_field_leaves_the_others_decided():
    results = check_answers({"q1b_i": {"M": "A A^T"}, "q1b_ii": {"q": "k_a +"}, "q2g_ii": {"ratio": "m/ell"}})
    assert [r.verdict for r in results] == [H, U, F]


def test_random_keys_in_a_query_of_c_fail_naming_the_means():
    # (c) i: the keys are drawn after q is chosen; q must be built from the known means (QUESTIONS.md)
    r = decide_field("q1c_i", "q", r"\beta(k_a + k_b)", {})
    assert r.verdict == F and "μ" in r.decision.evidence


ATTACKS = [
    "__import__('os').system('touch {marker}')",
    "eval(\"open('{marker}', 'w')\")",
    "exec('open(\"{marker}\", \"w\")')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: open('{marker}', 'w')",
    "os.system('touch {marker}')",
    r"\input{{{marker}}}",
    "Symbol('x').__class__",
    "{{7*7}}",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_code_in_answers_is_never_run(attack, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    text = attack.format(marker=marker)
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("eval/exec called on answer text")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    # sympify(str) and parse_expr reach eval through sympy.parsing.sympy_parser: refuse them too.
    import sympy.parsing.sympy_parser as sympy_parser

    monkeypatch.setattr(sympy_parser, "parse_expr", refuse)
    monkeypatch.setattr(sympy_parser, "eval_expr", refuse)
    for part, field in (("q1b_i", "M"), ("q1b_ii", "q"), ("q2g_ii", "ratio"), ("q1c_ii", "cov_c")):
        r = decide_field(part, field, text, {})
        assert r.verdict in (U, F)
    assert not marker.exists() and calls == []


def test_grammar_only_parses():
    with pytest.raises(AnswerSyntaxError):
        parse("__import__('os')")
    assert parse("A A^T")[0] == "mul"


# --- files and the command line -------------------------------------------------------------------

EXAMPLE = """\
[q1b_i]
M = 'A A^\\top'

[q1b_ii]
q = '\\beta (k_a + k_b)'

[q1c_i]
q = '10(\\mu_a + \\mu_b)'

[q1d_i]
q1 = '\\beta \\mu_a'
q2 = '\\beta \\mu_b'

[q2g_ii]
ratio = '\\frac{(L-2) m^2 + 2 \\ell m}{L \\ell^2}'
"""


@pytest.mark.parametrize("content,where", [
    ("x = [", "not TOML"),
    ("[q1b_i]\nM = 'A'\n[q9]\nx = '1'\n", "line 3: unknown part [q9]"),
    ("[q1b_i]\nN = 'A'\n", "line 2: unknown field 'N'"),
    ("q1b_i = 'A A^T'\n", "line 1: q1b_i must be a table"),
])
def test_user_errors_name_file_and_line(tmp_path, content, where):
    path = tmp_path / "a.toml"
    path.write_text(content)
    with pytest.raises(AnswerFileError, match=where.replace("[", r"\[")):
        read_answers(path)


def test_non_string_value_is_unparseable_not_a_user_error(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("[q1b_i]\nM = 3\n[q1d_ii]\nignore_negative = 'yes'\n")
    results = check_answers(read_answers(path))
    assert [r.verdict for r in results] == [U, U]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "derivations", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd or Path(__file__).resolve().parents[1])


def test_cli_one_file_json(tmp_path):
    path = tmp_path / "example.toml"
    path.write_text(EXAMPLE)
    proc = _cli("check", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    parts = json.loads(proc.stdout)["parts"]
    assert [(p["part"], p["field"], p["verdict"]) for p in parts] == [
        ("q1b_i", "M", H), ("q1b_ii", "q", H), ("q1c_i", "q", HC), ("q1d_i", "q1", H), ("q1d_i", "q2", H), ("q2g_ii", "ratio", H)]
    for p in parts:
        assert set(p) == {"part", "field", "given", "verdict", "condition", "evidence", "counterexample", "decided_by"}
        assert p["decided_by"].startswith("derivations.")


def test_cli_class_csv_and_errors(tmp_path):
    good = tmp_path / "s1.toml"
    good.write_text(EXAMPLE)
    other = tmp_path / "s2.toml"
    other.write_text("[q1b_i]\nM = 'A.T'\n[q1b_ii]\nq = 'k_a +'\n")
    out = tmp_path / "class.csv"
    proc = _cli("check", str(good), str(other), "--csv", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6 + 2
    assert {(r["file"], r["part"], r["verdict"]) for r in rows if r["file"] == str(other)} == {
        (str(other), "q1b_i", F), (str(other), "q1b_ii", U)}
    bad = tmp_path / "bad.toml"
    bad.write_text("[q1z]\n")
    out2 = tmp_path / "none.csv"
    proc = _cli("check", str(good), str(bad), "--csv", str(out2))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "bad.toml: line 1: unknown part [q1z]" in proc.stderr and not out2.exists()


def test_simulate_adds_monte_carlo_to_query_answers_only(tmp_path):
    from simulate.answers import simulate_rows
    from derivations.check_cli import check_file

    path = tmp_path / "example.toml"
    path.write_text(EXAMPLE)
    rows = simulate_rows(check_file(str(path)), samples=4000)
    sim = {(r["part"], r["field"]): r.get("simulated") for r in rows}
    assert sim[("q1b_i", "M")] is None and sim[("q2g_ii", "ratio")] is None
    single, multi = sim[("q1c_i", "q")], sim[("q1d_i", "q1")]
    assert "not a proof" in single["text"]
    # (c) ii keys spread one head's output much more than (c) i keys do, and two heads spread it less (QUESTIONS.md (c), (d)).
    assert single["(c) ii keys"]["trace_cov"] > 10 * single["(c) i keys"]["trace_cov"]
    assert multi["(c) ii keys"]["trace_cov"] < 0.5 * single["(c) ii keys"]["trace_cov"]


def test_sheet_file_and_audit_agree():
    """The audit decides the sheet through its answer file: each field-backed claim has the worst verdict of its fields."""
    from derivations.claims import CLAIM_FIELDS, SHEET_ANSWERS, decide
    from derivations.result import worst

    by_field = {(r.part, r.field): r.verdict for r in check_answers(read_answers(SHEET_ANSWERS))}
    for claim_id, fields in CLAIM_FIELDS.items():
        expected = worst(by_field[f] for f in fields)
        got = decide(claim_id).verdict
        assert got == expected or (claim_id == "Q1d.ii" and got == F), claim_id
    # The sheet's known errors (QUESTIONS.md): no scale in (b) ii, a shape error in both covariances, q_1 = q_2.
    assert by_field[("q1b_ii", "q")] == F and by_field[("q1c_ii", "cov_c")] == F and by_field[("q1d_i", "q1")] == F


def test_logits_claim_follows_the_files_query():
    from derivations.claims import logits_claim

    assert logits_claim().verdict == H
    assert logits_claim({"q1c_i": {"q": r"20(\mu_a + \mu_b)"}}).verdict == F
