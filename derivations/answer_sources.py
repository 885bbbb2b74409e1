"""Any answer source by its suffix: an answer file (``.toml``) or a write-up (``.md``, ``.tex``, ``.ipynb``).

`read_source(path)` gives the answers dict `answer_checks.check_answers` takes, and for a write-up
the `writeup.Extraction` with where each field was read. `check_source(path)` gives the rows of
`check_cli.check_file`: one per field decided, and for a write-up each row also carries ``source``
(file and line) and ``read`` (the expression as written), and each math field not found is a row
with verdict ``not-found`` (never guessed, never decided). Raises `AnswerFileError` (one line).
"""
from __future__ import annotations

from pathlib import Path

from .answer_file import PARTS, read_answers
from .writeup import Extraction, is_writeup, read_writeup

NOT_FOUND = "not-found"


def read_source(path: str | Path, max_bytes: int | None = None) -> tuple[dict, Extraction | None]:
    """(answers, extraction or None) of one file, read up to ``max_bytes`` (default: the kind's own
    cap, `answer_file.MAX_BYTES` or `writeup.MAX_BYTES`); raises `AnswerFileError` for a user error."""
    if is_writeup(path):
        extraction = read_writeup(path, max_bytes)
        return extraction.answers(), extraction
    return read_answers(Path(path), max_bytes), None


def not_found_row(part: str, field: str, path: str) -> dict:
    return {"part": part, "field": field, "given": "", "verdict": NOT_FOUND, "condition": "",
            "evidence": f"not found in {path}: no answer for [{part}] {field} where its symbol is written in its part",
            "counterexample": "", "decided_by": "derivations.writeup.read_writeup", "source": str(path), "read": ""}


def annotate(rows: list[dict], path: str | Path, extraction: Extraction | None) -> list[dict]:
    """The rows of one source with, for a write-up, where each field was read (``source``, ``read``)
    and a `not_found_row` for each math field it lacks, in PARTS order."""
    if extraction is None:
        return rows
    found = extraction.by_field()
    for r in rows:
        f = found[(r["part"], r["field"])]
        r["source"], r["read"] = f.where(), f.expression
    rows = rows + [not_found_row(p, fld, str(path)) for p, fld in extraction.not_found]
    order = {(p, f): i for i, (p, f) in enumerate((p, f) for p in PARTS for f in PARTS[p])}
    return sorted(rows, key=lambda r: order[(r["part"], r["field"])])


def check_source(path: str | Path) -> list[dict]:
    """JSON-ready rows deciding every field of one answer file or write-up (PARTS order), in this
    process, each field through `field_guard.decide_guarded` (sizes checked, no exception escapes)."""
    from .field_guard import decide_guarded

    answers, extraction = read_source(path)
    rows = [decide_guarded(part, field, value, answers) for part, fields in answers.items() for field, value in fields.items()]
    return annotate(rows, path, extraction)
