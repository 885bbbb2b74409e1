"""One answer never stops a class's grading: every field is decided under a budget of time and size,
no exception escapes a field, and the CSV is safe to open in a spreadsheet (issue 34).

The hostile answers are the ones found in the wild (a ratio with powers of 200, a tower of
powers in a threshold, a formula cell) and one per kind of failure: overflow, recursion, huge
integers, timeouts.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivations import answer_checks
from derivations.answer_file import PARTS, read_answers
from derivations.answer_grading import CONTEXT, PRELOAD, context, grade
from derivations.answer_size import TooLarge, check_size
from derivations.display import from_csv
from derivations.field_guard import GUARD, decide_guarded
from derivations.result import VERDICTS
from derivations.worker_pool import WorkerPool
from tests.worker_calls import decide_and_count_cache_hits, sleep_or_square

ROOT = Path(__file__).resolve().parents[1]
NC = "not-checkable"

RATIO_200 = r"\frac{(L + m + \ell + d)^{200} - (L - m + \ell - d)^{200}}{L \ell^2 (L + m + \ell)^{199}}"
POWER = r"(1 + \frac{\ln 99}{\beta})"
TOWER = f"{POWER}^{{{POWER}^{{{POWER}^{{{POWER}^{{99}}}}}}}}"
SLOW = r"(\alpha + \beta + \eta + n)^{60}"  # within the size budget; SymPy takes far longer than a second


def _toml(answers: dict) -> str:
    return "\n".join(f"[{part}]\n" + "".join(f"{f} = {json.dumps(v)}\n" for f, v in fields.items())
                     for part, fields in answers.items())


def _cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "derivations", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _row(rows, part, field):
    return next(r for r in rows if r["part"] == part and r["field"] == field)


def test_found_cases_each_get_a_verdict_and_the_rest_is_decided(tmp_path):
    """The ratio that ran for 300 s, the threshold that ended in a traceback, the formula cell."""
    ratio = tmp_path / "ratio.toml"
    ratio.write_text(_toml({"q1b_ii": {"q": r"\beta(k_a + k_b)"}, "q2g_ii": {"ratio": RATIO_200}}))
    tower = tmp_path / "tower.toml"
    tower.write_text(_toml({"q1c_i": {"q": r"\beta(\mu_a + \mu_b)"}, "q1c_ii": {"threshold": TOWER, "eta_mean": "1"}}))
    formula = tmp_path / "formula.toml"
    formula.write_text(_toml({"q3": {"a": '=HYPERLINK("http://example.com","x")'}, "q1b_i": {"M": "-A A^T"}}))
    out = tmp_path / "class.csv"
    start = time.monotonic()
    proc = _cli("check", str(ratio), str(tower), str(formula), "--json", "--csv", str(out), "--field-timeout", "3")
    assert time.monotonic() - start < 60
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    files = {Path(f["file"]).name: f["parts"] for f in json.loads(proc.stdout)["files"]}
    assert _row(files["ratio.toml"], "q2g_ii", "ratio")["verdict"] == NC
    assert _row(files["ratio.toml"], "q2g_ii", "ratio")["evidence"].startswith("too large: polynomial degree 200")
    assert _row(files["ratio.toml"], "q1b_ii", "q")["verdict"] == "holds"
    assert _row(files["tower.toml"], "q1c_ii", "threshold")["verdict"] == NC
    assert _row(files["tower.toml"], "q1c_ii", "eta_mean")["verdict"] == "holds"
    assert _row(files["tower.toml"], "q1c_i", "q")["verdict"] == "holds"
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cells = {(r["part"], r["field"]): r for r in rows if r["file"] == str(formula)}
    assert cells[("q3", "a")]["given"] == """'=HYPERLINK("http://example.com","x")"""
    assert cells[("q1b_i", "M")]["given"] == "'-A A^T" and cells[("q1b_i", "M")]["verdict"] == "fails"
    for r in rows:  # no cell of the CSV starts a formula
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in r.values())


