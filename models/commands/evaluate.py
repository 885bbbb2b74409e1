"""`python -m models evaluate`: greedy predictions of a checkpoint (own or course format), with
the accuracy, the memory probes and a result record when the questions have answers."""

from __future__ import annotations

from pathlib import Path

from .. import data as D
from ..checkpoint import load_model
from ..evaluate import (accuracy, bio_completion, bio_completion_line, correct_line, name_recall, name_recall_line,
                        recital, recital_line)
from ..fileio import UserError, write_lines
from ..model import VARIANTS, WIRINGS
from ..options import positive_int, threads_option
from ..record import RECORD_KINDS
from ..results import check_name, command_line, new_record, write_record
from ..train import device_name, pick_device
from .common import add_record_options, check_targets, display_path, evaluate_rows, is_default_file, record_name


def run(args) -> int:
    """`python -m models evaluate` with the parsed `args`; returns the exit status (0)."""
    ddir = D.data_dir(args.data_dir)
    vocab = D.load_vocab(ddir)
    eval_path = Path(args.eval_file)
    rows = D.read_tsv(eval_path, vocab, answers=None)
    name = None if args.name is None else check_name(args.name)
    check_targets(args, ddir)
    device = pick_device(args.device)
    model, info = load_model(args.checkpoint, vocab, variant=args.variant, perceiver_wiring=args.perceiver_wiring,
                             n_head=args.n_head)
    # a recipe trained to write the sentence before the answer is read the same way
    answer_form = (info.get("settings") or {}).get("answer_form", "direct")
    if answer_form not in D.ANSWER_FORMS:
        raise UserError(f"{args.checkpoint}: trained on answer form {answer_form!r}, which this version does not know "
                        f"({', '.join(D.ANSWER_FORMS)})")
    preds, eval_seconds = evaluate_rows(model, vocab, rows, args, device, args.dtype, answer_form)
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
    faithful = bool(info.get("faithful")) and args.dtype == "fp32" and is_default_file(eval_path, ddir, D.DEV_TSV)
    record = new_record(
        name=record_name(name, default_name, faithful), variant=model.config.variant, recipe=recipe,
        faithful=faithful, device=device_name(device), command=command_line(args.argv), seed=info.get("seed"),
        wall_seconds=eval_seconds, steps=info.get("steps", 0) or 0, dev_correct=correct, dev_total=total,
        config=model.config.to_dict(), checkpoint=display_path(ckpt),
        checkpoint_format=info.get("format"), n_head_source=info.get("n_head_source"),
        **({"stripped_prefix": info["stripped_prefix"]} if info.get("stripped_prefix") else {}),
        eval_file=display_path(eval_path), predictions=display_path(args.outputs),
        dtype=args.dtype, pretrained=info.get("pretrained"), decoding="batched greedy, key/value cache (models/decode.py)",
        **({"bio_completion": probe} if probe else {}), **({"name_recall": recall} if recall else {}),
        **({"recital": recited} if recited else {}))
    print(f"record: {write_record(record, args.results_dir)}")
    return 0


def add_parser(sub, add) -> None:
    """Register `evaluate` and its flags: `add(name, help, run)` (models.cli) returns its subparser."""
    p = add("evaluate", "greedy predictions for a question file, with accuracy when it has answers", run)
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
    add_record_options(p)
