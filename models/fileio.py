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
