"""What `pretrain` and `finetune` share: their options (typed: TrainingOptions; as flags: the
model, training and speed groups), the model they ask for, the run folder, and the run itself
(new or resumed) with its faithfulness to MODEL.md."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import torch

from .. import data as D
from ..checkpoint_checks import SIZE_LIMITS
from ..fast import BASELINE, DTYPES, FAST, OPTIMIZERS, Speed
from ..fileio import UserError
from ..model import GPT, GPTConfig, VARIANTS, WIRINGS
from ..options import (nonnegative_int, positive_float, positive_int, probability, seed_int, threads_option,
                       trainer_options)
from ..train import COURSE_SCHEDULES, Run, TrainConfig, device_name


RUNS_DIR = D.REPO_ROOT / "runs"
_NEGATED = {"shuffle": ("--shuffle", "--no-shuffle"), "pack": (None, "--no-pack"),
            "fast_dropout": (None, "--no-fast-dropout")}  # flags whose False is a flag of its own


@dataclass
class TrainingOptions:
    """The options of `pretrain` and `finetune`, typed: one field per flag, the same name (the
    flag with - for _), None where the flag was not given (the command then takes MODEL.md's
    value, or a resumed run's own). `argv` is the command line a record names, `started` the
    time.monotonic() the command started at (--time-limit counts from it). The pipeline builds
    these directly and calls models.commands.pretrain.pretrain / finetune.finetune with them;
    to_argv gives the equivalent command line (for its records and for the stages it runs as
    processes). The field order is the order of to_argv's flags."""

    out: Path | None = None
    device: str = "auto"  # always a flag of to_argv, so that a stage's command line names its device
    no_progress: bool = False
    threads: int | None = None
    data_dir: str | None = None
    seed: int | None = None
    dtype: str | None = None
    compile: bool | None = None
    baseline: bool = False
    decay: str | None = None
    shuffle: bool | None = None
    time_limit: float | None = None
    resume: bool = False
    variant: str | None = None
    n_layer: int | None = None
    n_embd: int | None = None
    n_head: int | None = None
    bottleneck_dim: int | None = None
    limit: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    save_every: int = 0
    pretrained: Path | None = None  # finetune only, as are the fields below
    name: str | None = None
    results_dir: Path | None = None
    eval_file: str | None = None
    perceiver_wiring: str | None = None
    dropout: float | None = None
    lr: float | None = None
    max_steps: int | None = None
    pack: bool | None = None
    fast_dropout: bool | None = None
    optimizer: str | None = None
    train_file: str | None = None
    no_eval: bool = False
    outputs: Path | None = None
    eval_batch_size: int = 512
    argv: list[str] | None = field(default=None, compare=False)
    started: float = field(default_factory=time.monotonic, compare=False)

    @classmethod
    def from_args(cls, args) -> TrainingOptions:
        """The options an argparse namespace of `pretrain` or `finetune` holds (with its argv and
        start time, set by models.cli.main)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})

    def to_argv(self, command: str) -> list[str]:
        """`command` and the flags that give these options (a field at its default gives none),
        in field order: `python -m models <to_argv>` runs the same."""
        argv = [command]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("argv", "started") or value is None or (value == f.default and f.name != "device"):
                continue
            if f.name in _NEGATED:
                flag = _NEGATED[f.name][0 if value else 1]
                argv += [flag] if flag else []
            elif isinstance(value, bool):
                argv += ["--" + f.name.replace("_", "-")] if value else []
            else:
                text = f"{value:.0f}" if isinstance(value, float) and value.is_integer() else str(value)
                argv += ["--" + f.name.replace("_", "-"), text]
        return argv


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The model group of flags (MODEL.md's sizes by default)."""
    g = p.add_argument_group("model (defaults: MODEL.md; a resumed or pretrained run's own values)")
    g.add_argument("--variant", choices=VARIANTS, help="vanilla (default) or perceiver")
    g.add_argument("--bottleneck-dim", type=positive_int, metavar="M",
                   help="perceiver bottleneck size m (default 64, as the course's commands)")
    g.add_argument("--perceiver-wiring", choices=WIRINGS,
                   help="default: residual on C and x_input, pre-LN on one side (MODEL.md); "
                        "ln-both: no residual, both inputs layer-normalised")
    g.add_argument("--n-layer", type=positive_int, help="layers (default 4)")
    g.add_argument("--n-head", type=positive_int, help="attention heads (default 8)")
    g.add_argument("--n-embd", type=positive_int, help="width (default 256)")
    g.add_argument("--dropout", type=probability, help="dropout everywhere (default 0.1)")


MODEL_KEYS = ("variant", "bottleneck_dim", "perceiver_wiring", "n_layer", "n_head", "n_embd", "dropout")


def requested_model(args) -> dict:
    """The model options given (None where not), by GPTConfig field."""
    return {k: getattr(args, k) for k in MODEL_KEYS}


def new_config(args, vocab) -> GPTConfig:
    """The model the options ask for, refused before allocation when its sizes are out of range
    or its weights, gradients and AdamW moments would take more than half this machine's memory."""
    given = {k: v for k, v in requested_model(args).items() if v is not None}
    try:
        config = GPTConfig(vocab_size=len(vocab), block_size=D.BLOCK_SIZE, **given)
    except ValueError as e:
        raise UserError(str(e)) from None
    for key, limit in SIZE_LIMITS.items():
        if getattr(config, key) > limit:
            raise UserError(f"--{key.replace('_', '-')} {getattr(config, key)}: at most {limit:,}")
    with torch.device("meta"):  # counted without allocating
        params = GPT(config).num_params()
    needed, total = 16 * params, os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed > total / 2:
        raise UserError(f"a model of {params:,} parameters needs about {needed / 2**30:.1f} GiB for its weights, "
                        f"gradients and AdamW moments, more than half of this machine's {total / 2**30:.0f} GiB: "
                        "lower --n-layer or --n-embd")
    return config


def faithful_model(config: GPTConfig) -> bool:
    """Exactly MODEL.md's model: its sizes, and m = 64 with the default wiring for the perceiver."""
    reference = GPTConfig(vocab_size=256, variant=config.variant)
    return config == reference


def add_train_options(p: argparse.ArgumentParser, recipe_note: str) -> None:
    """The training group of flags, then the speed group; `recipe_note` names MODEL.md's defaults."""
    g = p.add_argument_group(f"training (defaults: MODEL.md, {recipe_note})")
    g.add_argument("--epochs", type=positive_int, help="epochs")
    g.add_argument("--batch-size", type=positive_int, help="batch size")
    g.add_argument("--lr", type=positive_float, help="base learning rate of the course's schedule")
    g.add_argument("--seed", type=seed_int, help="seed of initialisation, data and dropout (default 0)")
    g.add_argument("--max-steps", type=positive_int,
                   help="stop after this many steps in all (a checkpoint is saved; --resume continues)")
    g.add_argument("--save-every", type=nonnegative_int, default=0,
                   help="steps between checkpoints (default 0: at the end of every epoch)")
    g.add_argument("--limit", type=positive_int, help="train on the first N examples only (not faithful)")
    trainer_options(g)
    g.add_argument("--out", type=Path, help="run folder for model.safetensors, state.pt, metrics.jsonl "
                                            "(default runs/<command>-<variant>...)")
    g.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint (same weights as never stopping)")
    g.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda, cuda:N")
    threads_option(g)
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                   help="stop with a checkpoint once this much wall time has passed (--resume continues)")
    add_speed_options(p)


