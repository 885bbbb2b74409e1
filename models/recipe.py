"""`python -m models recipe NAME`: a named training recipe, trained and evaluated in one
command, timed from start to the last dev prediction, with one result record.

A recipe is a deliberate departure from MODEL.md (records say `faithful: false` and hold every
setting), made to reach the best dev accuracy within a wall-time budget on a given machine.
`cpu-60` is the one for 60 minutes on 2 CPU cores. `--set key=value` changes any setting, which
is how the ablation candidates are run: each is a record with its settings, so the report can
put them side by side. From Python: `run(recipe, RecipeRun(...), on_dev=None) -> Record`.

Levers, each a setting of Recipe (MODEL.md's value in brackets; what each did, measured:
docs/cpu-recipe.md, "The levers, setting by setting"):
  model size      n_layer, n_head, n_embd [4, 8, 256]
  dropout         [0.1]
  schedule        once: warm-up, one cosine decay over the run [course: cyclic]
  lr_floor        the schedule's lowest multiplier [0.1]
  mix_questions   copies of the training questions mixed into every pretraining epoch [0]
  position_shift  each pretraining example starts at a random position 0..shift [0]
  finetune_*      a finetune after pretraining [10 epochs, batch 256, lr 6e-4]
  qk_norm         LayerNorm on queries and keys [off]
  line_form       pretraining lines in question form or as in wiki.txt [wiki]
  truncate_min    shortest truncation of a line before span corruption [4]
  head_crop       the chance that an example drops the words after the name [0]
  answer_form     what a mixed-in training question is followed by [direct]
  dtype           bf16 or fp32 pretraining [fp32]
  pretrain_epochs [650]
  weight_decay    [0.1]
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable

import torch

from . import data as D
from .checkpoint import describe
from .evaluate import (accuracy, bio_completion, bio_completion_line, correct_line, name_recall, name_recall_line,
                       predict, recital, recital_line)
from .fast import DTYPES, FAST
from .fileio import UserError, write_lines
from .options import positive_int, seed_int
from .record import Record
from .model import GPT, GPTConfig
from .results import (DEFAULT_RESULTS_DIR, RESULTS_DIR, check_committed_free, check_name, check_record_free, command_line,
                      new_record, write_record)
from .train import FINAL_TOKENS, WARMUP_TOKENS, Run, TrainConfig, device_name, pick_device

BLOCK_TOKENS = D.BLOCK_SIZE - 1  # target positions of one example: the schedule's token count


@dataclass(frozen=True)
class Recipe:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    variant: str = "vanilla"
    bottleneck_dim: int = 64
    perceiver_wiring: str = "default"
    qk_norm: bool = False  # LayerNorm on queries and keys (models.model.GPTConfig.qk_norm)
    pretrain_epochs: int = 130
    pretrain_batch: int = 32
    pretrain_lr: float = 3e-3
    schedule: str = "once"  # once | course
    warmup: float = 0.02  # once: fraction of each run's tokens spent warming up
    lr_floor: float = 0.0  # the schedule's lowest multiplier [course: 0.1, reached 80% into a once run]
    mix_questions: int = 1
    finetune_epochs: int = 0  # 0: evaluate the pretrained model as it is (needs mix_questions)
    finetune_batch: int = 64
    finetune_lr: float = 3e-4
    position_shift: int = 0  # pretraining examples start at a random position up to this (vanilla only)
    line_form: str = "question"  # question: each line as "Where was Title born? Sentence" (data.question_form) | wiki
    truncate_min: int = 80  # shortest span-corruption truncation (MODEL.md: 4, up to 112)
    head_crop: float = 0.0  # chance that an example drops the words between the name and a later word (data.crop_points)
    answer_form: str = "recall-through"  # direct: question ⁇ answer ⁇ | recall: question ⁇ sentence up to the answer ⁇ answer ⁇
    # | recall-through: question ⁇ sentence up to and with the answer ⁇ answer ⁇ (data.recall_answer)
    weight_decay: float = 0.01  # AdamW decoupled decay [0.1]; pretraining here is memorising facts
    decay: str = "linear"  # the recipe's measured rule (minGPT's); the course's trainer.py: all-but-bias
    shuffle: bool = True  # the recipe's measured order (a new one each epoch); the course's trainer.py: False
    dtype: str = "fp32"  # bf16: training under bf16 autocast (models.fast); evaluation stays fp32
    eval_every: int = 10  # pretraining epochs between dev evaluations (the accuracy-time curve); 0: none
    budget_seconds: float = 3600.0

    def __post_init__(self):
        if self.schedule not in ("once", "course"):
            raise ValueError(f"schedule must be once or course, not {self.schedule!r}")
        if self.answer_form not in D.ANSWER_FORMS:
            raise ValueError(f"answer_form must be one of {', '.join(D.ANSWER_FORMS)}, not {self.answer_form!r}")
        if self.line_form not in D.LINE_FORMS:
            raise ValueError(f"line_form must be one of {', '.join(D.LINE_FORMS)}, not {self.line_form!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {self.dtype!r}")
        if self.decay not in ("linear", "all-but-bias"):
            raise ValueError(f"decay must be linear or all-but-bias, not {self.decay!r}")
        if not 0 <= self.lr_floor <= 1:
            raise ValueError(f"lr_floor must be in [0, 1], not {self.lr_floor}")
        if not 0 <= self.warmup < 1:
            raise ValueError("warmup must be in [0, 1)")
        if self.position_shift and self.variant != "vanilla":
            raise ValueError("position_shift works on the vanilla model only")
        D.check_truncate_min(self.truncate_min)
        if not 0 <= self.head_crop <= 1:
            raise ValueError(f"head_crop must be in [0, 1], not {self.head_crop}")
        if not 0 <= self.position_shift < D.BLOCK_SIZE:
            raise ValueError(f"position_shift must be in 0..{D.BLOCK_SIZE - 1}")
        if self.finetune_epochs == 0 and self.mix_questions == 0:
            raise ValueError("with finetune_epochs 0 the questions must be mixed in (mix_questions >= 1)")
        for name in ("pretrain_epochs", "pretrain_batch", "finetune_batch", "n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("mix_questions", "finetune_epochs", "eval_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("pretrain_lr", "finetune_lr", "budget_seconds"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"{name} must be a positive number, not {getattr(self, name)}")
        if not 0 <= self.weight_decay < float("inf"):
            raise ValueError(f"weight_decay must be a non-negative number, not {self.weight_decay}")
        self.model_config(256)  # the model's own checks (heads dividing the width, dropout, m), before any work

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, block_size=D.BLOCK_SIZE, n_layer=self.n_layer, n_head=self.n_head,
                         n_embd=self.n_embd, dropout=self.dropout, variant=self.variant,
                         bottleneck_dim=self.bottleneck_dim, perceiver_wiring=self.perceiver_wiring,
                         qk_norm=self.qk_norm)

    def train_config(self, stage: str, n_examples: int, seed: int) -> TrainConfig:
        epochs, batch, lr = (self.pretrain_epochs, self.pretrain_batch, self.pretrain_lr) if stage == "pretrain" \
            else (self.finetune_epochs, self.finetune_batch, self.finetune_lr)
        if self.schedule == "once":
            final = epochs * n_examples * BLOCK_TOKENS  # every token the run will count
            warmup = int(self.warmup * final)
        else:
            final, warmup = FINAL_TOKENS, WARMUP_TOKENS
        return TrainConfig(epochs=epochs, batch_size=batch, lr=lr, weight_decay=self.weight_decay, seed=seed,
                           warmup_tokens=warmup, final_tokens=final, decay=self.decay, shuffle=self.shuffle,
                           position_shift=self.position_shift if stage == "pretrain" else 0,
                           lr_floor=self.lr_floor)


RECIPES = {
    # Chosen by the ablations in report/results (recipe records); measured at 60 min on 2 cores.
    "cpu-60": Recipe(),
}


def defined_settings(name: str) -> dict:
    """The settings of the named recipe as it is defined now (every field of Recipe), e.g. to
    compare a record's settings with (models.record.Record.settings_changed_from); KeyError for
    a name that is not a recipe."""
    return asdict(RECIPES[name])


SMOKE = dict(n_layer=2, n_head=2, n_embd=32, pretrain_epochs=2, pretrain_batch=16, finetune_epochs=1,
             finetune_batch=16, eval_every=1, budget_seconds=120.0)
SMOKE_LINES, SMOKE_DEV = 48, 20


TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def parse_settings(recipe: Recipe, pairs: list[str]) -> Recipe:
    """`key=value` pairs applied to `recipe`, each value parsed as the setting's type."""
    types = {f.name: type(getattr(recipe, f.name)) for f in fields(recipe)}
    changes = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in types:
            raise UserError(f"--set {pair!r}: expected key=value with key one of {', '.join(types)}")
        try:
            if types[key] is bool:
                if value.lower() not in TRUE | FALSE:
                    raise ValueError
                changes[key] = value.lower() in TRUE
            else:
                changes[key] = types[key](value)
        except ValueError:
            raise UserError(f"--set {pair!r}: {key} takes a {types[key].__name__}") from None
    try:
        return replace(recipe, **changes)
    except ValueError as e:
        raise UserError(f"--set: {e}") from None


