"""`python -m models nearest-name`: claim Q3c as a baseline, the birthplace of the most similar
training name."""

from __future__ import annotations

import time
from pathlib import Path

from .. import data as D
from ..evaluate import accuracy, correct_line
from ..fileio import write_lines
from ..results import check_name, command_line, new_record, write_record
from .common import add_record_options, check_targets, data_file, display_path


def run(args) -> int:
    """`python -m models nearest-name` with the parsed `args`; returns the exit status (0)."""
    from ..baselines import name_of, nearest_name
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    train_path = data_file(args.train_file, ddir, D.TRAIN_TSV)
    eval_path = data_file(args.eval_file, ddir, D.DEV_TSV)
    check_targets(args, ddir)
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
            dev_total=total, eval_file=display_path(eval_path),
            train_file=display_path(train_path), unseen_names=unseen,
            similarity="cosine of lower-cased character-trigram counts of the name; ties to the earliest line",
            examples=[{"question": rows[i].question, "nearest": train[idx[i]].question, "prediction": preds[i],
                       "answer": rows[i].answer} for i in range(3)],
            note="the answer sheet's strategy for unseen names (claim Q3c); not part of MODEL.md")
        print(f"record: {write_record(record, args.results_dir)}")
    return 0


def add_parser(sub, add) -> None:
    """Register `nearest-name` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("nearest-name", "claim Q3c as a baseline: the birthplace of the most similar training name",
            run)
    p.add_argument("--train-file", help="TSV whose names and places are looked up (default birth_places_train.tsv)")
    p.add_argument("--eval-file", help="TSV with answers (default birth_dev.tsv)")
    p.add_argument("--outputs", type=Path, help="also write the predictions here")
    p.add_argument("--no-record", action="store_true", help="write no result record")
    add_record_options(p, "nearest-name")
