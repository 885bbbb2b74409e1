"""`python -m models bench`: training tokens/s and evaluation examples/s, or (--compare) the
baseline step against the fast one (docs/speed.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from .. import data as D
from ..checkpoint import describe, load_model
from ..fast import malloc_mode
from ..fileio import UserError
from ..model import VARIANTS
from ..options import nonnegative_int, positive_int, seed_int, threads_option
from ..results import command_line, cpu_features, cpu_name
from ..train import device_name, pick_device
from .common import display_path


def _bench_stages(text: str) -> list[str]:
    from ..bench import STAGES
    stages = [s for s in text.split(",") if s]
    wrong = [s for s in stages if s not in STAGES]
    if wrong or not stages:
        raise argparse.ArgumentTypeError(f"stages are {', '.join(STAGES)}, not {text!r}")
    return stages


def run(args) -> int:
    """`python -m models bench` with the parsed `args`; returns the exit status (0)."""
    from ..bench import format_rows, run_bench
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
    from ..bench import STAGES, format_compare, run_compare
    eval_models = {}
    for path in args.eval_checkpoint or []:
        model, _ = load_model(path, vocab)
        if model.config.variant in eval_models:
            raise UserError(f"two --eval-checkpoint files are {model.config.variant} models; give one per variant")
        eval_models[model.config.variant] = (model, f"{display_path(Path(path))} ({describe(model.config)})")
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


def _variant_list(text: str) -> list[str]:
    """--variants: comma-separated names of VARIANTS."""
    variants = [v for v in text.split(",") if v]
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown variant {bad[0]!r} (use {', '.join(VARIANTS)})")
    return variants


def add_parser(sub, add) -> None:
    """Register `bench` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("bench", "training tokens/s (pretraining and finetuning shapes) and evaluation examples/s", run)
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
    p.add_argument("--variants", type=_variant_list, default=list(VARIANTS),
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
