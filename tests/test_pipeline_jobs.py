"""`pipeline --jobs N` (the chains side by side, each stage a process) and `pipeline --dry-run`:
the records side by side are those made one after another, times aside; a failed stage stops
the pipeline and is named; a rerun continues; the plan's estimates come from measured steps."""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

from models.cli import main
from models.pipeline import STAGES, concurrent_stages, stage_chains
from models.pipeline_estimate import measured_steps, schedule
from models.pipeline_jobs import Chain, Failure, chains_of, last_step, run_side_by_side

REPO = Path(__file__).resolve().parents[1]
TIMES = {"wall_seconds", "train_seconds", "eval_seconds", "seconds"}  # what may differ between two runs


def without_times(value):
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def test_the_stages_form_three_independent_chains():
    assert stage_chains(STAGES) == [
        Chain("vanilla-no-pretraining", ("vanilla-no-pretraining",)),
        Chain("vanilla-pretrain", ("vanilla-pretrain", "vanilla-pretrain-finetune")),
        Chain("perceiver-pretrain", ("perceiver-pretrain", "perceiver-m64-pretrain-finetune"))]
    # a finetune whose pretraining is not wanted is a chain of its own (it waits for that pretraining)
    assert chains_of([("b", "a")]) == [Chain("b", ("b",))]


def test_concurrent_stages_are_those_whose_processes_overlapped():
    def inv(a, b):
        return {"started": f"2026-12-01T00:00:{a:02d}+00:00", "ended": f"2026-12-01T00:00:{b:02d}+00:00"}
    summary = {"stages": {"p": {"invocations": [inv(0, 10)]}, "f": {"invocations": [inv(10, 12)]},
                          "x": {"invocations": [inv(5, 20)]}, "y": {"invocations": [inv(12, 30)]},
                          "z": {"invocations": [inv(30, 40)]}, "now": {"running_since": "2026-12-01T00:00:11+00:00"}}}
    assert concurrent_stages(summary, ("p", "f")) == ["now", "x"]  # y starts as f ends: not at the same time
    assert concurrent_stages(summary, ("z",)) == ["now"]  # a stage still running overlaps up to now
    del summary["stages"]["now"]
    assert concurrent_stages(summary, ("z",)) == []  # y ends as z starts


def test_last_step_reads_the_last_whole_line(tmp_path):
    log = tmp_path / "metrics.jsonl"
    assert last_step(log) == 0
    log.write_text("".join(json.dumps({"step": i, "loss": 1.0}) + "\n" for i in range(1, 2001)) + '{"step": 20')
    assert last_step(log) == 2000


SLEEP_THEN_EXIT = "import sys, time; time.sleep(float(sys.argv[1])); sys.exit(int(sys.argv[2]))"


def test_a_failed_stage_stops_the_others_and_is_named(tmp_path):
    """Three chains at once: one finishes, one fails after a second, one would run a minute. The
    failure is returned with its chain, stage and status; the long stage is terminated (and
    concluded as such) within seconds; no stage after the failed one starts."""
    plan = {"a1": ["0", "0"], "a2": ["0", "0"], "b1": ["1.5", "7"], "b2": ["0", "0"], "c1": ["60", "0"]}
    prepared, concluded = [], {}

    def prepare(stage):
        prepared.append(stage)
        return plan[stage]

    def conclude(stage, argv, code, t0, t1, terminated):
        concluded[stage] = (code, terminated)
        assert t0 <= t1
        return code == 0

    chains = [Chain("a1", ("a1", "a2")), Chain("b1", ("b1", "b2")), Chain("c1", ("c1",))]
    t = time.monotonic()
    failure = run_side_by_side(chains, 3, prepare=prepare, conclude=conclude, log_dir=tmp_path / "logs", env=None,
                               cwd=tmp_path, steps=lambda s: (1, tmp_path / s), progress=False, say=lambda _: None,
                               program=[sys.executable, "-c", SLEEP_THEN_EXIT])
    assert time.monotonic() - t < 30
    assert failure == Failure("b1", "b1", 7, "")
    assert concluded["a1"] == concluded["a2"] == (0, False) and concluded["b1"] == (7, False)
    assert concluded["c1"][0] != 0 and concluded["c1"][1]  # terminated because b1 failed
    assert "b2" not in prepared
    assert (tmp_path / "logs" / "b1.log").read_text().startswith("=== ")
    # a chain told to stop (a missing pretraining, the time limit) starts nothing more and is no failure
    prepared.clear()
    plan.update({"a1": "stop", "b1": "waiting", "c1": "done"})
    assert run_side_by_side(chains, 2, prepare=prepare, conclude=conclude, log_dir=tmp_path / "logs", env=None,
                            cwd=tmp_path, steps=lambda s: (1, tmp_path / s), progress=False, say=lambda _: None,
                            program=[sys.executable, "-c", SLEEP_THEN_EXIT]) is None
    assert sorted(prepared) == ["a1", "b1", "c1"]


