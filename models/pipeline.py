"""`python -m models pipeline`: the course's whole experiment in one command.

Stages, each a `python -m models` command run in this process (so every record, log and
checkpoint is exactly what that command writes):

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

--smoke: the same stages on a tiny model, a few dozen examples and 20 dev questions, in well
under a minute on the CPU; its records are not faithful and never go to report/results.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import torch

from . import data as D
from .fileio import UserError, atomic_write_text
from .options import positive_float, positive_int, seed_int, trainer_options
from .results import RESULTS_DIR, check_name, check_record_free, command_line, git_commit
from .train import device_name, pick_device

STAGES = (
    ("vanilla-no-pretraining", "finetune", "vanilla", None),
    ("vanilla-pretrain", "pretrain", "vanilla", None),
    ("vanilla-pretrain-finetune", "finetune", "vanilla", "vanilla-pretrain"),
    ("perceiver-pretrain", "pretrain", "perceiver", None),
    ("perceiver-m64-pretrain-finetune", "finetune", "perceiver", "perceiver-pretrain"),
)
SMOKE_MODEL = ["--n-layer", "3", "--n-embd", "32", "--n-head", "2"]
SMOKE_SIZES = {"pretrain": ["--limit", "48", "--epochs", "2", "--batch-size", "16"],
               "finetune": ["--limit", "48", "--epochs", "2", "--batch-size", "16"]}
SMOKE_DEV = 20
INCOMPLETE = 3
SAVE_EVERY = 50 * 23  # pretraining steps between checkpoints: 50 epochs


def _stage_argv(args, stage: str, command: str, variant: str, pretrained: str | None, work: Path,
                results: Path, dev: Path, remaining: float | None) -> list[str]:
    out = work / stage
    argv = [command, "--out", str(out), "--device", args.device, "--no-progress"]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.dtype:
        argv += ["--dtype", args.dtype]
    if args.compile:
        argv += ["--compile"]
    if args.baseline:
        argv += ["--baseline"]
    if args.decay:
        argv += ["--decay", args.decay]
    if args.shuffle is not None:
        argv += ["--shuffle" if args.shuffle else "--no-shuffle"]
    if remaining is not None:
        argv += ["--time-limit", f"{max(remaining, 1.0):.0f}"]
    if (out / "state.pt").exists():
        argv += ["--resume"]
    elif pretrained is None:
        argv += ["--variant", variant] + (SMOKE_MODEL if args.smoke else [])
        if variant == "perceiver":
            argv += ["--bottleneck-dim", "8" if args.smoke else "64"]
    if args.smoke:
        argv += SMOKE_SIZES[command]
    elif command == "pretrain":  # a checkpoint every 50 epochs, not every epoch (a time limit saves too)
        argv += ["--save-every", str(SAVE_EVERY)]
    if command == "finetune":
        if pretrained is not None:
            argv += ["--pretrained", str(work / pretrained / "model.safetensors")]
        argv += ["--name", _record_name(args, stage), "--results-dir", str(results), "--eval-file", str(dev)]
    return argv


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


def run_pipeline(args) -> int:
    """Run the stages in order, each as `python -m models ...` in this process through
    `args.models_main` (the CLI's entry point, handed over by models.cli so that this module
    need not import it); a stage already done is skipped, so the same command continues."""
    models_main = args.models_main
    started = time.monotonic()
    device = pick_device(args.device)
    ddir = D.data_dir(args.data_dir)
    work = Path(args.work) if args.work else \
        D.REPO_ROOT / "runs" / (("pipeline-smoke" if args.smoke else "pipeline") + _suffix(args))
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
    summary.update({"command": command_line(args.argv), "device": device_name(device), "commit": git_commit(),
                    "smoke": args.smoke, "faithful_sizes": not args.smoke, "results_dir": str(results),
                    "torch": torch.__version__})
    wanted = [s for s in STAGES if not args.stages or s[0] in args.stages]
    for stage, command, _, _ in wanted:  # a committed record is never replaced: refused before hours of training
        if command == "finetune" and summary["stages"].get(stage, {}).get("status") != "done":
            check_record_free(_record_name(args, stage), results)
    status = 0
    for stage, command, variant, pretrained in wanted:
        info = summary["stages"].setdefault(stage, {"status": "pending", "seconds": 0.0, "invocations": []})
        if info["status"] == "done":
            continue
        if pretrained and summary["stages"].get(pretrained, {}).get("status") != "done":
            info["status"] = "waiting"
            status = INCOMPLETE
            continue
        remaining = None if not args.time_limit else args.time_limit - (time.monotonic() - started)
        if remaining is not None and remaining < 5:
            status = INCOMPLETE
            break
        argv = _stage_argv(args, stage, command, variant, pretrained, work, results, dev, remaining)
        print(f"[pipeline] {stage}: python -m models {' '.join(argv)}", flush=True)
        t0 = time.perf_counter()
        try:
            code = models_main(argv)
        except Exception as e:  # e.g. out of GPU memory: record it, and still export what exists
            print(f"[pipeline] {stage}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                  file=sys.stderr, flush=True)
            code = 1
        seconds = time.perf_counter() - t0
        info["seconds"] = round(info["seconds"] + seconds, 3)
        info["invocations"].append({"argv": argv, "seconds": round(seconds, 3), "exit": code})
        finished = code == 0 and _finished(work / stage, command, ddir)
        info["status"] = "done" if finished else ("failed" if code else "stopped")
        if finished and command == "finetune":
            name = _record_name(args, stage)
            info["record"] = str(results / f"{name}.json")
            _annotate(results / f"{name}.json", summary, stage, pretrained)
        atomic_write_text(summary_path, json.dumps(summary, indent=2) + "\n")
        print(f"[pipeline] {stage}: {info['status']} after {seconds:.1f} s", flush=True)
        if not finished:
            status = INCOMPLETE if code == 0 else code
            break
    summary["status"] = "done" if all(summary["stages"].get(s[0], {}).get("status") == "done" for s in wanted) \
        else "incomplete"
    summary["wall_seconds"] = round(sum(v["seconds"] for v in summary["stages"].values()), 3)
    atomic_write_text(summary_path, json.dumps(summary, indent=2) + "\n")
    if args.out:
        _export(Path(args.out), work, results, summary, args.checkpoints)
    print(f"[pipeline] {summary['status']}: {summary['wall_seconds']:.1f} s of stages in all; summary {summary_path}"
          + (f"; copied to {args.out}" if args.out else ""))
    return 0 if summary["status"] == "done" else (status or INCOMPLETE)


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
    """Add the pipeline's provenance to a finetune record: the command and each stage's seconds."""
    if not record_path.exists():
        return
    record = json.loads(record_path.read_text(encoding="utf-8"))
    stages = {s: summary["stages"][s]["seconds"] for s in (pretrained, stage) if s}
    record["pipeline"] = {"command": summary["command"], "stage_seconds": stages,
                          "wall_seconds_all_stages": round(sum(stages.values()), 3)}
    atomic_write_text(record_path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


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
