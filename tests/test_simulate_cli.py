"""The command line: JSON shape, one-line errors with exit status 2, help, sweep output, bench."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulate import bench, sweep
from simulate.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--samples", "2000", "--quiet"]


def run_main(argv, capsys):
    """main() in-process: (exit status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, out, err, fragment):
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("simulate: error: "), err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("args, fragment", [
    (["--n", "1"], "--n must be at least 2"),
    (["--n", "5", "--d", "4"], "--d must be at least n"),
    (["--eta-var", "-0.1"], "--eta-var"),
    (["--iso-var", "-1e-9"], "--iso-var"),
    (["--eta-var", "inf"], "--eta-var"),
    (["--beta", "nan"], "--beta must be finite"),
    (["--beta", "inf"], "--beta must be finite"),
    (["--beta=-inf"], "--beta must be finite"),
    (["--beta", "-inf"], "expected one argument"),  # argparse reads "-inf" as an option
    (["--samples", "0"], "--samples must be at least"),
    (["--samples", "-5"], "--samples must be at least"),
    (["--chunk", "0"], "--chunk must be at least"),
    (["--a", "3", "--b", "3"], "--a and --b must differ"),
    (["--a", "9"], "key indices"),
    (["--heads", "triple"], "invalid choice"),
    (["--beta", "ten"], "not a number"),
    (["--n", "2.5"], "not an integer"),
    (["--frobnicate"], "unrecognized arguments"),
    (["--values", "/nonexistent/values.npy"], "cannot read --values"),
])
def test_invalid_variance_parameters_give_one_line_and_status_2(args, fragment, capsys):
    assert_one_line_error(*run_main(["variance", *FAST, *args], capsys), fragment)


def test_invalid_commands_give_one_line_and_status_2(capsys, tmp_path):
    assert_one_line_error(*run_main([], capsys), "required")
    assert_one_line_error(*run_main(["explode"], capsys), "invalid choice")
    afile = tmp_path / "a_file"
    afile.write_text("keep me")
    assert_one_line_error(*run_main(["sweep", "--out", str(afile)], capsys), "not a directory")
    assert afile.read_text() == "keep me"
    assert_one_line_error(*run_main(["sweep", "--out", str(tmp_path / "x"), "--samples", "0"], capsys), "--samples")
    assert_one_line_error(*run_main(["sweep", "--out", str(tmp_path / "x"), "--n", "1"], capsys), "--n")
    assert_one_line_error(*run_main(["sweep"], capsys), "--out")
    assert not (tmp_path / "x").exists()


def test_an_error_writes_nothing(capsys, tmp_path):
    target = tmp_path / "result.json"
    assert_one_line_error(*run_main(["variance", *FAST, "--n", "1", "--out", str(target)], capsys), "--n")
    assert list(tmp_path.iterdir()) == []


def test_json_output_shape(capsys, tmp_path):
    target = tmp_path / "result.json"
    status, out, err = run_main(["variance", "--heads", "multi", "--beta", "10", "--n", "4", "--d", "6",
                                 "--eta-var", "0.5", "--iso-var", "0", "--samples", "5000", "--seed", "3",
                                 "--json", "--quiet", "--out", str(target)], capsys)
    assert status == 0 and err == ""
    data = json.loads(out)
    assert json.loads(target.read_text()) == data
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left behind
    params = data["params"]
    assert params | {"heads": "multi", "beta": 10.0, "n": 4, "d": 6, "eta_var": 0.5, "iso_var": 0.0,
                     "samples": 5000, "seed": 3} == params
    for est in (data["weight_a"]["mean"], data["weight_a"]["var"], data["total_variance"]):
        assert set(est) == {"estimate", "stderr", "ci95"}
        low, high = est["ci95"]
        assert low < est["estimate"] < high and est["stderr"] > 0
    assert len(data["mean_c"]["estimate"]) == 6
    pred = data["predicted"]
    for key in ("weight_a_mean", "weight_a_var", "total_variance"):
        assert isinstance(pred[key], float)
    assert pred["sheet_total_variance"] is None  # the sheet has no formula for these heads
    assert "iso_var -> 0" in pred["limit"]
    assert set(data["z"]) == {"weight_a_mean", "weight_a_var", "total_variance"}


