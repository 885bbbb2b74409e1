"""Reading answer files (``../shared/spec/ANSWER-FILE.md``): TOML, one table per question part.

`read_answers` returns the parts and fields as given (strings, or a boolean for
``ignore_negative``), in the order of `PARTS`. The file is read through fileguard: a regular
file (never a device or a FIFO, which would block) of at most `MAX_BYTES`. A file that is not
one, is not UTF-8 TOML, a table or
field the format does not have, or a part that is not a table, raises `AnswerFileError`
with the file, the line where known, and what was wrong: a user error (exit status 2).
A value of the wrong type is not a user error: it is kept and decided `unparseable`.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from fileguard.errors import UserError
from fileguard.inputs import KiB, read_text

from . import answer_fields

MAX_BYTES = 256 * KiB  # an answer file: a few dozen fields of at most 2,000 characters each (answer_grammar)

# The file's parts and fields (part -> field -> kind) and what each decision reads, as the question
# modules declare them (`answer_fields`): `answer_checks.decide_field` reads these and only these,
# and `answer_grading` sends exactly these with a field to its worker.
PARTS = answer_fields.PARTS
DEPENDS_ON = answer_fields.DEPENDS_ON


class AnswerFileError(Exception):
    """A user error in an answer file; the message is the one line to print."""


def _line_of(text: str, pattern: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(pattern, line):
            return i
    return None


def _where(path: Path, line: int | None) -> str:
    return f"{path}: line {line}" if line else str(path)


def read_answers(path: Path, max_bytes: int | None = None) -> dict[str, dict[str, object]]:
    """The answers of one file: {part: {field: value}}, parts and fields in `PARTS` order.

    Raises `AnswerFileError` (one line: file, line, what) for a missing or unreadable file, one
    that is not a regular file (a device, a FIFO: refused without blocking) or is larger than
    ``max_bytes`` (default `MAX_BYTES`), text that is not TOML, an unknown table or field, or a
    part that is not a table.
    """
    path = Path(path)
    try:
        text = read_text(path, "answer file", MAX_BYTES if max_bytes is None else max_bytes)
    except UserError as exc:  # not a regular file, too large, or not UTF-8 (with the line)
        raise AnswerFileError(str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) or "invalid"
        raise AnswerFileError(f"{_where(path, int(match.group(1)) if match else None)}: not TOML: {reason}") from None
    for part, fields in data.items():
        line = _line_of(text, rf"\s*\[\s*{re.escape(part)}\s*\]") or _line_of(text, rf"\s*{re.escape(part)}\s*=")
        if part not in PARTS:
            raise AnswerFileError(f"{_where(path, line)}: unknown part [{part}] (known: {', '.join(PARTS)})")
        if not isinstance(fields, dict):
            raise AnswerFileError(f"{_where(path, line)}: {part} must be a table [{part}], not a value")
        for name in fields:
            if name not in PARTS[part]:
                fline = _line_of(text, rf"\s*{re.escape(name)}\s*=") or line
                raise AnswerFileError(f"{_where(path, fline)}: unknown field {name!r} in [{part}] "
                                      f"(known: {', '.join(PARTS[part])})")
    return {part: {f: data[part][f] for f in PARTS[part] if f in data[part]} for part in PARTS if part in data}
