"""`python -m models finetune`: finetuning on the birthplace questions, from scratch or a
pretrained checkpoint, then the dev evaluation and its result record."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .. import data as D
from ..checkpoint import describe, load_model
from ..evaluate import accuracy, correct_line
from ..fileio import UserError, write_lines
from ..model import GPT, GPTConfig
from ..options import positive_int
from ..results import check_name, check_record_free, command_line, new_record, write_record
from ..train import device_name, pick_device
from .common import (add_record_options, check_targets, data_file, display_path, evaluate_rows, is_default_file,
                     publish_logs, record_name)
from .training import (TrainingOptions, add_model_options, add_train_options, from_command_line, new_config, open_run,
                       train_and_save)


def finetune(args: TrainingOptions) -> int:
    """Finetune as `args` say (TrainingOptions; the pipeline calls this directly), then predict
    the dev set and write the result record (models.record.Record) unless args.no_eval.
    Returns the exit status (0); a user's mistake raises UserError."""
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    train_path = data_file(args.train_file, ddir, D.TRAIN_TSV)
    train_rows = D.read_tsv(train_path, vocab, answers=True)
    eval_path = None if args.no_eval else data_file(args.eval_file, ddir, D.DEV_TSV)
    eval_rows = None if eval_path is None else D.read_tsv(eval_path, vocab, answers=True)
    name = None if args.name is None else check_name(args.name)
    check_targets(args, ddir)
    device = pick_device(args.device)

    def make_model():
        if args.pretrained is None:
            config = new_config(args, vocab)
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
        pre = {"path": display_path(args.pretrained), "format": pinfo.get("format"), "steps": pinfo.get("steps"),
               "wall_seconds": pinfo.get("wall_seconds"), "faithful": bool(pinfo.get("faithful")),
               "recipe": pinfo.get("recipe")}
        return model, {"kind": "finetune", "pretrained": pre, "faithful_config": pre["faithful"]}

    run = open_run(args, vocab, "finetune", make_model,
                   lambda info: "pretrain-finetune" if info.get("pretrained") else "no-pretraining")
    if run.info["limit"] is not None:
        train_rows = train_rows[:run.info["limit"]]
    if eval_rows is not None:  # a committed record is never replaced: refused now, not after the training
        for faithful in (True, False):  # faithfulness is known only after the training: both possible names
            check_record_free(record_name(name, run.out_dir.name, faithful), args.results_dir)
    dataset = D.FinetuneDataset(train_rows, vocab)
    complete = train_and_save(run, dataset, device, args, is_default_file(train_path, ddir, D.TRAIN_TSV))
    print(f"finetuned {describe(run.model.config)} ({run.info['recipe']}): {run.step} steps in "
          f"{run.wall_seconds:.1f} s -> {run.model_path}")
    if not complete and args.time_limit:
        print(f"stopped at the time limit after step {run.step}: add --resume to continue (no evaluation yet)")
        return 0
    if eval_rows is None:
        return 0
    preds, eval_seconds = evaluate_rows(run.model, vocab, eval_rows, args, device)
    outputs = args.outputs or run.out_dir / "predictions.txt"
    write_lines(outputs, preds)
    correct, total = accuracy(preds, [r.answer for r in eval_rows])
    print(correct_line(correct, total))
    faithful = run.info["faithful"] and is_default_file(eval_path, ddir, D.DEV_TSV)
    pre = run.info.get("pretrained")
    chosen = record_name(name, run.out_dir.name, faithful)
    logs = publish_logs(args.results_dir, chosen, run.log_path,
                        args.pretrained and Path(args.pretrained).parent / "metrics.jsonl")
    record = new_record(
        name=chosen, variant=run.model.config.variant, recipe=run.info["recipe"], faithful=faithful,
        device=device_name(device), command=command_line(args.argv), seed=run.cfg.seed,
        wall_seconds=run.wall_seconds + eval_seconds, steps=run.step, dev_correct=correct, dev_total=total,
        config=run.model.config.to_dict(), train_config=asdict(run.cfg),
        train_seconds=round(run.wall_seconds, 3), eval_seconds=round(eval_seconds, 3),
        eval_file=display_path(eval_path), predictions=display_path(outputs), checkpoint=display_path(run.model_path),
        metrics_log=logs.get("finetune"), pretrain_metrics_log=logs.get("pretrain"), run_dir=display_path(run.out_dir),
        limit=run.info["limit"], pretrained=pre, dtype="fp32", train_speed=run.info.get("speed"),
        decoding="batched greedy, key/value cache (models/decode.py)")
    print(f"record: {write_record(record, args.results_dir)}")
    return 0


def add_parser(sub, add) -> None:
    """Register `finetune` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("finetune", "finetune on the birthplace questions, then evaluate on the dev set", from_command_line(finetune))
    p.add_argument("--pretrained", type=Path, metavar="CKPT",
                   help="start from this checkpoint (own or course format); its variant is read from it")
    add_model_options(p)
    add_train_options(p, "75 epochs without pretraining, 10 after it, batch 256, lr 6e-4")
    p.add_argument("--train-file", help="finetuning TSV (default birth_places_train.tsv)")
    p.add_argument("--eval-file", help="TSV with answers to evaluate on (default birth_dev.tsv)")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
    p.add_argument("--outputs", type=Path, help="predictions file (default <out>/predictions.txt)")
    p.add_argument("--eval-batch-size", type=positive_int, default=512,
                   help="questions decoded together (default 512; predictions do not depend on it)")
    add_record_options(p)
