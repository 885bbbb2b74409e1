"""`python -m models pipeline`: the course's whole experiment in one command.

Stages, each a `python -m models` command (so every record, log and checkpoint is exactly what
that command writes; in this process the command's function is called with typed options,
stage_options, whose command line the records name), grouped in three chains that do not depend on each other
(vanilla-no-pretraining; vanilla-pretrain -> its finetune; perceiver-pretrain -> its finetune):

  vanilla-no-pretraining           finetune vanilla from scratch (75 epochs) + dev evaluation
  vanilla-pretrain                 pretrain vanilla (650 epochs)
  vanilla-pretrain-finetune        finetune it (10 epochs) + dev evaluation
  perceiver-pretrain               pretrain the perceiver, m = 64 (650 epochs)
  perceiver-m64-pretrain-finetune  finetune it (10 epochs) + dev evaluation

Runs live in a work folder (default runs/pipeline, or runs/pipeline-smoke); a stage that
finished is not run again, and one that stopped at --time-limit resumes from its checkpoint,
so the same command run again continues where the last one stopped (exit status 3 says
"not finished yet"). At the end of every invocation the result records, their metrics logs,
the final model of each stage and pipeline.json (stage, status, seconds, command, device)
are copied to --out, e.g. $OUT on a device machine.

Records go to <work>/results unless --results-dir names another folder; the committed
evidence (report/results) is written only when named so, and a record there is never replaced:
a stage whose record name is taken is refused before anything trains (--tag TAG appends -TAG
to every record's name).

With one job (the default on the CPU) the stages run in order in this process. `--jobs N` (the
default on CUDA: all three) runs the chains side by side on the one device, each stage in its
own process with its output in <work>/logs/<chain>.log (models/pipeline_jobs.py): the same
records, times aside; each record's "pipeline" block names the stages that shared the device
with it ("concurrent"). A failed stage stops the pipeline, naming it. `--dry-run` prints the
chains and each one's estimated time from measured step times (models/pipeline_estimate.py).

--smoke: the same stages on a tiny model, a few dozen examples and 20 dev questions, in well
under a minute on the CPU; its records are not faithful and never go to report/results.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from . import data as D
from .commands.common import exit_status
from .commands.training import TrainingOptions
from .fileio import UserError, atomic_write_text
from .options import positive_float, positive_int, seed_int, trainer_options
from .pipeline_estimate import device_kind, measured_steps, schedule
from .pipeline_jobs import Chain, chains_of, last_step, run_side_by_side
from .record import Record
from .results import RESULTS_DIR, check_name, check_record_free, command_line, git_commit, remember_commit
from .train import COURSE_SCHEDULES, device_name, pick_device

STAGES = (
    ("vanilla-no-pretraining", "finetune", "vanilla", None),
    ("vanilla-pretrain", "pretrain", "vanilla", None),
    ("vanilla-pretrain-finetune", "finetune", "vanilla", "vanilla-pretrain"),
    ("perceiver-pretrain", "pretrain", "perceiver", None),
    ("perceiver-m64-pretrain-finetune", "finetune", "perceiver", "perceiver-pretrain"),
)
SMOKE_MODEL = dict(n_layer=3, n_embd=32, n_head=2)
SMOKE_SIZES = {"pretrain": dict(limit=48, epochs=2, batch_size=16),
               "finetune": dict(limit=48, epochs=2, batch_size=16)}
SMOKE_DEV = 20
INCOMPLETE = 3
SAVE_EVERY = 50 * 23  # pretraining steps between checkpoints: 50 epochs


def stage_options(args, stage: str, command: str, variant: str, pretrained: str | None, work: Path,
                  results: Path, dev: Path, remaining: float | None, threads: int | None = None) -> TrainingOptions:
    """The options of one stage (`command`: pretrain or finetune) of this pipeline (`args`), typed;
    its command line is `options.to_argv(command)`, also set as its `argv` (what its record names).
    `remaining`: the seconds left of --time-limit (whole seconds, at least 1, as the flag says)."""
    out = work / stage
    options = dict(out=out, device=args.device, no_progress=True, threads=threads or None,
                   data_dir=args.data_dir or None, seed=args.seed, dtype=args.dtype or None,
                   compile=True if args.compile else None, baseline=bool(args.baseline), decay=args.decay or None,
                   shuffle=args.shuffle)
    if remaining is not None:
        options["time_limit"] = float(f"{max(remaining, 1.0):.0f}")
    if (out / "state.pt").exists():
        options["resume"] = True
    elif pretrained is None:
        options.update(variant=variant, **(SMOKE_MODEL if args.smoke else {}))
        if variant == "perceiver":
            options["bottleneck_dim"] = 8 if args.smoke else 64
    if args.smoke:
        options.update(SMOKE_SIZES[command])
    elif command == "pretrain":  # a checkpoint every 50 epochs, not every epoch (a time limit saves too)
        options["save_every"] = SAVE_EVERY
    if command == "finetune":
        if pretrained is not None:
            options["pretrained"] = work / pretrained / "model.safetensors"
        options.update(name=_record_name(args, stage), results_dir=results, eval_file=str(dev))
    typed = TrainingOptions(**options)
    return replace(typed, argv=typed.to_argv(command))


def run_stage(command: str, options: TrainingOptions) -> int:
    """Run one stage in this process, as `python -m models <options.argv>` would (its exit status,
    a user's mistake printed as one line, status 2): pretrain or finetune with `options`."""
    from .commands.finetune import finetune
    from .commands.pretrain import pretrain
    if options.threads:
        torch.set_num_threads(options.threads)
    remember_commit()  # as each command does: the record names the code its stage started with
    return exit_status(lambda: (pretrain if command == "pretrain" else finetune)(
        replace(options, started=time.monotonic())))


def _suffix(args) -> str:
    """What sets a run of the non-default trainer options apart (records, work folder): the course's
    trainer (decay all-but-bias, file order) has no suffix."""
    return (f"-decay-{args.decay}" if args.decay and args.decay != "all-but-bias" else "") + \
        ("-shuffle" if args.shuffle else "")


def _record_name(args, stage: str) -> str:
    """A finetune stage's record name: the stage, the trainer options that set it apart, then --tag."""
    tag = getattr(args, "tag", None)
    return ("smoke-" if args.smoke else "") + stage + _suffix(args) + (f"-{tag}" if tag else "")


def _copy(src: Path, dst: Path) -> None:
    if src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def _iso(t: float) -> str:
    """A `time.time()` value as UTC ISO 8601 to the millisecond."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def stage_steps(args, command: str, ddir: Path, pretrained: bool = False) -> int:
    """The steps a new stage of this pipeline trains: epochs x ceil(examples / batch), from the
    smoke sizes or MODEL.md's table (COURSE_SCHEDULES; a finetune after pretraining has 10 epochs, one
    without 75); the same count `_finished` checks."""
    if args.smoke:
        sizes = SMOKE_SIZES[command]
        n, epochs, batch = sizes["limit"], sizes["epochs"], sizes["batch_size"]
    else:
        n = len(D.read_wiki(ddir / D.WIKI)) if command == "pretrain" else \
            len((ddir / D.TRAIN_TSV).read_text(encoding="utf-8").splitlines())
        recipe = COURSE_SCHEDULES[command if command == "pretrain" else "pretrain-finetune" if pretrained else "no-pretraining"]
        epochs, batch = recipe["epochs"], recipe["batch_size"]
    return epochs * -(-n // batch)


def default_jobs(device_type: str, chains: list) -> int:
    """--jobs when not given: every chain at once on a GPU (a small model's step leaves it idle),
    one at a time on the CPU (the cores are the bottleneck there)."""
    return len(chains) if device_type == "cuda" else 1


def stage_chains(wanted) -> list[Chain]:
    """The independent chains of the wanted stages (STAGES rows), in STAGES order."""
    return chains_of([(stage, pretrained) for stage, _, _, pretrained in wanted])


def run_pipeline(args) -> int:
    """Run the stages, each as `python -m models pretrain|finetune ...` would; a stage already done
    is skipped, so the same command continues. With one job (the default on the CPU) the stages
    run in order in this process (run_stage, with typed options: stage_options); with --jobs
    N > 1 the independent chains run side by side, each stage in its own process
    (models.pipeline_jobs) with the same options as its command line."""
    check_stages(args)
    if args.dry_run:
        return print_plan(args, [s for s in STAGES if not args.stages or s[0] in args.stages])
    started, started_wall = time.monotonic(), time.time()
    device = pick_device(args.device)
    ddir = D.data_dir(args.data_dir)
    work = _work_dir(args)
    results = Path(args.results_dir) if args.results_dir else work / "results"  # report/results only when asked
    if args.smoke and results.resolve() == RESULTS_DIR.resolve():
        raise UserError("smoke records never go to report/results: choose another --results-dir")
    work.mkdir(parents=True, exist_ok=True)
    dev = ddir / D.DEV_TSV
    if args.smoke:
        lines = dev.read_text(encoding="utf-8").splitlines(keepends=True)[:SMOKE_DEV]
        dev = work / "dev-smoke.tsv"
        atomic_write_text(dev, "".join(lines))
    summary_path = work / "pipeline.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {"stages": {}}
    for info in summary["stages"].values():
        info.pop("running_since", None)  # left by a call that was killed
    wanted = [s for s in STAGES if not args.stages or s[0] in args.stages]
    chains = stage_chains(wanted)
    jobs = max(1, min(args.jobs or default_jobs(device.type, chains), len(chains)))
    summary.update({"command": command_line(args.argv), "device": device_name(device), "commit": git_commit(),
                    "smoke": args.smoke, "faithful_sizes": not args.smoke, "results_dir": str(results),
                    "torch": torch.__version__, "jobs": jobs,
                    "chains": {c.name: list(c.stages) for c in chains}})
    for stage, command, _, _ in wanted:  # a committed record is never replaced: refused before hours of training
        if command == "finetune" and summary["stages"].get(stage, {}).get("status") != "done":
            check_record_free(_record_name(args, stage), results)
    threads = args.threads or (max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None)
    by_name = {s[0]: s for s in wanted}
    planned: dict[str, TrainingOptions] = {}

    def save() -> None:
        atomic_write_text(summary_path, json.dumps(summary, indent=2) + "\n")

    def prepare(stage: str):
        """The stage's argv (its options kept in `planned`); "done" when it finished before;
        "waiting" when the stage it needs has not finished; "stop" when the time limit leaves too
        little to start it."""
        _, command, variant, pretrained = by_name[stage]
        info = summary["stages"].setdefault(stage, {"status": "pending", "seconds": 0.0, "invocations": []})
        if info["status"] == "done":
            return "done"
        if pretrained and summary["stages"].get(pretrained, {}).get("status") != "done":
            info["status"] = "waiting"
            return "waiting"
        remaining = None if not args.time_limit else args.time_limit - (time.monotonic() - started)
        if remaining is not None and remaining < 5:
            return "stop"
        info["running_since"] = _iso(time.time())
        planned[stage] = stage_options(args, stage, command, variant, pretrained, work, results, dev, remaining,
                                       threads)
        return planned[stage].argv

    def conclude(stage: str, argv: list[str], code: int, t0: float, t1: float, terminated: bool = False) -> bool:
        """Record a stage's process (exit status `code`, wall-clock start and end); whether it finished."""
        _, command, _, pretrained = by_name[stage]
        info = summary["stages"][stage]
        info.pop("running_since", None)
        info["seconds"] = round(info["seconds"] + (t1 - t0), 3)
        info["invocations"].append({"argv": argv, "seconds": round(t1 - t0, 3), "exit": code, "jobs": jobs,
                                    "started": _iso(t0), "ended": _iso(t1)})
        finished = code == 0 and _finished(work / stage, command, ddir)
        info["status"] = "done" if finished else ("stopped" if code == 0 or terminated else "failed")
        if finished and command == "finetune":
            name = _record_name(args, stage)
            info["record"] = str(results / f"{name}.json")
            _annotate(results / f"{name}.json", summary, stage, pretrained)
        save()
        return finished

    status = 0
    if jobs == 1:
        for stage, *_ in wanted:
            argv = prepare(stage)
            if argv in ("done", "waiting", "stop"):
                status = status if argv == "done" else INCOMPLETE
                if argv == "stop":
                    break
                continue
            print(f"[pipeline] {stage}: python -m models {' '.join(argv)}", flush=True)
            t0 = time.time()
            try:
                code = run_stage(by_name[stage][1], planned[stage])
            except Exception as e:  # e.g. out of GPU memory: record it, and still export what exists
                print(f"[pipeline] {stage}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                      file=sys.stderr, flush=True)
                code = 1
            t1 = time.time()
            finished = conclude(stage, argv, code, t0, t1)
            print(f"[pipeline] {stage}: {summary['stages'][stage]['status']} after {t1 - t0:.1f} s", flush=True)
            if not finished:
                status = INCOMPLETE if code == 0 else code
                break
    else:
        env = {**os.environ, "ATTNLAB_COMMIT": git_commit(), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join([str(D.REPO_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
        print(f"[pipeline] {jobs} jobs: " + "; ".join(" -> ".join(c.stages) for c in chains), flush=True)
        failure = run_side_by_side(
            chains, jobs, prepare=prepare, conclude=conclude, log_dir=work / "logs", env=env, cwd=Path.cwd(),
            steps=lambda s: (stage_steps(args, by_name[s][1], ddir, by_name[s][3] is not None), work / s / "metrics.jsonl"),
            progress=args.progress)
        if failure is not None:
            print(f"[pipeline] stopped: stage {failure.stage} (chain {failure.chain}) failed with exit status "
                  f"{failure.exit}" + (f": {failure.last_line}" if failure.last_line else "")
                  + f"; log {work / 'logs' / (failure.chain + '.log')}", file=sys.stderr, flush=True)
            status = failure.exit
        elif not all(summary["stages"].get(s[0], {}).get("status") == "done" for s in wanted):
            status = INCOMPLETE
    summary["status"] = "done" if all(summary["stages"].get(s[0], {}).get("status") == "done" for s in wanted) \
        else "incomplete"
    summary["wall_seconds"] = round(sum(v["seconds"] for v in summary["stages"].values()), 3)
    summary.setdefault("calls", []).append({"started": _iso(started_wall), "jobs": jobs,
                                            "seconds": round(time.monotonic() - started, 3)})
    save()
    if args.out:
        _export(Path(args.out), work, results, summary, args.checkpoints)
    print(f"[pipeline] {summary['status']}: {summary['wall_seconds']:.1f} s of stages in all, "
          f"{time.monotonic() - started:.1f} s of wall time in this call ({jobs} job{'s' if jobs > 1 else ''}); "
          f"summary {summary_path}" + (f"; copied to {args.out}" if args.out else ""))
    return 0 if summary["status"] == "done" else (status or INCOMPLETE)


def _work_dir(args) -> Path:
    return Path(args.work) if args.work else \
        D.REPO_ROOT / "runs" / (("pipeline-smoke" if args.smoke else "pipeline") + _suffix(args))


def print_plan(args, wanted) -> int:
    """--dry-run: print the chains, each stage's steps still to train and its estimated seconds
    (measured step x steps + the rest of the stage, with the file it was measured in), each
    chain's total, and the wall time one after another and with --jobs; run and write nothing.
    A stage that pipeline.json in the work folder marks done counts 0; a stopped one counts the
    steps its metrics log has not reached. Returns 0."""
    kind = device_kind(args.device)
    ddir = D.data_dir(args.data_dir)
    chains = stage_chains(wanted)
    jobs = max(1, min(args.jobs or default_jobs(kind, chains), len(chains)))
    work = _work_dir(args)
    summary_path = work / "pipeline.json"
    status = json.loads(summary_path.read_text(encoding="utf-8")).get("stages", {}) if summary_path.is_file() else {}
    gpu = torch.cuda.get_device_name() if kind == "cuda" and torch.cuda.is_available() else None
    measured = {} if args.smoke else measured_steps(kind, gpu_name=gpu,
                                                    epoch_steps=stage_steps(args, "pretrain", ddir) // 650)
    by_name = {s[0]: s for s in wanted}
    print(f"pipeline plan ({'smoke sizes' if args.smoke else 'full schedule'}), device {kind}"
          + (f" ({gpu})" if gpu else "") + f", {len(chains)} chain{'s' if len(chains) > 1 else ''}, "
          f"--jobs {jobs}; work folder {work}")
    totals = []
    for chain in chains:
        lines, total, unknown = [], 0.0, False
        for stage in chain.stages:
            _, command, variant, pretrained = by_name[stage]
            steps = stage_steps(args, command, ddir, pretrained is not None)
            if status.get(stage, {}).get("status") == "done":
                lines.append(f"    {stage:<33} done")
                continue
            steps -= min(last_step(work / stage / "metrics.jsonl"), steps) if stage in status else 0
            m = measured.get((command, variant, pretrained is not None))
            if m is None:
                unknown = True
                lines.append(f"    {stage:<33} {steps:>6,} steps x ? (no measured step of this size on {kind})")
                continue
            seconds = steps * m.step_seconds + m.rest_seconds
            total += seconds
            lines.append(f"    {stage:<33} {steps:>6,} steps x {m.step_seconds * 1000:,.1f} ms + {m.rest_seconds:.1f} s "
                         f"= {seconds:,.0f} s   [{m.device}: {m.source}]")
        totals.append(None if unknown else total)
        print(f"  chain {chain.name}: " + ("?" if unknown else f"about {total:,.0f} s"))
        print("\n".join(lines))
    if args.dtype or args.compile or args.baseline:
        print("  the step times are of the default fast fp32 step; --dtype, --compile or --baseline change them")
    if any(t is None for t in totals):
        print("estimates incomplete: " + ("smoke stages take seconds (docs/reproducing-the-course.md)" if args.smoke
                                          else "a stage has no measurement on this kind of device"))
        return 0
    one, side = sum(totals), schedule(totals, jobs)
    print(f"one after another: about {one:,.0f} s" + (f"; with --jobs {jobs}: about {side:,.0f} s if the device "
          "keeps up with every chain at once (not yet measured side by side)" if jobs > 1 else ""))
    if jobs > 1:
        print("  side by side every stage is its own process: add its start (CUDA and imports, a few seconds) to each")
    print(f"a call with --time-limit of {1.1 * side:,.0f} s or more should finish; with less, run the same "
          "command again (exit status 3: not finished yet)")
    return 0


def _finished(run_dir: Path, command: str, ddir: Path) -> bool:
    """The run reached its last step (and, for a finetune, wrote its predictions)."""
    from .train import train_config_from_dict
    state = run_dir / "state.pt"
    if not state.exists():
        return False
    s = torch.load(state, map_location="cpu", weights_only=True)
    cfg = train_config_from_dict(s["train_config"])
    if command == "pretrain":
        n = len(D.read_wiki(ddir / D.WIKI))
    else:
        n = len((ddir / D.TRAIN_TSV).read_text(encoding="utf-8").splitlines())
    limit = s["info"].get("limit")
    n = min(n, limit) if limit else n
    done = s["step"] >= cfg.epochs * -(-n // cfg.batch_size)
    return done and (command == "pretrain" or (run_dir / "predictions.txt").exists())


def _annotate(record_path: Path, summary: dict, stage: str, pretrained: str | None) -> None:
    """Add the pipeline's provenance to a finetune record: the command, each stage's seconds,
    the jobs of this call and `concurrent`, the other stages that ran on the device while the
    record's own stages (its pretraining and its finetune) ran, in any call."""
    if not record_path.exists():
        return
    stages = {s: summary["stages"][s]["seconds"] for s in (pretrained, stage) if s}
    record = Record.read(record_path).with_fields(pipeline={
        "command": summary["command"], "stage_seconds": stages, "wall_seconds_all_stages": round(sum(stages.values()), 3),
        "jobs": summary["jobs"], "concurrent": concurrent_stages(summary, tuple(stages))})
    atomic_write_text(record_path, record.to_json())


def concurrent_stages(summary: dict, own: tuple[str, ...]) -> list[str]:
    """The stages of `summary` (pipeline.json) other than `own` whose processes overlapped in
    wall-clock time with a process of one of `own`: each invocation's "started" to "ended", and
    a stage running now ("running_since") up to now. Sorted; [] when everything ran in order."""
    def spans(info: dict) -> list[tuple[datetime, datetime]]:
        done = [(datetime.fromisoformat(i["started"]), datetime.fromisoformat(i["ended"]))
                for i in info.get("invocations", []) if i.get("started") and i.get("ended")]
        running = [(datetime.fromisoformat(info["running_since"]), datetime.now(timezone.utc))] \
            if info.get("running_since") else []
        return done + running
    mine = [span for s in own for span in spans(summary["stages"].get(s, {}))]
    return sorted(other for other, info in summary["stages"].items() if other not in own and any(
        a < d and c < b for a, b in mine for c, d in spans(info)))


def _export(out: Path, work: Path, results: Path, summary: dict, checkpoints: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stage, info in summary["stages"].items():
        if info.get("record"):
            rec = Path(info["record"])
            _copy(rec, out / "results" / rec.name)
            for log in sorted((results / "metrics").glob(f"{rec.stem}*.jsonl")):
                _copy(log, out / "results" / "metrics" / log.name)
            _copy(work / stage / "predictions.txt", out / "predictions" / f"{stage}.txt")
        _copy(work / stage / "metrics.jsonl", out / "metrics" / f"{stage}.jsonl")
        if checkpoints:
            _copy(work / stage / "model.safetensors", out / "checkpoints" / f"{stage}.safetensors")
    for log in sorted((work / "logs").glob("*.log")):  # the chains' logs, when they ran side by side
        _copy(log, out / "logs" / log.name)
    atomic_write_text(out / "pipeline.json", json.dumps(summary, indent=2) + "\n")


def add_parser(sub, add) -> None:
    p = add("pipeline", "the whole experiment: no-pretraining finetune, then pretrain + finetune + evaluate for "
                        "vanilla and perceiver m=64, with records; rerun to continue", run_pipeline)
    p.add_argument("--smoke", action="store_true", help="tiny sizes: the same stages in well under a minute on a CPU")
    p.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda, cuda:N")
    p.add_argument("--out", help="copy records, metrics logs, predictions, final models and pipeline.json here "
                                 "(e.g. $OUT)")
    p.add_argument("--work", help="folder of the runs (default runs/pipeline, or runs/pipeline-smoke)")
    p.add_argument("--results-dir", help="folder for result records (default <work>/results; the committed "
                                         "evidence is report/results, written only when named here)")
    p.add_argument("--tag", type=check_name, help="append -TAG to every record's name, e.g. h200-course-trainer when "
                                                 "report/results already holds records of the stages' own names "
                                                 "(a committed record is never replaced)")
    p.add_argument("--stages", type=lambda s: [x for x in s.split(",") if x], metavar="LIST",
                   help="comma-separated subset of: " + ", ".join(s[0] for s in STAGES))
    p.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                   help="stop (with checkpoints) after this much wall time; the same command continues")
    p.add_argument("--jobs", type=positive_int, metavar="N",
                   help="run up to N independent chains side by side on the device, each stage its own process "
                        "with its log in <work>/logs/<chain>.log (default: all three on CUDA, 1 on the CPU, "
                        "where the stages run in this process); records are the same, times aside")
    p.add_argument("--dry-run", action="store_true",
                   help="print the chains, their stages and the estimated time per chain from measured step "
                        "times (report/results), and run nothing: to choose --time-limit")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress lines for the chains run side by side (shown on a terminal)")
    p.add_argument("--no-checkpoints", dest="checkpoints", action="store_false",
                   help="do not copy the final models to --out")
    p.add_argument("--seed", type=seed_int, help="seed of every stage (default 0)")
    p.add_argument("--dtype", choices=("fp32", "bf16"), help="training precision (default fp32; bf16 is not faithful)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model in training")
    p.add_argument("--baseline", action="store_true", help="train with the plain padded fp32 step")
    trainer_options(p)
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")


def check_stages(args) -> None:
    if args.stages:
        known = {s[0] for s in STAGES}
        bad = [s for s in args.stages if s not in known]
        if bad:
            raise UserError(f"unknown stage {bad[0]!r} (use {', '.join(sorted(known))})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m models pipeline")
