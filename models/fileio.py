"""User-facing errors and file guards for `models`: thin re-exports of `fileguard` (the one
output guard, the one input guard, the one atomic writer), the predictions writer and the run
folder's lock."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from fileguard.datafolder import REPO_ROOT
from fileguard.errors import UserError
from fileguard.inputs import read_text
from fileguard.inputs import regular_file as require_file
from fileguard.outputs import atomic_path, check_output
from fileguard.outputs import write_atomic as atomic_write_text

__all__ = ["UserError", "read_text", "require_file", "atomic_path", "check_output", "atomic_write_text",
           "write_lines", "folder_lock", "shown_path"]


def shown_path(path: str | os.PathLike) -> str:
    """`path` as a message or table shows it: relative to the repository when inside it, else whole."""
    path = Path(path).resolve()
    return os.path.relpath(path, REPO_ROOT) if path.is_relative_to(REPO_ROOT) else str(path)


def write_lines(path: Path, lines: list[str]) -> None:
    """One line per prediction: a newline the model generated is written as the two characters \\n."""
    atomic_write_text(path, "".join(line.replace("\n", "\\n") + "\n" for line in lines), "predictions")


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "a run"):
    """Hold an exclusive lock on `folder` (its file .lock, with flock) while the block runs, so
    that one run folder holds one run: a second process (or a second open in this one) is
    refused with a UserError. The lock dies with the process, so a killed run never leaves a
    stale lock behind."""
    import fcntl
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another process is already {what} in this folder (it holds {folder / '.lock'})",
                            folder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
