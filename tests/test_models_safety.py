"""What a user runs never damages evidence or input, the files people have load, and a mistake
is one line with exit 2: one test per kind of fault."""
from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path

import pytest
import torch

from models.checkpoint import load_model
from models.cli import main
from models.data import DEV_TSV, WIKI, read_tsv, read_wiki
from models.fileio import folder_lock
from models.model import GPT, GPTConfig

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
TINY = ["--n-layer", "2", "--n-embd", "32", "--n-head", "2", "--no-progress"]


def run(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err):
    return code == 2 and err.count("\n") == 1 and err.startswith("models: error: ") and "Traceback" not in err


def tree_digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- the committed evidence is safe


@pytest.mark.parametrize("command", ["recipe", "finetune", "pipeline"])
def test_a_committed_record_is_never_replaced_and_the_refusal_comes_before_training(command, capsys, monkeypatch,
                                                                                    tmp_path):
    """A run whose record would take the name of a record in report/results (here a stand-in
    folder) stops before it trains, with one line and exit 2; the record is byte for byte as it
    was, and the run folder holds no training."""
    import models.pipeline  # imported before the stand-in: their smoke guards keep naming the real report/results
    import models.recipe
    import models.results
    committed = tmp_path / "committed"
    committed.mkdir()
    monkeypatch.setattr(models.results, "RESULTS_DIR", committed)
    work = tmp_path / "work"
    if command == "recipe":
        taken = "taken"
        argv = ["recipe", "cpu-60", "--smoke", "--no-progress", "--name", taken, "--results-dir", committed,
                "--work", work]
    elif command == "finetune":
        taken = "taken"
        argv = ["finetune", *TINY, "--limit", "16", "--max-steps", "2", "--out", work, "--name", taken,
                "--results-dir", committed]
    else:
        taken = "smoke-vanilla-no-pretraining-x"
        argv = ["pipeline", "--smoke", "--stages", "vanilla-no-pretraining", "--tag", "x", "--work", work,
                "--results-dir", committed]
    (committed / f"{taken}.json").write_text("evidence\n")
    code, _, err = run(capsys, *argv)
    assert one_line_error(code, err) and "never replaced" in err and f"{taken}.json" in err
    assert (committed / f"{taken}.json").read_text() == "evidence\n"
    assert not list(work.rglob("metrics.jsonl")) and not list(work.rglob("state.pt"))
    if command == "recipe":  # the predictions beside a committed record are evidence too
        (committed / "predictions").mkdir()
        (committed / "predictions" / "other-test.txt").write_text("evidence\n")
        code, _, err = run(capsys, *[("other" if a == taken else a) for a in argv])
        assert one_line_error(code, err) and "other-test.txt already exists" in err
        assert (committed / "predictions" / "other-test.txt").read_text() == "evidence\n"
    # elsewhere (runs/results) a rerun replaces its own record: only the committed evidence is guarded
    assert models.results.check_record_free(taken, tmp_path / "elsewhere") == tmp_path / "elsewhere" / f"{taken}.json"


def test_a_record_goes_to_runs_unless_report_results_is_named(capsys, monkeypatch, tmp_path):
    """Without --results-dir a record goes to runs/results (here redirected to a temporary
    folder); report/results, the committed evidence, is left byte for byte as it was."""
    import models.commands.receptive_field
    import models.results
    before = tree_digest(REPO / "report" / "results")
    default = tmp_path / "runs-results"
    monkeypatch.setattr(models.results, "DEFAULT_RESULTS_DIR", default)
    monkeypatch.setattr(models.commands.receptive_field, "DEFAULT_RESULTS_DIR", default)
    assert models.results.DEFAULT_RESULTS_DIR != models.results.RESULTS_DIR
    code, out, _ = run(capsys, "london")
    assert code == 0 and (default / "london.json").is_file()
    assert json.loads((default / "london.json").read_text())["dev_correct"] == 25
    code, _, _ = run(capsys, "receptive-field", "--bottleneck-dims", "8", "--length", "16")
    assert code == 0 and (default / "analysis" / "receptive-field.json").is_file()
    assert tree_digest(REPO / "report" / "results") == before


def test_the_default_record_folder_is_under_runs():
    from models.results import DEFAULT_RESULTS_DIR, RESULTS_DIR
    assert DEFAULT_RESULTS_DIR == REPO / "runs" / "results" and RESULTS_DIR == REPO / "report" / "results"


