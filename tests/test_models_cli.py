"""`python -m models`: the tiny end-to-end pipeline, baselines, records, and bad input."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.cli import build_parser, main
from models.data import BLOCK_SIZE, PretrainDataset, read_wiki

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
TINY = ["--n-layer", "2", "--n-embd", "64", "--n-head", "4", "--no-progress"]
RECORD_FIELDS = {"name", "variant", "recipe", "faithful", "device", "commit", "command", "seed", "wall_seconds",
                 "steps", "dev_correct", "dev_total", "dev_accuracy"}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def slice_file(src: Path, dst: Path, n: int) -> Path:
    dst.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:n]), encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, data_dir):
    """Tiny pretrain (24 steps, stopped at 12 and resumed) -> finetune (8 steps) -> dev-slice evaluation."""
    tmp = tmp_path_factory.mktemp("pipeline")
    results = tmp / "results"
    dev = slice_file(data_dir / "birth_dev.tsv", tmp / "dev30.tsv", 30)
    pre = ["pretrain", *TINY, "--limit", "96", "--batch-size", "16", "--epochs", "4", "--out", tmp / "pre"]
    assert main([str(a) for a in pre + ["--max-steps", "12"]]) == 0
    assert main([str(a) for a in pre + ["--resume"]]) == 0
    assert main([str(a) for a in ["finetune", "--pretrained", tmp / "pre" / "model.safetensors", "--no-progress",
                                  "--limit", "64", "--batch-size", "16", "--epochs", "2", "--out", tmp / "ft",
                                  "--eval-file", dev, "--results-dir", results, "--name", "tiny-ft"]]) == 0
    return tmp, dev, results


def test_tiny_pipeline_trains_saves_resumes_and_records(pipeline):
    tmp, dev, results = pipeline
    log = [json.loads(line) for line in (tmp / "pre" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 25))
    assert log[-1]["loss"] < log[0]["loss"]  # it learns something
    record = json.loads((results / "tiny-ft.json").read_text())
    assert RECORD_FIELDS <= record.keys()
    assert record["recipe"] == "pretrain-finetune" and record["variant"] == "vanilla"
    assert record["faithful"] is False  # a tiny configuration is not MODEL.md's
    assert record["steps"] == 8 and record["dev_total"] == 30 and record["device"] == "cpu"
    assert record["pretrained"]["steps"] == 24
    # both metrics logs travel with the record (run folders are not committed)
    assert (results / "metrics" / "tiny-ft.jsonl").read_text() == (tmp / "ft" / "metrics.jsonl").read_text()
    assert (results / "metrics" / "tiny-ft-pretrain.jsonl").read_text() == (tmp / "pre" / "metrics.jsonl").read_text()
    assert record["metrics_log"].endswith("metrics/tiny-ft.jsonl")
    predictions = (tmp / "ft" / "predictions.txt").read_text(encoding="utf-8").splitlines()
    answers = [line.split("\t")[1] for line in dev.read_text(encoding="utf-8").splitlines()]
    assert record["dev_correct"] == sum(p == a for p, a in zip(predictions, answers))
    assert record["dev_accuracy"] == record["dev_correct"] / 30
    assert record["commit"].split("-")[0] == subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO,
                                                            capture_output=True, text=True).stdout.strip()


def test_evaluate_reproduces_the_finetune_predictions(pipeline, capsys, data_dir, tmp_path):
    tmp, dev, _ = pipeline
    out = tmp_path / "pred.txt"
    code, stdout, _ = run(capsys, "evaluate", "--checkpoint", tmp / "ft" / "model.safetensors", "--eval-file", dev,
                          "--outputs", out, "--results-dir", tmp_path / "res", "--batch-size", "7", "--no-progress")
    assert code == 0
    assert out.read_text(encoding="utf-8") == (tmp / "ft" / "predictions.txt").read_text(encoding="utf-8")
    record = json.loads((tmp_path / "res" / "ft-eval-unfaithful.json").read_text())
    assert f"Correct: {record['dev_correct']} out of 30: " in stdout
    assert record["recipe"] == "pretrain-finetune" and record["steps"] == 8
    # a file without answers: predictions only, no accuracy, no record
    inputs = slice_file(data_dir / "birth_test_inputs.tsv", tmp_path / "inputs.tsv", 12)
    code, stdout, _ = run(capsys, "evaluate", "--checkpoint", tmp / "ft" / "model.safetensors", "--eval-file",
                          inputs, "--outputs", tmp_path / "test.txt", "--results-dir", tmp_path / "res2",
                          "--no-progress")
    assert code == 0 and "Correct" not in stdout and not (tmp_path / "res2").exists()
    assert len((tmp_path / "test.txt").read_text(encoding="utf-8").splitlines()) == 12


def test_finetune_without_pretraining_is_its_own_recipe(tmp_path, capsys, data_dir):
    dev = slice_file(data_dir / "birth_dev.tsv", tmp_path / "dev.tsv", 8)
    code, out, _ = run(capsys, "finetune", *TINY, "--variant", "perceiver", "--bottleneck-dim", "16", "--limit", "32",
                       "--batch-size", "16", "--epochs", "1", "--out", tmp_path / "ft", "--eval-file", dev,
                       "--results-dir", tmp_path / "res")
    assert code == 0
    record = json.loads((tmp_path / "res" / "ft-unfaithful.json").read_text())
    assert record["recipe"] == "no-pretraining" and record["variant"] == "perceiver"
    assert record["config"]["bottleneck_dim"] == 16 and record["steps"] == 2


def first_step_weights(monkeypatch) -> list[dict]:
    """Records the model's weights as the first optimizer step of a run receives them."""
    from models.fast import Stepper
    seen, original = [], Stepper.step

    def step(self, batch, lr, step_seed):
        if not seen:
            seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        return original(self, batch, lr, step_seed)

    monkeypatch.setattr(Stepper, "step", step)
    return seen


