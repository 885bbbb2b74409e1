"""`pipeline --dry-run`: the chains, their stages and the time each chain should take, from
measured step times, so that a call's --time-limit can be chosen before the device is taken.

Where a step time comes from (each estimate names its file):

- on a GPU (`--device cuda`, or `auto` where CUDA is; planned from any machine): the committed
  records of a pipeline run on a GPU (report/results/*.json whose device is not "cpu", with
  MODEL.md's sizes): a finetune's `train_seconds / steps`, its pretraining's `wall_seconds /
  steps` (the record's "pretrained" block). The rest of a stage (process and CUDA start,
  loading, evaluation) is the stage's seconds in the record's "pipeline" block less its
  training time.
- on the CPU: the committed CPU records of the finetunes (`eval_seconds` as the rest; process
  start not included), and the fast pretraining epoch that `bench --compare` measured
  (report/results/analysis/bench-compare-*.json, docs/speed.md; a whole epoch measured, with
  the default allocator setting) divided by its steps.

A finetune after pretraining with no record of its own on the device takes the step of the
finetune without pretraining (the same model, batch and step) and says so.

Where several records measure one stage the slowest is taken: a time limit chosen from it errs
on the long side. Times are of one process alone on the device; side by side the estimate is the
longest chain (a greedy schedule of the chains on --jobs slots), which holds only while the
device keeps up with all of them (a 3.3 M-parameter step is launch-bound on an H200: the premise
of --jobs, not yet measured side by side).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from . import data as D
from .fileio import shown_path
from .record import Record, RecordError
from .results import RESULTS_DIR

FULL_SIZE = {"n_layer": 4, "n_head": 8, "n_embd": 256}  # MODEL.md's model: the sizes the records must have
ANALYSIS = RESULTS_DIR / "analysis"


@dataclass(frozen=True)
class Measured:
    """One stage's measured training step (seconds) and the rest of the stage (seconds), and where from."""
    step_seconds: float
    rest_seconds: float
    source: str
    device: str


def _full_size(record: Record, variant: str) -> bool:
    config = record.config or {}
    return all(config.get(k) == v for k, v in FULL_SIZE.items()) and config.get("variant") == variant and \
        (variant == "vanilla" or config.get("bottleneck_dim") == 64)


def measured_steps(kind: str, results_dir: Path = RESULTS_DIR, analysis_dir: Path = ANALYSIS,
                   gpu_name: str | None = None, epoch_steps: int = 23) -> dict[tuple[str, str, bool], Measured]:
    """{(command, variant, after pretraining): Measured} for `kind` "cuda" or "cpu", from the
    records in `results_dir` and (CPU pretraining) the bench files in `analysis_dir`, whose
    epoch is `epoch_steps` pretraining steps (all of wiki.txt at batch 128); on "cuda"
    the records of `gpu_name` when it has any, else of any GPU. Stages without a measurement
    are absent. Unreadable files are passed over."""
    found: dict[tuple[str, str, bool], list[Measured]] = {}
    records = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            record = Record.read(path)
        except (OSError, RecordError):
            continue
        if record.device is not None and (record.device == "cpu") == (kind == "cpu"):
            records.append((path, record))
    if kind == "cuda" and gpu_name and any(r.device == gpu_name for _, r in records):
        records = [(p, r) for p, r in records if r.device == gpu_name]
    for path, r in records:
        variant, steps, stage_seconds = r.variant, r.steps or 0, (r.pipeline or {}).get("stage_seconds") or {}
        if r.recipe not in ("no-pretraining", "pretrain-finetune") or not _full_size(r, variant) or not steps:
            continue
        after = r.recipe == "pretrain-finetune"
        train = r.train_seconds or 0.0
        own = [s for s in stage_seconds if not s.endswith("pretrain")]
        rest = stage_seconds[own[0]] - train if own else r.eval_seconds or 0.0
        found.setdefault(("finetune", variant, after), []).append(
            Measured(train / steps, max(rest, 0.0), shown_path(path), r.device))
        pre = r.pretrained or {}
        if after and pre.get("steps") and pre.get("wall_seconds"):
            pre_stage = [s for s in stage_seconds if s.endswith("pretrain")]
            rest = stage_seconds[pre_stage[0]] - pre["wall_seconds"] if pre_stage else 0.0
            found.setdefault(("pretrain", variant, False), []).append(
                Measured(pre["wall_seconds"] / pre["steps"], max(rest, 0.0), shown_path(path) + " (its pretraining)",
                         r.device))
    if kind == "cpu":
        for path in sorted(analysis_dir.glob("bench-compare-*.json")):
            try:
                bench = json.loads(path.read_text(encoding="utf-8"))
                rows = [row for row in bench["rows"] if row.get("stage") == "pretrain" and row.get("epoch_seconds_fast")
                        and row.get("epoch_measured") and bench.get("malloc", "").startswith("freed memory retained")]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            for row in rows:
                found.setdefault(("pretrain", row["variant"], False), []).append(
                    Measured(row["epoch_seconds_fast"] / epoch_steps, 0.0, shown_path(path) + " (fast epoch)",
                             f"cpu ({bench.get('cpu', '?')}, {bench.get('cpu_features', '?')}, "
                             f"{bench.get('threads', '?')} threads)"))
    chosen = {key: max(values, key=lambda m: m.step_seconds) for key, values in found.items()}
    for (command, variant, after), m in list(chosen.items()):  # the same step with or without pretraining
        other = (command, variant, not after)
        if command == "finetune" and other not in chosen:
            chosen[other] = Measured(m.step_seconds, m.rest_seconds, m.source + " (the same finetune step)", m.device)
    return chosen


def schedule(chain_seconds: list[float], jobs: int) -> float:
    """The wall time of chains of these lengths on `jobs` slots, longest first onto the least
    loaded slot (what a pool of `jobs` workers given the chains in that order does)."""
    slots = [0.0] * max(1, jobs)
    for seconds in sorted(chain_seconds, reverse=True):
        slots[slots.index(min(slots))] += seconds
    return max(slots)


def device_kind(device: str) -> str:
    """"cuda" or "cpu" for a --device value, without requiring CUDA here (a plan for a GPU
    machine is made before taking it)."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if str(device).startswith("cuda") else "cpu"