def test_file_names_with_commas_quotes_and_newlines_round_trip(tmp_path):
    names = ['a,b.toml', 'say "hi".toml', "two\nlines.toml", "=SUM(A1).toml", "'quoted.toml"]
    paths = []
    for name in names:
        p = tmp_path / name
        p.write_text("[q1c_ii]\neta_mean = '1'\n")
        paths.append(str(p))
    out = tmp_path / "class.csv"
    proc = _cli("check", *paths, "--csv", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [from_csv(r["file"]) for r in rows] == paths
    assert [r["verdict"] for r in rows] == ["holds"] * len(names)


@pytest.mark.parametrize("part, field, text, others, evidence", [
    # overflow: mpmath's "too many digits in integer", the traceback of the issue, now a verdict
    ("q1c_ii", "threshold", r"e^{e^{e^{10}}}", {"q1c_i": {"q": r"10(\mu_a + \mu_b)"}}, "(OverflowError: "),
    # recursion: Lark's tree of nine hundred minus signs
    ("q1b_ii", "q", "-" * 900 + "k_a", {}, "nested too deeply for the checker (RecursionError)"),
    # huge integers: written out, or as a power of numbers
    ("q1c_ii", "eta_mean", "9" * 1500, {}, "too large: a number of 1500 digits"),
    ("q1c_ii", "eta_var", "9^{4000}", {}, "too large: a power of numbers with about 3818 digits"),
    # size before expansion: degree, towers, an exponent's exponent
    ("q2g_ii", "ratio", RATIO_200, {}, "too large: polynomial degree 200"),
    ("q1c_ii", "threshold", TOWER, {}, "too large: a tower of 4 powers"),
    ("q1c_ii", "threshold", f"{POWER}^{{{POWER}^{{99}}}}", {}, "too large: the number 99 in the exponent of an exponent"),
])
def test_each_kind_of_failure_is_that_fields_verdict(part, field, text, others, evidence):
    row = decide_guarded(part, field, text, {**others, part: {field: text}})
    assert row["verdict"] == NC and evidence in row["evidence"] and "\n" not in row["evidence"]
    assert row["decided_by"] == GUARD and row["given"] == text


@pytest.mark.parametrize("exc", [OverflowError("too many digits in integer"), RecursionError("maximum recursion depth"),
                                 MemoryError(), ValueError("Exceeds the limit (4300 digits) for integer string conversion"),
                                 KeyError("mu_a"), AssertionError("internal\nsecond line")])
def test_no_exception_of_a_checker_escapes_a_field(monkeypatch, exc):
    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(answer_checks, "decide_field", boom)
    row = decide_guarded("q1b_i", "M", "A A^T", {"q1b_i": {"M": "A A^T"}})
    assert row["verdict"] == NC and row["evidence"].startswith("could not be decided")
    assert type(exc).__name__ in row["evidence"] and "\n" not in row["evidence"]


def test_size_budget_leaves_every_ordinary_answer_alone():
    from derivations.bench_class import POOL
    from tests.test_derivations_answers import CASES

    for text in [t for options in POOL.values() for t in options] + [c[2] for c in CASES]:
        check_size(text)
    with pytest.raises(TooLarge):
        check_size("x^{65}")


def test_pool_kills_only_an_overrunning_call_and_keeps_its_order():
    calls = [(sleep_or_square, (x,)) for x in (1, -1, 2, 3, -2, 4)]
    with WorkerPool(2, timeout=2.0, preload=PRELOAD) as pool:
        start = time.monotonic()
        outcomes = pool.run(calls)
        took = time.monotonic() - start
        assert [o.status for o in outcomes] == ["done", "timeout", "done", "done", "timeout", "done"]
        assert [o.value for o in outcomes if o.status == "done"] == [1, 4, 9, 16]
        assert all(o.elapsed < 3.0 for o in outcomes) and took < 15
        assert [o.value for o in pool.run(calls[:1])] == [1]  # the replaced workers work
    with WorkerPool(1, timeout=2.0, preload=PRELOAD) as pool:
        assert [o.value for o in pool.run(calls)] == [o.value for o in outcomes]


def test_workers_stay_alive_so_the_decision_cache_works():
    call = (decide_and_count_cache_hits, ("q1b_ii", "q", r"\beta (k_a + k_b)"))
    with WorkerPool(1, timeout=60, preload=PRELOAD) as pool:
        first, second = (o.value for o in pool.run([call, call]))
    assert second == first + 1


def test_a_slow_field_is_stopped_and_every_other_field_and_file_decided():
    slow = {"q1c_ii": {"eta_var": SLOW, "eta_mean": "1"}, "q1b_ii": {"q": r"\beta(k_a + k_b)"}}
    plain = {"q1b_i": {"M": "A A^T"}}
    start = time.monotonic()
    results = grade([slow, plain, slow], jobs=2, field_timeout=1.5)
    assert time.monotonic() - start < 30
    assert [r["verdict"] for r in results[0]] == [NC, "holds", "holds"]
    assert _row(results[0], "q1c_ii", "eta_var")["evidence"] == "took longer than 1.5 s"
    assert results[2] == results[0] and [r["verdict"] for r in results[1]] == ["holds"]


def test_rows_do_not_depend_on_the_workers_and_context_is_all_a_decision_reads(tmp_path):
    from derivations.bench_class import write_class
    from derivations.claims import SHEET_ANSWERS

    paths, _ = write_class(tmp_path, 2, seed=3)
    files = [read_answers(p) for p in paths] + [read_answers(SHEET_ANSWERS), read_answers(ROOT / "docs/example-answers.toml")]
    one, two = grade(files, jobs=1), grade(files, jobs=2)
    assert one == two
    # The worker sees only the field and its CONTEXT; the decision with the whole file is the same.
    for answers, rows in zip(files[-2:], one[-2:]):
        full = [r.to_json() for r in answer_checks.check_answers(answers)]
        assert rows == full
    assert set(CONTEXT) <= {(p, f) for p, fields in PARTS.items() for f in fields}
    assert context("q1c_ii", "threshold", {"q1c_i": {"q": "x"}, "q1b_i": {"M": "A"}, "q1c_ii": {"threshold": "1"}}) == {
        "q1c_ii": {"threshold": "1"}, "q1c_i": {"q": "x"}}


def test_check_uses_the_cores_for_a_class_and_caps_jobs(tmp_path, monkeypatch):
    from derivations import check_cli

    seen = []
    monkeypatch.setattr(check_cli, "grade", lambda files, **kw: seen.append(kw["jobs"]) or [[] for _ in files])
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    paths = []
    for k in range(3):
        p = tmp_path / f"s{k}.toml"
        p.write_text("[q1c_ii]\neta_mean = '1'\n")
        paths.append(str(p))
    from derivations.cli import main

    for args in ([paths[0]], paths, paths + ["--jobs", "1"]):
        assert main(["check", *args, "--quiet"]) == 0
    assert seen == [1, 2, 1]
    with pytest.raises(SystemExit) as stop:  # more workers than cores is refused before any worker starts
        main(["check", *paths, "--jobs", "16", "--quiet"])
    assert stop.value.code == 2 and seen == [1, 2, 1]


# Grammar-built expressions (big exponents, towers, long numbers) and hostile strings.
_atoms = st.sampled_from(["k_a", "k_b", r"\beta", r"\mu_a", "L", r"\ell", "m", "n", r"\eta", "e", "2", "99", "0"])
_numbers = st.integers(min_value=0, max_value=10**8).map(str)
_exprs = st.recursive(
    st.one_of(_atoms, _numbers),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]} {t[1]}"),
        st.tuples(inner, inner).map(lambda t: rf"\frac{{{t[0]}}}{{{t[1]}}}"),
        st.tuples(inner, st.one_of(inner, _numbers)).map(lambda t: f"({t[0]})^{{{t[1]}}}"),
        inner.map(lambda t: rf"\exp({t})"),
    ), max_leaves=12)