@pytest.mark.parametrize("dropout", [None, "0.05"])  # 0.05: the branch that rebuilds the model for another dropout
def test_finetuning_starts_from_exactly_the_pretrained_weights(tmp_path, capsys, monkeypatch, vocab, dropout):
    """The first finetuning step receives the --pretrained checkpoint's weights bit for bit (the
    premise of pretrain-then-finetune), not an initialisation; the checkpoint holds weights no
    initialisation would give (every tensor random at scale 0.05, gains near 1)."""
    from models.checkpoint import save_model
    from models.model import GPT, GPTConfig
    torch.manual_seed(1234)
    pre = GPT(GPTConfig(vocab_size=len(vocab), n_layer=2, n_head=4, n_embd=64))
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, p in pre.named_parameters():
            p.copy_((1.0 if name.endswith("weight") and ".ln" in f".{name}" else 0.0)
                    + 0.05 * torch.randn(p.shape, generator=g))
    ckpt = tmp_path / "pre.safetensors"
    save_model(ckpt, pre, vocab, {"recipe": "pretrain", "steps": 7})
    seen = first_step_weights(monkeypatch)
    extra = [] if dropout is None else ["--dropout", dropout]
    code, _, _ = run(capsys, "finetune", "--pretrained", ckpt, "--no-progress", "--no-eval", "--limit", "16",
                     "--batch-size", "16", "--epochs", "1", "--max-steps", "1", "--out", tmp_path / "ft", *extra)
    assert code == 0 and len(seen) == 1
    expected = pre.state_dict()
    assert seen[0].keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(seen[0][name], tensor), name


