"""User-facing errors and atomic file writes, shared by every command."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


class UserError(Exception):
    """A mistake in the user's input: the command line prints it as one line and exits 2.

    `where` is a file name (optionally with a line number) that the message is about.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return `path` as a Path if it is a readable regular file, else raise UserError."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"is a directory, expected a {what}", p)
    if not p.exists():
        raise UserError(f"no such {what}", p)
    if not os.access(p, os.R_OK):
        raise UserError(f"cannot read this {what}", p)
    return p


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """Read a UTF-8 text file, turning every way it can be unreadable into a UserError."""
    p = require_file(path, what)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read: {e.strerror}", p) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserError("not valid UTF-8", p, line) from None


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it vanishes.

    Readers therefore see either the old file or the complete new one, never a partial one.
    """
    target = Path(path)
    if target.is_dir():
        raise UserError("is a directory, cannot write a file there", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_lines(path: Path, lines: list[str]) -> None:
    """One line per prediction: a newline the model generated is written as the two characters \\n."""
    atomic_write_text(path, "".join(line.replace("\n", "\\n") + "\n" for line in lines))


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output(path: str | os.PathLike, what: str, *, inputs=(), protected_dirs=(), folder: bool = False) -> Path:
    """Refuse an output location before any work is done, so that a mistake leaves nothing behind.

    `path` is a file (or, with `folder`, a folder) about to be written. Raises UserError when it
    is one of `inputs` (an output never replaces an input), lies inside one of `protected_dirs`
    (the read-only data folder, the committed evidence), is of the wrong kind (a folder where a
    file goes, or the reverse), or cannot be written: the nearest existing folder on its way is
    probed with a temporary file, which is the only test that holds for root and for read-only
    file systems alike. Returns the path."""
    p = Path(path)
    resolved = p.resolve()
    for given in inputs:
        if given is not None and Path(given).exists() and resolved == Path(given).resolve():
            raise UserError(f"is also an input of this command: the {what} would replace it", p)
    for d in protected_dirs:
        if d is not None and Path(d).is_dir() and resolved.is_relative_to(Path(d).resolve()):
            raise UserError(f"lies inside {d}, which is read-only input: choose another place for the {what}", p)
    if folder and p.exists() and not p.is_dir():
        raise UserError(f"exists and is not a folder, expected one for the {what}", p)
    if not folder and p.is_dir():
        raise UserError(f"is a directory, expected a file for the {what}", p)
    base = _nearest_existing(resolved if folder else resolved.parent)
    if not base.is_dir():
        raise UserError(f"cannot hold the {what}: {base} is a file, not a folder", p)
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as e:
        raise UserError(f"cannot write the {what} here ({e.strerror or e})", p) from None
    if not folder and p.exists() and not os.access(p, os.W_OK):
        raise UserError(f"cannot replace this file (no write permission) for the {what}", p)
    return p


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