def test_values_file_and_table_output(capsys, tmp_path):
    values = np.arange(12, dtype=float).reshape(3, 4) / 10
    np.save(tmp_path / "v.npy", values)
    status, out, _ = run_main(["variance", *FAST, "--n", "3", "--d", "4", "--values", str(tmp_path / "v.npy")],
                              capsys)
    assert status == 0
    assert "tr Cov[c]" in out and "answer sheet" in out and "iso_var -> 0" in out
    assert_one_line_error(*run_main(["variance", *FAST, "--n", "4", "--d", "4", "--values",
                                     str(tmp_path / "v.npy")], capsys), "values must have shape")


def test_eta_var_zero_predicts_a_point_mass(capsys):
    status, out, _ = run_main(["variance", *FAST, "--eta-var", "0", "--json"], capsys)
    data = json.loads(out)
    # No randomness in eta: the prediction is a point mass, with zero variance of the weight.
    assert status == 0 and data["predicted"]["weight_a_var"] == 0.0 and data["predicted"]["total_variance"] == 0.0
    assert abs(data["weight_a"]["var"]["estimate"]) < 1e-25  # no randomness left at iso_var = 0 (rounding only)


def test_help_explains_every_option():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help and len(action.help) > 10, (name, action.option_strings)
    text = subparsers["variance"].format_help()
    for flag in ("--heads", "--beta", "--n", "--d", "--eta-var", "--iso-var", "--samples", "--seed", "--json"):
        assert flag in text


def test_module_entry_point_runs_and_fails_cleanly():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    ok = subprocess.run([sys.executable, "-m", "simulate", "variance", "--samples", "1000", "--json"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert set(json.loads(ok.stdout)) >= {"params", "weight_a", "total_variance", "predicted"}
    bad = subprocess.run([sys.executable, "-m", "simulate", "variance", "--d", "1"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("simulate: error: --d")


def test_run_sweep_writes_plots_and_csv(tmp_path, monkeypatch):
    """A reduced grid (the real one takes a minute): every file exists and the CSV has every point."""
    monkeypatch.setattr(sweep, "grids", lambda quick: (np.array([2.0, 8.0]), np.array([8.0]),
                                                        np.array([0.5]), np.array([0.5])))
    result = sweep.run_sweep(tmp_path / "out", samples=500, seed=1, n=3, d=4)
    assert set(result.files) == set(sweep.FILES)
    for key, path in result.files.items():
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") if path.suffix == ".png" else data.count(b"\n") > 1
    rows = (tmp_path / "out" / "points.csv").read_text().splitlines()
    assert len(rows) == 1 + 6  # header, then 3 heads × (1 beta point + 1 eta_var point)
    assert len(result.curves) == 3 * 3
    header = rows[0].split(",")
    for column in ("heads", "beta", "eta_var", "total_variance", "total_variance_stderr",
                   "total_variance_ci_low", "pred_total_variance", "sheet_total_variance"):
        assert column in header
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(sweep.FILES.values())


def test_bench_pieces():
    """The benchmark is a script; here only its parts: the stopping rule reaches 1%, and the
    report prints every measurement (numbers from a fake result)."""
    from simulate.problem import make_problem

    seconds, samples, rel = bench.time_to_rel_se(make_problem("single", 10.0, 8, 64, 0.5, 1e-6), "fast", 0)
    assert rel <= 0.01 and samples >= 64 and seconds > 0
    fake = {"params": {"n": 8, "d": 64, "beta": 10.0, "eta_var": 0.5, "iso_var": 1e-6, "blas_threads": "1",
                       "seed": 0},
            "normal_variates_per_s": 8e7,
            "throughput": [{"sampler": s, "heads": "single", "logits_per_s": 1e6, "end_to_end_per_s": 5e5,
                            "variates_per_sample": 8, "variates_per_s": 8e6, "raw_over_sampler": 10.0}
                           for s in ("fast", "faithful")],
            "time_to_1pct": [{"sampler": "fast", "heads": "single", "seconds_median": 0.01,
                              "seconds_all": [0.01], "samples": [4096], "rel_se": [0.009]}]}
    text = bench.format_text(fake)
    assert "80 M/s" in text and "faithful" in text and "0.010 s" in text
