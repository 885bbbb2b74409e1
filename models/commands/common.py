"""Pieces several commands share: data files and their defaults, the output guard run before any
work, record names and options, the dev predictions with their time."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .. import data as D
from ..evaluate import predict
from ..fileio import UserError, atomic_write_text, check_output
from ..results import DEFAULT_RESULTS_DIR


def data_file(arg: str | None, ddir: Path, default: str) -> Path:
    """The file a flag names (`arg`), else `default` in the data folder `ddir`."""
    return ddir / default if arg is None else Path(arg)


def is_default_file(path: Path, ddir: Path, default: str) -> bool:
    """Whether `path` is the data folder's own `default` file (what faithful runs read)."""
    try:
        return path.resolve() == (ddir / default).resolve()
    except OSError:
        return False


def display_path(path: Path) -> str:
    """A path for records: relative to the repository when inside it."""
    return os.path.relpath(Path(path).resolve(), D.REPO_ROOT)


def check_targets(args, ddir: Path) -> None:
    """Refuse unusable output paths before any work, so a mistake leaves nothing behind: an output
    that is one of the command's inputs or lies in the data folder, a folder where a file goes
    (or the reverse), a place that cannot be written (fileio.check_output)."""
    inputs = [getattr(args, k, None) for k in ("eval_file", "train_file", "checkpoint", "pretrained")]
    inputs += list(getattr(args, "checkpoints", None) or [])
    guard = dict(inputs=inputs, protected_dirs=[ddir])
    if getattr(args, "outputs", None) is not None:
        check_output(args.outputs, "predictions", **guard)
    if getattr(args, "results_dir", None) is not None and not getattr(args, "no_record", False):
        check_output(args.results_dir, "result records", folder=True, **guard)
    if getattr(args, "out", None) is not None:
        check_output(args.out, "run folder", folder=True, **guard)


def publish_logs(results_dir, name: str, finetune_log: Path, pretrain_log: Path | None) -> dict:
    """Copy the metrics logs beside the record (<results>/metrics/<name>.jsonl and
    <name>-pretrain.jsonl): run folders are not committed, the records and their logs are."""
    folder = Path(results_dir or DEFAULT_RESULTS_DIR) / "metrics"
    published = {}
    for kind, src, dst in (("finetune", finetune_log, f"{name}.jsonl"),
                           ("pretrain", pretrain_log, f"{name}-pretrain.jsonl")):
        if src and Path(src).is_file():
            atomic_write_text(folder / dst, Path(src).read_text(encoding="utf-8"))
            published[kind] = display_path(folder / dst)
    return published


def record_name(given: str | None, default: str, faithful: bool) -> str:
    """--name verbatim; otherwise the default, marked when unfaithful so that a quick run never
    replaces the record of a faithful one."""
    if given is not None:
        return given
    return default if faithful else f"{default}-unfaithful"


def show_progress(args) -> bool:
    """Whether to show progress bars (not --no-progress)."""
    return not getattr(args, "no_progress", False)



def add_record_options(p, default_name=None) -> None:
    """--name and --results-dir of a command that writes a result record."""
    p.add_argument("--name", default=default_name,
                   help="result record name: <results-dir>/<name>.json" +
                        (f" (default {default_name})" if default_name else
                         " (default: the run's name, with -unfaithful unless faithful to MODEL.md)"))
    p.add_argument("--results-dir", type=Path,
                   help="folder for result records (default runs/results; the committed evidence that the report "
                        "reads is report/results, written only when named here)")


def evaluate_rows(model, vocab, rows, args, device, dtype="fp32", answer_form="direct"):
    """Greedy predictions for `rows`' questions, and the seconds they took."""
    t0 = time.perf_counter()
    preds = predict(model, vocab, [r.question for r in rows], batch_size=args.eval_batch_size, device=device,
                    dtype=dtype, progress=show_progress(args), answer_form=answer_form)
    return preds, time.perf_counter() - t0


def exit_status(call) -> int:
    """Run `call()` (a command) and return its exit status, as `python -m models` ends: a user's
    mistake (UserError, a usage error included) or an OSError printed as one line
    `models: error: ...`, status 2; an interruption `models: interrupted`, 130. The reader of
    the output gone (BrokenPipeError) is raised: not a mistake."""
    try:
        return call()
    except UserError as e:
        print(f"models: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"models: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("models: interrupted", file=sys.stderr)
        return 130
