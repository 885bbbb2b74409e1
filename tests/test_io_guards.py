"""Every command writes only where it should and reads with bounded resources (issue 40).

One test per kind of fault: an output that is a device, a FIFO or a symlink to one; an output
that is an input; an input that is a FIFO or a symlink to /dev/zero (run in a subprocess with a
timeout and a memory limit, so that a regression fails instead of blocking or eating memory);
an oversize answer file; checkpoints whose config or tensors are not a model's; --jobs beyond the
cores; a field far beyond the checker's cap in the feedback page.
"""
from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "docs" / "example-answers.toml"
FAST_SIM = ["variance", "--samples", "200", "--n", "3", "--quiet"]


def one_line_exit_2(code, err: str) -> bool:
    return code == 2 and err.count("\n") == 1 and "Traceback" not in err


def _limit_memory():  # the child may not take more than 6 GiB of address space
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


def run_module(*argv, timeout: float = 120) -> tuple[int, str, float]:
    """(exit status, stderr, seconds) of `python -m ...` in the repository; TimeoutExpired fails the test."""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", *map(str, argv)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, preexec_fn=_limit_memory,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    return proc.returncode, proc.stderr, time.monotonic() - t0


# ---------------------------------------------------------------------------- outputs that are not files


def _special_output(kind: str, tmp_path: Path) -> Path:
    """A FIFO, a character device (as /dev/null: 1, 3; root only) or a symlink to /dev/null, in tmp_path."""
    path = tmp_path / f"out-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    else:
        path.symlink_to("/dev/null")
    return path


def _still_special(path: Path, kind: str) -> bool:
    mode = os.lstat(path).st_mode
    return {"fifo": stat.S_ISFIFO, "device": stat.S_ISCHR, "symlink": stat.S_ISLNK}[kind](mode)


def _derivations(capsys, *argv):
    from derivations.cli import main
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    return exc.value.code, capsys.readouterr().err


def _simulate(capsys, *argv):
    from simulate.cli import main
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def _models(capsys, *argv):
    from models.cli import main
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("kind", ["fifo", "device", "symlink"])
@pytest.mark.parametrize("command", ["derivations check --csv", "simulate --out", "models evaluate --outputs"])
def test_an_output_that_is_not_a_regular_file_is_refused(command, kind, capsys, tmp_path, data_dir):
    """A device, a FIFO or a symlink to /dev/null given as the output is refused in one line
    before any work, and stays what it was (renaming over it as root would replace /dev/null)."""
    target = _special_output(kind, tmp_path)
    if command.startswith("derivations"):
        code, err = _derivations(capsys, "check", EXAMPLE, "--csv", target)
    elif command.startswith("simulate"):
        code, err = _simulate(capsys, *FAST_SIM, "--out", target)
    else:
        code, err = _models(capsys, "evaluate", "--checkpoint", tmp_path / "never-read.safetensors",
                            "--eval-file", data_dir / "birth_dev.tsv", "--outputs", target, "--no-record")
    assert one_line_exit_2(code, err) and "not a regular file" in err and str(target) in err, err
    assert _still_special(target, kind)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary file left


def test_the_atomic_writer_itself_never_replaces_a_device(tmp_path):
    from fileguard.errors import UserError
    from fileguard.outputs import write_atomic
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="FIFO"):
        write_atomic(fifo, "text")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and sorted(tmp_path.iterdir()) == [fifo]


def test_there_is_one_atomic_writer():
    """models.fileio, simulate.output and report use fileguard's writer; derivations keeps none of its own."""
    import derivations.check_cli
    import models.fileio
    import simulate.output
    from fileguard.outputs import write_atomic
    assert models.fileio.atomic_write_text is write_atomic and simulate.output.write_atomic is write_atomic
    assert not hasattr(derivations.check_cli, "_write_atomic")
    sources = [p for pkg in ("derivations", "simulate", "models", "report") for p in (REPO / pkg).glob("*.py")]
    assert not [p.name for p in sources if "mkstemp" in p.read_text(encoding="utf-8")]