def test_finetuning_without_pretraining_starts_from_a_fresh_initialisation(tmp_path, capsys, monkeypatch, vocab):
    """Without --pretrained the first step receives MODEL.md's initialisation: Linear and
    Embedding weights N(0, 0.02) (sample sd within 10% of 0.02 for each matrix of at least 4,096
    entries: the sd's relative standard error is below 1.2%), zero biases, LayerNorm gains 1 and
    biases 0, the positional embedding zero; and a different seed gives different weights."""
    seen = first_step_weights(monkeypatch)
    for seed in (0, 1):
        code, _, _ = run(capsys, "finetune", *TINY, "--no-eval", "--limit", "16", "--batch-size", "16",
                         "--epochs", "1", "--max-steps", "1", "--seed", seed, "--out", tmp_path / f"ft{seed}")
        assert code == 0
        if seed == 0:
            first = seen.pop()
    second = seen.pop()
    checked = 0
    for name, t in first.items():
        if name.endswith(".bias"):
            assert torch.count_nonzero(t) == 0, name
        elif ".ln" in f".{name}" and name.endswith("weight"):
            assert torch.equal(t, torch.ones_like(t)), name
        elif name == "pos_emb":
            assert torch.count_nonzero(t) == 0
        elif name.endswith("weight") and t.numel() >= 4096:
            assert abs(t.float().std().item() / 0.02 - 1) < 0.1 and abs(t.float().mean().item()) < 0.002, name
            assert not torch.equal(t, second[name]), name  # the seed is the initialisation's
            checked += 1
    assert checked >= 8  # tok_emb, head and the attention and MLP matrices


def test_london_baseline_is_25_of_500(tmp_path, capsys):
    code, out, err = run(capsys, "london", "--results-dir", tmp_path)
    assert code == 0 and "Correct: 25 out of 500: 5.0%" in out
    record = json.loads((tmp_path / "london.json").read_text())
    assert RECORD_FIELDS <= record.keys()
    assert (record["dev_correct"], record["dev_total"], record["recipe"]) == (25, 500, "london")
    assert record["faithful"] is True


def test_nearest_name_answers_with_the_closest_training_name(tmp_path, capsys):
    train = tmp_path / "train.tsv"
    train.write_text("Where was John Smith born?\tLeeds\nWhere was Maria Garcia born?\tMadrid\n"
                     "Where was Ole Hansen born?\tOslo\n", encoding="utf-8")
    dev = tmp_path / "dev.tsv"
    dev.write_text("Where was Jon Smyth born?\tLeeds\nWhere was Mario Garcias born?\tRome\n"
                   "Where was Olaf Hansen born?\tOslo\n", encoding="utf-8")
    code, out, _ = run(capsys, "nearest-name", "--train-file", train, "--eval-file", dev, "--outputs",
                       tmp_path / "p.txt", "--results-dir", tmp_path / "res")
    assert code == 0 and "Correct: 2 out of 3:" in out
    assert (tmp_path / "p.txt").read_text().splitlines() == ["Leeds", "Madrid", "Oslo"]
    record = json.loads((tmp_path / "res" / "nearest-name.json").read_text())
    assert record["recipe"] == "nearest-name" and record["dev_correct"] == 2


def test_examples_print_what_training_sees(capsys, data_dir):
    code, out, _ = run(capsys, "examples", "--kind", "pretrain", "--count", "3", "--seed", "7", "--start", "2")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    ds = PretrainDataset(read_wiki(data_dir / "wiki.txt"), None, seed=7)
    assert [(r["x"], r["y"]) for r in rows] == [ds.strings(i, 0) for i in (2, 3, 4)]
    code, out, _ = run(capsys, "examples", "--kind", "finetune", "--count", "2")
    first = json.loads(out.splitlines()[0])
    assert len(first["x"]) == len(first["y"]) == BLOCK_SIZE - 1
    assert first["x"].startswith("Where was ") and "\u2047" in first["y"]


def test_receptive_field_command(tmp_path, capsys, data_dir):
    code, out, _ = run(capsys, "receptive-field", "--bottleneck-dims", "4,32", "--length", "40",
                       "--results-dir", tmp_path)
    assert code == 0 and "DISAGREE" not in out and out.count("agree") == 4
    record = json.loads((tmp_path / "receptive-field.json").read_text())
    dev = [line.split("\t")[0] for line in (data_dir / "birth_dev.tsv").read_text(encoding="utf-8").splitlines()]
    # the last name character sits at len(question) - len(" born?") - 1
    late = sum(len(q) - len(" born?") - 1 >= 32 for q in dev)
    row = next(r for r in record["results"] if r["m"] == 32 and r["wiring"] == "default")
    assert row["masks_equal_gradients"] and row["name_ends_at_or_after_m"] == late > 0


