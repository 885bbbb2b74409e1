"""A sweep's search space (`python -m models sweep --space FILE`): which recipe settings (the fields of
models.recipe.Recipe, the keys of `recipe --set`) the sampler chooses and over what ranges, and which
every trial holds fixed. A small TOML file:

    [fixed]                   # applied to every trial, before the levers
    budget_seconds = 600.0

    [levers.pretrain_lr]      # a float range; log = true draws its logarithm uniformly
    low = 1.5e-3
    high = 6e-3
    log = true

    [levers.pretrain_epochs]  # an int range; step is optional (default 1)
    low = 22
    high = 28
    step = 2

    [levers.n_embd]           # a list of choices (any setting: numbers, words, true/false)
    choices = [96, 128]

    [pruner]                  # optional; Optuna's pruner, fed the recipe's dev evaluations (eval_every)
    kind = "median"           # median (MedianPruner, the default) | threshold (ThresholdPruner) | none
    startup_trials = 2        # median: prune nothing until this many trials have completed
    warmup_epochs = 20        # median: prune nothing before this pretraining epoch
    # below = 0.05            # threshold: prune a trial whose dev accuracy (0..1) falls below this line

Each lever becomes one of Optuna's distributions through `trial.suggest_float`, `suggest_int` or
`suggest_categorical`. The default space of a recipe is models/sweep_spaces/<recipe>.toml.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .fileio import UserError, read_text
from .recipe import Recipe

SPACES_DIR = Path(__file__).resolve().parent / "sweep_spaces"
MAX_SPACE_BYTES = 64 * 1024
_RANGE_KEYS = {"low", "high", "log", "step"}
PRUNER_KEYS = {"median": {"startup_trials": 2, "warmup_epochs": 0}, "threshold": {"below": None}, "none": {}}


def default_space(recipe_name: str) -> Path:
    """The space file a sweep of the recipe `recipe_name` uses without --space."""
    return SPACES_DIR / f"{recipe_name}.toml"


@dataclass(frozen=True)
class Lever:
    """One setting the sampler chooses: a range (`low`..`high`, floats optionally on a log scale, ints
    with a `step`) or a list of `choices`."""
    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: int | float | None = None
    choices: tuple | None = None

    def suggest(self, trial):
        """The value Optuna's `trial` chooses for this lever (trial.suggest_*: the sampler decides)."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(self.name, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def values_to_check(self) -> list:
        return list(self.choices) if self.choices is not None else [self.low, self.high]


@dataclass(frozen=True)
class Space:
    """The settings every trial holds (`fixed`), the levers the sampler chooses (in the file's order) and the
    pruner's table (`kind` and its keys, defaults filled in)."""
    fixed: dict
    levers: tuple[Lever, ...]
    source: str
    pruner: dict

    def apply(self, base: Recipe, trial) -> Recipe:
        """`base` with the fixed settings, then the values `trial` chooses for each lever."""
        return replace(replace(base, **self.fixed), **{lever.name: lever.suggest(trial) for lever in self.levers})

    def to_dict(self) -> dict:
        """A JSON form, stored with the study so that a worker with another space is refused."""
        return {"fixed": self.fixed, "pruner": self.pruner,
                "levers": {lv.name: {k: (list(v) if isinstance(v, tuple) else v)
                                     for k, v in vars(lv).items() if k != "name" and v not in (None, False)}
                           for lv in self.levers}}


def _setting_types() -> dict[str, type]:
    defaults = Recipe()
    return {f.name: type(getattr(defaults, f.name)) for f in fields(Recipe)}