# ---------------------------------------------------------------------------- an input given as the output


def test_an_answer_file_given_as_the_csv_is_left_alone(capsys, tmp_path):
    mine = tmp_path / "me.toml"
    mine.write_bytes(EXAMPLE.read_bytes())
    code, err = _derivations(capsys, "check", mine, "--csv", mine)
    assert one_line_exit_2(code, err) and "is also an input" in err
    assert mine.read_bytes() == EXAMPLE.read_bytes() and sorted(tmp_path.iterdir()) == [mine]


def test_a_values_file_given_as_the_out_file_is_left_alone(capsys, tmp_path):
    values = tmp_path / "v.txt"
    values.write_text("1 0 0\n0 1 0\n0 0 1\n")
    before = values.read_bytes()
    code, err = _simulate(capsys, *FAST_SIM, "--values", values, "--out", values)
    assert one_line_exit_2(code, err) and "is also an input" in err
    assert values.read_bytes() == before and sorted(tmp_path.iterdir()) == [values]


def test_an_output_in_the_data_folder_is_refused_by_every_command(capsys, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ATTNLAB_DATA", str(data))
    code, err = _derivations(capsys, "check", EXAMPLE, "--csv", data / "grades.csv")
    assert one_line_exit_2(code, err) and "read-only input" in err
    code, err = _simulate(capsys, *FAST_SIM, "--out", data / "v.json")
    assert one_line_exit_2(code, err) and "read-only input" in err
    assert not list(data.iterdir())


# ---------------------------------------------------------------------------- inputs that are not files


def _special_input(kind: str, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes to it: opening it for reading would block forever
    else:
        path.symlink_to("/dev/zero")  # endless: reading it whole would take all memory
    return path


@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("command", ["derivations check", "report --answers", "models evaluate --eval-file",
                                     "simulate --values"])
def test_a_fifo_or_dev_zero_as_input_is_refused_at_once(command, kind, tmp_path, data_dir):
    out = tmp_path / "out"
    if command == "derivations check":
        src = _special_input(kind, tmp_path, "me.toml")
        code, err, seconds = run_module("derivations", "check", src)
    elif command == "report --answers":
        src = _special_input(kind, tmp_path, "me.toml")
        code, err, seconds = run_module("report", "--answers", src, "--out", out)
    elif command == "models evaluate --eval-file":
        src = _special_input(kind, tmp_path, "dev.tsv")
        code, err, seconds = run_module("models", "evaluate", "--checkpoint", tmp_path / "none.safetensors",
                                        "--eval-file", src, "--outputs", out, "--no-record")
    else:
        src = _special_input(kind, tmp_path, "v.txt")
        code, err, seconds = run_module("simulate", *FAST_SIM, "--values", src)
    assert one_line_exit_2(code, err) and "not a regular file" in err and str(src) in err, err
    what = "FIFO" if kind == "fifo" else "character device"
    assert what in err and seconds < 60
    assert not out.exists()


def test_the_input_guard_reads_at_most_the_cap(tmp_path):
    from fileguard.errors import UserError
    from fileguard.inputs import read_bytes
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1001)
    assert read_bytes(big, "thing", 1001) == b"x" * 1001
    with pytest.raises(UserError, match="1,001 bytes, more than the limit of 1,000 bytes for this thing"):
        read_bytes(big, "thing", 1000)


def test_the_real_data_is_far_under_its_caps(data_dir):
    from models.data import DEV_TSV, TEST_INPUTS, TRAIN_TSV, TSV_MAX_BYTES, WIKI, WIKI_MAX_BYTES
    assert (data_dir / WIKI).stat().st_size * 50 < WIKI_MAX_BYTES
    assert max((data_dir / f).stat().st_size for f in (DEV_TSV, TRAIN_TSV, TEST_INPUTS)) * 50 < TSV_MAX_BYTES


def test_an_oversize_answer_file_is_one_line(capsys, tmp_path):
    from derivations.answer_file import MAX_BYTES
    big = tmp_path / "big.toml"
    big.write_text(f"[q3]\na = '{'x' * MAX_BYTES}'\n")
    code, err = _derivations(capsys, "check", big)
    assert one_line_exit_2(code, err) and "more than the limit of 262,144 bytes (256 KiB) for this answer file" in err


# ---------------------------------------------------------------------------- checkpoints


@pytest.fixture
def tiny_checkpoint(tmp_path, vocab):
    import torch

    from models.checkpoint import save_model
    from models.model import GPT, GPTConfig
    torch.manual_seed(0)
    path = tmp_path / "model.safetensors"
    save_model(path, GPT(GPTConfig(vocab_size=len(vocab), n_layer=2, n_head=2, n_embd=16)), vocab, {"steps": 1})
    return path


def _rewrite(path: Path, *, config=None, info=None, tensors=None) -> Path:
    """The checkpoint at `path` with config keys, the info text or tensors replaced."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        state = {k: f.get_tensor(k) for k in f.keys()}
    if config:
        meta["config"] = json.dumps({**json.loads(meta["config"]), **config})
    if info is not None:
        meta["info"] = info
    state.update(tensors or {})
    out = path.with_name("bad.safetensors")
    save_file(state, str(out), metadata=meta)
    return out


@pytest.mark.parametrize("change, words", [
    (dict(config={"n_layer": 300}), "n_layer 300 in its config, outside 1..256"),
    (dict(config={"n_head": 0}), "n_head 0 in its config, outside"),
    (dict(config={"n_embd": -16}), "n_embd -16 in its config, outside"),
    (dict(config={"n_head": 3}), "must be a multiple of n_head (3)"),
    (dict(config={"block_size": 64}), "pos_emb has shape [1, 128, 16], the model's is [1, 64, 16]"),
    (dict(info="[1, 2]"), "'info' metadata is a JSON list, not an object"),
    (dict(info="{not json"), "'info' metadata is not JSON"),
])
def test_a_checkpoint_config_out_of_range_is_refused_before_allocation(tiny_checkpoint, vocab, change, words):
    from models.checkpoint import load_model
    from models.fileio import UserError
    bad = _rewrite(tiny_checkpoint, **change)
    t0 = time.monotonic()
    with pytest.raises(UserError) as exc:
        load_model(bad, vocab)
    assert words in str(exc.value) and str(exc.value).startswith(str(bad)) and time.monotonic() - t0 < 5


@pytest.mark.parametrize("tensor, words", [
    ("nan", "tensor head.weight holds values that are not finite"),
    ("inf", "tensor head.weight holds values that are not finite"),
    ("int", "tensor head.weight is int32, not floating point"),
    ("bool", "tensor head.weight is bool, not floating point"),
])
def test_a_checkpoint_tensor_that_is_not_a_finite_float_is_named(tiny_checkpoint, vocab, tensor, words):
    import torch
    from safetensors import safe_open

    from models.checkpoint import load_model
    from models.fileio import UserError
    with safe_open(str(tiny_checkpoint), framework="pt") as f:
        head = f.get_tensor("head.weight")
    bad_head = {"nan": head.clone().fill_(float("nan")), "inf": head.clone().fill_(float("inf")),
                "int": head.to(torch.int32), "bool": head > 0}[tensor]
    bad = _rewrite(tiny_checkpoint, tensors={"head.weight": bad_head})
    with pytest.raises(UserError, match=words):
        load_model(bad, vocab)


def test_evaluate_with_a_100000_layer_checkpoint_is_one_line_in_seconds(tiny_checkpoint, tmp_path, data_dir):
    """The issue's 56 KB file that claims 100,000 layers (in a subprocess with a memory limit: a
    regression fails instead of allocating the machine's memory)."""
    bad = _rewrite(tiny_checkpoint, config={"n_layer": 100000})
    code, err, seconds = run_module("models", "evaluate", "--checkpoint", bad, "--eval-file", data_dir / "birth_dev.tsv",
                                    "--outputs", tmp_path / "p.txt", "--no-record")
    assert one_line_exit_2(code, err) and "n_layer 100000 in its config" in err and seconds < 60
    assert not (tmp_path / "p.txt").exists()


def test_a_model_too_large_for_memory_is_refused_before_training(tmp_path):
    code, err, _ = run_module("models", "pretrain", "--n-layer", "200", "--n-embd", "65536", "--n-head", "8",
                              "--out", tmp_path / "run", "--no-progress")
    assert one_line_exit_2(code, err) and "more than half of this machine's" in err
    assert not (tmp_path / "run" / "state.pt").exists()


# ---------------------------------------------------------------------------- workers


def test_jobs_beyond_the_cores_is_one_line_before_any_worker(capsys, monkeypatch):
    import derivations.check_cli
    pools = []

    def no_pool(files, **kwargs):  # a regression records the workers instead of forking 100,000 of them
        pools.append(kwargs.get("jobs"))
        raise AssertionError(f"{kwargs.get('jobs')} workers were started")
    monkeypatch.setattr(derivations.check_cli, "grade", no_pool)
    code, err = _derivations(capsys, "check", EXAMPLE, EXAMPLE, "--jobs", "100000")
    assert one_line_exit_2(code, err) and "--jobs 100000" in err and "cores" in err and not pools
    from derivations.cli import build_parser
    assert "more than the machine's cores is an error" in " ".join(
        build_parser()._subparsers._group_actions[0].choices["check"].format_help().split())


# ---------------------------------------------------------------------------- typesetting answers


def test_a_field_beyond_the_checkers_cap_is_shown_as_text_not_typeset():
    from derivations.answer_grammar import MAX_LENGTH
    from report.feedback import render_html, render_md
    from report.mathrender import typeset_answer
    huge = r"\frac{1}{2}" * (1_000_000 // 11)  # 1 MB of a formula mathtext could parse
    t0 = time.monotonic()
    assert typeset_answer(huge) is None
    row = {"part": "q1b_ii", "field": "q", "given": huge, "verdict": "unparseable", "condition": "",
           "evidence": f"longer than {MAX_LENGTH} characters", "counterexample": "", "decided_by": "x", "math": True}
    html = render_html("big.toml", [row])
    md = render_md("big.toml", [row])
    assert time.monotonic() - t0 < 5
    assert "<img" not in html and "<code>" + huge[:100] in html and "$$" not in md
    assert typeset_answer(r"\frac{1}{2}") is not None  # within the cap it is typeset


def test_report_answers_with_a_1mb_field_finishes_in_seconds(tmp_path):
    """1 MB: over the answer file's cap, refused in one line; 180 KB (under it): written, as text."""
    big = tmp_path / "big.toml"
    big.write_text(f"[q1b_ii]\nq = '{'k_a + ' * 250_000}k_b'\n")
    code, err, seconds = run_module("report", "--answers", big, "--out", tmp_path / "o1")
    assert one_line_exit_2(code, err) and "for this answer file" in err and seconds < 60
    assert not (tmp_path / "o1").exists()
    under = tmp_path / "under.toml"
    under.write_text(f"[q1b_ii]\nq = '{'k_a + ' * 30_000}k_b'\n")
    code, err, seconds = run_module("report", "--answers", under, "--out", tmp_path / "o2")
    html = (tmp_path / "o2" / "feedback.html").read_text(encoding="utf-8")
    assert code == 0 and seconds < 60 and "<img" not in html and "unparseable" in html


def test_the_answer_file_cap_is_settable(capsys, tmp_path):
    honest = tmp_path / "a.toml"
    honest.write_text("[q1b_i]\nM = 'A A^T'\n" + "# " + "x" * 3000 + "\n")  # 3 KB: over a 2 KiB cap, under the default
    code, err = _derivations(capsys, "check", honest, "--max-file-kib", "2")
    assert one_line_exit_2(code, err) and "2,048 bytes" in err
    from derivations.cli import main
    assert main(["check", str(honest), "--max-file-kib", "8", "--quiet"]) == 0