def settings_changed(recipe: Recipe, base: Recipe) -> dict:
    return {k: v for k, v in asdict(recipe).items() if asdict(base)[k] != v}


@dataclass(frozen=True)
class RecipeRun:
    """How a recipe is run (what it trains is the Recipe): the named recipe it starts from
    (`recipe_name`, for the record), the seed, the record's name (None: default_record_name) and
    folder (None: runs/results, or runs/recipe-smoke/results with `smoke`), the run folder (None:
    runs/recipe/<name>), the device, the data folder, `smoke` (48 lines, 20 dev questions), progress
    bars, the command line the record names (None: this process's), and, for a sweep's trial,
    what the record says of it."""

    recipe_name: str = "cpu-60"
    seed: int = 0
    name: str | None = None
    results_dir: Path | None = None
    work: Path | None = None
    device: str = "cpu"
    data_dir: str | None = None
    smoke: bool = False
    progress: bool = True
    argv: list[str] | None = None
    sweep: dict | None = None  # a sweep trial's study, trial, params...: the record's `sweep` field

    def results_folder(self) -> Path:
        """Where the run's record goes: `results_dir`, else runs/recipe-smoke/results (smoke) or runs/results."""
        return self.results_dir or (D.REPO_ROOT / "runs" / "recipe-smoke" / "results" if self.smoke
                                    else DEFAULT_RESULTS_DIR)