def deadline(args) -> float | None:
    """The time.monotonic() at which --time-limit stops the run, or None."""
    return None if not args.time_limit else args.started + args.time_limit


def add_speed_options(p: argparse.ArgumentParser) -> None:
    """The speed group of flags: how a step is computed (docs/speed.md)."""
    g = p.add_argument_group("speed (how a step is computed, not what: docs/speed.md; a resumed run keeps "
                             "its own unless told)")
    g.add_argument("--baseline", action="store_true",
                   help="the plain step: padded rows, torch's dropout, for-loop AdamW, fp32 (what bench compares to)")
    g.add_argument("--no-pack", dest="pack", action="store_false", default=None,
                   help="keep padded rows (default: pack each batch's examples into rows, an exact rearrangement)")
    g.add_argument("--no-fast-dropout", dest="fast_dropout", action="store_false", default=None,
                   help="torch's dropout generator (default on the CPU: NumPy's PCG64, same distribution)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help="AdamW implementation (default fused)")
    g.add_argument("--dtype", choices=DTYPES,
                   help="fp32 (default) or bf16 autocast (not exact, so not faithful; slow on CPUs without bf16)")
    g.add_argument("--compile", action="store_true", default=None, help="torch.compile the model (GPU)")


def speed_of(args, stored: dict | None = None) -> Speed:
    """--baseline, else the run's stored options (a resumed run), else the fast defaults; then
    every option typed on the command line."""
    base = BASELINE if args.baseline else Speed.from_dict(stored) if stored else FAST
    typed = {k: getattr(args, k) for k in ("pack", "fast_dropout", "optimizer", "dtype", "compile")
             if getattr(args, k) is not None}
    return replace(base, **typed)


def default_run_dir(args, command: str, config: GPTConfig | None = None) -> Path:
    """runs/<command>-<variant>[-m<M>][-<wiring>][-scratch|-pretrained], the variant taken from
    `config` (the model about to train) when known, else from the options."""
    variant = config.variant if config else args.variant or "vanilla"
    tag = variant
    if variant == "perceiver":
        m = config.bottleneck_dim if config else args.bottleneck_dim or GPTConfig.bottleneck_dim
        wiring = config.perceiver_wiring if config else args.perceiver_wiring or "default"
        tag += f"-m{m}" + ("" if wiring == "default" else f"-{wiring}")
    if command == "finetune":
        tag += "-pretrained" if args.pretrained else "-scratch"
    return RUNS_DIR / f"{command}-{tag}"


def claim_run_dir(args, command: str, config: GPTConfig | None = None) -> Path:
    """The run folder (--out or the default), refused when unusable or already holding a run."""
    out = args.out if args.out is not None else default_run_dir(args, command, config)
    if out.exists() and not out.is_dir():
        raise UserError("exists and is not a folder", out)
    if not args.resume and (out / "state.pt").exists():
        raise UserError("already holds a run: add --resume to continue it, or choose another --out", out)
    return out


def train_config_of(args, recipe: str, seed_default: int = 0) -> TrainConfig:
    """The TrainConfig of a new run: MODEL.md's schedule `recipe` (COURSE_SCHEDULES), changed by the flags given."""
    defaults = COURSE_SCHEDULES[recipe]
    return TrainConfig(epochs=args.epochs or defaults["epochs"], batch_size=args.batch_size or defaults["batch_size"],
                       lr=args.lr or defaults["lr"], seed=seed_default if args.seed is None else args.seed,
                       max_steps=args.max_steps, save_every=args.save_every,
                       **{k: v for k, v in (("decay", args.decay), ("shuffle", args.shuffle)) if v is not None})


def faithful_training(cfg: TrainConfig, recipe: str, limit) -> bool:
    """Whether `cfg` is exactly MODEL.md's schedule `recipe` on the whole data (no --limit)."""
    return limit is None and cfg == TrainConfig(**COURSE_SCHEDULES[recipe], seed=cfg.seed, max_steps=cfg.max_steps,
                                                save_every=cfg.save_every)


def cfg_overrides(args) -> dict:
    """The training options given, for a resumed run to check against its own."""
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "max_steps": args.max_steps, "save_every": args.save_every or None, "decay": args.decay,
            "shuffle": args.shuffle}