def _typed(where: str, key: str, value, kind: type):
    """`value` as the setting `key` of type `kind` takes it (an int is a float where a float is asked)."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not kind:
        raise UserError(f"{where}: {key} takes a {kind.__name__}, not {value!r}")
    return value


def _lever(where: str, name: str, table, kind: type) -> Lever:
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table with low and high, or choices")
    if "choices" in table:
        if set(table) != {"choices"} or not isinstance(table["choices"], list) or not table["choices"]:
            raise UserError(f"{where}: choices is a non-empty list, alone in its table")
        return Lever(name, choices=tuple(_typed(where, name, v, kind) for v in table["choices"]))
    unknown = set(table) - _RANGE_KEYS
    if unknown or not {"low", "high"} <= set(table):
        raise UserError(f"{where}: a range has low and high (and optionally log, step)"
                        + (f"; unknown key {sorted(unknown)[0]!r}" if unknown else ""))
    if kind not in (int, float):
        raise UserError(f"{where}: {name} is a {kind.__name__} setting: give it choices, not a range")
    low, high = (_typed(where, name, table[k], kind) for k in ("low", "high"))
    log = table.get("log", False)
    step = table.get("step")
    if not isinstance(log, bool):
        raise UserError(f"{where}: log is true or false")
    if step is not None:
        step = _typed(where, "step", step, kind)
        if step <= 0 or log:
            raise UserError(f"{where}: step must be positive, and cannot go with log = true")
    if not low < high:
        raise UserError(f"{where}: low must be below high")
    if log and low <= 0:
        raise UserError(f"{where}: a log range needs low > 0")
    return Lever(name, low=low, high=high, log=log, step=step)


def load_space(path: str | Path, base: Recipe) -> Space:
    """Read and check the space file `path` against the recipe `base`: every key a Recipe setting of the
    right type, every range and choice a value the recipe accepts. Raises UserError naming the file, and
    the table or TOML line that is wrong, before any trial starts."""
    path = Path(path)
    text = read_text(path, "space file", MAX_SPACE_BYTES)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: {e}") from None
    unknown = set(doc) - {"fixed", "levers", "pruner"}
    if unknown:
        raise UserError(f"{path}: unknown table [{sorted(unknown)[0]}] (a space has [fixed], [levers.NAME], [pruner])")
    types = _setting_types()
    fixed, levers = {}, []
    for key, value in doc.get("fixed", {}).items():
        if key not in types:
            raise UserError(f"{path}: [fixed] {key}: not a recipe setting (one of {', '.join(types)})")
        fixed[key] = _typed(f"{path}: [fixed]", key, value, types[key])
    for name, table in doc.get("levers", {}).items():
        where = f"{path}: [levers.{name}]"
        if name not in types:
            raise UserError(f"{where}: not a recipe setting (one of {', '.join(types)})")
        if name in fixed:
            raise UserError(f"{where}: {name} is also in [fixed]")
        levers.append(_lever(where, name, table, types[name]))
    if not levers:
        raise UserError(f"{path}: no [levers.NAME] table: nothing to sweep")
    try:
        held = replace(base, **fixed)
    except ValueError as e:
        raise UserError(f"{path}: [fixed]: {e}") from None
    for lever in levers:
        for value in lever.values_to_check():
            try:
                replace(held, **{lever.name: value})
            except ValueError as e:
                raise UserError(f"{path}: [levers.{lever.name}]: {value!r}: {e}") from None
    return Space(fixed=fixed, levers=tuple(levers), source=str(path), pruner=_pruner(path, doc.get("pruner", {})))


def _pruner(path: Path, table: dict) -> dict:
    """The [pruner] table checked, with its defaults: {"kind": ..., and the kind's keys}."""
    kind = table.get("kind", "median")
    if kind not in PRUNER_KEYS:
        raise UserError(f"{path}: [pruner] kind must be one of {', '.join(PRUNER_KEYS)}, not {kind!r}")
    keys = PRUNER_KEYS[kind]
    unknown = set(table) - {"kind"} - set(keys)
    if unknown:
        raise UserError(f"{path}: [pruner] {sorted(unknown)[0]}: not a key of the {kind} pruner "
                        f"({', '.join(keys) or 'it has none'})")
    pruner = {"kind": kind, **keys, **{k: v for k, v in table.items() if k != "kind"}}
    for key in ("startup_trials", "warmup_epochs"):
        if key in pruner and (type(pruner[key]) is not int or pruner[key] < 0):
            raise UserError(f"{path}: [pruner] {key} must be a whole number >= 0, not {pruner[key]!r}")
    if kind == "threshold":
        below = pruner["below"]
        if isinstance(below, bool) or not isinstance(below, (int, float)) or not 0 <= below <= 1:
            raise UserError(f"{path}: [pruner] the threshold pruner needs below = a dev accuracy in [0, 1]")
        pruner["below"] = float(below)
    return pruner