def default_record_name(recipe: Recipe, options: RecipeRun) -> str:
    """recipe-<name>[-smoke][-custom]-seed<seed>: -custom when `recipe` differs from the named one
    (with the smoke sizes under --smoke), so that a changed recipe never replaces the recipe's own
    record."""
    base = RECIPES[options.recipe_name]
    if options.smoke:
        base = replace(base, **SMOKE)
    custom = "-custom" if settings_changed(recipe, base) else ""
    return "recipe-" + options.recipe_name + ("-smoke" if options.smoke else "") + custom + f"-seed{options.seed}"


def run_recipe(args) -> int:
    """The command line's entry: the named recipe with --set's changes, run (or --dry-run: its
    settings printed as JSON)."""
    base = RECIPES[args.recipe]
    if args.smoke:
        base = replace(base, **SMOKE)
    recipe = parse_settings(base, args.set or [])
    options = RecipeRun(recipe_name=args.recipe, seed=args.seed, name=args.name,
                        results_dir=Path(args.results_dir) if args.results_dir else None,
                        work=Path(args.work) if args.work else None, device=args.device, data_dir=args.data_dir,
                        smoke=args.smoke, progress=not args.no_progress, argv=args.argv)
    name = check_name(args.name or default_record_name(recipe, options))
    if args.dry_run:
        print(json.dumps({"name": name, "seed": args.seed, "settings": asdict(recipe),
                          "changed": settings_changed(recipe, RECIPES[args.recipe])}, indent=2))
        return 0
    run(recipe, replace(options, name=name))
    return 0


