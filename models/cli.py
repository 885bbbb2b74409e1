"""`python -m models <command>`: examples, pretrain, finetune, evaluate, london, nearest-name,
bench, pipeline, recipe, receptive-field, attention-entropy. A user mistake prints one line `models: error: ...` and exits 2."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from . import data as D
from .checkpoint import describe, load_model
from .checkpoint_checks import SIZE_LIMITS
from .fast import BASELINE, DTYPES, FAST, OPTIMIZERS, Speed, malloc_mode, retain_freed_memory
from .evaluate import (accuracy, bio_completion, bio_completion_line, correct_line, name_recall, name_recall_line,
                       predict, recital, recital_line)
from .fileio import UserError, atomic_write_text, check_output, write_lines
from .model import VARIANTS, WIRINGS, GPT, GPTConfig
from .options import (Parser, UsageError, int_list, nonnegative_int, positive_float, positive_int, probability,
                      seed_int, threads_option, trainer_options)
from .record import RECORD_KINDS
from .results import (DEFAULT_RESULTS_DIR, check_name, check_record_free, command_line, cpu_features, cpu_name, git_commit,
                      new_record, remember_commit, write_record)
from .train import RECIPES, Run, TrainConfig, device_name, pick_device

RUNS_DIR = D.REPO_ROOT / "runs"


# ---------------------------------------------------------------------------- shared pieces


def _data_file(arg: str | None, ddir: Path, default: str) -> Path:
    return ddir / default if arg is None else Path(arg)


def _is_default_file(path: Path, ddir: Path, default: str) -> bool:
    try:
        return path.resolve() == (ddir / default).resolve()
    except OSError:
        return False


def _display(path: Path) -> str:
    """A path for records: relative to the repository when inside it."""
    return os.path.relpath(Path(path).resolve(), D.REPO_ROOT)


def _check_targets(args, ddir: Path) -> None:
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


def _publish_logs(results_dir, name: str, finetune_log: Path, pretrain_log: Path | None) -> dict:
    """Copy the metrics logs beside the record (<results>/metrics/<name>.jsonl and
    <name>-pretrain.jsonl): run folders are not committed, the records and their logs are."""
    folder = Path(results_dir or DEFAULT_RESULTS_DIR) / "metrics"
    published = {}
    for kind, src, dst in (("finetune", finetune_log, f"{name}.jsonl"),
                           ("pretrain", pretrain_log, f"{name}-pretrain.jsonl")):
        if src and Path(src).is_file():
            atomic_write_text(folder / dst, Path(src).read_text(encoding="utf-8"))
            published[kind] = _display(folder / dst)
    return published


def _record_name(given: str | None, default: str, faithful: bool) -> str:
    """--name verbatim; otherwise the default, marked when unfaithful so that a quick run never
    replaces the record of a faithful one."""
    if given is not None:
        return given
    return default if faithful else f"{default}-unfaithful"


def _progress(args) -> bool:
    return not getattr(args, "no_progress", False)


def _model_options(p: argparse.ArgumentParser) -> None:
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


def _requested_model(args) -> dict:
    return {k: getattr(args, k) for k in MODEL_KEYS}


def _new_config(args, vocab) -> GPTConfig:
    """The model the options ask for, refused before allocation when its sizes are out of range
    or its weights, gradients and AdamW moments would take more than half this machine's memory."""
    given = {k: v for k, v in _requested_model(args).items() if v is not None}
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


def _train_options(p: argparse.ArgumentParser, recipe_note: str) -> None:
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
    _speed_options(p)


def _deadline(args) -> float | None:
    return None if not args.time_limit else args.started + args.time_limit


def _speed_options(p: argparse.ArgumentParser) -> None:
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


def _speed(args, stored: dict | None = None) -> Speed:
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


def _run_dir(args, command: str, config: GPTConfig | None = None) -> Path:
    """The run folder (--out or the default), refused when unusable or already holding a run."""
    out = args.out if args.out is not None else default_run_dir(args, command, config)
    if out.exists() and not out.is_dir():
        raise UserError("exists and is not a folder", out)
    if not args.resume and (out / "state.pt").exists():
        raise UserError("already holds a run: add --resume to continue it, or choose another --out", out)
    return out


def _train_cfg(args, recipe: str, seed_default: int = 0) -> TrainConfig:
    defaults = RECIPES[recipe]
    return TrainConfig(epochs=args.epochs or defaults["epochs"], batch_size=args.batch_size or defaults["batch_size"],
                       lr=args.lr or defaults["lr"], seed=seed_default if args.seed is None else args.seed,
                       max_steps=args.max_steps, save_every=args.save_every,
                       **{k: v for k, v in (("decay", args.decay), ("shuffle", args.shuffle)) if v is not None})


def _faithful_training(cfg: TrainConfig, recipe: str, limit) -> bool:
    return limit is None and cfg == TrainConfig(**RECIPES[recipe], seed=cfg.seed, max_steps=cfg.max_steps,
                                                save_every=cfg.save_every)


