"""Reading the result records that `models/` writes: `report/results/<name>.json`.

A record is one run that produced a dev accuracy (see the `models/` issue for its
fields). The report only reads them; a record that is not valid JSON or lacks a
required field is a user-visible error naming the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REQUIRED = {"name": str, "variant": str, "recipe": str, "faithful": bool, "dev_correct": int, "dev_total": int}
KNOWN = tuple(REQUIRED) + ("device", "device_detail", "commit", "command", "seed", "wall_seconds", "steps",
                           "dev_accuracy", "metrics_log")


class ResultsError(Exception):
    """A record that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Record:
    name: str
    variant: str
    recipe: str
    faithful: bool
    dev_correct: int
    dev_total: int
    path: str                      # as shown in the report, relative to the repository
    device: str | None = None
    device_detail: str | None = None
    commit: str | None = None
    command: str | None = None
    seed: int | None = None
    wall_seconds: float | None = None
    steps: int | None = None
    metrics_log: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def accuracy(self) -> float:
        return self.dev_correct / self.dev_total

    def config(self) -> dict:
        cfg = self.extra.get("config")
        return cfg if isinstance(cfg, dict) else {}

    def describe_config(self) -> str:
        """The model options that matter for comparing runs, in a few words."""
        cfg = self.config()
        parts = []
        if self.variant == "perceiver":
            if "bottleneck_dim" in cfg:
                parts.append(f"m = {cfg['bottleneck_dim']}")
            if "perceiver_wiring" in cfg:
                parts.append(f"{cfg['perceiver_wiring']} wiring")
        for key in ("n_layer", "n_embd"):
            if key in cfg and cfg[key] != {"n_layer": 4, "n_embd": 256}[key]:
                parts.append(f"{key} = {cfg[key]}")
        if self.extra.get("limit"):
            parts.append(f"first {self.extra['limit']} training lines")
        return ", ".join(parts) or self.variant

    def device_text(self) -> str:
        if not self.device:
            return "—"
        if self.device_detail and self.device_detail != self.device:
            return f"{self.device} ({self.device_detail})"
        return self.device

    def commit_text(self) -> str:
        if not self.commit:
            return "—"
        head, _, rest = self.commit.partition("-")
        return head[:10] + (f"-{rest}" if rest else "")


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def parse_record(path: Path, root: Path) -> Record:
    shown = _display(path, root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{shown}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{shown}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{shown}: expected a JSON object")
    for key, kind in REQUIRED.items():
        if key not in data:
            raise ResultsError(f"{shown}: missing field {key!r}")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ResultsError(f"{shown}: field {key!r} must be {kind.__name__}, not {type(value).__name__}")
    if not (0 <= data["dev_correct"] <= data["dev_total"]) or data["dev_total"] == 0:
        raise ResultsError(f"{shown}: dev_correct ({data['dev_correct']}) must lie in 0..dev_total "
                           f"({data['dev_total']}), dev_total above 0")
    get = data.get
    wall = get("wall_seconds")
    return Record(
        name=data["name"], variant=data["variant"], recipe=data["recipe"], faithful=data["faithful"],
        dev_correct=data["dev_correct"], dev_total=data["dev_total"], path=shown,
        device=get("device"), device_detail=get("device_detail"), commit=get("commit"), command=get("command"),
        seed=get("seed"), wall_seconds=float(wall) if isinstance(wall, (int, float)) else None,
        steps=get("steps"), metrics_log=get("metrics_log"),
        extra={k: v for k, v in data.items() if k not in KNOWN},
    )


def load_records(results_dir: Path, root: Path) -> list[Record]:
    """Every `*.json` record directly in ``results_dir``, sorted by file name."""
    if not results_dir.is_dir():
        return []
    return [parse_record(p, root) for p in sorted(results_dir.glob("*.json"))]


def load_analysis(results_dir: Path, name: str) -> dict | None:
    """An analysis record (``results/analysis/<name>.json``, written by `models`), if present and valid."""
    path = results_dir / "analysis" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class MetricsLog:
    label: str
    path: str                 # shown in the report
    steps: list[float]
    loss: list[float]
    lr: list[float]


def read_metrics(path: Path, label: str, root: Path) -> MetricsLog:
    """A JSON-lines metrics log (`step`, `loss`, `lr` per line); malformed lines are an error."""
    shown = _display(path, root)
    steps, loss, lr = [], [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            step, value = float(row["step"]), float(row["loss"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ResultsError(f"{shown}:{number}: expected a JSON object with numeric 'step' and 'loss'") from None
        steps.append(step)
        loss.append(value)
        lr.append(float(row["lr"]) if isinstance(row.get("lr"), (int, float)) else float("nan"))
    return MetricsLog(label, shown, steps, loss, lr)


def find_metrics(records: list[Record], results_dir: Path, root: Path) -> tuple[list[MetricsLog], list[str]]:
    """The metrics logs the report can use, and a note for every record whose log it cannot.

    Only logs inside ``results_dir`` are read (``metrics/<name>.jsonl``, or a record's
    ``metrics_log`` when it points there): run folders (``runs/``) are not committed, so
    a report built from them could not be rebuilt from a clean clone.
    """
    logs, missing, seen = [], [], set()
    metrics_dir = results_dir / "metrics"
    for rec in records:
        candidates = [metrics_dir / f"{rec.name}.jsonl"]
        if rec.metrics_log:
            p = Path(rec.metrics_log)
            p = p if p.is_absolute() else root / p
            if p.resolve().is_relative_to(results_dir.resolve()):
                candidates.insert(0, p)
        found = next((c for c in candidates if c.is_file()), None)
        if found is not None:
            logs.append(read_metrics(found, rec.name, root))
            seen.add(found.resolve())
        elif rec.metrics_log:
            missing.append(f"{rec.name}: its metrics log {rec.metrics_log} is not committed "
                           f"(copy it to {_display(metrics_dir, root)}/{rec.name}.jsonl)")
    if metrics_dir.is_dir():
        for p in sorted(metrics_dir.glob("*.jsonl")):
            if p.resolve() not in seen:
                logs.append(read_metrics(p, p.stem, root))
    return logs, missing
