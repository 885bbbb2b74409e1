"""Reading the result records that `models/` writes: `report/results/<name>.json`.

A record is one run that produced a dev accuracy; its fields are declared once, by
models.record.Record. The report only reads them; a record that is not valid JSON, lacks a
required field or holds one the type does not declare is a user-visible error naming the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from models.record import Record, RecordError

__all__ = ["Record", "ResultsError", "parse_record", "load_records", "load_analysis", "MetricsLog", "read_metrics",
           "find_metrics"]


class ResultsError(Exception):
    """A record that cannot be used; the message is one line naming the file."""


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def parse_record(path: Path, root: Path) -> Record:
    """The record in `path` (models.record.Record, its `path` as the report shows it: relative to
    `root`); ResultsError naming the file when it cannot be read or is not a record."""
    shown = _display(path, root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Record.from_dict(data, shown)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{shown}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{shown}: cannot read ({exc})") from None
    except RecordError as exc:
        raise ResultsError(f"{shown}: {exc}") from None


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