def _cfg_overrides(args) -> dict:
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "max_steps": args.max_steps, "save_every": args.save_every or None, "decay": args.decay,
            "shuffle": args.shuffle}


def _open_run(args, vocab, command: str, make_model, recipe_of) -> Run:
    """Resume the run in --out, or start one with the model from make_model()."""
    if args.resume:
        out = _run_dir(args, command)
        run = Run.resume(out, vocab, _requested_model(args), _cfg_overrides(args))
        if run.info.get("command") != command:
            raise UserError(f"holds a {run.info.get('command')} run, not a {command} run", out / "state.pt")
        if args.limit is not None and args.limit != run.info.get("limit"):
            raise UserError(f"the run was started with limit {run.info.get('limit')}; a resumed run keeps it",
                            out / "state.pt")
        return run
    model, info = make_model()
    out = _run_dir(args, command, model.config)
    recipe = recipe_of(info)
    cfg = _train_cfg(args, recipe)
    info.update({"command": command, "recipe": recipe, "seed": cfg.seed, "limit": args.limit,
                 "faithful_config": info.get("faithful_config", True) and faithful_model(model.config)
                 and _faithful_training(cfg, recipe, args.limit)})
    return Run(out, model, vocab, cfg, info)


def _finish(run: Run, n_examples: int) -> bool:
    """Whether the run finished its epochs, every step computed exactly (fp32), and is therefore
    faithful if configured so."""
    complete = run.step >= run.total_steps(n_examples)
    return complete and bool(run.info.get("faithful_config")) and run.info.get("exact", True)


# ---------------------------------------------------------------------------- commands


def cmd_examples(args) -> int:
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    if args.kind == "pretrain":
        ds = D.PretrainDataset(D.read_wiki(ddir / D.WIKI), vocab, seed=args.seed)
    else:
        path = _data_file(args.train_file, ddir, D.TRAIN_TSV)
        ds = D.FinetuneDataset(D.read_tsv(path, vocab, answers=True), vocab)
    if args.start + args.count > len(ds):
        raise UserError(f"--start {args.start} --count {args.count} asks for more than the {len(ds)} examples")
    for i in range(args.start, args.start + args.count):
        x, y = ds.strings(i, args.epoch)
        print(json.dumps({"x": x, "y": y}, ensure_ascii=False))
    return 0


def cmd_pretrain(args) -> int:
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    lines = D.read_wiki(ddir / D.WIKI)
    _check_targets(args, ddir)
    device = pick_device(args.device)

    def make_model():
        config = _new_config(args, vocab)
        torch.manual_seed(0 if args.seed is None else args.seed)
        return GPT(config), {"kind": "pretrain"}

    run = _open_run(args, vocab, "pretrain", make_model, lambda info: "pretrain")
    if run.info["limit"] is not None:
        lines = lines[:run.info["limit"]]
    dataset = D.PretrainDataset(lines, vocab, seed=run.cfg.seed)
    run.info["faithful"] = False
    speed = _speed(args, run.info.get("speed"))
    complete = run.train(dataset, device, progress=_progress(args), speed=speed, deadline=_deadline(args))
    run.info["faithful"] = _finish(run, len(dataset))
    run.info["device"] = device_name(device)
    run.save_model_only()
    print(f"pretrained {describe(run.model.config)}: {run.step} steps in {run.wall_seconds:.1f} s -> "
          f"{run.model_path}")
    if not complete and args.time_limit:
        print(f"stopped at the time limit after step {run.step}: add --resume to continue")
    return 0


def _evaluate_rows(model, vocab, rows, args, device, dtype="fp32", answer_form="direct"):
    t0 = time.perf_counter()
    preds = predict(model, vocab, [r.question for r in rows], batch_size=args.eval_batch_size, device=device,
                    dtype=dtype, progress=_progress(args), answer_form=answer_form)
    return preds, time.perf_counter() - t0