_hostile = st.one_of(
    _exprs,
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60),
    st.text(alphabet="(){}^_\\-+*/ 0123456789eklmn", max_size=300),
)
_FIELDS = [("q1b_ii", "q"), ("q1c_ii", "threshold"), ("q1c_ii", "weight_a"), ("q2g_ii", "ratio"), ("q1b_i", "M"),
           ("q1c_ii", "eta_var")]


def test_fuzz_no_traceback_no_field_over_budget_others_decided():
    timeout = 2.0
    benign = ("q1d_ii", "cov_c", "0")  # decided quickly: fails without ignore_negative
    expected = decide_guarded(*benign, {"q1d_ii": {"cov_c": "0"}})
    with WorkerPool(2, timeout=timeout, preload=PRELOAD) as pool:
        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(text=_hostile, where=st.sampled_from(_FIELDS))
        def check(text, where):
            part, field = where
            answers = {part: {field: text}, "q1c_i": {"q": r"\beta(\mu_a + \mu_b)"}}
            calls = [(decide_guarded, (part, field, text, context(part, field, answers))),
                     (decide_guarded, (*benign, {"q1d_ii": {"cov_c": "0"}}))]
            hostile, other = pool.run(calls)
            assert hostile.status in ("done", "timeout") and hostile.elapsed <= timeout + 1
            if hostile.status == "done":
                assert hostile.value["verdict"] in VERDICTS and hostile.value["given"] == text
            assert other.status == "done" and other.value == expected

        check()