def test_side_by_side_gives_the_records_of_one_after_another(tmp_path, capsys):
    """`pipeline --smoke --jobs 3` (three chains at once, each stage its own process) against
    `--jobs 1` (in order, in this process) in the same work folder: every record field but the
    times and the pipeline block is identical, and so are the metrics logs (times aside) and
    the predictions; the side-by-side records name what shared the device; a rerun of the same
    command has nothing left to do."""
    work = tmp_path / "work"
    common = ["pipeline", "--smoke", "--device", "cpu", "--threads", "1", "--work", str(work), "--no-checkpoints",
              "--no-progress"]
    t0 = time.perf_counter()
    assert main(common + ["--jobs", "1"]) == 0
    t1 = time.perf_counter()
    work.rename(tmp_path / "in-order")
    assert main(common + ["--jobs", "3"]) == 0
    t2 = time.perf_counter()
    out = capsys.readouterr().out
    print(f"--jobs 1: {t1 - t0:.1f} s, --jobs 3: {t2 - t1:.1f} s")
    assert "[pipeline] 3 jobs: vanilla-no-pretraining; vanilla-pretrain -> vanilla-pretrain-finetune;" in out
    in_order = tmp_path / "in-order"
    names = sorted(p.name for p in (in_order / "results").glob("*.json"))
    assert len(names) == 3 and names == sorted(p.name for p in (work / "results").glob("*.json"))
    for name in names:
        a = json.loads((in_order / "results" / name).read_text())
        b = json.loads((work / "results" / name).read_text())
        pa, pb = a.pop("pipeline"), b.pop("pipeline")
        assert without_times(a) == without_times(b), name
        assert pa["command"].replace("--jobs 1", "--jobs 3") == pb["command"]
        assert (pa["jobs"], pa["concurrent"]) == (1, []) and pb["jobs"] == 3 and pb["concurrent"], name
        assert set(pb["concurrent"]).isdisjoint(pb["stage_seconds"])  # its own stages never share with it
        assert set(pa["stage_seconds"]) == set(pb["stage_seconds"])
    logs = sorted(p.relative_to(in_order) for p in in_order.rglob("*.jsonl"))
    assert len(logs) == 5 + 3 + 2  # the stages' logs; beside the records, the finetunes' and pretrainings' copies
    for log in logs:
        rows = [[without_times(json.loads(line)) for line in (root / log).read_text().splitlines()]
                for root in (in_order, work)]
        assert rows[0] == rows[1] and rows[0], log
    predictions = sorted(p.relative_to(in_order) for p in in_order.rglob("predictions.txt"))
    assert len(predictions) == 3
    for p in predictions:
        assert (in_order / p).read_bytes() == (work / p).read_bytes()
    summary = json.loads((work / "pipeline.json").read_text())
    assert summary["jobs"] == 3 and all(v["status"] == "done" for v in summary["stages"].values())
    assert sorted(p.name for p in (work / "logs").glob("*.log")) == [
        "perceiver-pretrain.log", "vanilla-no-pretraining.log", "vanilla-pretrain.log"]
    assert main(common + ["--jobs", "3"]) == 0  # the same command again: everything is done
    assert "python -m models" not in capsys.readouterr().out