def test_an_output_never_replaces_an_input(capsys, tmp_path, data_dir):
    dev = tmp_path / "dev.tsv"
    dev.write_bytes((data_dir / DEV_TSV).read_bytes())
    before = dev.read_bytes()
    code, _, err = run(capsys, "london", "--eval-file", dev, "--outputs", dev, "--no-record")
    assert one_line_error(code, err) and "input" in err and dev.read_bytes() == before
    # a path inside the data folder (a copy of it, given as --data-dir) is refused before any work
    data = tmp_path / "data"
    data.mkdir()
    for name in (WIKI, DEV_TSV, "birth_places_train.tsv"):
        (data / name).write_bytes((data_dir / name).read_bytes())
    code, _, err = run(capsys, "london", "--data-dir", data, "--outputs", data / "predictions.txt", "--no-record")
    assert one_line_error(code, err) and "read-only input" in err and not (data / "predictions.txt").exists()
    code, _, err = run(capsys, "london", "--data-dir", data, "--results-dir", data / "results")
    assert one_line_error(code, err) and not (data / "results").exists()


def test_an_unwritable_output_is_found_before_the_work(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = run(capsys, "finetune", *TINY, "--limit", "16", "--epochs", "1", "--out", tmp_path / "run",
                       "--outputs", blocker / "predictions.txt", "--results-dir", tmp_path / "res")
    assert one_line_error(code, err) and "is a file, not a folder" in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "res").exists()


def test_one_run_folder_holds_one_run(capsys, tmp_path):
    out = tmp_path / "run"
    with folder_lock(out):  # another process training there (flock conflicts across open files)
        code, _, err = run(capsys, "pretrain", *TINY, "--limit", "16", "--batch-size", "8", "--max-steps", "1",
                           "--out", out)
    assert one_line_error(code, err) and "another process" in err and not (out / "state.pt").exists()
    code, _, _ = run(capsys, "pretrain", *TINY, "--limit", "16", "--batch-size", "8", "--max-steps", "1", "--out", out)
    assert code == 0 and (out / "state.pt").exists()  # the lock died with its holder


def test_a_metrics_log_cut_mid_line_does_not_block_resume(capsys, tmp_path):
    out = tmp_path / "run"
    common = ["pretrain", *TINY, "--limit", "16", "--batch-size", "8", "--out", out]
    assert run(capsys, *common, "--max-steps", "2")[0] == 0
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 3, "epoch": 1, "lo')  # a kill or a full disk in the middle of a line
    code, _, err = run(capsys, *common, "--max-steps", "4", "--resume")
    assert code == 0, err
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_a_diverging_run_stops_naming_the_step_and_writes_no_record(capsys, tmp_path, monkeypatch):
    from models import fast
    real = fast.Stepper.step
    calls = {"n": 0}

    def step(self, *a, **kw):
        loss = real(self, *a, **kw)
        calls["n"] += 1
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(fast.Stepper, "step", step)
    res = tmp_path / "res"
    code, _, err = run(capsys, "finetune", *TINY, "--limit", "32", "--batch-size", "8", "--epochs", "2",
                       "--out", tmp_path / "run", "--results-dir", res)
    assert one_line_error(code, err) and "diverged" in err and "at step 3" in err and "nan" in err
    assert not res.exists() or not list(res.glob("*.json"))
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2]  # the NaN step is not logged as a result


