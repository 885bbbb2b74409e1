"""The pipeline's independent chains side by side: one thread per chain, each stage a process.

A chain is a list of stages that depend on each other in order (a pretraining and its
finetune); chains do not depend on each other, so `pipeline --jobs N` runs up to N of them
at once on the one device. Each stage is the ordinary `python -m models pretrain|finetune`
command in its own process (what one process of a small model leaves idle on a GPU, another
uses), its stdout and stderr appended to the chain's log file; the chain's thread waits for
it and starts the next stage. What to run and what a finished process means are the
pipeline's business (`prepare`, `conclude`), so this module knows processes, threads, logs,
progress and failure only.

A stage that fails (exit status not 0) stops the pipeline: no chain starts another stage, the
stages still running are terminated (SIGTERM; each resumes from its last checkpoint on the next
call), and `run_side_by_side` returns the failed chain, stage and exit status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from .fileio import check_output


@dataclass(frozen=True)
class Chain:
    """Stages that run one after another (each needs the one before); `name` is the first stage's."""
    name: str
    stages: tuple[str, ...]


@dataclass
class Failure:
    """The stage that stopped the pipeline: its chain, its name, its exit status, its log's last line."""
    chain: str
    stage: str
    exit: int
    last_line: str = ""


@dataclass
class _Running:
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    procs: dict = field(default_factory=dict)  # chain name -> Popen
    failure: Failure | None = None
    current: dict = field(default_factory=dict)  # chain name -> stage now running


def chains_of(stages: list[tuple[str, str | None]]) -> list[Chain]:
    """Group (stage, the stage it needs or None) into chains, in the order given: a stage joins
    the chain of the stage it needs when that one is in the list, else starts its own."""
    chains: dict[str, list[str]] = {}
    root: dict[str, str] = {}
    for stage, needs in stages:
        root[stage] = root.get(needs, stage) if needs in root else stage
        chains.setdefault(root[stage], []).append(stage)
    return [Chain(name, tuple(members)) for name, members in chains.items()]


def last_step(metrics_log: Path) -> int:
    """The step of the last whole line of a metrics log (models/train.py: one JSON line a step
    with "step" first), read from its last 4 KiB; 0 when it is missing or holds no whole line."""
    try:
        with open(metrics_log, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = f.read().split(b"\n")
    except OSError:
        return 0
    for line in reversed(lines[:-1]):  # the part after the last newline may be cut short
        if line.startswith(b'{"step": '):
            try:
                return int(line[9:].split(b",", 1)[0])
            except ValueError:
                continue
    return 0


def _last_line(log: Path) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = [x for x in f.read().decode("utf-8", "replace").splitlines()
                     if x.strip() and not x.startswith("=== ")]  # not the pipeline's own header lines
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def run_side_by_side(chains: list[Chain], jobs: int, *, prepare: Callable, conclude: Callable, log_dir: Path,
                     env: dict, cwd: Path, steps: Callable[[str], tuple[int, Path]], progress: bool = True,
                     say: Callable[[str], None] | None = None, program: list[str] | None = None) -> Failure | None:
    """Run `chains` with at most `jobs` at a time, each stage as `python -m models ARGV` (cwd
    `cwd`, environment `env`), its output appended to `log_dir/<chain>.log`.

    `prepare(stage)` returns the stage's argv, or "done" (skip it), or "waiting" or "stop" (the
    chain goes no further now: a stage it needs has not finished, or the time limit is near); `conclude(stage, argv,
    exit, started, ended, terminated)` (wall-clock `time.time()` seconds; `terminated`: stopped
    here because another stage failed) records the finished process and returns whether the
    stage is complete (a stage stopped at its time limit exits 0 but is not;
    its chain then goes no further). Both are called under one lock, so they may share state.
    `steps(stage)` gives (the stage's total steps, its metrics log) for the progress lines, one
    per chain (tqdm, on a terminal unless `progress` is false).

    `program` replaces `python -m models` (this interpreter) in front of each argv (tests).

    Returns None when no stage failed, else the first Failure; the others' running stages are
    then terminated and concluded with their (negative) exit status. Raises UserError before
    anything starts when a log path is not a writable regular file (fileguard)."""
    say = say or (lambda line: tqdm.write(line, file=sys.stdout))
    program = program or [sys.executable, "-m", "models"]
    logs = {c.name: check_output(log_dir / f"{c.name}.log", "chain log") for c in chains}
    log_dir.mkdir(parents=True, exist_ok=True)
    run = _Running()
    totals = {c.name: [steps(s) for s in c.stages] for c in chains}
    bars = {c.name: tqdm(total=sum(t for t, _ in totals[c.name]), desc=c.name, position=i, unit="step",
                         leave=True, dynamic_ncols=True, file=sys.stderr, disable=None if progress else True)
            for i, c in enumerate(chains)}

    def chain_thread(chain: Chain) -> None:
        for stage in chain.stages:
            with run.lock:
                if run.stop.is_set():
                    return
                argv = prepare(stage)
                if argv == "done":
                    continue
                if isinstance(argv, str):  # "waiting" or "stop": this chain can go no further now
                    return
                run.current[chain.name] = stage
                with open(logs[chain.name], "a", encoding="utf-8") as log:
                    log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} python -m models {' '.join(argv)}\n")
                say(f"[pipeline] {chain.name}: {stage}: python -m models {' '.join(argv)} (log {logs[chain.name]})")
                started = time.time()
                with open(logs[chain.name], "ab") as log:
                    run.procs[chain.name] = subprocess.Popen([*program, *argv], cwd=cwd,
                                                             env=env, stdout=log, stderr=subprocess.STDOUT,
                                                             stdin=subprocess.DEVNULL)
            code = run.procs[chain.name].wait()
            ended = time.time()
            with run.lock:
                del run.procs[chain.name]
                run.current.pop(chain.name, None)
                stopped_by_us = code != 0 and run.stop.is_set()
                complete = conclude(stage, argv, code, started, ended, stopped_by_us)
                say(f"[pipeline] {chain.name}: {stage}: "
                    + ("done" if complete else "stopped" if code == 0 or stopped_by_us else f"failed (exit {code})")
                    + f" after {ended - started:.1f} s")
                if code != 0 and not stopped_by_us:
                    run.failure = Failure(chain.name, stage, code if code > 0 else 1, _last_line(logs[chain.name]))
                    run.stop.set()
                    for proc in run.procs.values():
                        proc.terminate()
                    return
                if not complete:
                    return

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="chain") as pool:
        futures = [pool.submit(chain_thread, c) for c in chains]
        try:
            while True:
                finished, pending = wait(futures, timeout=1.0, return_when=FIRST_EXCEPTION)
                _update(bars, totals, chains, run)
                if not pending or any(f.exception() for f in finished):
                    break
        except BaseException:  # interrupted: the children go with us, resumable from their checkpoints
            run.stop.set()
            with run.lock:
                for proc in run.procs.values():
                    proc.terminate()
            raise
        finally:
            _update(bars, totals, chains, run)
            for bar in bars.values():
                bar.close()
    for f in futures:
        f.result()  # a bug in a chain's thread is raised here, not lost
    return run.failure


def _update(bars: dict, totals: dict, chains: list[Chain], run: _Running) -> None:
    """Each chain's bar at the sum of its stages' last logged steps, described by the stage running."""
    for chain in chains:
        n = sum(min(last_step(log), total) for total, log in totals[chain.name])
        bar = bars[chain.name]
        bar.n = n
        bar.set_description(f"{chain.name}: {run.current.get(chain.name, '-')}", refresh=False)
        bar.refresh()