def cmd_finetune(args) -> int:
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    train_path = _data_file(args.train_file, ddir, D.TRAIN_TSV)
    train_rows = D.read_tsv(train_path, vocab, answers=True)
    eval_path = None if args.no_eval else _data_file(args.eval_file, ddir, D.DEV_TSV)
    eval_rows = None if eval_path is None else D.read_tsv(eval_path, vocab, answers=True)
    name = None if args.name is None else check_name(args.name)
    _check_targets(args, ddir)
    device = pick_device(args.device)

    def make_model():
        if args.pretrained is None:
            config = _new_config(args, vocab)
            torch.manual_seed(0 if args.seed is None else args.seed)
            return GPT(config), {"kind": "finetune"}
        model, pinfo = load_model(args.pretrained, vocab, variant=args.variant, bottleneck_dim=args.bottleneck_dim,
                                  perceiver_wiring=args.perceiver_wiring, n_head=args.n_head)
        for key in ("n_layer", "n_head", "n_embd"):
            value = getattr(args, key)
            if value is not None and value != getattr(model.config, key):
                raise UserError(f"has {key.replace('_', '-')} {getattr(model.config, key)}, but {value} "
                                "was asked for", args.pretrained)
        if args.dropout is not None and args.dropout != model.config.dropout:
            state = model.state_dict()
            model = GPT(GPTConfig.from_dict({**model.config.to_dict(), "dropout": args.dropout}))
            model.load_state_dict(state)
        pre = {"path": _display(args.pretrained), "format": pinfo.get("format"), "steps": pinfo.get("steps"),
               "wall_seconds": pinfo.get("wall_seconds"), "faithful": bool(pinfo.get("faithful")),
               "recipe": pinfo.get("recipe")}
        return model, {"kind": "finetune", "pretrained": pre, "faithful_config": pre["faithful"]}

    run = _open_run(args, vocab, "finetune", make_model,
                    lambda info: "pretrain-finetune" if info.get("pretrained") else "no-pretraining")
    if run.info["limit"] is not None:
        train_rows = train_rows[:run.info["limit"]]
    if eval_rows is not None:  # a committed record is never replaced: refused now, not after the training
        for faithful in (True, False):  # faithfulness is known only after the training: both possible names
            check_record_free(_record_name(name, run.out_dir.name, faithful), args.results_dir)
    dataset = D.FinetuneDataset(train_rows, vocab)
    run.info["faithful"] = False
    speed = _speed(args, run.info.get("speed"))
    complete = run.train(dataset, device, progress=_progress(args), speed=speed, deadline=_deadline(args))
    run.info["faithful"] = _finish(run, len(dataset)) and _is_default_file(train_path, ddir, D.TRAIN_TSV)
    run.info["device"] = device_name(device)
    run.save_model_only()
    print(f"finetuned {describe(run.model.config)} ({run.info['recipe']}): {run.step} steps in "
          f"{run.wall_seconds:.1f} s -> {run.model_path}")
    if not complete and args.time_limit:
        print(f"stopped at the time limit after step {run.step}: add --resume to continue (no evaluation yet)")
        return 0
    if eval_rows is None:
        return 0
    preds, eval_seconds = _evaluate_rows(run.model, vocab, eval_rows, args, device)
    outputs = args.outputs or run.out_dir / "predictions.txt"
    write_lines(outputs, preds)
    correct, total = accuracy(preds, [r.answer for r in eval_rows])
    print(correct_line(correct, total))
    faithful = run.info["faithful"] and _is_default_file(eval_path, ddir, D.DEV_TSV)
    pre = run.info.get("pretrained")
    record_name = _record_name(name, run.out_dir.name, faithful)
    logs = _publish_logs(args.results_dir, record_name, run.log_path,
                         args.pretrained and Path(args.pretrained).parent / "metrics.jsonl")
    record = new_record(
        name=record_name, variant=run.model.config.variant, recipe=run.info["recipe"], faithful=faithful,
        device=device_name(device), command=command_line(args.argv), seed=run.cfg.seed,
        wall_seconds=run.wall_seconds + eval_seconds, steps=run.step, dev_correct=correct, dev_total=total,
        config=run.model.config.to_dict(), train_config=asdict(run.cfg),
        train_seconds=round(run.wall_seconds, 3), eval_seconds=round(eval_seconds, 3),
        eval_file=_display(eval_path), predictions=_display(outputs), checkpoint=_display(run.model_path),
        metrics_log=logs.get("finetune"), pretrain_metrics_log=logs.get("pretrain"), run_dir=_display(run.out_dir),
        limit=run.info["limit"], pretrained=pre, dtype="fp32", train_speed=run.info.get("speed"),
        decoding="batched greedy, key/value cache (models/decode.py)")
    print(f"record: {write_record(record, args.results_dir)}")
    return 0