def run(recipe: Recipe, options: RecipeRun, on_dev: Callable[[int, int, int], None] | None = None) -> Record:
    """Train and evaluate `recipe` as `options` say, timed from this call to the last dev and test
    prediction, and write its result record (models.record.Record), which is returned. `on_dev`,
    when given, is called as on_dev(epoch, dev_correct, dev_total) after each dev evaluation during
    pretraining (every `eval_every` epochs, the record's `curve`); an exception it raises (e.g.
    optuna.TrialPruned) ends the run there, without a record. Raises UserError for a record name
    already committed, smoke records aimed at report/results, or missing data, before training."""
    started = time.perf_counter()
    seed = options.seed
    name = check_name(options.name or default_record_name(recipe, options))
    results = options.results_folder()
    if options.smoke and results.resolve() == RESULTS_DIR.resolve():
        raise UserError("smoke records never go to report/results: choose another --results-dir")
    check_record_free(name, results)  # before an hour of training, not after it
    prediction_paths = {kind: check_committed_free(results / "predictions" / f"{name}{suffix}.txt", "predictions file")
                        for kind, suffix in (("dev", ""), ("test", "-test"))}
    ddir = D.data_dir(options.data_dir)
    vocab = D.load_vocab(ddir)
    lines = D.read_wiki(ddir / D.WIKI)
    train_rows = D.read_tsv(ddir / D.TRAIN_TSV, vocab, answers=True)
    dev_rows = D.read_tsv(ddir / D.DEV_TSV, vocab, answers=True)
    test_rows = D.read_tsv(ddir / D.TEST_INPUTS, vocab, answers=False)
    if options.smoke:
        lines, train_rows, dev_rows = lines[:SMOKE_LINES], train_rows[:SMOKE_LINES], dev_rows[:SMOKE_DEV]
        test_rows = test_rows[:SMOKE_DEV]
    device = pick_device(options.device)
    work = options.work or D.REPO_ROOT / "runs" / "recipe" / name
    for stage in ("pretrain", "finetune"):  # a recipe is timed from scratch: never resumed
        shutil.rmtree(work / stage, ignore_errors=True)
    progress = options.progress
    questions = [r.question for r in dev_rows]
    answers = [r.answer for r in dev_rows]
    curve: list[dict] = []

    def evaluate(model) -> tuple[int, list[str]]:
        preds = predict(model, vocab, questions, batch_size=512, device=device, answer_form=recipe.answer_form)
        return accuracy(preds, answers)[0], preds

    projection: dict = {}

    def on_epoch(run: Run, epoch: int) -> None:
        done = epoch + 1
        now = time.perf_counter()
        if done == 1:
            projection["first_epoch_end"] = now
        elif done == 2 and recipe.pretrain_epochs > 2:  # the second epoch is the first without start-up costs
            per_epoch = now - projection["first_epoch_end"]
            projection["seconds"] = round(now - started + per_epoch * (recipe.pretrain_epochs - 2), 1)
            if projection["seconds"] > recipe.budget_seconds:
                fits = done + int((recipe.budget_seconds - (now - started)) / per_epoch)
                print(f"[recipe] warning: this machine needs about {per_epoch:.1f} s an epoch, so the "
                      f"{recipe.pretrain_epochs} epochs would end after about {projection['seconds'] / 60:.0f} min, past "
                      f"the {recipe.budget_seconds / 60:.0f}-minute budget; --set pretrain_epochs={max(fits, 1)} fits it "
                      "(the recipe's measurements: docs/cpu-recipe.md)", flush=True)
        if recipe.eval_every and (done % recipe.eval_every == 0 or done == recipe.pretrain_epochs):
            correct, _ = evaluate(run.model)
            curve.append({"stage": "pretrain", "epoch": done, "step": run.step,
                          "seconds": round(time.perf_counter() - started, 3), "dev_correct": correct})
            if on_dev is not None:  # what it raises (e.g. optuna.TrialPruned) ends the run here, without a record
                on_dev(done, correct, len(answers))
            print(("\n" if progress else "") + f"[recipe] pretraining epoch {done}: {correct}/{len(answers)} on the "
                  f"dev set after {time.perf_counter() - started:.0f} s", flush=True)

    torch.manual_seed(seed)
    model = GPT(recipe.model_config(len(vocab)))
    parameters = sum(p.numel() for p in model.parameters())
    form = D.LINE_FORMS[recipe.line_form]
    pretrain_set = D.PretrainDataset([form(l) for l in lines] if form else lines, vocab, seed=seed,
                                     truncate_min=recipe.truncate_min, head_crop=recipe.head_crop)
    left_out = 0
    if recipe.answer_form != "direct":
        train_rows, left_out = D.recall_rows(train_rows, lines, through=recipe.answer_form == "recall-through")
        print(f"[recipe] {recipe.answer_form} form: {len(train_rows)} training questions, {left_out} left out (the answer not in "
              f"the person's sentence, or too long for a block)", flush=True)
    question_set = D.FinetuneDataset(train_rows, vocab)
    mixed = D.MixedDataset(pretrain_set, question_set, recipe.mix_questions) if recipe.mix_questions else pretrain_set
    info = {"command": "recipe", "recipe": "cpu-recipe", "recipe_name": options.recipe_name, "seed": seed, "limit": None,
            "faithful": False, "faithful_config": False, "settings": asdict(recipe)}
    print(f"[recipe] {name}: {describe(model.config)}, {parameters:,} parameters; "
          f"pretraining {recipe.pretrain_epochs} epochs of {len(mixed)} examples", flush=True)
    pre = Run(work / "pretrain", model, vocab, recipe.train_config("pretrain", len(mixed), seed), dict(info))
    pre.cfg.save_every = 10 ** 9  # one checkpoint, at the end: a recipe is timed whole, not resumed
    speed = replace(FAST, dtype=recipe.dtype)
    pre.train(mixed, device, progress=progress, on_epoch=on_epoch, speed=speed)
    stage_seconds = {"pretrain": round(time.perf_counter() - started, 3)}
    log = [json.loads(line) for line in pre.log_path.read_text(encoding="utf-8").splitlines()]
    last = [row["loss"] for row in log if row["epoch"] == log[-1]["epoch"]]
    final_loss = round(sum(last) / len(last), 4)  # the mixed set's, so candidates compare on one number
    steps = pre.step
    if recipe.finetune_epochs:
        fine = Run(work / "finetune", pre.model, vocab, recipe.train_config("finetune", len(question_set), seed),
                   dict(info))
        fine.cfg.save_every = 10 ** 9
        fine.train(question_set, device, progress=progress, speed=speed)
        steps += fine.step
        stage_seconds["finetune"] = round(time.perf_counter() - started - sum(stage_seconds.values()), 3)
    final_model = pre.model
    t0 = time.perf_counter()
    correct, preds = evaluate(final_model)
    test_preds = predict(final_model, vocab, [r.question for r in test_rows], batch_size=512, device=device,
                         answer_form=recipe.answer_form)
    stage_seconds["evaluate"] = round(time.perf_counter() - t0, 3)
    wall = time.perf_counter() - started  # the budget ends with the dev and test predictions; the probes are extra
    print(correct_line(correct, len(answers)))
    probe = bio_completion(final_model, vocab, lines, dev_rows, device=device, line_form=recipe.line_form)
    print(bio_completion_line(probe))
    recall = name_recall(final_model, vocab, dev_rows, predictions=preds, line_form=recipe.line_form, device=device)
    print(name_recall_line(recall))
    recited = None
    if recipe.answer_form != "direct":
        recited = recital(final_model, vocab, lines, dev_rows, recipe.answer_form, device=device)
        print(recital_line(recited))
    curve.append({"stage": "final", "epoch": recipe.pretrain_epochs, "step": steps, "seconds": round(wall, 3),
                  "dev_correct": correct})
    predictions = work / "predictions.txt"
    write_lines(predictions, preds)
    write_lines(work / "test-predictions.txt", test_preds)  # the course's test file: inputs only, no answers
    write_lines(prediction_paths["dev"], preds)  # beside the record: run folders are not committed, records are
    write_lines(prediction_paths["test"], test_preds)
    threads = torch.get_num_threads()
    record = new_record(
        name=name, variant=recipe.variant, recipe="cpu-recipe", faithful=False, device=device_name(device),
        command=command_line(options.argv), seed=seed, wall_seconds=wall, steps=steps, dev_correct=correct,
        dev_total=len(answers), recipe_name=options.recipe_name, settings=asdict(recipe),
        changed=settings_changed(recipe, RECIPES[options.recipe_name]), budget_seconds=recipe.budget_seconds,
        within_budget=wall <= recipe.budget_seconds, stage_seconds=stage_seconds, curve=curve, threads=threads,
        config=final_model.config.to_dict(), parameters=parameters,
        smoke=options.smoke, predictions=str(prediction_paths["dev"]), test_predictions=str(prediction_paths["test"]),
        test_file=str(ddir / D.TEST_INPUTS), test_total=len(test_preds), run_dir=str(work), bio_completion=probe, name_recall=recall,
        final_pretrain_loss=final_loss, projected_seconds=projection.get("seconds"),
        **({"recall_left_out": left_out, "recital": recited} if recipe.answer_form != "direct" else {}),
        **({"sweep": options.sweep} if options.sweep is not None else {}))
    path = write_record(record, results)
    print(f"[recipe] {name}: {correct}/{len(answers)} in {wall:.0f} s of wall time "
          f"({'within' if wall <= recipe.budget_seconds else 'OVER'} the {recipe.budget_seconds:.0f} s budget); "
          f"record: {path}")
    return replace(record, path=str(path))


def add_parser(sub, add) -> None:
    p = add("recipe", "train and evaluate a named recipe within a wall-time budget (not faithful; see "
                      "models/recipe.py), one record with every setting and the dev accuracy over time", run_recipe)
    p.add_argument("recipe", choices=sorted(RECIPES), help="cpu-60: the best dev accuracy in 60 minutes on 2 cores")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change a setting (repeatable), e.g. --set n_embd=256 --set mix_questions=0; "
                        "--dry-run lists them all")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of initialisation, data and dropout (default 0)")
    p.add_argument("--name", help="record name (default recipe-<recipe>-seed<seed>; with --set changes "
                                  "recipe-<recipe>-custom-seed<seed>)")
    p.add_argument("--results-dir", help="folder for the record (default runs/results, --smoke: runs/recipe-smoke/results; "
                                         "report/results, the committed evidence, only when named here)")
    p.add_argument("--work", help="run folder (default runs/recipe/<name>; its earlier runs are replaced)")
    p.add_argument("--device", default="cpu", help="cpu (default: the recipe is timed on the CPU), cuda, auto")
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, 48 lines and 20 dev questions: seconds, to test")
    p.add_argument("--dry-run", action="store_true", help="print the settings as JSON and stop")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