def test_bench_measures_training_and_decoding():
    from models.bench import bench_evaluation, bench_training, format_rows
    from models.data import FinetuneDataset, QA, Vocab
    from models.model import GPTConfig
    vocab = Vocab(sorted(set("Where was Pa born?Paris")))
    rows = [QA("Where was Pa born?", "Paris", i) for i in range(8)]
    config = GPTConfig(vocab_size=len(vocab), n_layer=2, n_head=2, n_embd=16)
    r = bench_training(config, FinetuneDataset(rows, vocab), 4, 1e-3, steps=2, warmup=1, device=torch.device("cpu"))
    assert r["batch"] == "4x127" and r["tokens_per_second"] > r["useful_tokens_per_second"] > 0
    e = bench_evaluation(config, vocab, ["Where was Pa born?"] * 3, 2, torch.device("cpu"))
    assert e["examples"] == 3 and e["examples_per_second"] > 0
    table = format_rows([{"stage": "pretrain", "variant": "vanilla", "unit": "tokens/s", **r},
                         {"stage": "evaluate", "variant": "vanilla", "unit": "examples/s", **e}])
    assert "4x127" in table and len(table.splitlines()) == 3


@pytest.mark.slow
def test_bench_command_at_faithful_shapes(capsys):
    code, out, _ = run(capsys, "bench", "--variants", "vanilla", "--steps", "1", "--warmup", "0", "--eval-count", "4",
                       "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and [r["stage"] for r in rows] == ["pretrain", "finetune", "evaluate"]
    assert rows[0]["batch"] == "128x127" and rows[1]["batch"] == "256x127"


def test_every_option_is_explained():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    assert {"examples", "pretrain", "finetune", "evaluate", "london", "nearest-name", "bench"} <= subparsers.keys()
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings[0]} has no help"


@pytest.mark.parametrize("line_form", ["question", "wiki", "limerick"])
def test_evaluate_probes_a_recipe_on_the_lines_it_was_trained_on(pipeline, vocab, tmp_path, capsys, monkeypatch,
                                                                 line_form):
    from models.checkpoint import load_model, save_model
    from models.commands import evaluate as cli
    tmp, dev, _ = pipeline
    model, _ = load_model(tmp / "ft" / "model.safetensors", vocab)
    ckpt = tmp_path / "recipe.safetensors"
    save_model(ckpt, model, vocab, {"recipe": "cpu-recipe", "settings": {"line_form": line_form}})
    forms = []
    monkeypatch.setattr(cli, "bio_completion", lambda *a, line_form="wiki", **k: forms.append(line_form) or
                        {"correct": 0, "probed": 0, "questions": 30, "window": 112, "line_form": line_form})
    recalls = []
    monkeypatch.setattr(cli, "name_recall", lambda *a, line_form="wiki", predictions=None, **k: recalls.append(
        (line_form, len(predictions))) or {"recalled": 0, "probed": 30, "questions": 30, "steps": 100,
                                           "line_form": line_form, "recalled_and_answered": 0})
    code, out, err = run(capsys, "evaluate", "--checkpoint", ckpt, "--eval-file", dev, "--outputs",
                         tmp_path / "p.txt", "--bio-completion", "--name-recall", "--no-record", "--no-progress")
    if line_form == "limerick":  # a form this version does not know: one line, no probe
        assert code == 2 and "line form 'limerick'" in err and "Traceback" not in err and forms == recalls == []
    else:
        n = len((tmp_path / "p.txt").read_text(encoding="utf-8").splitlines())
        assert code == 0 and forms == [line_form] and recalls == [(line_form, n)] and "name recall:" in out


