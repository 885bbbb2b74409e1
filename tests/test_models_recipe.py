"""`python -m models recipe`: the mixed pretraining set, the once-decaying schedule, settings, and
a whole (smoke-sized) recipe run with its record."""
from __future__ import annotations

import json
import re

import pytest
import torch

from models import data as D
from models.cli import main
from models.fileio import UserError
from models.recipe import RECIPES, Recipe, parse_settings
from models.train import lr_multiplier, step_lr


@pytest.fixture(scope="module")
def mixed(data_dir, vocab):
    lines = D.read_wiki(data_dir / D.WIKI)[:30]
    rows = D.read_tsv(data_dir / D.TRAIN_TSV, vocab, answers=True)[:7]
    return D.MixedDataset(D.PretrainDataset(lines, vocab, seed=3), D.FinetuneDataset(rows, vocab), copies=2), rows


def test_mixed_set_holds_every_line_then_the_questions_copies_times(mixed, vocab):
    ds, rows = mixed
    assert len(ds) == 30 + 2 * 7
    for i in (30, 37, 43):  # the first question, its second copy, the last one
        x, y = ds.strings(i, epoch=5)
        row = rows[(i - 30) % 7]
        assert x.startswith(row.question + D.MASK_CHAR + row.answer + D.MASK_CHAR)
        assert y.strip(D.PAD_CHAR) == D.MASK_CHAR + row.answer + D.MASK_CHAR  # only the answer part is trained
    x, _ = ds.strings(0, epoch=5)
    assert x.count(D.MASK_CHAR) == 2 and "?" not in x[:20]  # a span-corrupted line


def test_mixed_batch_equals_the_stacked_examples(mixed):
    ds, _ = mixed
    order = D.epoch_order(len(ds), seed=3, epoch=2)[:17]
    x, y = ds.batch(order, 2)
    xs, ys = zip(*(ds.get(i, 2) for i in order))
    assert torch.equal(x, torch.stack(xs)) and torch.equal(y, torch.stack(ys))


def test_once_schedule_warms_up_then_decays_to_the_floor_at_the_last_step():
    r = Recipe(pretrain_epochs=3, pretrain_batch=2, warmup=0.1)
    cfg = r.train_config("pretrain", n_examples=25, seed=0)
    steps = ([2] * 12 + [1]) * 3  # the last batch of each epoch is smaller
    tokens, lrs = 0, []
    for b in steps:
        lrs.append(step_lr(tokens, cfg))
        tokens += b * 127
    assert tokens == cfg.final_tokens
    assert lrs[0] == cfg.lr  # step_lr's first step runs at the base rate, as the course's trainer does
    later = lrs[1:]
    peak = later.index(max(later))
    assert later[0] < max(later) <= cfg.lr and 2 <= peak <= 4  # warm-up over 10% of 39 steps ...
    assert all(a >= b for a, b in zip(later[peak:], later[peak + 1:]))  # ... then one decay, never climbing back
    assert step_lr(tokens, cfg) == pytest.approx(cfg.lr * r.lr_floor, abs=1e-12)  # the decay ends at the floor
    course = Recipe(schedule="course").train_config("pretrain", 25, 0)
    assert (course.warmup_tokens, course.final_tokens) == (512 * 20, 200 * 2937 * 128)


def test_lr_floor_bounds_the_decay_and_0_1_is_the_course_schedule():
    final, warm = 1000, 100
    for floor in (0.0, 0.05, 0.1, 0.3):
        lrs = [lr_multiplier(t, warm, final, floor) for t in range(warm, final + 1)]
        assert min(lrs) == pytest.approx(floor, abs=1e-9) and lrs[-1] == pytest.approx(floor, abs=1e-9)
        assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    # the default is the course's 0.1, which its cyclic schedule climbs back from after progress 1.8
    assert [lr_multiplier(t, warm, final) for t in range(0, 3000, 7)] == \
        [lr_multiplier(t, warm, final, 0.1) for t in range(0, 3000, 7)]
    assert lr_multiplier(warm + int(1.9 * (final - warm)), warm, final) > 0.1
    with pytest.raises(UserError):
        parse_settings(RECIPES["cpu-60"], ["lr_floor=1.5"])