def test_a_failed_chain_is_named_the_others_keep_what_finished_and_a_rerun_continues(tmp_path, capsys):
    work = tmp_path / "work"
    argv = ["pipeline", "--smoke", "--device", "cpu", "--threads", "1", "--work", str(work), "--no-checkpoints",
            "--no-progress", "--jobs", "2", "--stages", "vanilla-no-pretraining,perceiver-pretrain"]
    work.mkdir()
    (work / "perceiver-pretrain").write_text("a file where the stage's run folder goes\n")
    capsys.readouterr()
    assert main(argv) == 2  # the stage's own exit status
    err = capsys.readouterr().err
    assert re.search(r"stage perceiver-pretrain \(chain perceiver-pretrain\) failed with exit status 2: "
                     r"models: error: .*perceiver-pretrain: exists and is not a folder.*; log .*perceiver-pretrain\.log",
                     err), err
    stages = json.loads((work / "pipeline.json").read_text())["stages"]
    assert stages["perceiver-pretrain"]["status"] == "failed"
    assert stages["vanilla-no-pretraining"]["status"] in ("done", "stopped")  # finished first, or was stopped
    if stages["vanilla-no-pretraining"]["status"] == "done":
        assert (work / "results" / "smoke-vanilla-no-pretraining.json").exists()
    (work / "perceiver-pretrain").unlink()
    assert main(argv) == 0
    stages = json.loads((work / "pipeline.json").read_text())["stages"]
    assert [v["status"] for v in stages.values()] == ["done", "done"]
    assert [i["exit"] for i in stages["perceiver-pretrain"]["invocations"]] == [2, 0]


def test_the_dry_run_estimates_each_chain_from_measured_steps_and_runs_nothing(tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["pipeline", "--dry-run", "--device", "cuda", "--work", str(work)]) == 0
    out = capsys.readouterr().out
    assert not work.exists()
    # the H200 records of 2026-11-27: 245 s and 299 s pretrainings, 620 s of stages in all
    assert re.search(r"vanilla-pretrain +14,950 steps x 16\.4 ms .* = 245 s .*NVIDIA H200: "
                     r"report/results/vanilla-pretrain-finetune\.json", out), out
    assert "chain perceiver-pretrain: about 317 s" in out and "one after another: about 620 s" in out
    assert "with --jobs 3: about 317 s" in out
    assert re.search(r"vanilla-pretrain-finetune +80 steps", out)
    measured = measured_steps("cpu")
    assert ("pretrain", "perceiver", False) in measured and "bench-compare" in measured[
        ("pretrain", "perceiver", False)].source
    assert schedule([317, 268, 35], 2) == 317 and schedule([300, 290, 200], 2) == 490
    assert schedule([317, 268, 35], 1) == 620


@pytest.mark.parametrize("bad", ["0", "-1", "x"])
def test_a_bad_jobs_count_is_one_line(bad, capsys):
    assert main(["pipeline", "--smoke", "--jobs", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("models: error: ") and "--jobs" in err


@pytest.mark.parametrize("smoke", [False, True])
@pytest.mark.parametrize("shuffle", [None, True, False])
def test_a_stage_run_in_process_gets_the_options_its_command_line_gives(tmp_path, smoke, shuffle):
    """One job runs each stage in this process with typed options (pipeline.stage_options), not
    its command line parsed again; the stage's recorded argv (pipeline.json, the record's command)
    must still say exactly those options: `python -m models <argv>` parses to the same."""
    from argparse import Namespace

    from models.cli import build_parser
    from models.commands.training import TrainingOptions
    from models.pipeline import stage_options
    args = Namespace(device="cpu", smoke=smoke, seed=3, dtype="bf16", compile=True, baseline=True, decay="linear",
                     shuffle=shuffle, data_dir="/d", tag="t")
    (tmp_path / "vanilla-pretrain").mkdir()
    (tmp_path / "vanilla-pretrain" / "state.pt").write_bytes(b"")  # a stage to resume
    for stage, command, variant, pretrained in STAGES:
        options = stage_options(args, stage, command, variant, pretrained, tmp_path, tmp_path / "results",
                                tmp_path / "dev.tsv", remaining=99.4, threads=2)
        assert options.argv[0] == command and ("--resume" in options.argv) == (stage == "vanilla-pretrain")
        assert TrainingOptions.from_args(build_parser().parse_args(options.argv)) == options
