"""`python -m models sweep` / `sweep-report` at smoke size: Optuna studies over the recipe's settings. Two
worker processes share one SQLite study without running a trial twice, a worker killed with SIGKILL
mid-trial leaves a study the next worker finishes, and a pruner stops a trial below its line."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from models.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# The smallest recipe run that still evaluates the dev set each epoch: one smoke epoch, no finetune.
SPACE = """
[fixed]
pretrain_epochs = {epochs}
finetune_epochs = 0
eval_every = 1

[levers.pretrain_lr]
low = 1e-3
high = 5e-3
log = true

[levers.pretrain_batch]
choices = [8, 16]

[pruner]
{pruner}
"""


def space(tmp_path: Path, epochs: int = 1, pruner: str = 'kind = "none"', name: str = "space.toml") -> Path:
    path = tmp_path / name
    path.write_text(SPACE.format(epochs=epochs, pruner=pruner), encoding="utf-8")
    return path


def sweep_argv(tmp_path: Path, data_dir: Path, study: str, space_file: Path, trials: int) -> list[str]:
    return ["sweep", "cpu-60", "--smoke", "--study", study, "--storage", f"sqlite:///{tmp_path / 'studies.db'}",
            "--trials", str(trials), "--space", str(space_file), "--work", str(tmp_path / "work"),
            "--results-dir", str(tmp_path / "results"), "--data-dir", str(data_dir), "--no-progress",
            "--threads", "1", "--heartbeat", "1"]


def worker(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "models", *argv], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def load(tmp_path: Path, study: str):
    return optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path / 'studies.db'}")


def started_trials(output: str) -> list[int]:
    """The trial numbers a worker's output says it started."""
    return [int(n) for n in re.findall(r"^\[sweep\] trial (\d+)(?: \(again[^)]*\))? on ", output, re.M)]


def test_two_workers_on_one_sqlite_study_run_the_trials_asked_each_once(tmp_path, data_dir):
    argv = sweep_argv(tmp_path, data_dir, "pair", space(tmp_path), trials=4)
    procs = [worker(argv), worker(argv)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    started = [started_trials(out) for out in outputs]
    ran = started[0] + started[1]
    assert len(ran) == len(set(ran)) == 4, started  # every trial started by one worker only, four in all
    trials = [t for t in load(tmp_path, "pair").trials if "surplus" not in t.user_attrs]
    assert sorted(t.number for t in trials if t.state.name == "COMPLETE") == sorted(ran)
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "results").glob("*.json"))]
    assert sorted(r["sweep"]["trial"] for r in records) == sorted(ran)
    for r in records:  # each record names its study and trial, and ran the settings its trial chose
        t = next(t for t in trials if t.number == r["sweep"]["trial"])
        assert r["name"] == f"sweep-pair-trial{t.number}-seed0" and r["sweep"]["study"] == "pair"
        assert {k: r["settings"][k] for k in t.params} == t.params and r["settings"]["pretrain_epochs"] == 1
        assert t.value == r["dev_accuracy"]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_worker_killed_mid_trial_leaves_a_study_the_next_worker_finishes(tmp_path, data_dir):
    argv = sweep_argv(tmp_path, data_dir, "killed", space(tmp_path, epochs=8), trials=1)
    first = worker(argv)
    seen = []
    for line in first.stdout:  # kill it once its trial has evaluated an epoch: mid-trial
        seen.append(line)
        if line.startswith("[sweep] trial 0 epoch 1:"):
            first.send_signal(signal.SIGKILL)
            break
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "".join(seen)
    study = load(tmp_path, "killed")
    assert [t.state.name for t in study.trials] == ["RUNNING"]  # what a dead worker leaves: no one will end it
    time.sleep(2.5)  # past the grace period (2 heartbeats of 1 s)
    second = worker(argv)
    out = second.communicate(timeout=300)[0]
    assert second.returncode == 0, out
    trials = load(tmp_path, "killed").trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"], out
    assert trials[1].params == trials[0].params  # the cut-off trial, run again with its settings
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trials[1]) == 0
    assert "[sweep] trial 1 (again: trial 0 was cut off)" in out
    assert [p.name for p in (tmp_path / "results").glob("*.json")] == ["sweep-killed-trial1-seed0.json"]