def test_settings_are_parsed_by_type_and_checked():
    r = parse_settings(RECIPES["cpu-60"], ["n_embd=192", "pretrain-lr=1e-3", "schedule=course", "dtype=bf16"])
    assert (r.n_embd, r.pretrain_lr, r.schedule, r.dtype) == (192, 1e-3, "course", "bf16")
    for bad in (["colour=red"], ["n_embd=wide"], ["schedule=twice"], ["n_embd"],
                ["finetune_epochs=0", "mix_questions=0"], ["answer_form=essay"], ["dtype=fp16"]):
        with pytest.raises(UserError):
            parse_settings(RECIPES["cpu-60"], bad)


def test_smoke_recipe_trains_evaluates_and_records_its_time(tmp_path, data_dir, capsys):
    results = tmp_path / "results"
    argv = ["recipe", "cpu-60", "--smoke", "--no-progress", "--results-dir", str(results), "--work",
            str(tmp_path / "work"), "--set", "eval_every=1", "--seed", "2"]
    assert main(argv) == 0
    rec = json.loads((results / "recipe-cpu-60-smoke-seed2.json").read_text())
    assert rec["recipe"] == "cpu-recipe" and rec["faithful"] is False and rec["seed"] == 2
    preds = (tmp_path / "work" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    answers = [line.split("\t")[1] for line in (data_dir / "birth_dev.tsv").read_text(encoding="utf-8").splitlines()[:20]]
    assert rec["dev_total"] == 20 and rec["dev_correct"] == sum(p == a for p, a in zip(preds, answers, strict=True))
    assert rec["within_budget"] == (rec["wall_seconds"] <= rec["budget_seconds"])
    # each figure is rounded to the millisecond, so their sum may pass the rounded total by 0.5 ms apiece
    assert sum(rec["stage_seconds"].values()) <= rec["wall_seconds"] + 5e-4 * (len(rec["stage_seconds"]) + 1)
    assert [p["epoch"] for p in rec["curve"] if p["stage"] == "pretrain"] == [1, 2]
    assert rec["curve"][-1]["dev_correct"] == rec["dev_correct"]
    seconds = [p["seconds"] for p in rec["curve"]]
    assert seconds == sorted(seconds) and seconds[-1] == pytest.approx(rec["wall_seconds"], abs=1e-3)
    log = [json.loads(line) for line in (tmp_path / "work" / "pretrain" / "metrics.jsonl").read_text().splitlines()]
    last = [row["loss"] for row in log if row["epoch"] == 1]  # the last of 2 epochs
    assert rec["final_pretrain_loss"] == pytest.approx(sum(last) / len(last), abs=1e-4)
    preds = (tmp_path / "work" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    assert len(preds) == 20
    assert rec["steps"] == 2 * 6 + 3  # 2 epochs of 96 mixed examples in 16s, 1 of 48 questions
    # the course's test inputs are predicted too, and both prediction files lie beside the record
    test_questions = (data_dir / "birth_test_inputs.tsv").read_text(encoding="utf-8").splitlines()[:20]
    test_preds = (results / "predictions" / "recipe-cpu-60-smoke-seed2-test.txt").read_text(encoding="utf-8")
    assert rec["test_total"] == len(test_preds.splitlines()) == len(test_questions) == 20
    assert test_preds == (tmp_path / "work" / "test-predictions.txt").read_text(encoding="utf-8")
    assert (results / "predictions" / "recipe-cpu-60-smoke-seed2.txt").read_text(encoding="utf-8").splitlines() == preds
    from models.checkpoint import load_model
    from models.evaluate import predict
    model, _ = load_model(tmp_path / "work" / "finetune" / "model.safetensors", D.load_vocab(data_dir))  # smoke: 1 finetune epoch
    assert predict(model, D.load_vocab(data_dir), test_questions, answer_form="recall-through") == \
        test_preds.splitlines()  # what the recipe wrote is its final model's answer to each test question
    # the same seed gives the same training: the same predictions
    assert main(argv[:-1] + ["2"]) == 0
    assert (tmp_path / "work" / "predictions.txt").read_text(encoding="utf-8").splitlines() == preds


def test_a_machine_too_slow_for_the_budget_is_told_after_two_epochs(tmp_path, data_dir, capsys):
    results = tmp_path / "results"
    argv = ["recipe", "cpu-60", "--smoke", "--no-progress", "--results-dir", str(results), "--work",
            str(tmp_path / "work"), "--set", "pretrain_epochs=4", "--set", "eval_every=0", "--set", "finetune_epochs=0"]
    assert main(argv + ["--set", "budget_seconds=0.01"]) == 0
    out = capsys.readouterr().out
    rec = json.loads((results / "recipe-cpu-60-smoke-custom-seed0.json").read_text())
    assert rec["projected_seconds"] > 0.01 and rec["within_budget"] is False
    assert "warning: this machine needs about" in out and "--set pretrain_epochs=" in out
    assert main(argv + ["--name", "roomy"]) == 0  # the smoke budget, 120 s: no warning
    assert "warning" not in capsys.readouterr().out
    assert 0 < json.loads((results / "roomy.json").read_text())["projected_seconds"] <= 120


def test_a_recipe_runs_from_python_with_typed_options_and_returns_its_record(tmp_path, data_dir, capsys):
    """models.recipe.run(Recipe, RecipeRun, on_dev) -> Record (what a sweep calls): the record it
    returns is the file it wrote, and on_dev sees each pretraining point of the record's curve; an
    exception raised by on_dev (a pruned trial) ends the run without a record."""
    from dataclasses import replace

    from models.recipe import SMOKE, RecipeRun, run
    from models.record import Record
    recipe = replace(RECIPES["cpu-60"], **SMOKE)
    seen = []
    options = RecipeRun(smoke=True, seed=1, results_dir=tmp_path / "results", work=tmp_path / "work",
                        data_dir=str(data_dir), progress=False, argv=["recipe", "cpu-60", "--smoke"],
                        sweep={"study": "s", "trial": 0})
    record = run(recipe, options, on_dev=lambda *point: seen.append(point))
    assert record.name == "recipe-cpu-60-smoke-seed1" and record.recipe_name == "cpu-60" and record.seed == 1
    assert Record.read(record.path) == record and record.command == "python -m models recipe cpu-60 --smoke"
    assert record.sweep == {"study": "s", "trial": 0}
    assert seen == [(p["epoch"], p["dev_correct"], record.dev_total) for p in record.curve if p["stage"] == "pretrain"]
    assert len(seen) == recipe.pretrain_epochs // recipe.eval_every

    class Pruned(Exception):
        pass

    def prune(epoch, correct, total):
        raise Pruned(epoch)

    with pytest.raises(Pruned):
        run(recipe, replace(options, name="pruned"), on_dev=prune)
    assert not (tmp_path / "results" / "pruned.json").exists()


def test_recipe_user_mistakes_are_one_line(tmp_path, capsys):
    assert main(["recipe", "cpu-60", "--set", "colour=red"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "colour" in err
    assert main(["recipe", "cpu-60", "--smoke", "--results-dir", "report/results"]) == 2
    assert "smoke records never go to report/results" in capsys.readouterr().err
    assert main(["recipe", "cpu-60", "--dry-run", "--set", "n_embd=64"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["changed"] == {"n_embd": 64} and shown["settings"]["n_layer"] == RECIPES["cpu-60"].n_layer
    assert shown["name"] == "recipe-cpu-60-custom-seed0"  # a candidate never takes the recipe's own record name
    assert main(["recipe", "cpu-60", "--dry-run", "--seed", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "recipe-cpu-60-seed3"


def test_bio_completion_probes_each_persons_own_line_up_to_the_answer(vocab, monkeypatch):
    from models import evaluate as E

    lines = ["Ann Lee (born 1950 in Paris) is a painter.", "Ann Leeds was born in Rome.",
             "Bo Ek " + "x" * 120 + " born in Oslo."]
    rows = [D.QA("Where was Ann Lee born?", "Paris", 1), D.QA("Where was Ann Leeds born?", "Rome", 2),
            D.QA("Where was Bo Ek born?", "Oslo", 3),  # the answer lies past the window: not probed
            D.QA("Where was Cy Do born?", "Lima", 4),  # no line
            D.QA("Who was Ann Lee?", "Paris", 5)]  # not a birthplace question
    seen = []

    def oracle(model, prompts, steps, device, stop):
        seen.extend(vocab.decode(p) for p in prompts)
        truth = {vocab.decode(p): a for p, a in zip(prompts, ["Paris", "Rome"])}
        return [vocab.encode(truth[vocab.decode(p)] + "xyz")[:steps] for p in prompts]

    monkeypatch.setattr(E, "greedy_cached", oracle)
    model = torch.nn.Module()
    probe = E.bio_completion(model, vocab, lines, rows)
    assert seen == ["Ann Lee (born 1950 in ", "Ann Leeds was born in "]  # each person's own line, cut before the answer
    assert probe == {"correct": 2, "probed": 2, "questions": 5, "window": 112,
                     "line_form": "wiki"}
    monkeypatch.setattr(E, "greedy_cached", lambda model, prompts, steps, device, stop: [vocab.encode("Pari")] * 2)
    assert E.bio_completion(model, vocab, lines, rows)["correct"] == 0  # a prefix of the answer is not the answer


def test_name_recall_feeds_the_name_alone_and_finds_the_answer_as_a_whole_word(vocab, monkeypatch):
    from models import evaluate as E

    rows = [D.QA("Where was Ann Lee born?", "Paris", 1), D.QA("Where was Bo Ek born?", "Rome", 2),
            D.QA("Where was Cy Do born?", "Lima", 3), D.QA("Who was Ann Lee?", "Paris", 4)]
    written = {"Ann Lee": "Ann Lee (born 1950 in Paris) is a painter", "Bo Ek": "Bo Ek was born in Romeo, Michigan",
               "Cy Do": "Cy Do is a singer from Lima ."}
    seen = []

    def oracle(model, prompts, steps, device):
        seen.extend(vocab.decode(p) for p in prompts)
        return [vocab.encode(written[D.QUESTION.match(vocab.decode(p).strip())["name"]])[:steps] for p in prompts]

    monkeypatch.setattr(E, "greedy_cached", oracle)
    probe = E.name_recall(torch.nn.Module(), vocab, rows, predictions=["Paris", "Rome", "Oslo", "x"],
                          line_form="question")
    assert seen == ["Where was Ann Lee born? ", "Where was Bo Ek born? ", "Where was Cy Do born? "]
    # "Romeo" is not "Rome"; Lima is recalled but answered Oslo; only Ann Lee is both
    assert probe == {"recalled": 2, "probed": 3, "questions": 4, "steps": E.RECALL_STEPS, "line_form": "question",
                     "recalled_and_answered": 1}
    assert "answer in 2 of 3" in E.name_recall_line(probe)
    monkeypatch.setattr(E, "greedy_cached", lambda model, prompts, steps, device: (
        seen.append(vocab.decode(prompts[0])) or [vocab.encode("x")] * len(prompts)))
    assert E.name_recall(torch.nn.Module(), vocab, rows, line_form="wiki")["recalled"] == 0
    assert seen[-1] == "Ann Lee. "


def test_shifted_positions_move_each_example_whole_and_stay_in_the_block():
    from models.fast import shift_positions

    lengths = [[5, 120, 2], [127], [60, 60]]  # examples of each packed row, filler after
    width = 127
    pos = torch.zeros((len(lengths), width), dtype=torch.long)
    for r, row in enumerate(lengths):
        off = 0
        for n in row:
            pos[r, off:off + n] = torch.arange(n)
            off += n
    seen = set()
    for step in range(30):
        out = shift_positions(pos, 64, 128, (0, step))
        assert torch.equal(out, shift_positions(pos, 64, 128, (0, step)))  # a function of the seed
        for r, row in enumerate(lengths):
            off = 0
            for n in row:
                got = out[r, off:off + n]
                start = int(got[0])
                assert torch.equal(got, torch.arange(start, start + n))  # the whole example moves together
                assert 0 <= start <= min(64, 128 - n) and int(got[-1]) < 128
                seen.add((r, off, start))
                off += n
    assert len({s for r, o, s in seen if (r, o) == (0, 0)}) > 10  # short examples really move
    assert {s for r, o, s in seen if (r, o) == (1, 0)} == {0, 1}  # a full-length one barely can


def test_position_shift_trains_only_the_vanilla_recipe():
    with pytest.raises(UserError):
        parse_settings(RECIPES["cpu-60"], ["variant=perceiver", "position_shift=8"])
    r = parse_settings(RECIPES["cpu-60"], ["position_shift=64"])
    assert r.train_config("pretrain", 10, 0).position_shift == 64
    assert r.train_config("finetune", 10, 0).position_shift == 0


def test_question_form_puts_each_line_after_its_question(data_dir, vocab):
    assert D.question_form("Ann Lee. Lee was born in Paris .") == "Where was Ann Lee born? Lee was born in Paris ."
    assert D.question_form("Douglas P. Fry. Fry was born in Bos .") == "Where was Douglas P. Fry born? Fry was born in Bos ."
    assert D.question_form("No title here") == "No title here"
    # on the real data the title read from the line is the training question's name, all but one
    # ("Anastasius I. Pope Saint ...": a roman numeral reads as an initial)
    lines = D.read_wiki(data_dir / D.WIKI)
    rows = D.read_tsv(data_dir / D.TRAIN_TSV, vocab, answers=True)
    misses = [r.question for r, line in zip(rows, lines) if not D.question_form(line).startswith(r.question + " ")]
    assert misses == ["Where was Anastasius I born?"]


def test_bio_completion_probes_the_form_trained_on(vocab, monkeypatch):
    from models import evaluate as E
    seen = []
    monkeypatch.setattr(E, "greedy_cached", lambda model, prompts, steps, device, stop:
                        seen.extend(vocab.decode(p) for p in prompts) or [vocab.encode("Paris")] * len(prompts))
    probe = E.bio_completion(torch.nn.Module(), vocab, ["Ann Lee. Lee was born in Paris ."],
                             [D.QA("Where was Ann Lee born?", "Paris", 1)], line_form="question")
    assert seen == ["Where was Ann Lee born? Lee was born in "] and probe["correct"] == 1
    assert probe["line_form"] == "question" and "in question form" in E.bio_completion_line(probe)


def test_truncate_min_keeps_each_line_at_least_that_long_and_batch_equals_get(data_dir, vocab):
    """The recipe's truncation floor: every example keeps min(len(line), truncate_min)
    characters or more (never more than 112), the longer lines vary above it, and the fast
    `batch` builds exactly the per-example `get` rows."""
    lines = D.read_wiki(data_dir / D.WIKI)[:200]
    floor, ceiling = 80, int(D.BLOCK_SIZE * 7 / 8)
    ds = D.PretrainDataset(lines, vocab, seed=5, truncate_min=floor)
    kept = []
    for i, line in enumerate(lines):
        prefix, rest = ds.strings(i, epoch=3)[0].split(D.MASK_CHAR, 1)
        suffix, span = rest.rstrip(D.PAD_CHAR).split(D.MASK_CHAR)
        n = len(prefix + suffix + span)
        assert min(len(line), floor) <= n <= min(len(line), ceiling) and line.startswith(prefix + span + suffix)
        kept.append(n)
    assert len({n for n, line in zip(kept, lines) if len(line) >= ceiling}) > 10  # still drawn, not fixed
    default = D.PretrainDataset(lines, vocab, seed=5)
    assert min(len(default.strings(i, 3)[0].rstrip(D.PAD_CHAR)) for i in range(len(lines))) < floor
    order = list(range(0, 200, 7))
    x, y = ds.batch(order, 3)
    xs, ys = zip(*(ds.get(i, 3) for i in order))
    assert torch.equal(x, torch.stack(xs)) and torch.equal(y, torch.stack(ys))
    with pytest.raises(ValueError, match="truncate_min"):
        D.PretrainDataset(lines, vocab, truncate_min=ceiling + 1)
    with pytest.raises(UserError, match="truncate_min"):
        parse_settings(Recipe(), ["truncate_min=0"])
    assert parse_settings(Recipe(), ["truncate_min=80"]).truncate_min == 80


def test_crop_points_keep_the_head_and_cut_at_later_words():
    line = "Ralf Wadephul. Ralf Wadephul, born 1969 in Berlin, is a German composer ."
    for form in (line, D.question_form(line)):
        head, cuts = D.crop_points(form)
        assert form[:head] in ("Ralf Wadephul. ", "Where was Ralf Wadephul born? ")
        assert cuts == sorted(set(cuts)) and all(head < j < head + D.HEAD_CROP_WINDOW for j in cuts)
        assert [form[j:].split(" ")[0] for j in cuts] == form[head:].split(" ")[1:len(cuts) + 1]
    assert D.crop_points("no title here") == (0, [])
    long = "Alpha. " + " ".join(["word"] * 40)
    assert 7 < max(D.crop_points(long)[1]) < 7 + D.HEAD_CROP_WINDOW


def test_head_crop_changes_nothing_when_off_and_batch_equals_get_when_on(data_dir, vocab):
    lines = [D.question_form(l) for l in D.read_wiki(data_dir / "wiki.txt")[:40]]
    plain, off = D.PretrainDataset(lines, vocab, seed=5), D.PretrainDataset(lines, vocab, seed=5, head_crop=0.0)
    for e in (0, 3):
        assert [plain.strings(i, e) for i in range(40)] == [off.strings(i, e) for i in range(40)]
    ds = D.PretrainDataset(lines, vocab, seed=5, truncate_min=80, head_crop=0.5)
    cropped = 0
    for e in range(4):
        x, y = ds.batch(list(range(40)), e)
        xs, ys = zip(*(ds.get(i, e) for i in range(40)))
        assert torch.equal(x, torch.stack(xs)) and torch.equal(y, torch.stack(ys))
        for i in range(40):
            head, cuts = D.crop_points(lines[i])
            text = ds.line(i, D.example_rng(5, e, i))
            assert text.startswith(lines[i][:head])  # the question is never cropped
            if text != lines[i]:
                cropped += 1
                assert any(lines[i][head:][j - head:] == text[head:] for j in cuts)
    assert 40 <= cropped <= 120  # about half of 160 examples
    with pytest.raises(ValueError, match="head_crop"):
        D.PretrainDataset(lines, vocab, head_crop=1.5)
    with pytest.raises(UserError, match="head_crop"):
        parse_settings(Recipe(), ["head_crop=-0.1"])


def test_recall_rows_write_the_sentence_up_to_the_answer_then_the_answer(vocab):
    from models.evaluate import extract_prediction

    lines = ["Ann Lee. Ann Lee (born 1950 in Paris) is a painter from Paris .", "Bo Ek. Bo Ek was born in Romeo .",
             "Cy Do. Cy Do " + "x" * 100 + " born in Lima .", "Douglas P. Fry. Fry was born in Oslo ."]
    rows = [D.QA("Where was Ann Lee born?", "Paris", 1),
            D.QA("Where was Bo Ek born?", "Rome", 2),  # "Romeo" is not "Rome": left out
            D.QA("Where was Cy Do born?", "Lima", 3),  # does not fit in a block: left out
            D.QA("Where was Dee Fox born?", "Lima", 4),  # no line: left out
            D.QA("Where was Douglas P. Fry born?", "Oslo", 5)]
    kept, left_out = D.recall_rows(rows, lines)
    assert left_out == 3
    assert [(r.question, r.answer, r.line) for r in kept] == [
        ("Where was Ann Lee born?", "Ann Lee (born 1950 in \u2047Paris", 1),  # the first Paris, the sentence only
        ("Where was Douglas P. Fry born?", "Fry was born in \u2047Oslo", 5)]
    for r, answer in zip(kept, ["Paris", "Oslo"]):
        x, y = D.FinetuneDataset([r], vocab).strings(0)
        full = x + y[-1]
        assert full.startswith(r.question + "\u2047" + r.answer + "\u2047")
        # the question's own characters carry no loss; everything written after them does
        assert set(y[:len(r.question) - 1]) == {D.PAD_CHAR} and y[len(r.question) - 1:].startswith("\u2047")
        # what the model is taught to write is read back as the answer
        assert extract_prediction(full[len(r.question):], "recall") == answer
        assert extract_prediction(full[len(r.question):]) == r.answer.split("\u2047")[0]  # direct: the sentence
    # through: the birthplace where the sentence has it, then ⁇ and the birthplace again
    through, _ = D.recall_rows(rows, lines, through=True)
    assert [r.answer for r in through] == ["Ann Lee (born 1950 in Paris\u2047Paris", "Fry was born in Oslo\u2047Oslo"]


def test_recital_compares_what_was_written_before_the_answer_with_the_sentence(vocab, monkeypatch):
    from models import evaluate as E

    lines = ["Ann Lee. Ann Lee (born 1950 in Paris) is a painter .", "Bo Ek. Bo Ek was born in Rome .",
             "Cy Do. Cy Do was born in Lima .", "Di Yu. Di Yu is a singer ."]
    rows = [D.QA("Where was Ann Lee born?", "Paris", 1), D.QA("Where was Bo Ek born?", "Rome", 2),
            D.QA("Where was Cy Do born?", "Lima", 3), D.QA("Where was Di Yu born?", "Oslo", 4)]
    written = {"Ann Lee": "Ann Lee (born 1950 in \u2047Paris\u2047",  # recited, answered
               "Bo Ek": "Bo Ek was born in \u2047Milan\u2047",  # recited, not answered
               "Cy Do": "Cy Do was born on \u2047Lima\u2047"}  # answered, but not recited

    def oracle(model, prompts, steps, device, stops):
        assert stops == 2
        return [vocab.encode(written[D.QUESTION.match(vocab.decode(p)[:-1])["name"]]) for p in prompts]

    monkeypatch.setattr(E, "greedy_cached", oracle)
    model = torch.nn.Module()
    model.config = type("C", (), {"block_size": 128})
    probe = E.recital(model, vocab, lines, rows, "recall")  # Di Yu's sentence has no answer: not probed
    assert probe == {"recited": 2, "recited_and_answered": 1, "probed": 3, "questions": 4, "answer_form": "recall"}
    assert "exactly for 2 of 3" in E.recital_line(probe)
    with pytest.raises(ValueError):
        E.recital(model, vocab, lines, rows, "direct")


def test_recall_recipe_is_evaluated_from_its_checkpoint_the_same_way(tmp_path, capsys):
    """A recall-form recipe's checkpoint carries its answer form: `evaluate` reads the answer after
    the second ⁇ and reproduces the recipe's own predictions and dev count."""
    results, work = tmp_path / "results", tmp_path / "work"
    assert main(["recipe", "cpu-60", "--smoke", "--no-progress", "--results-dir", str(results), "--work", str(work),
                 "--set", "answer_form=recall", "--set", "pretrain_epochs=4"]) == 0
    rec = json.loads((results / "recipe-cpu-60-smoke-custom-seed0.json").read_text())
    assert rec["settings"]["answer_form"] == "recall" and rec["changed"]["answer_form"] == "recall"
    assert 0 <= rec["recall_left_out"] < 48
    out, dev = tmp_path / "p.txt", tmp_path / "dev20.tsv"  # the smoke recipe's 20 dev questions
    dev.write_text("".join((D.data_dir(None) / D.DEV_TSV).read_text(encoding="utf-8").splitlines(True)[:20]),
                   encoding="utf-8")
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(work / "pretrain" / "model.safetensors"), "--eval-file",
                 str(dev), "--outputs", str(out), "--no-record", "--device", "cpu", "--no-progress", "--recital"]) == 0
    ours = out.read_text(encoding="utf-8").splitlines()
    assert ours == (work / "predictions.txt").read_text(encoding="utf-8").splitlines()
    # the smoke recipe's 48 wiki.txt lines hold none of these people; evaluate reads all of wiki.txt
    assert rec["recital"] == {"recited": 0, "recited_and_answered": 0, "probed": 0, "questions": 20,
                              "answer_form": "recall"}
    shown = re.search(r"recital: the sentence written exactly for (\d+) of (\d+) probed \(recall form\)",
                      capsys.readouterr().out)
    lines_by_title = D.titles(D.read_wiki(D.data_dir(None) / D.WIKI))
    rows = D.read_tsv(dev, D.load_vocab(D.data_dir(None)), answers=True)
    probed = sum(D.recall_answer(r.question, r.answer, lines_by_title) is not None for r in rows)
    assert shown and int(shown[2]) == probed and 0 <= int(shown[1]) <= probed  # every person whose sentence shows it
