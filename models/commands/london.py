"""`python -m models london`: the London baseline, London for every question."""

from __future__ import annotations

import time
from pathlib import Path

from .. import data as D
from ..evaluate import accuracy, correct_line
from ..fileio import write_lines
from ..results import check_name, command_line, new_record, write_record
from .common import add_record_options, check_targets, data_file, display_path, is_default_file


def run(args) -> int:
    """`python -m models london` with the parsed `args`; returns the exit status (0)."""
    from ..baselines import london
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    eval_path = data_file(args.eval_file, ddir, D.DEV_TSV)
    check_targets(args, ddir)
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
                            faithful=is_default_file(eval_path, ddir, D.DEV_TSV), device="cpu",
                            command=command_line(args.argv), seed=None, wall_seconds=seconds, steps=0,
                            dev_correct=correct, dev_total=total, eval_file=display_path(eval_path))
        print(f"record: {write_record(record, args.results_dir)}")
    return 0


def add_parser(sub, add) -> None:
    """Register `london` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("london", "the London baseline: predict London for every question", run)
    p.add_argument("--eval-file", help="TSV with answers (default birth_dev.tsv)")
    p.add_argument("--outputs", type=Path, help="also write the predictions here")
    p.add_argument("--no-record", action="store_true", help="write no result record")
    add_record_options(p, "london")