def cmd_evaluate(args) -> int:
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    eval_path = Path(args.eval_file)
    rows = D.read_tsv(eval_path, vocab, answers=None)
    name = None if args.name is None else check_name(args.name)
    _check_targets(args, ddir)
    device = pick_device(args.device)
    model, info = load_model(args.checkpoint, vocab, variant=args.variant, perceiver_wiring=args.perceiver_wiring,
                             n_head=args.n_head)
    # a recipe trained to write the sentence before the answer is read the same way
    answer_form = (info.get("settings") or {}).get("answer_form", "direct")
    if answer_form not in D.ANSWER_FORMS:
        raise UserError(f"{args.checkpoint}: trained on answer form {answer_form!r}, which this version does not know "
                        f"({', '.join(D.ANSWER_FORMS)})")
    preds, eval_seconds = _evaluate_rows(model, vocab, rows, args, device, args.dtype, answer_form)
    write_lines(args.outputs, preds)
    print(f"wrote {len(preds)} predictions to {args.outputs}")
    if rows[0].answer is None:
        return 0
    correct, total = accuracy(preds, [r.answer for r in rows])
    print(correct_line(correct, total))
    probe = recall = None
    if args.bio_completion or args.name_recall:
        # a recipe trained on rewritten lines is probed on the lines as it saw them
        form = (info.get("settings") or {}).get("line_form", "wiki")
        if form not in D.LINE_FORMS:
            raise UserError(f"{args.checkpoint}: trained on line form {form!r}, which this version does not know "
                            f"({', '.join(D.LINE_FORMS)})")
    if args.bio_completion:
        probe = bio_completion(model, vocab, D.read_wiki(ddir / D.WIKI), rows, device=device, line_form=form)
        print(bio_completion_line(probe))
    if args.name_recall:
        recall = name_recall(model, vocab, rows, predictions=preds, line_form=form, device=device)
        print(name_recall_line(recall))
    recited = None
    if args.recital:
        if answer_form == "direct":
            raise UserError(f"{args.checkpoint}: --recital needs a model trained in a recall answer form, not direct")
        recited = recital(model, vocab, D.read_wiki(ddir / D.WIKI), rows, answer_form, device=device)
        print(recital_line(recited))
    if args.no_record:
        return 0
    ckpt = Path(args.checkpoint)
    default_name = (ckpt.parent.name if ckpt.stem == "model" else ckpt.stem) + "-eval"
    recipe = args.recipe or {"pretrain": "pretrain-only"}.get(info.get("recipe"), info.get("recipe")) or "unknown"
    recipe = recipe if recipe in RECORD_KINDS and recipe != "cpu-recipe" else "unknown"  # a recipe's own record is its run's
    faithful = bool(info.get("faithful")) and args.dtype == "fp32" and _is_default_file(eval_path, ddir, D.DEV_TSV)
    record = new_record(
        name=_record_name(name, default_name, faithful), variant=model.config.variant, recipe=recipe,
        faithful=faithful, device=device_name(device), command=command_line(args.argv), seed=info.get("seed"),
        wall_seconds=eval_seconds, steps=info.get("steps", 0) or 0, dev_correct=correct, dev_total=total,
        config=model.config.to_dict(), checkpoint=_display(ckpt),
        checkpoint_format=info.get("format"), n_head_source=info.get("n_head_source"),
        **({"stripped_prefix": info["stripped_prefix"]} if info.get("stripped_prefix") else {}),
        eval_file=_display(eval_path), predictions=_display(args.outputs),
        dtype=args.dtype, pretrained=info.get("pretrained"), decoding="batched greedy, key/value cache (models/decode.py)",
        **({"bio_completion": probe} if probe else {}), **({"name_recall": recall} if recall else {}),
        **({"recital": recited} if recited else {}))
    print(f"record: {write_record(record, args.results_dir)}")
    return 0


def cmd_london(args) -> int:
    from .baselines import london
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    eval_path = _data_file(args.eval_file, ddir, D.DEV_TSV)
    _check_targets(args, ddir)
    t0 = time.perf_counter()
    rows = D.read_tsv(eval_path, vocab, answers=True)
    preds = london(rows)
    correct, total = accuracy(preds, [r.answer for r in rows])
    seconds = time.perf_counter() - t0
    if args.outputs:
        write_lines(args.outputs, preds)
    print(correct_line(correct, total))
    if not args.no_record:
        record = new_record(name=check_name(args.name), variant="none", recipe="london",
                            faithful=_is_default_file(eval_path, ddir, D.DEV_TSV), device="cpu",
                            command=command_line(args.argv), seed=None, wall_seconds=seconds, steps=0,
                            dev_correct=correct, dev_total=total, eval_file=_display(eval_path))
        print(f"record: {write_record(record, args.results_dir)}")
    return 0


def cmd_nearest_name(args) -> int:
    from .baselines import name_of, nearest_name
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    train_path = _data_file(args.train_file, ddir, D.TRAIN_TSV)
    eval_path = _data_file(args.eval_file, ddir, D.DEV_TSV)
    _check_targets(args, ddir)
    t0 = time.perf_counter()
    train = D.read_tsv(train_path, vocab, answers=True)
    rows = D.read_tsv(eval_path, vocab, answers=True)
    preds, idx = nearest_name(train, rows)
    correct, total = accuracy(preds, [r.answer for r in rows])
    seconds = time.perf_counter() - t0
    seen = {name_of(r.question) for r in train}
    unseen = sum(name_of(r.question) not in seen for r in rows)
    if args.outputs:
        write_lines(args.outputs, preds)
    print(f"{unseen} of {total} questions ask about a name absent from {train_path.name}")
    print(correct_line(correct, total))
    if not args.no_record:
        record = new_record(
            name=check_name(args.name), variant="none", recipe="nearest-name", faithful=False, device="cpu",
            command=command_line(args.argv), seed=None, wall_seconds=seconds, steps=0, dev_correct=correct,
            dev_total=total, eval_file=_display(eval_path),
            train_file=_display(train_path), unseen_names=unseen,
            similarity="cosine of lower-cased character-trigram counts of the name; ties to the earliest line",
            examples=[{"question": rows[i].question, "nearest": train[idx[i]].question, "prediction": preds[i],
                       "answer": rows[i].answer} for i in range(3)],
            note="the answer sheet's strategy for unseen names (claim Q3c); not part of MODEL.md")
        print(f"record: {write_record(record, args.results_dir)}")
    return 0


