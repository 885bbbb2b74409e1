"""`python -m models pretrain`: pretraining on wiki.txt with span corruption (MODEL.md)."""

from __future__ import annotations

import torch

from .. import data as D
from ..checkpoint import describe
from ..model import GPT
from ..train import pick_device
from .common import check_targets
from .training import (TrainingOptions, add_model_options, add_train_options, from_command_line, new_config, open_run,
                       train_and_save)


def pretrain(args: TrainingOptions) -> int:
    """Pretrain as `args` say (TrainingOptions; the pipeline calls this directly): a new run, or
    the one in args.out resumed; a checkpoint at the end, at --save-every and at --time-limit.
    Returns the exit status (0); a user's mistake raises UserError."""
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    lines = D.read_wiki(ddir / D.WIKI)
    check_targets(args, ddir)
    device = pick_device(args.device)

    def make_model():
        config = new_config(args, vocab)
        torch.manual_seed(0 if args.seed is None else args.seed)
        return GPT(config), {"kind": "pretrain"}

    run = open_run(args, vocab, "pretrain", make_model, lambda info: "pretrain")
    if run.info["limit"] is not None:
        lines = lines[:run.info["limit"]]
    dataset = D.PretrainDataset(lines, vocab, seed=run.cfg.seed)
    complete = train_and_save(run, dataset, device, args)
    print(f"pretrained {describe(run.model.config)}: {run.step} steps in {run.wall_seconds:.1f} s -> "
          f"{run.model_path}")
    if not complete and args.time_limit:
        print(f"stopped at the time limit after step {run.step}: add --resume to continue")
    return 0


def add_parser(sub, add) -> None:
    """Register `pretrain` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("pretrain", "pretrain on wiki.txt with span corruption", from_command_line(pretrain))
    add_model_options(p)
    add_train_options(p, "650 epochs, batch 128, lr 6e-3")
