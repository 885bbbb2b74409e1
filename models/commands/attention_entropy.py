"""`python -m models attention-entropy`: how sharp each head's attention is in trained vanilla
checkpoints, with an analysis record."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from .. import data as D
from ..checkpoint import describe, load_model
from ..fileio import UserError, atomic_write_text
from ..options import positive_int, seed_int, threads_option
from ..results import DEFAULT_RESULTS_DIR, command_line, git_commit
from .common import check_targets, display_path


def run(args) -> int:
    """`python -m models attention-entropy` with the parsed `args`; returns the exit status (0)."""
    from ..attention_entropy import attention_stats, summary
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    labels = args.labels or [Path(c).parent.name for c in args.checkpoints]
    if len(labels) != len(args.checkpoints):
        raise UserError(f"--labels gives {len(labels)} names for {len(args.checkpoints)} checkpoints")
    check_targets(args, ddir)
    examples = D.PretrainDataset(D.read_wiki(ddir / D.WIKI), vocab, seed=args.seed)
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(args.seed))[:args.examples]
    x = torch.stack([examples.get(int(i), 0)[0] for i in order])
    models = []
    for path, label in zip(args.checkpoints, labels):
        model, info = load_model(path, vocab, variant="vanilla", n_head=args.n_head)
        stats = attention_stats(model, x)
        layers = summary(stats)
        keep = ("steps", "recipe", "wall_seconds", "faithful", "command", "settings")
        models.append({"label": label, "checkpoint": display_path(Path(path)), "config": describe(model.config),
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


def add_parser(sub, add) -> None:
    """Register `attention-entropy` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("attention-entropy", "how sharp each head's attention is in trained vanilla checkpoints (entropy, "
                                 "largest weight, largest logit), on pretraining examples", run)
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