# ---------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def checkpoints(pipeline, tmp_path_factory, vocab):
    """A good vanilla checkpoint, a truncated copy of each format, and one of another vocabulary."""
    from models.checkpoint import load_model, save_model
    from models.data import Vocab
    tmp, _, _ = pipeline
    d = tmp_path_factory.mktemp("ckpt")
    good = tmp / "ft" / "model.safetensors"
    data = good.read_bytes()
    (d / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    model, _ = load_model(good, vocab)
    torch.save(model.state_dict(), d / "course.params")
    params = (d / "course.params").read_bytes()
    (d / "truncated.params").write_bytes(params[: len(params) // 2])
    other = Vocab(list(vocab.itos[3:]) + ["\u2603"])  # same size, another character set
    save_model(d / "other-vocab.safetensors", model, other)
    return good, d


def test_a_course_file_evaluates_like_the_checkpoint_it_came_from(checkpoints, pipeline, tmp_path, capsys):
    good, d = checkpoints
    _, dev, _ = pipeline
    outs = []
    for ckpt in (good, d / "course.params"):
        out = tmp_path / f"{ckpt.stem}.txt"
        code, _, _ = run(capsys, "evaluate", "--checkpoint", ckpt, "--eval-file", dev, "--outputs", out,
                         "--results-dir", tmp_path, "--no-progress", "--n-head", "4")
        assert code == 0
        outs.append(out.read_text(encoding="utf-8"))
    assert outs[0] == outs[1]
    record = json.loads((tmp_path / "course-eval-unfaithful.json").read_text())
    assert record["checkpoint_format"] == "course" and record["recipe"] == "unknown"
    assert record["faithful"] is False


BAD = {  # name: (argv template, file the message must name, line or None, words in the message)
    "no tab": (["evaluate", "--checkpoint", "{good}", "--eval-file", "{tsv}", "--outputs", "{out}"],
               "{tsv}", 2, "found no tab"),
    "empty answer": (["evaluate", "--checkpoint", "{good}", "--eval-file", "{tsv}", "--outputs", "{out}"],
                     "{tsv}", 3, "empty answer"),
    "outside vocabulary": (["finetune", "--train-file", "{tsv}", "--out", "{outdir}"], "{tsv}", 4, "outside the vocab"),
    "question too long": (["evaluate", "--checkpoint", "{good}", "--eval-file", "{tsv}", "--outputs", "{out}"],
                          "{tsv}", 5, "longer than the block"),
    "missing checkpoint": (["evaluate", "--checkpoint", "{d}/nope.safetensors", "--eval-file", "{dev}",
                            "--outputs", "{out}"], "{d}/nope.safetensors", None, "no such checkpoint"),
    "truncated safetensors": (["evaluate", "--checkpoint", "{d}/truncated.safetensors", "--eval-file", "{dev}",
                               "--outputs", "{out}"], "{d}/truncated.safetensors", None, "truncated"),
    "truncated course file": (["evaluate", "--checkpoint", "{d}/truncated.params", "--eval-file", "{dev}",
                               "--outputs", "{out}"], "{d}/truncated.params", None, "truncated"),
    "directory as checkpoint": (["evaluate", "--checkpoint", "{d}", "--eval-file", "{dev}", "--outputs", "{out}"],
                                "{d}", None, "is a directory"),
    "directory as eval file": (["evaluate", "--checkpoint", "{good}", "--eval-file", "{d}", "--outputs", "{out}"],
                               "{d}", None, "is a directory"),
    "directory as outputs": (["evaluate", "--checkpoint", "{good}", "--eval-file", "{dev}", "--outputs", "{d}"],
                             "{d}", None, "is a directory"),
    "other variant (evaluate)": (["evaluate", "--checkpoint", "{good}", "--eval-file", "{dev}", "--outputs", "{out}",
                                  "--variant", "perceiver"], "{good}", None, "vanilla checkpoint"),
    "other variant (finetune)": (["finetune", "--pretrained", "{good}", "--variant", "perceiver", "--out", "{outdir}"],
                                 "{good}", None, "vanilla checkpoint"),
    "other variant (course file)": (["finetune", "--pretrained", "{d}/course.params", "--variant", "perceiver",
                                     "--out", "{outdir}"], "{d}/course.params", None, "vanilla checkpoint"),
    "other vocabulary": (["evaluate", "--checkpoint", "{d}/other-vocab.safetensors", "--eval-file", "{dev}",
                          "--outputs", "{out}"], "{d}/other-vocab.safetensors", None, "another vocabulary"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gives_one_line_and_leaves_nothing(case, checkpoints, tmp_path, capsys, data_dir, vocab):
    good, d = checkpoints
    outside = next(chr(c) for c in range(0x2600, 0x2700) if chr(c) not in vocab.stoi)
    tsv = tmp_path / "in.tsv"
    tsv.write_text("Where was A born?\tParis\n"
                   + {"no tab": "Where was B born?  Rome\n", "empty answer": "Where was B born?\tRome\nWhere was C born?\t\n",
                      "outside vocabulary": "a\tb\nc\td\nWhere was {} born?\tRome\n".format(outside),
                      "question too long": "a\tb\nc\td\ne\tf\nWhere was " + "Q" * 120 + " born?\tRome\n"}.get(case, ""),
                   encoding="utf-8")
    dev = slice_file(data_dir / "birth_dev.tsv", tmp_path / "dev.tsv", 3)
    fill = {"good": good, "d": d, "tsv": tsv, "dev": dev, "out": tmp_path / "pred.txt", "outdir": tmp_path / "run"}
    argv, where, line, words = BAD[case]
    before = set(tmp_path.iterdir())
    code, out, err = run(capsys, *[a.format(**fill) for a in argv], "--results-dir", tmp_path / "res")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("models: error: ")
    prefix = where.format(**fill) + (f":{line}: " if line else ": ")
    assert err[len("models: error: "):].startswith(prefix), err
    assert words in err
    assert set(tmp_path.iterdir()) == before  # no predictions, no run folder, no record


def test_bench_compare_decodes_with_a_trained_checkpoint(pipeline, capsys):
    tmp, _, _ = pipeline
    ckpt = tmp / "ft" / "model.safetensors"
    code, out, _ = run(capsys, "bench", "--compare", "--stages", "evaluate", "--variants", "vanilla,perceiver",
                       "--eval-checkpoint", ckpt, "--eval-count", "12", "--eval-baseline-count", "3", "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and [(r["stage"], r["variant"]) for r in rows] == [("evaluate", "vanilla"), ("evaluate", "perceiver")]
    assert str(ckpt.name) in rows[0]["model"] and rows[1]["model"].startswith("untrained")
    assert all(r["identical_predictions"] and r["baseline_examples"] == 3 for r in rows)
    assert json.loads(out)["settings"]["stages"] == ["evaluate"]


def test_unknown_flags_and_values_are_one_line(capsys):
    for argv in (["examples", "--kind", "pretrain", "--count", "x"], ["pretrain", "--bogus"], ["nosuch"],
                 ["pretrain", "--dropout", "1.5"], ["bench", "--variants", "tiny"], ["bench", "--bf16"], ["bench", "--compare", "--stages", "pretrain,eval"],
                 ["bench", "--compare", "--eval-checkpoint", "no/such.safetensors"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("models: error: "), argv


def test_a_second_run_into_the_same_folder_is_refused(pipeline, capsys):
    tmp, _, _ = pipeline
    code, _, err = run(capsys, "pretrain", *TINY, "--limit", "16", "--out", tmp / "pre")
    assert code == 2 and "already holds a run" in err and err.count("\n") == 1


def test_the_real_process_exits_2_without_a_traceback(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "models", "evaluate", "--checkpoint", str(tmp_path / "x.params"),
                           "--eval-file", str(tmp_path / "dev.tsv"), "--outputs", str(tmp_path / "o.txt")],
                          cwd=REPO, capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"models: error: {tmp_path / 'dev.tsv'}: no such TSV file\n"
    help_text = subprocess.run([sys.executable, "-m", "models", "--help"], cwd=REPO, capture_output=True, text=True,
                               env=env)
    assert help_text.returncode == 0 and "nearest-name" in help_text.stdout


def test_faithful_means_exactly_model_md():
    from argparse import Namespace
    from models.commands.training import default_run_dir, faithful_model, faithful_training
    from models.model import GPTConfig
    from models.train import COURSE_SCHEDULES, TrainConfig
    assert faithful_model(GPTConfig()) and faithful_model(GPTConfig(variant="perceiver"))
    for changed in ({"variant": "perceiver", "bottleneck_dim": 32}, {"variant": "perceiver", "perceiver_wiring": "ln-both"},
                    {"n_layer": 2}, {"dropout": 0.0}, {"vocab_size": 255}):
        assert not faithful_model(GPTConfig(**changed)), changed
    for recipe in ("pretrain", "no-pretraining", "pretrain-finetune"):
        assert faithful_training(TrainConfig(**COURSE_SCHEDULES[recipe], seed=3), recipe, None)
        assert not faithful_training(TrainConfig(**COURSE_SCHEDULES[recipe]), recipe, 100)
        assert not faithful_training(TrainConfig(**{**COURSE_SCHEDULES[recipe], "lr": 1e-3}), recipe, None)
    args = Namespace(variant=None, bottleneck_dim=None, perceiver_wiring=None, pretrained="p")
    # the variant of a finetune comes from the pretrained checkpoint's config, not from the options
    assert default_run_dir(args, "finetune", GPTConfig(variant="perceiver")).name == "finetune-perceiver-m64-pretrained"
    assert default_run_dir(args, "pretrain").name == "pretrain-vanilla"


def test_records_name_the_commit_given_on_another_machine(monkeypatch):
    # a GPU machine gets a copy of the tree whose .git may be stale: ATTNLAB_COMMIT wins
    import models.results
    from models.results import git_commit
    monkeypatch.setattr(models.results, "_STARTED_AT", {})
    monkeypatch.delenv("ATTNLAB_COMMIT", raising=False)
    here = git_commit()
    assert here == "unknown" or len(here.removesuffix("-dirty")) == 40
    monkeypatch.setenv("ATTNLAB_COMMIT", "0123abc")
    assert git_commit() == "0123abc"


def test_a_record_names_the_commit_its_command_started_from(monkeypatch):
    """A run of an hour ends with a record; by then HEAD may have moved on (or the tree be
    dirty): the record names what was read when the command started."""
    import models.results
    from models.results import git_commit, remember_commit
    monkeypatch.setattr(models.results, "_STARTED_AT", {})
    monkeypatch.setenv("ATTNLAB_COMMIT", "started-here")
    assert remember_commit() == "started-here"
    monkeypatch.setenv("ATTNLAB_COMMIT", "moved-on")  # what a fresh look would see at the end
    assert git_commit() == "started-here"


def test_attention_entropy_command(tmp_path, capsys, vocab):
    from models.checkpoint import save_model
    from models.model import GPT, GPTConfig
    paths = []
    for name, kw in (("plain", {}), ("qk", {"qk_norm": True}), ("perceiver", {"variant": "perceiver"})):
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=len(vocab), n_layer=2, n_head=2, n_embd=16, bottleneck_dim=8, **kw))
        save_model(tmp_path / name / "model.safetensors", model, vocab, {"steps": 5})
        paths.append(tmp_path / name / "model.safetensors")
    code, out, _ = run(capsys, "attention-entropy", paths[0], paths[1], "--examples", "8", "--results-dir", tmp_path)
    assert code == 0 and out.count("layer 1:") == 2
    record = json.loads((tmp_path / "attention-entropy.json").read_text())
    assert [m["label"] for m in record["models"]] == ["plain", "qk"] and record["examples"] == 8
    for m in record["models"]:
        assert len(m["layers"]) == 2 and m["checkpoint_info"]["steps"] == 5
        # an untrained model attends broadly: entropy well above 0, nowhere near one-hot
        assert all(0.5 < row["entropy"] <= math.log(127) and row["max_weight"] < 0.9 for row in m["layers"])
    code, _, err = run(capsys, "attention-entropy", paths[0], "--labels", "a,b", "--no-record")
    assert code == 2 and "2 names for 1 checkpoints" in err
    code, _, err = run(capsys, "attention-entropy", paths[2], "--no-record")
    assert code == 2 and "perceiver" in err and "Traceback" not in err
    assert [m["config"] for m in record["models"]] == ["vanilla", "vanilla with qk_norm"]
    # a course-format file (a bare state dict) needs its head count, which it cannot tell
    from models.checkpoint import load_model
    torch.save(load_model(paths[0], vocab, n_head=2)[0].state_dict(), tmp_path / "course.params")
    code, _, _ = run(capsys, "attention-entropy", tmp_path / "course.params", "--n-head", "2", "--examples", "8",
                     "--results-dir", tmp_path / "course")
    course = json.loads((tmp_path / "course" / "attention-entropy.json").read_text())["models"][0]
    assert code == 0 and course["heads"] == record["models"][0]["heads"]
