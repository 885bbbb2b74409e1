"""Writing result records: `<results>/<name>.json`, one per run that yields a dev accuracy
(what a record holds: models.record.Record).

By default a record goes to runs/results/ (beside the run folders, not committed). Only an
explicit `--results-dir report/results` writes into report/results/, the committed evidence
that the report reads; nobody edits records by hand. Written atomically.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

from .data import REPO_ROOT
from .fileio import UserError, atomic_write_text
from .record import Record

RESULTS_DIR = REPO_ROOT / "report" / "results"  # the committed evidence: written only when asked by name
DEFAULT_RESULTS_DIR = REPO_ROOT / "runs" / "results"  # where a record goes when no --results-dir is given
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


_STARTED_AT: dict[Path, str] = {}


def remember_commit(root: Path = REPO_ROOT) -> str:
    """Read the commit now, at the start of a command, and let git_commit() return it from then
    on: a record written at the end of a long run must name the code that ran, not whatever
    HEAD the working tree holds by then."""
    _STARTED_AT.pop(root, None)  # so that git_commit() looks afresh
    _STARTED_AT[root] = git_commit(root)
    return _STARTED_AT[root]


def git_commit(root: Path = REPO_ROOT) -> str:
    """The commit of the code this process runs: the one remember_commit() read when the
    command started, else $ATTNLAB_COMMIT when set (a copy of the tree on another machine, e.g.
    a GPU, whose own .git may be missing or stale), else HEAD's hash with "-dirty" when the
    working tree has changes, else "unknown"."""
    if root in _STARTED_AT:
        return _STARTED_AT[root]
    if os.environ.get("ATTNLAB_COMMIT"):
        return os.environ["ATTNLAB_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True,
                               check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else the platform's processor, else unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_features() -> str:
    """What decides CPU speed here: torch's vector ISA, and whether bf16 matrix products run
    natively (AVX-512 BF16 or AMX; elsewhere bf16 is emulated and far slower than fp32). The
    machines behind one name ("AMD EPYC") have differed from day to day, so records say this."""
    import torch
    try:
        bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):
        bf16 = False
    return f"{torch.backends.cpu.get_cpu_capability()}, {'native' if bf16 else 'no native'} bf16"


def command_line(argv: list[str] | None = None) -> str:
    """`python -m models` and `args` (default this process's), shell-quoted: what a record names."""
    args = sys.argv[1:] if argv is None else argv
    return "python -m models " + shlex.join(args)


def check_name(name: str) -> str:
    """`name`, refused with a UserError unless it is letters, digits, '.', '_' or '-' (a file name)."""
    if not _NAME.match(name):
        raise UserError(f"result name {name!r} must be letters, digits, '.', '_' or '-'")
    return name


def check_record_free(name: str, results_dir: str | os.PathLike | None) -> Path:
    """The path `<results_dir>/<name>.json` (results_dir None: runs/results), refused with a
    UserError when it already exists in report/results: a committed record is evidence and is
    never replaced by a later run under the same name. Elsewhere a rerun replaces its record.
    Called before any work, and again by write_record."""
    return check_committed_free(Path(results_dir or DEFAULT_RESULTS_DIR) / f"{check_name(name)}.json", "record")


def check_committed_free(path: Path, what: str) -> Path:
    """`path`, refused with a UserError when it already exists under report/results (a record,
    or the predictions beside it): committed evidence is never replaced."""
    resolved = path.resolve()
    if resolved.exists() and resolved.is_relative_to(RESULTS_DIR.resolve()):
        raise UserError(f"{os.path.relpath(resolved, REPO_ROOT)} already exists: a committed {what} is never "
                        "replaced; choose another --name")
    return path


def new_record(**values) -> Record:
    """`Record.new(**values)` with `commit` (git_commit) and, for a CPU run, `device_detail`
    (the CPU's name and features) filled in unless given."""
    values.setdefault("commit", git_commit())
    if values.get("device") == "cpu":
        values.setdefault("device_detail", f"{cpu_name()} ({cpu_features()})")
    return Record.new(**values)


def write_record(record: Record, results_dir: str | os.PathLike | None = None) -> Path:
    """Write `record` to `<results_dir>/<record.name>.json` (default runs/results) atomically and
    return the path; a committed record is never replaced (check_record_free)."""
    path = check_record_free(record.name, results_dir)
    atomic_write_text(path, record.to_json())
    return path
