"""Reading input files: regular files only, never blocking, never more than a size cap.

Every reader stats the path before opening it (symlinks followed), so a device, a FIFO or a
socket is refused without being opened; the open itself is non-blocking, so a path swapped for
a FIFO in between cannot block either. A file is read with its cap: at most cap + 1 bytes,
whatever its stat says (/proc files report size 0). Each kind of input has its own cap, set by
the package that reads it (answer files, TSVs, wiki text, value files, checkpoints).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UserError
from .kinds import kind_of

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


def size_text(n: int) -> str:
    """'262,144 bytes (256 KiB)': bytes exactly, and the nearest binary unit."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
        if n >= unit:
            return f"{n:,} bytes ({n / unit:.3g} {name})"
    return f"{n:,} bytes"


def _too_large(p: Path, what: str, size: int | None, max_bytes: int) -> UserError:
    said = "larger than" if size is None else f"{size_text(size)}, more than"
    return UserError(f"is {said} the limit of {size_text(max_bytes)} for this {what}", p)


def regular_file(path: str | os.PathLike, what: str = "file", max_bytes: int | None = None) -> Path:
    """`path` as a Path when it names, after symlinks, a readable regular file of at most
    `max_bytes` bytes (by its stat). Nothing is opened.

    Raises UserError (one line, naming the path) when it is missing, a directory, a device, a
    FIFO or a socket, larger than `max_bytes`, or not readable."""
    p = Path(path)
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"no such {what}", p) from None
    except OSError as e:
        raise UserError(f"cannot read this {what} ({e.strerror or e})", p) from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"is a directory, expected a {what}", p)
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"is {kind_of(st.st_mode)}, not a regular file: expected a {what}", p)
    if max_bytes is not None and st.st_size > max_bytes:
        raise _too_large(p, what, st.st_size, max_bytes)
    if not os.access(p, os.R_OK):
        raise UserError(f"cannot read this {what} (no read permission)", p)
    return p


def read_bytes(path: str | os.PathLike, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, read without ever blocking and
    without reading more than max_bytes + 1 bytes.

    Raises UserError for everything `regular_file` refuses, for a file that grows past the cap
    while read, and for a read error."""
    p = regular_file(path, what, max_bytes)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as e:
        raise UserError(f"cannot read this {what} ({e.strerror or e})", p) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # replaced between the stat and the open
            raise UserError(f"is {kind_of(mode)}, not a regular file: expected a {what}", p)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(max_bytes + 1 - total, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as e:
        raise UserError(f"cannot read this {what} ({e.strerror or e})", p) from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise _too_large(p, what, None, max_bytes)
    return b"".join(chunks)


def read_text(path: str | os.PathLike, what: str, max_bytes: int) -> str:
    """A UTF-8 text file read as `read_bytes` reads it.

    Raises UserError for what `read_bytes` refuses, and for text that is not UTF-8 (with the
    line of the first bad byte)."""
    data = read_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserError("not valid UTF-8", path, line) from None
