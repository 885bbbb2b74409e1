"""Every command of the README runs on a copy of the tree (short versions of the long ones),
and afterwards `git status --short` is empty: no example overwrites evidence, the committed
report is what `python -m report` makes, and nothing lands outside ignored folders.

The copy holds the tracked files and the untracked ones git does not ignore, committed into a
fresh repository, so the test sees the working tree as a fresh clone of it would be."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
TINY = "--n-layer 1 --n-head 2 --n-embd 32 --no-progress"

# What the test runs instead of a README command that takes minutes or hours (same command, smaller).
SHORT = {
    "make report": "python -m report",
    "python -m simulate variance --heads multi --beta 10 --n 8 --d 64 --samples 200000 --seed 0":
        "python -m simulate variance --heads multi --beta 10 --n 8 --d 64 --samples 20000 --seed 0",
    "python -m models finetune --out runs/no-pretraining":
        f"python -m models finetune --out runs/no-pretraining --max-steps 2 --limit 16 {TINY}",
    "python -m models pretrain --out runs/pretrain":
        f"python -m models pretrain --out runs/pretrain --max-steps 2 --limit 16 --batch-size 8 {TINY}",
    "python -m models finetune --pretrained runs/pretrain/model.safetensors --out runs/finetune":
        "python -m models finetune --pretrained runs/pretrain/model.safetensors --out runs/finetune --max-steps 2 "
        "--limit 16 --no-progress",
    "python -m models pipeline --device cuda --jobs 3 --results-dir report/results --tag course-trainer --out runs/pipeline-export":
        "python -m models pipeline --smoke --stages vanilla-no-pretraining --out runs/pipeline-export",
    "python -m models recipe cpu-60 --threads 2": "python -m models recipe cpu-60 --smoke --threads 2 --seed 1",
    "python -m derivations.bench_class --files 200 --hostile 10":
        "python -m derivations.bench_class --files 20 --hostile 10 --field-timeout 2",
}
# README commands the test does not run, and why.
SKIP = {
    "make test": "the suite itself",
    ". .venv/bin/activate": "a shell built-in; the test runs the environment's python directly",
    "python -m pytest -m slow": "the long runs themselves (hours)",
    "python -m report --check": "tests/test_report.py::test_committed_report_passes_report_check runs it on the committed tree, and the "
                                "clean tree after this test's `python -m report` shows the same",
}


def readme_commands() -> list[str]:
    """The command lines of the README's ```sh blocks, without their comments."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line:
                commands.append(line)
    return commands


def test_every_readme_command_has_a_plan():
    commands = readme_commands()
    assert len(commands) >= 15
    assert set(SHORT) <= set(commands), f"stale short versions: {set(SHORT) - set(commands)}"
    assert set(SKIP) <= set(commands), f"stale skips: {set(SKIP) - set(commands)}"
    assert sum(1 for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def copy_of_the_tree(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-qm", "copy"], cwd=dest, check=True)


def test_the_readme_commands_run_and_leave_the_tree_clean(tmp_path, data_dir):
    tree = tmp_path / "attnlab"
    tree.mkdir()
    copy_of_the_tree(tree)
    (tmp_path / "shared").symlink_to(REPO.parent / "shared")  # ../shared beside the copy, as beside a clone
    env = {**os.environ, "ATTNLAB_DATA": str(data_dir), "OMP_NUM_THREADS": "1"}
    done = set()
    for command in readme_commands():
        line = SHORT.get(command, command).replace("../shared/data", str(data_dir))
        if command in SKIP or line in done:  # a command the README shows twice (make report, python -m report) runs once
            continue
        done.add(line)
        argv = shlex.split(line)
        assert argv[0] == "python", f"README command not run by python: {command}"
        proc = subprocess.run([sys.executable, *argv[1:]], cwd=tree, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, line
    status = subprocess.run(["git", "status", "--short"], cwd=tree, capture_output=True, text=True, check=True)
    assert status.stdout == "", f"the README's commands changed the tree:\n{status.stdout}"