def test_simulate_check_runs_the_simulation_in_the_workers_beside_the_decisions():
    proc = subprocess.run([sys.executable, "-m", "simulate", "check", str(ROOT / "docs/example-answers.toml"),
                           "--samples", "4000", "--json"], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    parts = json.loads(proc.stdout)["parts"]
    simulated = {(r["part"], r["field"]): r.get("simulated") for r in parts}
    assert simulated[("q1b_i", "M")] is None and "not a proof" in simulated[("q1c_i", "q")]["text"]
    assert simulated[("q1d_i", "q1")] == simulated[("q1d_i", "q2")] and simulated[("q1d_i", "q1")]["samples"] == 4000
    # the verdicts are derivations' own, whoever composes the command
    plain = json.loads(_cli("check", str(ROOT / "docs/example-answers.toml"), "--json").stdout)["parts"]
    assert [{k: v for k, v in r.items() if k != "simulated"} for r in parts] == plain


def test_derivations_check_simulate_names_the_command_that_does_it():
    proc = _cli("check", str(ROOT / "docs/example-answers.toml"), "--simulate", "--samples", "4000")
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "python -m simulate check" in proc.stderr


def test_derivations_never_imports_simulate():
    """The layering README states: simulate imports derivations, never the reverse (not even inside a function)."""
    import ast

    for path in sorted((ROOT / "derivations").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            assert not [n for n in names if n.split(".")[0] == "simulate"], f"{path.name} imports simulate"


def test_the_covariance_of_c_ii_is_graded_at_the_files_scale_as_decide_field_does():
    # 1/4 (v_a - v_b)(v_a - v_b)^T is Cov[c]'s limit; at the file's scale 10, Var[t] = 0.195: holds only
    # with that condition. The worker must see the (c) i query the decision reads (DEPENDS_ON).
    answers = {"q1c_i": {"q": r"10(\mu_a + \mu_b)"}, "q1c_ii": {"cov_c": r"\frac14 (v_a - v_b)(v_a - v_b)^T"}}
    (rows,) = grade([answers], jobs=1)
    cov = next(r for r in rows if r["field"] == "cov_c")
    assert cov["verdict"] == "holds-with-conditions" and "scale 10" in cov["condition"]
    assert rows == [r.to_json() for r in answer_checks.check_answers(answers)]
