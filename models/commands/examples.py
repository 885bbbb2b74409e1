"""`python -m models examples`: training examples as the model sees them, one JSON line each."""

from __future__ import annotations

import json

from .. import data as D
from ..fileio import UserError
from ..options import nonnegative_int, positive_int, seed_int
from .common import data_file


def run(args) -> int:
    """`python -m models examples` with the parsed `args`; returns the exit status (0)."""
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    if args.kind == "pretrain":
        ds = D.PretrainDataset(D.read_wiki(ddir / D.WIKI), vocab, seed=args.seed)
    else:
        path = data_file(args.train_file, ddir, D.TRAIN_TSV)
        ds = D.FinetuneDataset(D.read_tsv(path, vocab, answers=True), vocab)
    if args.start + args.count > len(ds):
        raise UserError(f"--start {args.start} --count {args.count} asks for more than the {len(ds)} examples")
    for i in range(args.start, args.start + args.count):
        x, y = ds.strings(i, args.epoch)
        print(json.dumps({"x": x, "y": y}, ensure_ascii=False))
    return 0


def add_parser(sub, add) -> None:
    """Register `examples` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("examples", "print training examples as JSON lines {\"x\": ..., \"y\": ...}", run)
    p.add_argument("--kind", choices=("pretrain", "finetune"), required=True, help="which dataset")
    p.add_argument("--count", type=positive_int, default=5, help="how many examples (default 5)")
    p.add_argument("--start", type=nonnegative_int, default=0, help="first example index (default 0)")
    p.add_argument("--seed", type=seed_int, default=0, help="data seed, as in training (default 0)")
    p.add_argument("--epoch", type=nonnegative_int, default=0,
                   help="epoch (span corruption draws afresh each epoch; default 0)")
    p.add_argument("--train-file", help="finetuning TSV (default birth_places_train.tsv)")