def test_a_full_disk_at_checkpoint_time_is_one_line(capsys, tmp_path, monkeypatch):
    import models.checkpoint
    out = tmp_path / "run"
    common = ["pretrain", *TINY, "--limit", "16", "--batch-size", "8", "--save-every", "1", "--out", out]
    assert run(capsys, *common, "--max-steps", "1")[0] == 0

    def full(*a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(models.checkpoint.torch, "save", full)
    code, _, err = run(capsys, *common, "--max-steps", "3", "--resume")
    assert one_line_error(code, err) and "No space left on device" in err and "step 1 is kept" in err
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    assert torch.load(out / "state.pt", weights_only=True)["step"] == 1


def test_a_resume_state_without_its_optimizer_is_refused(capsys, tmp_path):
    out = tmp_path / "run"
    common = ["pretrain", *TINY, "--limit", "16", "--batch-size", "8", "--out", out]
    assert run(capsys, *common, "--max-steps", "1")[0] == 0
    state = torch.load(out / "state.pt", weights_only=True)
    del state["optimizer"]
    torch.save(state, out / "state.pt")
    code, _, err = run(capsys, *common, "--max-steps", "2", "--resume")
    assert one_line_error(code, err) and "no optimizer" in err


# ---------------------------------------------------------------------------- the files people have load


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod."])
def test_a_wrapped_state_dict_loads_as_the_unwrapped_one(tmp_path, vocab, prefix):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(vocab), n_layer=2, n_head=2, n_embd=32)).eval()
    plain, wrapped = tmp_path / "plain.pt", tmp_path / "wrapped.pt"
    torch.save(model.state_dict(), plain)
    torch.save({prefix + k: v for k, v in model.state_dict().items()}, wrapped)
    x = torch.tensor([vocab.encode("Where was Ada born?")])
    a, _ = load_model(plain, vocab, n_head=2)
    b, info = load_model(wrapped, vocab, n_head=2)
    assert info["stripped_prefix"] == prefix
    assert torch.equal(a(x)[0], b(x)[0]) and torch.allclose(a(x)[0], model(x)[0], atol=1e-6)


def copies_of_dev(tmp_path, data_dir):
    text = (data_dir / DEV_TSV).read_text(encoding="utf-8")
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text  # the dev set has accented names, so the NFD copy really differs
    spaced = "".join(f"{q} \t{a}  \r\n" for q, a in (line.split("\t") for line in text.splitlines()))
    copies = {"bom": "\ufeff" + text, "nfd": nfd, "spaces-crlf": spaced}
    for name, content in copies.items():
        (tmp_path / f"{name}.tsv").write_text(content, encoding="utf-8", newline="")
    return [tmp_path / f"{name}.tsv" for name in copies]


def test_tsv_copies_from_editors_score_as_the_course_scorer_reads_them(capsys, tmp_path, data_dir, vocab):
    """BOM dropped, NFC, fields stripped: each copy of birth_dev.tsv reads as the original, and
    the London baseline is 25/500 on each."""
    original = read_tsv(data_dir / DEV_TSV, vocab, answers=True)
    for path in copies_of_dev(tmp_path, data_dir):
        rows = read_tsv(path, vocab, answers=True)
        assert [(r.question, r.answer) for r in rows] == [(r.question, r.answer) for r in original], path.name
        code, out, err = run(capsys, "london", "--eval-file", path, "--no-record")
        assert code == 0 and "Correct: 25 out of 500" in out, (path.name, err)


def test_wiki_from_an_editor_reads_as_the_original(tmp_path, data_dir, vocab):
    lines = read_wiki(data_dir / WIKI)
    assert len(lines) == 2937
    edited = tmp_path / "wiki.txt"
    edited.write_text("\ufeff" + "\r\n".join(lines[:3] + ["", "   "] + lines[3:10]) + "\r\n\r\n", encoding="utf-8",
                      newline="")
    assert read_wiki(edited) == lines[:10]


def test_a_character_outside_the_vocabulary_is_named_by_code_point(tmp_path, vocab):
    from models.fileio import UserError
    bad = tmp_path / "bad.tsv"
    bad.write_text("Where was A born?\tParis\nWhere was Jox\u0301 born?\tRome\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.tsv:2: .*U\+0301 COMBINING ACUTE ACCENT"):
        read_tsv(bad, vocab, answers=True)


def test_a_course_checkpoints_head_count_is_given_or_said_to_be_assumed(tmp_path, vocab):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(vocab), n_layer=2, n_head=2, n_embd=32)).eval()
    path = tmp_path / "course.pt"
    torch.save(model.state_dict(), path)
    x = torch.tensor([vocab.encode("Where was Ada born?")])
    given, info = load_model(path, vocab, n_head=2)
    assert info["n_head_source"] == "given" and torch.allclose(given(x)[0], model(x)[0], atol=1e-6)
    assumed, info = load_model(path, vocab)
    assert info["n_head"] == 8 and info["n_head_source"].startswith("assumed")
    assert not torch.allclose(assumed(x)[0], model(x)[0], atol=1e-3)  # why the record must say which
    from models.checkpoint import save_model
    from models.fileio import UserError
    own = tmp_path / "own.safetensors"
    save_model(own, model, vocab, {})
    with pytest.raises(UserError, match="stores n_head 2"):
        load_model(own, vocab, n_head=8)


