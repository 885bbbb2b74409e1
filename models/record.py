"""The result record: one run that produced a dev accuracy, `<results>/<name>.json`.

`Record` is the one declaration of what a record holds. Training (`finetune`, `evaluate`), the
baselines (`london`, `nearest-name`), the recipe and the pipeline write records only through it
(`models.results.write_record`), and the report reads them only through it
(`report.results.parse_record`). A field that is not declared here cannot be written (the
constructor refuses it) nor read (`Record.from_dict` names it); a record of a version this code
does not know is refused. How to add a field: docs/architecture.md, "Adding a record field".

Versions: 1, the records written before this type existed (no `version` key; everything in
report/results up to 2026-12-04); 2, the same fields with `"version": 2` first. A record read
from a file writes back its own keys in its own order (`to_json` gives the file's bytes again),
so reading never changes committed evidence.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from fileguard.datafolder import REPO_ROOT

VERSION = 2  # what this code writes
READABLE_VERSIONS = (1, 2)  # 1: the records before the version field (no "version" key)

# The values of a record's `recipe` field: how the run was made. no-pretraining and
# pretrain-finetune are MODEL.md's two finetunes; london and nearest-name the baselines;
# pretrain-only and unknown an evaluation of a pretrained-only or a course checkpoint;
# cpu-recipe a run of `python -m models recipe` (its named recipe in `recipe_name`).
RECORD_KINDS = ("no-pretraining", "pretrain-finetune", "london", "nearest-name", "pretrain-only", "unknown",
                "cpu-recipe")

# What a recipe record made before a setting existed ran with (the behaviour the setting made
# optional), so that an older record's `settings` read as complete.
SETTINGS_BEFORE_THEY_EXISTED = {"qk_norm": False, "line_form": "wiki", "position_shift": 0, "decay": "linear",
                                "shuffle": True, "truncate_min": 4, "lr_floor": 0.1, "head_crop": 0.0,
                                "answer_form": "direct", "dtype": "fp32"}


class RecordError(ValueError):
    """A record that cannot be used; the message is one line (the reader adds the file)."""


def _field(kind, doc: str, default=None):
    """An optional record field: its JSON type (`kind`, or a tuple) and one line of meaning."""
    return field(default=default, metadata={"json": kind, "doc": doc})


NUMBER = (int, float)


@dataclass(frozen=True)
class Record:
    """One result record. Required fields first; every other field is optional (None when the
    record does not hold it). `written` (not a field of the file) is the file's keys in order,
    `path` where it was read from (as the report shows it)."""

    name: str = field(metadata={"json": str, "doc": "the record's name: <results>/<name>.json"})
    variant: str = field(metadata={"json": str, "doc": "vanilla, perceiver, or none (a baseline)"})
    recipe: str = field(metadata={"json": str, "doc": "how the run was made: one of RECORD_KINDS"})
    faithful: bool = field(metadata={"json": bool, "doc": "exactly MODEL.md's model, data and schedule"})
    dev_correct: int = field(metadata={"json": int, "doc": "dev questions answered right"})
    dev_total: int = field(metadata={"json": int, "doc": "dev questions asked (above 0)"})
    version: int | None = _field(int, "the record format (VERSION); absent in version 1")
    device: str | None = _field(str, "cpu, cuda or cuda:N")
    commit: str | None = _field(str, "the code's commit when the command started (-dirty: with changes)")
    command: str | None = _field(str, "the command line that wrote the record")
    seed: int | None = _field(int, "seed of initialisation, data and dropout (null for the baselines)")
    wall_seconds: float | None = _field(NUMBER, "seconds from the start of training to the last dev prediction")
    steps: int | None = _field(int, "optimizer steps in all")
    dev_accuracy: float | None = _field(NUMBER, "dev_correct / dev_total")
    device_detail: str | None = _field(str, "the CPU's name and vector features (CPU runs)")
    # training (finetune, evaluate)
    config: dict | None = _field(dict, "the model's GPTConfig")
    train_config: dict | None = _field(dict, "the finetune's TrainConfig")
    train_seconds: float | None = _field(NUMBER, "seconds of training")
    eval_seconds: float | None = _field(NUMBER, "seconds of the dev predictions")
    eval_file: str | None = _field(str, "the questions evaluated on")
    train_file: str | None = _field(str, "the training questions (nearest-name)")
    predictions: str | None = _field(str, "the dev predictions file")
    checkpoint: str | None = _field(str, "the model evaluated")
    checkpoint_format: str | None = _field(str, "own or course (evaluate)")
    n_head_source: str | None = _field(str, "where a course checkpoint's head count came from (evaluate)")
    stripped_prefix: str | None = _field(str, "a key prefix removed from a course checkpoint (evaluate)")
    metrics_log: str | None = _field(str, "the finetune's metrics log beside the record")
    pretrain_metrics_log: str | None = _field(str, "the pretraining's metrics log beside the record")
    run_dir: str | None = _field(str, "the run folder (not committed)")
    limit: int | None = _field(int, "trained on the first N examples only")
    pretrained: dict | None = _field(dict, "the pretrained checkpoint a finetune started from")
    dtype: str | None = _field(str, "fp32 or bf16")
    train_speed: dict | None = _field(dict, "how a step was computed (models.fast.Speed)")
    decoding: str | None = _field(str, "how the predictions were decoded")
    # probes of memory (models.evaluate)
    bio_completion: dict | None = _field(dict, "the bio-completion probe")
    name_recall: dict | None = _field(dict, "the name-recall probe")
    recital: dict | None = _field(dict, "the recital probe (recall answer forms)")
    # nearest-name
    unseen_names: int | None = _field(int, "dev questions about a name absent from the training file")
    similarity: str | None = _field(str, "how names are compared")
    examples: list | None = _field(list, "three predictions with their nearest training question")
    # the recipe (`python -m models recipe`)
    recipe_name: str | None = _field(str, "the named recipe, e.g. cpu-60")
    settings: dict | None = _field(dict, "every setting the recipe ran with (models.recipe.Recipe)")
    changed: dict | None = _field(dict, "the settings that differed from the named recipe when it ran")
    budget_seconds: float | None = _field(NUMBER, "the wall-time budget")
    within_budget: bool | None = _field(bool, "wall_seconds <= budget_seconds")
    projected_seconds: float | None = _field(NUMBER, "the wall time projected after the second epoch")
    stage_seconds: dict | None = _field(dict, "seconds per stage (pretrain, finetune, evaluate)")
    curve: list | None = _field(list, "dev accuracy during training: stage, epoch, step, seconds, dev_correct")
    threads: int | None = _field(int, "torch's CPU threads")
    parameters: int | None = _field(int, "the model's parameters")
    smoke: bool | None = _field(bool, "tiny sizes (--smoke)")
    test_predictions: str | None = _field(str, "the test file's predictions")
    test_file: str | None = _field(str, "the test questions (no answers)")
    test_total: int | None = _field(int, "test questions predicted")
    final_pretrain_loss: float | None = _field(NUMBER, "mean loss of the last pretraining epoch")
    recall_left_out: int | None = _field(int, "training questions left out of a recall answer form")
    sweep: dict | None = _field(dict, "a sweep trial's study, trial, storage, worker, params and space")
    # the pipeline (`python -m models pipeline`)
    pipeline: dict | None = _field(dict, "the pipeline's command, stage seconds, jobs and concurrent stages")
    # notes added to committed records after the run (provenance, corrections)
    provenance: dict | None = _field(dict, "where a record came from when another machine ran it")
    faithful_before_correction: bool | None = _field(bool, "marked faithful before a correction of the rule")
    replicate_of: str | None = _field(str, "the record this one repeats")
    renamed_from: str | None = _field(str, "the record's earlier name")
    note: str | None = _field(str, "a note")
    commit_note: str | None = _field(str, "a note on the commit")
    command_note: str | None = _field(str, "a note on the command")
    label_note: str | None = _field(str, "a note on the record's label")
    pilot_note: str | None = _field(str, "a note on a pilot run")
    rename_note: str | None = _field(str, "why the record was renamed")
    replicate_note: str | None = _field(str, "a note on the replicate")
    bio_completion_note: str | None = _field(str, "a note on the bio-completion probe")
    name_recall_note: str | None = _field(str, "a note on the name-recall probe")
    recital_note: str | None = _field(str, "a note on the recital probe")
    # not in the file
    written: tuple = field(default=(), compare=False, repr=False, metadata={"file": False})
    path: str | None = field(default=None, compare=False, metadata={"file": False})

    def __post_init__(self):
        for f in FILE_FIELDS:
            value = getattr(self, f.name)
            if f.default is MISSING or value is not None:
                _check_type(f.name, value, f.metadata["json"])
        if self.recipe not in RECORD_KINDS:
            raise RecordError(f"recipe {self.recipe!r} is not one of {', '.join(RECORD_KINDS)}")
        if not (0 <= self.dev_correct <= self.dev_total) or self.dev_total == 0:
            raise RecordError(f"dev_correct ({self.dev_correct}) must lie in 0..dev_total ({self.dev_total}), "
                              "dev_total above 0")
        if self.version not in (None, *READABLE_VERSIONS[1:]):
            raise RecordError(f"version {self.version!r} is not one this code reads "
                              f"({', '.join(map(str, READABLE_VERSIONS))})")
        unknown = [k for k in self.written if k not in FILE_NAMES]
        if unknown:
            raise RecordError(f"field {unknown[0]!r} is not declared by models.record.Record")

    # ------------------------------------------------------------------ writing

    @classmethod
    def new(cls, **values) -> Record:
        """A record about to be written (version VERSION): `values` are fields (an undeclared
        one is a TypeError), `dev_accuracy` is computed, `wall_seconds` rounded to the
        millisecond, absolute paths made relative to the repository (`relative_paths`). The
        file holds "version" and the fields given, in the order they are declared."""
        values = {k: relative_paths(v) for k, v in values.items()}
        values.update({k: bool(values[k]) for k in ("faithful",) if k in values})
        values.update({k: int(values[k]) for k in ("dev_correct", "dev_total", "steps") if values.get(k) is not None})
        values["version"] = VERSION
        values["dev_accuracy"] = values["dev_correct"] / values["dev_total"] if values.get("dev_total") else None
        if values.get("wall_seconds") is not None:
            values["wall_seconds"] = round(float(values["wall_seconds"]), 3)
        try:
            return cls(**values, written=("version",) + tuple(f.name for f in FILE_FIELDS
                                                              if f.name in values and f.name != "version"))
        except TypeError as e:
            raise TypeError(f"{e} (a record field must be declared in models.record.Record)") from None

    def with_fields(self, **values) -> Record:
        """This record with `values` set (a field it lacked is added at the end of the file)."""
        added = tuple(k for k in values if k not in self.written)
        return replace(self, **values, written=self.written + added)

    def to_dict(self) -> dict:
        """The file's object: the keys in `written`, in that order."""
        return {k: getattr(self, k) for k in self.written}

    def to_json(self) -> str:
        """The file's text: JSON, indented by 2, UTF-8 characters as they are, a final newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_dict(cls, data: Any, path: str | None = None) -> Record:
        """The record a file holds (`data`, its parsed JSON), checked: an object, every
        required field present with its type, every key declared, a version this code reads;
        else RecordError with one line naming what is wrong. `path`: where it was read from."""
        if not isinstance(data, dict):
            raise RecordError("expected a JSON object")
        for f in FILE_FIELDS:
            if f.default is MISSING and f.name not in data:
                raise RecordError(f"missing field {f.name!r}")
        unknown = [k for k in data if k not in FILE_NAMES]
        if unknown:
            raise RecordError(f"field {unknown[0]!r} is not declared by models.record.Record")
        return cls(**data, written=tuple(data), path=path)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Record:
        """The record in the file `path` (RecordError when it is not valid JSON or not a record)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RecordError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
        return cls.from_dict(data, str(path))

    # ------------------------------------------------------------------ what readers need

    @property
    def accuracy(self) -> float:
        return self.dev_correct / self.dev_total

    def settings_as_run(self) -> dict:
        """A recipe record's settings, complete: a setting it lacks did not exist when it ran,
        so it ran as SETTINGS_BEFORE_THEY_EXISTED says."""
        return {**SETTINGS_BEFORE_THEY_EXISTED, **(self.settings or {})}

    def settings_changed_from(self, reference: dict) -> dict:
        """The settings (as run) that differ from `reference` (e.g. asdict of a recipe as
        defined now), in the reference's order."""
        settings = self.settings_as_run()
        return {k: settings[k] for k in reference if k in settings and settings[k] != reference[k]}

    def describe_config(self) -> str:
        """The model options that matter for comparing runs, in a few words."""
        cfg = self.config if isinstance(self.config, dict) else {}
        parts = []
        if self.variant == "perceiver":
            if "bottleneck_dim" in cfg:
                parts.append(f"m = {cfg['bottleneck_dim']}")
            if "perceiver_wiring" in cfg:
                parts.append(f"{cfg['perceiver_wiring']} wiring")
        for key in ("n_layer", "n_embd"):
            if key in cfg and cfg[key] != {"n_layer": 4, "n_embd": 256}[key]:
                parts.append(f"{key} = {cfg[key]}")
        if self.limit:
            parts.append(f"first {self.limit} training lines")
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


FILE_FIELDS = tuple(f for f in fields(Record) if f.metadata.get("file", True))
FILE_NAMES = frozenset(f.name for f in FILE_FIELDS)


def _check_type(name: str, value, kind) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
        raise RecordError(f"field {name!r} must be {kinds[0].__name__}, not {type(value).__name__}")


def relative_paths(value):
    """`value` with every absolute path (a str or Path of one word starting with "/") written
    relative to the repository, recursively through dicts and lists: a record names
    report/results/x.json or ../shared/data/birth_dev.tsv, never a machine's own folders."""
    if isinstance(value, dict):
        return {k: relative_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [relative_paths(v) for v in value]
    if isinstance(value, Path) or (isinstance(value, str) and value.startswith("/") and " " not in value):
        return os.path.relpath(Path(value), REPO_ROOT)
    return value