def open_run(args, vocab, command: str, make_model, recipe_of) -> Run:
    """Resume the run in --out, or start one with the model from make_model()."""
    if args.resume:
        out = claim_run_dir(args, command)
        run = Run.resume(out, vocab, requested_model(args), cfg_overrides(args))
        if run.info.get("command") != command:
            raise UserError(f"holds a {run.info.get('command')} run, not a {command} run", out / "state.pt")
        if args.limit is not None and args.limit != run.info.get("limit"):
            raise UserError(f"the run was started with limit {run.info.get('limit')}; a resumed run keeps it",
                            out / "state.pt")
        return run
    model, info = make_model()
    out = claim_run_dir(args, command, model.config)
    recipe = recipe_of(info)
    cfg = train_config_of(args, recipe)
    info.update({"command": command, "recipe": recipe, "seed": cfg.seed, "limit": args.limit,
                 "faithful_config": info.get("faithful_config", True) and faithful_model(model.config)
                 and faithful_training(cfg, recipe, args.limit)})
    return Run(out, model, vocab, cfg, info)


def finish_faithful(run: Run, n_examples: int) -> bool:
    """Whether the run finished its epochs, every step computed exactly (fp32), and is therefore
    faithful if configured so."""
    complete = run.step >= run.total_steps(n_examples)
    return complete and bool(run.info.get("faithful_config")) and run.info.get("exact", True)


def from_command_line(train):
    """The command-line entry (`run(args) -> int`) of `train`, a function taking TrainingOptions
    (pretrain.pretrain, finetune.finetune): the argparse namespace read as TrainingOptions."""
    return lambda args: train(TrainingOptions.from_args(args))


def train_and_save(run: Run, dataset, device, args, faithful_data: bool = True) -> bool:
    """Train `run` on `dataset` as the options `args` say (speed, progress bar, --time-limit), then
    mark it faithful (finish_faithful, and `faithful_data`: the default data file) or not, name
    its device and save its model; whether it completed its epochs."""
    run.info["faithful"] = False
    speed = speed_of(args, run.info.get("speed"))
    complete = run.train(dataset, device, progress=not args.no_progress, speed=speed, deadline=deadline(args))
    run.info["faithful"] = finish_faithful(run, len(dataset)) and faithful_data
    run.info["device"] = device_name(device)
    run.save_model_only()
    return complete
