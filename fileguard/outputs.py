"""Writing outputs: one guard on where a command may write, and one atomic writer.

`check_output` is called before any work, so a refused path leaves nothing behind; `atomic_path`
and `write_atomic` write under a temporary name beside the target and rename it over the target,
so a reader sees the old file or the whole new one, never a partial one. Neither replaces a
device, a FIFO or a socket (or a symlink to one): renaming over /dev/null as root would replace
the device itself.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .datafolder import default_data_folder
from .errors import UserError
from .kinds import special_kind


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _refuse_special(p: Path, what: str) -> None:
    kind = special_kind(p)
    if kind is not None:
        shown = f"{kind} (through a symlink)" if p.is_symlink() else kind
        raise UserError(f"is {shown}, not a regular file: choose a file path for the {what}", p)


def check_output(path: str | os.PathLike, what: str, *, inputs=(), protected_dirs=(), folder: bool = False) -> Path:
    """Refuse an output location before any work is done, so that a mistake leaves nothing behind.

    `path` is a file (or, with `folder`, a folder) about to be written. Raises UserError when it
    is one of `inputs` (an output never replaces an input), lies inside one of `protected_dirs`
    or the data folder (read-only input, committed evidence), exists and is not a regular file
    (a device, FIFO or socket, or a symlink to one), is of the wrong kind (a folder where a file
    goes, or the reverse), or cannot be written: the nearest existing folder on its way is
    probed with a temporary file, which is the only test that holds for root and for read-only
    file systems alike. Returns the path."""
    p = Path(path)
    resolved = p.resolve()
    for given in inputs:
        if given is not None and Path(given).exists() and resolved == Path(given).resolve():
            raise UserError(f"is also an input of this command: the {what} would replace it", p)
    for d in (*protected_dirs, default_data_folder()):
        if d is not None and Path(d).is_dir() and resolved.is_relative_to(Path(d).resolve()):
            raise UserError(f"lies inside {d}, which is read-only input: choose another place for the {what}", p)
    if folder and p.exists() and not p.is_dir():
        raise UserError(f"exists and is not a folder, expected one for the {what}", p)
    if not folder:
        if p.is_dir():
            raise UserError(f"is a directory, expected a file for the {what}", p)
        _refuse_special(p, what)
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, what: str = "output"):
    """Yield a temporary path beside `path` (its folder created if missing); when the block
    succeeds the file there replaces `path`, with the mode a plain open() would give it; when
    it fails the temporary file vanishes.

    Raises UserError, before creating anything, when `path` is a directory or exists and is
    not a regular file (a device, FIFO or socket, or a symlink to one)."""
    target = Path(path)
    if target.is_dir():
        raise UserError("is a directory, cannot write a file there", target)
    _refuse_special(target, what)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str, what: str = "output") -> None:
    """Write `data` (text as UTF-8, newlines as given) to `path` through `atomic_path`: never
    half-written. Raises UserError as `atomic_path` does, OSError when the disk refuses."""
    with atomic_path(path, what) as tmp:
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