class Tripwire:
    """Unpickling this object would create a file: proof that the loader never unpickles it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_pickled_whole_model_is_refused_without_being_unpickled(capsys, tmp_path, vocab):
    marker = tmp_path / "unpickled"
    trap = tmp_path / "trap.pt"
    torch.save({"model": Tripwire(str(marker))}, trap)
    whole = tmp_path / "whole.pt"
    torch.save(GPT(GPTConfig(vocab_size=len(vocab), n_layer=1, n_head=2, n_embd=16)), whole)
    dev = tmp_path / "dev.tsv"
    dev.write_text("Where was Ada born?\tLondon\n", encoding="utf-8")
    for path in (trap, whole):
        code, _, err = run(capsys, "evaluate", "--checkpoint", path, "--eval-file", dev, "--outputs",
                           tmp_path / "p.txt", "--no-record")
        assert one_line_error(code, err) and "torch.save(model.state_dict()" in err and err.rstrip().endswith("file")
        assert "\x1b" not in err and "not unpickled" in err
    assert "models.model.GPT" in err
    assert not marker.exists()


# ---------------------------------------------------------------------------- no tracebacks for user mistakes


@pytest.mark.parametrize("argv,words", [
    (["pretrain", "--seed", str(2 ** 64)], "seed"),
    (["finetune", "--seed", "-3"], "seed"),
])
def test_a_seed_outside_the_generators_range_is_one_line(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert one_line_error(code, err) and words in err


def test_recipe_settings_the_run_would_reject_are_rejected_by_the_dry_run(capsys):
    for settings in (["n_embd=30"], ["n_head=3"], ["pretrain_lr=-1"], ["finetune_lr=inf"], ["dropout=1.5"],
                     ["variant=perceiver", "bottleneck_dim=999"], ["budget_seconds=0"], ["weight_decay=-0.1"]):
        code, _, err = run(capsys, "recipe", "cpu-60", "--dry-run", *[a for s in settings for a in ("--set", s)])
        assert one_line_error(code, err), (settings, err)
    assert run(capsys, "recipe", "cpu-60", "--dry-run", "--set", "n_embd=96", "--set", "n_head=3")[0] == 0


@pytest.mark.parametrize("where", ["/proc/attnlab-report", "{file}/report"])
def test_an_unwritable_report_folder_is_one_line_before_the_build(tmp_path, where):
    import subprocess
    import sys
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "report", "--out", where.format(file=blocker)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stderr.startswith("report: error: --out")
    assert "Traceback" not in proc.stderr and "deciding" not in proc.stderr  # refused before the build began


def test_records_name_paths_relative_to_the_repository(tmp_path):
    from models.results import new_record, write_record
    path = write_record(new_record(
        name="x", variant="vanilla", recipe="unknown", faithful=False, device="cuda", command="c", seed=0,
        wall_seconds=1.0, steps=1, dev_correct=1, dev_total=2, predictions=str(REPO / "runs" / "p.txt"),
        checkpoint=REPO / "runs" / "m.safetensors",
        pretrained={"eval_file": str(REPO.parent / "shared" / "data" / "birth_dev.tsv")}), tmp_path)
    record = json.loads(path.read_text())
    assert record["predictions"] == "runs/p.txt" and record["checkpoint"] == "runs/m.safetensors"
    assert record["pretrained"]["eval_file"] == "../shared/data/birth_dev.tsv"


def test_no_committed_record_names_a_machines_absolute_path():
    for path in sorted((REPO / "report" / "results").rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        for root in ('"/work', '"/tmp', '"/home', '"/root', '"/Users'):
            assert root not in text, f"{path.relative_to(REPO)} names an absolute path ({root[1:]}...)"


def test_every_document_that_help_texts_name_exists():
    """--help and docstrings point to documents by path: each of them is in the repository."""
    import re
    named = set()
    for path in list((REPO / "models").glob("*.py")) + list((REPO / "report").glob("*.py")):
        named |= set(re.findall(r"\b((?:docs|models|report)/[\w-]+\.md)\b", path.read_text(encoding="utf-8")))
    assert "docs/speed.md" in named
    missing = sorted(n for n in named if not (REPO / n).is_file())
    assert not missing, f"named but missing: {missing}"
