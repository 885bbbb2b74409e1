"""`python -m models receptive-field`: which inputs each perceiver output sees, from the masks
and by gradients, with an analysis record."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .. import data as D
from ..fileio import UserError, atomic_write_text
from ..model import WIRINGS, GPT, GPTConfig
from ..options import int_list, positive_int, seed_int, threads_option
from ..results import DEFAULT_RESULTS_DIR, command_line, git_commit
from .common import check_targets, data_file, display_path


def run(args) -> int:
    """`python -m models receptive-field` with the parsed `args`; returns the exit status (0)."""
    from ..receptive_field import dependence_from_gradients, dependence_from_masks, describe_rule, question_impact
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    eval_path = data_file(args.eval_file, ddir, D.DEV_TSV)
    check_targets(args, ddir)
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
                  "eval_file": display_path(eval_path), "seed": args.seed, "results": results}
        record["commit"] = git_commit()
        path = Path(args.results_dir or DEFAULT_RESULTS_DIR / "analysis") / "receptive-field.json"
        atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        print(f"record: {path}")
    return 0


def _length(text: str) -> int:
    """--length: a positive integer, at most the block size."""
    length = positive_int(text)
    if length > D.BLOCK_SIZE:
        raise argparse.ArgumentTypeError(f"at most the block size {D.BLOCK_SIZE}")
    return length


def add_parser(sub, add) -> None:
    """Register `receptive-field` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("receptive-field", "perceiver: which inputs each output sees, from masks and by gradients",
            run)
    p.add_argument("--bottleneck-dims", type=int_list, default=[8, 32, 64],
                   help="comma-separated m values (default 8,32,64)")
    p.add_argument("--length", type=_length, default=D.BLOCK_SIZE, help="input length checked (default 128)")
    p.add_argument("--n-embd", type=positive_int, default=16, help="width of the random model checked (default 16)")
    p.add_argument("--eval-file", help="questions whose names are measured (default birth_dev.tsv)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the random model (default 0)")
    threads_option(p)
    p.add_argument("--no-record", action="store_true", help="write no record")
    p.add_argument("--results-dir", type=Path, help="folder for the record (default runs/results/analysis; the report reads "
                        "report/results/analysis, written only when named here)")