def _bench_stages(text: str) -> list[str]:
    from .bench import STAGES
    stages = [s for s in text.split(",") if s]
    wrong = [s for s in stages if s not in STAGES]
    if wrong or not stages:
        raise argparse.ArgumentTypeError(f"stages are {', '.join(STAGES)}, not {text!r}")
    return stages


def cmd_bench(args) -> int:
    from .bench import format_rows, run_bench
    compare_only = [flag for flag, given in (("--quick", args.quick), ("--no-epoch", args.no_epoch), ("--bf16", args.bf16),
                                             ("--eval-checkpoint", args.eval_checkpoint),
                                             ("--eval-baseline-count", args.eval_baseline_count),
                                             ("--stages", args.stages)) if given]
    if compare_only and not args.compare:
        raise UserError(f"{', '.join(compare_only)}: only with --compare")
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    device = pick_device(args.device)
    lines = D.read_wiki(ddir / D.WIKI)
    train = D.read_tsv(ddir / D.TRAIN_TSV, vocab, answers=True)
    dev = D.read_tsv(ddir / D.DEV_TSV, vocab, answers=True)
    if args.compare:
        return _bench_compare(args, vocab, lines, train, [r.question for r in dev], device)
    steps = args.steps or 2
    rows = run_bench(vocab, lines, train, [r.question for r in dev], variants=args.variants, steps=steps,
                     warmup=args.warmup, eval_count=args.eval_count or 64, eval_batch_size=args.eval_batch_size,
                     device=device, seed=args.seed, log=lambda text: print(text, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps({"device": device_name(device), "threads": torch.get_num_threads(), "rows": rows}))
    else:
        print(f"device {device_name(device)}, {torch.get_num_threads()} threads, fp32, faithful shapes; "
              f"{steps} timed steps after {args.warmup} warm-up")
        print(format_rows(rows))
    return 0


def _bench_compare(args, vocab, lines, train, dev, device) -> int:
    from .bench import STAGES, format_compare, run_compare
    eval_models = {}
    for path in args.eval_checkpoint or []:
        model, _ = load_model(path, vocab)
        if model.config.variant in eval_models:
            raise UserError(f"two --eval-checkpoint files are {model.config.variant} models; give one per variant")
        eval_models[model.config.variant] = (model, f"{_display(Path(path))} ({describe(model.config)})")
    missing = set(eval_models) - set(args.variants)
    if missing:
        raise UserError(f"--eval-checkpoint gives a {', '.join(sorted(missing))} model, but --variants leaves it out")
    quick = args.quick
    steps = args.steps or (1 if quick else 2)
    settings = dict(steps=steps, warmup=args.warmup, epoch=not (quick or args.no_epoch),
                    eval_baseline_count=args.eval_baseline_count or (10 if quick else 50),
                    eval_count=args.eval_count or len(dev),
                    eval_batch_size=args.eval_batch_size, eval_repeats=1 if quick else 5, bf16=args.bf16,
                    stages=args.stages or list(STAGES))
    load_before = os.getloadavg()
    head = (f"device {device_name(device)} ({cpu_name() + ', ' + cpu_features() if device.type == 'cpu' else 'CUDA'}), "
            f"{torch.get_num_threads()} threads; load average {load_before[0]:.2f}; baseline = padded fp32 step, "
            f"torch dropout, for-loop AdamW / one question at a time, full recompute")
    log = None if args.json else print
    if log:
        print(head)
        print(format_compare([], header=True))
    t0 = time.perf_counter()
    rows = run_compare(vocab, lines, train, dev, variants=args.variants, device=device, seed=args.seed, log=log,
                       eval_models=eval_models, **settings)
    info = {"device": device_name(device), "threads": torch.get_num_threads(), "settings": settings,
            "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "seconds": time.perf_counter() - t0, "command": command_line(args.argv)}
    if device.type == "cpu":
        info["cpu"] = cpu_name()
        info["cpu_features"] = cpu_features()
        info["malloc"] = malloc_mode()
    if args.json:
        print(json.dumps({**info, "rows": rows}))
    else:
        print(f"load average after {info['load_average_after'][0]:.2f}; {info['seconds']:.0f} s in all")
    return 0


def cmd_receptive_field(args) -> int:
    from .receptive_field import dependence_from_gradients, dependence_from_masks, describe_rule, question_impact
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    eval_path = _data_file(args.eval_file, ddir, D.DEV_TSV)
    _check_targets(args, ddir)
    rows = D.read_tsv(eval_path, vocab, answers=None)
    t = args.length
    results = []
    for wiring in WIRINGS:
        for m in args.bottleneck_dims:
            if m > D.BLOCK_SIZE:
                raise UserError(f"bottleneck size {m} exceeds the block ({D.BLOCK_SIZE})")
            torch.manual_seed(args.seed)
            model = GPT(GPTConfig(vocab_size=len(vocab), n_layer=4, n_head=2, n_embd=args.n_embd, dropout=0.0,
                                  variant="perceiver", bottleneck_dim=m, perceiver_wiring=wiring))
            predicted = dependence_from_masks(model, t)
            measured = dependence_from_gradients(model, t, seed=args.seed)
            agree = torch.equal(predicted, measured)
            results.append({"wiring": wiring, "m": m, "length": t, "masks_equal_gradients": agree,
                            "rule": describe_rule(predicted, m), **question_impact(rows, m)})
            print(f"wiring {wiring:<8} m={m:<4} masks vs gradients over {t} positions: "
                  f"{'agree' if agree else 'DISAGREE'}; {results[-1]['rule']}")
    print(f"On {eval_path.name}: a position j >= m sees inputs 0..m-1 and itself only, so a name ending "
          f"at position >= m is partly invisible to every answer position:")
    for r in results:
        if r["wiring"] == WIRINGS[0]:
            print(f"  m={r['m']:<4} names ending at >= m: {r['name_ends_at_or_after_m']:>3}/{r['questions']}; "
                  f"answers reaching position m: {r['answer_reaches_position_m']:>3}/{r['questions']}")
    if not args.no_record:
        record = {"name": "receptive-field", "kind": "receptive-field-analysis", "command": command_line(args.argv),
                  "eval_file": _display(eval_path), "seed": args.seed, "results": results}
        record["commit"] = git_commit()
        path = Path(args.results_dir or DEFAULT_RESULTS_DIR / "analysis") / "receptive-field.json"
        atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        print(f"record: {path}")
    return 0


def cmd_attention_entropy(args) -> int:
    from .attention_entropy import attention_stats, summary
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    labels = args.labels or [Path(c).parent.name for c in args.checkpoints]
    if len(labels) != len(args.checkpoints):
        raise UserError(f"--labels gives {len(labels)} names for {len(args.checkpoints)} checkpoints")
    _check_targets(args, ddir)
    examples = D.PretrainDataset(D.read_wiki(ddir / D.WIKI), vocab, seed=args.seed)
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(args.seed))[:args.examples]
    x = torch.stack([examples.get(int(i), 0)[0] for i in order])
    models = []
    for path, label in zip(args.checkpoints, labels):
        model, info = load_model(path, vocab, variant="vanilla", n_head=args.n_head)
        stats = attention_stats(model, x)
        layers = summary(stats)
        keep = ("steps", "recipe", "wall_seconds", "faithful", "command", "settings")
        models.append({"label": label, "checkpoint": _display(Path(path)), "config": describe(model.config),
                       "checkpoint_info": {k: info[k] for k in keep if k in info}, "layers": layers, "heads": stats})
        print(f"{label} ({describe(model.config)}, {info.get('steps', '?')} steps)")
        for row in layers:
            print(f"  layer {row['layer']}: mean entropy {row['entropy']:.2f} nats, mean largest weight "
                  f"{row['max_weight']:.2f}, largest |logit| {row['max_logit']:.0f}, mean |ln1 gain| {row['ln1_gain']:.2f}")
    if not args.no_record:
        record = {"name": "attention-entropy", "kind": "attention-entropy-analysis", "command": command_line(args.argv),
                  "commit": git_commit(), "examples": len(x), "seed": args.seed,
                  "uniform_entropy_at_64_keys": math.log(64), "models": models}
        path = Path(args.results_dir or DEFAULT_RESULTS_DIR / "analysis") / "attention-entropy.json"
        atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        print(f"record: {path}")
    return 0


# ---------------------------------------------------------------------------- parser


def build_parser() -> Parser:
    parser = Parser(prog="models", description="The birthplace model of MODEL.md: data, training, evaluation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    def add(name, help_text, func):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", help="data folder (default: $ATTNLAB_DATA, else ../shared/data)")
        return p

    def record_options(p, default_name=None):
        p.add_argument("--name", default=default_name,
                       help="result record name: <results-dir>/<name>.json" +
                            (f" (default {default_name})" if default_name else
                             " (default: the run's name, with -unfaithful unless faithful to MODEL.md)"))
        p.add_argument("--results-dir", type=Path,
                       help="folder for result records (default runs/results; the committed evidence that the report "
                            "reads is report/results, written only when named here)")

    p = add("examples", "print training examples as JSON lines {\"x\": ..., \"y\": ...}", cmd_examples)
    p.add_argument("--kind", choices=("pretrain", "finetune"), required=True, help="which dataset")
    p.add_argument("--count", type=positive_int, default=5, help="how many examples (default 5)")
    p.add_argument("--start", type=nonnegative_int, default=0, help="first example index (default 0)")
    p.add_argument("--seed", type=seed_int, default=0, help="data seed, as in training (default 0)")
    p.add_argument("--epoch", type=nonnegative_int, default=0,
                   help="epoch (span corruption draws afresh each epoch; default 0)")
    p.add_argument("--train-file", help="finetuning TSV (default birth_places_train.tsv)")

    p = add("pretrain", "pretrain on wiki.txt with span corruption", cmd_pretrain)
    _model_options(p)
    _train_options(p, "650 epochs, batch 128, lr 6e-3")

    p = add("finetune", "finetune on the birthplace questions, then evaluate on the dev set", cmd_finetune)
    p.add_argument("--pretrained", type=Path, metavar="CKPT",
                   help="start from this checkpoint (own or course format); its variant is read from it")
    _model_options(p)
    _train_options(p, "75 epochs without pretraining, 10 after it, batch 256, lr 6e-4")
    p.add_argument("--train-file", help="finetuning TSV (default birth_places_train.tsv)")
    p.add_argument("--eval-file", help="TSV with answers to evaluate on (default birth_dev.tsv)")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
    p.add_argument("--outputs", type=Path, help="predictions file (default <out>/predictions.txt)")
    p.add_argument("--eval-batch-size", type=positive_int, default=512,
                   help="questions decoded together (default 512; predictions do not depend on it)")
    record_options(p)

    p = add("evaluate", "greedy predictions for a question file, with accuracy when it has answers", cmd_evaluate)
    p.add_argument("--checkpoint", type=Path, required=True,
                   help="model.safetensors of a run, or a course state dict (.params saved by torch.save)")
    p.add_argument("--eval-file", type=Path, required=True, help="TSV of questions, with or without answers")
    p.add_argument("--outputs", type=Path, required=True, help="write one prediction per line here")
    p.add_argument("--batch-size", dest="eval_batch_size", type=positive_int, default=512,
                   help="questions decoded together (default 512; predictions do not depend on it)")
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="precision (default fp32)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    threads_option(p)
    p.add_argument("--variant", choices=VARIANTS, help="fail unless the checkpoint is this variant")
    p.add_argument("--perceiver-wiring", choices=WIRINGS,
                   help="wiring of a course-format perceiver (its keys cannot tell); own checkpoints store it")
    p.add_argument("--n-head", type=positive_int, help="heads of a course-format checkpoint (default 8)")
    p.add_argument("--recipe", choices=("no-pretraining", "pretrain-finetune"),
                   help="recipe for the record when the checkpoint does not say (course format)")
    p.add_argument("--no-record", action="store_true", help="write no result record")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--bio-completion", action="store_true",
                   help="also probe memory: complete each person's wiki.txt line, as the model was trained on it, up to "
                        "the answer (models.evaluate.bio_completion); memorised but not answered shows as a high "
                        "probe and a low accuracy")
    p.add_argument("--name-recall", action="store_true",
                   help="also probe memory from the name alone: let the model continue the start of the person's line "
                        "(\"Where was Name born? \" in question form) for 100 characters and look for the answer "
                        "(models.evaluate.name_recall); the answers it holds but the question does not reach")
    p.add_argument("--recital", action="store_true",
                   help="a recall-form recipe's model only: how often it writes the person's sentence exactly before "
                        "its answer, and how often the answer then follows (models.evaluate.recital)")
    record_options(p)

    p = add("london", "the London baseline: predict London for every question", cmd_london)
    p.add_argument("--eval-file", help="TSV with answers (default birth_dev.tsv)")
    p.add_argument("--outputs", type=Path, help="also write the predictions here")
    p.add_argument("--no-record", action="store_true", help="write no result record")
    record_options(p, "london")

    p = add("nearest-name", "claim Q3c as a baseline: the birthplace of the most similar training name",
            cmd_nearest_name)
    p.add_argument("--train-file", help="TSV whose names and places are looked up (default birth_places_train.tsv)")
    p.add_argument("--eval-file", help="TSV with answers (default birth_dev.tsv)")
    p.add_argument("--outputs", type=Path, help="also write the predictions here")
    p.add_argument("--no-record", action="store_true", help="write no result record")
    record_options(p, "nearest-name")

    p = add("bench", "training tokens/s (pretraining and finetuning shapes) and evaluation examples/s", cmd_bench)
    p.add_argument("--compare", action="store_true",
                   help="baseline vs fast path on the same batches, one process: both throughputs and their ratio")
    p.add_argument("--quick", action="store_true",
                   help="with --compare: 1 timed step, no whole epoch (estimated), 10 baseline questions")
    p.add_argument("--no-epoch", action="store_true",
                   help="with --compare: estimate the fast pretraining epoch from the timed steps instead of running it")
    p.add_argument("--stages", type=_bench_stages, default=None,
                   help="with --compare: comma-separated stages to measure (default pretrain,finetune,evaluate)")
    p.add_argument("--bf16", action="store_true",
                   help="with --compare: also time the fast training path under bf16 autocast (not exact, so never "
                        "a default; a speed-up only on CPUs with native bf16, e.g. AVX-512 BF16)")
    p.add_argument("--eval-checkpoint", action="append", metavar="CKPT",
                   help="with --compare: decode with this trained model (either format) in its variant's evaluation "
                        "row instead of an untrained one, whose questions never stop early; once per variant")
    p.add_argument("--eval-baseline-count", type=positive_int,
                   help="with --compare: questions decoded one at a time for the baseline (default 50; quick 10)")
    p.add_argument("--variants", type=lambda s: [v for v in s.split(",") if v], default=list(VARIANTS),
                   help="comma-separated variants (default vanilla,perceiver)")
    p.add_argument("--steps", type=positive_int,
                   help="timed training steps per row (default 2; with --compare --quick 1)")
    p.add_argument("--warmup", type=nonnegative_int, default=1, help="untimed steps first (default 1)")
    p.add_argument("--eval-count", type=positive_int,
                   help="dev questions decoded (default 64; with --compare all 500)")
    p.add_argument("--eval-batch-size", type=positive_int, default=512, help="questions decoded together (default 512)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    threads_option(p)
    p.add_argument("--seed", type=seed_int, default=0, help="seed (default 0)")
    p.add_argument("--json", action="store_true", help='print {"rows": [...]} instead of a table')

    from .pipeline import add_parser as add_pipeline
    add_pipeline(sub, add)
    from .recipe import add_parser as add_recipe
    add_recipe(sub, add)

    p = add("attention-entropy", "how sharp each head's attention is in trained vanilla checkpoints (entropy, "
                                 "largest weight, largest logit), on pretraining examples", cmd_attention_entropy)
    p.add_argument("checkpoints", nargs="+", help="vanilla checkpoints (either format)")
    p.add_argument("--labels", type=lambda s: [v for v in s.split(",") if v],
                   help="comma-separated names, one per checkpoint (default each checkpoint's folder name)")
    p.add_argument("--examples", type=positive_int, default=256, help="pretraining examples measured (default 256)")
    p.add_argument("--n-head", type=positive_int, help="heads of a course-format checkpoint (default 8, MODEL.md's)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the examples' draw (default 0)")
    threads_option(p)
    p.add_argument("--no-record", action="store_true", help="write no record")
    p.add_argument("--results-dir", type=Path, help="folder for the record (default runs/results/analysis; the report reads "
                        "report/results/analysis, written only when named here)")

    p = add("receptive-field", "perceiver: which inputs each output sees, from masks and by gradients",
            cmd_receptive_field)
    p.add_argument("--bottleneck-dims", type=int_list, default=[8, 32, 64],
                   help="comma-separated m values (default 8,32,64)")
    p.add_argument("--length", type=positive_int, default=D.BLOCK_SIZE, help="input length checked (default 128)")
    p.add_argument("--n-embd", type=positive_int, default=16, help="width of the random model checked (default 16)")
    p.add_argument("--eval-file", help="questions whose names are measured (default birth_dev.tsv)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the random model (default 0)")
    threads_option(p)
    p.add_argument("--no-record", action="store_true", help="write no record")
    p.add_argument("--results-dir", type=Path, help="folder for the record (default runs/results/analysis; the report reads "
                        "report/results/analysis, written only when named here)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            stream.reconfigure(encoding="utf-8")
    started = time.monotonic()
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv
        args.started = started
        if getattr(args, "variants", None):
            bad = [v for v in args.variants if v not in VARIANTS]
            if bad:
                raise UsageError(f"argument --variants: unknown variant {bad[0]!r} (use {', '.join(VARIANTS)})")
        if getattr(args, "length", None) is not None and args.length > D.BLOCK_SIZE:
            raise UsageError(f"argument --length: at most the block size {D.BLOCK_SIZE}")
        if getattr(args, "threads", None):
            torch.set_num_threads(args.threads)
        retain_freed_memory()
        remember_commit()  # records name the code that started, however long the run
        if args.command == "pipeline":
            from .pipeline import check_stages
            check_stages(args)
            args.models_main = main  # the pipeline runs its stages through this entry point
        return args.func(args)
    except (UsageError, UserError) as e:
        print(f"models: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of the output has gone: not a mistake (python -m models ends quietly)
        raise
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"models: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("models: interrupted", file=sys.stderr)
        return 130