@pytest.mark.parametrize("line", [0.05, 0.0])
def test_the_threshold_pruner_stops_a_trial_below_its_line_and_only_then(tmp_path, data_dir, capsys, line):
    study = f"line{line}"
    argv = sweep_argv(tmp_path, data_dir, study, space(tmp_path, epochs=2, pruner=f'kind = "threshold"\nbelow = {line}'),
                      trials=1)
    assert main(argv) == 0
    out = capsys.readouterr().out
    (trial,) = load(tmp_path, study).trials
    first = trial.intermediate_values[1]  # the dev accuracy reported after epoch 1
    if first < line:
        assert trial.state.name == "PRUNED" and sorted(trial.intermediate_values) == [1]  # stopped there
        assert trial.user_attrs["pruned_at_epoch"] == 1
        assert f"below the threshold pruner's line {line:.3f}" in trial.user_attrs["pruned_because"]
        assert f"[sweep] trial 0 pruned at epoch 1: dev accuracy {first:.3f}" in out
        assert not (tmp_path / "results").exists()  # a pruned run writes no record
    else:
        assert trial.state.name == "COMPLETE" and sorted(trial.intermediate_values) == [1, 2]
        assert (tmp_path / "results" / f"sweep-{study}-trial0-seed0.json").is_file()
    # the smoke model answers nothing after one epoch, so 0.05 must prune and 0.0 must not
    assert first == 0.0


def test_sweep_report_tables_the_trials_and_draws_optunas_plots(tmp_path, data_dir, capsys):
    assert main(sweep_argv(tmp_path, data_dir, "shown", space(tmp_path), trials=2)) == 0
    capsys.readouterr()
    out = tmp_path / "report"
    assert main(["sweep-report", "--study", "shown", "--storage", f"sqlite:///{tmp_path / 'studies.db'}",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = (out / "trials.md").read_text(encoding="utf-8")
    rows = [r for r in table.splitlines() if re.match(r"\| \d+ \|", r)]
    assert len(rows) == 2 and all("| complete |" in r for r in rows) and rows[0] in printed
    assert "pretrain_lr" in table.splitlines()[2] and "pretrain_batch" in table.splitlines()[2]
    assert (out / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_user_mistakes_are_one_line(tmp_path, data_dir, capsys):
    argv = sweep_argv(tmp_path, data_dir, "bad", space(tmp_path), trials=1)
    at = argv.index("--space") + 1
    cases = {
        "[levers.colour]\nchoices = [1]\n": "[levers.colour]: not a recipe setting",
        "[levers.n_embd]\nlow = 64\nhigh = 32\n": "low must be below high",
        "[levers.schedule]\nlow = 1\nhigh = 2\n": "give it choices, not a range",
        "[levers.n_head]\nchoices = [3]\n": "[levers.n_head]: 3:",  # 3 heads do not divide the smoke width 32
        "[fixed]\nn_embd = 'wide'\n": "n_embd takes a int",
        "[levers.pretrain_lr\n": "line 1",  # TOML's own message, with its line
        "[pruner]\nkind = 'threshold'\n[levers.warmup]\nlow = 0.0\nhigh = 0.1\n": "needs below",
    }
    for text, said in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text, encoding="utf-8")
        assert main(argv[:at] + [str(bad)] + argv[at + 1:]) == 2, text
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err and str(bad) in err, (text, err)
    assert not (tmp_path / "studies.db").exists() or not load_names(tmp_path)  # nothing was created
    # a study remembers its space: a worker that brings another one is refused before any trial
    assert main(argv) == 0
    capsys.readouterr()
    other = space(tmp_path, epochs=2, name="other.toml")
    assert main(argv[:at] + [str(other)] + argv[at + 1:]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was made with another space" in err
    assert main(argv[:-1] + ["1", "--storage", "nosuchdb://x"]) == 2
    assert "cannot open the study's storage" in capsys.readouterr().err
    study_at = argv.index("--study") + 1
    assert main(argv[:study_at] + ["../escape"] + argv[study_at + 1:]) == 2  # a study names files and records
    assert "--study '../escape'" in capsys.readouterr().err


def load_names(tmp_path: Path) -> list[str]:
    return [s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'studies.db'}")]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the simulated other worker asks outside optimize
def test_a_trial_asked_when_another_worker_took_the_last_one_runs_nothing(tmp_path, data_dir, capsys, monkeypatch):
    # Another worker asks for the study's last trial between this worker's count and its own ask: simulated by
    # an ask that first lets a second client take a trial, as a second process would at that moment.
    ask = optuna.Study.ask
    other = []

    def ask_after_another(self, *a, **k):
        if not other:
            other.append(ask(optuna.load_study(study_name=self.study_name, storage=self._storage)))
        return ask(self, *a, **k)

    monkeypatch.setattr(optuna.Study, "ask", ask_after_another)
    assert main(sweep_argv(tmp_path, data_dir, "race", space(tmp_path), trials=1)) == 0
    out = capsys.readouterr().out
    trials = load(tmp_path, "race").trials
    assert [t.state.name for t in trials] == ["RUNNING", "FAIL"]  # the other worker's, and this one's extra
    assert "surplus" in trials[1].user_attrs and started_trials(out) == []  # it ran nothing ...
    assert not (tmp_path / "results").exists()  # ... and wrote no record
    assert "1 still running elsewhere, 0 failed" in out  # the extra trial is not counted as a failure
