"""`python -m derivations gradescope SUBMISSION_DIR --out results.json [--rubric points.toml]`.

Grades one Gradescope submission folder and writes Gradescope's ``results.json``: ``score`` and
one test per question part (``name``, ``score``, ``max_score``, ``output``, ``visibility``,
``output_format`` ``"text"``, so the student's own text is shown as text, never as HTML or
Markdown). The answers come from the folder's answer files (``*.toml``) when it has any, else
from its write-ups (``*.md``, ``*.tex``, ``*.ipynb``; each field from the first file, in name
order, that has it), read and decided exactly as `python -m derivations check` does.

A part's points (`DEFAULT_POINTS`, or the rubric's ``[points]``) are shared equally by its math
fields; a field earns its share for ``holds``, ``holds_with_conditions`` times it (default
`DEFAULT_SHARE`) for ``holds-with-conditions``, and nothing otherwise (fails, unparseable,
not-checkable, not-found). Each test's output gives, per field, the answer read (and where), the
verdict, the condition, the evidence and the counterexample.

A submission with no answer file or write-up still gets a results.json (score 0, one line saying
what was looked for), because Gradescope shows that to the student; a rubric with an unknown
part or a share outside [0, 1] is a user error (one line, exit 2), as is an unwritable --out.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

from fileguard.errors import UserError
from fileguard.inputs import KiB, read_text

from .answer_file import PARTS, AnswerFileError

DEFAULT_POINTS = {"q1b_i": 3.0, "q1b_ii": 4.0, "q1c_i": 2.0, "q1c_ii": 3.0, "q1d_i": 1.0, "q1d_ii": 2.0, "q2g_ii": 2.0}
DEFAULT_SHARE = 0.5
PART_NAMES = {"q1b_i": "1(b) i: the matrix M", "q1b_ii": "1(b) ii: a query that averages", "q1c_i": "1(c) i: a query for noisy keys",
              "q1c_ii": "1(c) ii: one head with a stretched key", "q1d_i": "1(d) i: two heads",
              "q1d_ii": "1(d) ii: two heads with a stretched key", "q2g_ii": "2(g) ii: cost ratio"}
ANSWER_SUFFIXES = (".toml",)
WRITEUP_SUFFIXES = (".md", ".markdown", ".tex", ".ipynb")


class RubricError(Exception):
    """A user error in the rubric file; one line."""


def read_rubric(path: Path | None) -> tuple[dict[str, float], float]:
    """(points per part, share for holds-with-conditions) from a rubric TOML, or the defaults.

    The file may set ``holds_with_conditions = 0.5`` and a ``[points]`` table (``q1b_i = 3``, …);
    parts left out keep their default, a part set to 0 is not graded. Raises `RubricError` for
    an unreadable file, bad TOML, an unknown key or part, or a value out of range.
    """
    points, share = dict(DEFAULT_POINTS), DEFAULT_SHARE
    if path is None:
        return points, share
    try:
        data = tomllib.loads(read_text(path, "rubric", 64 * KiB))
    except UserError as exc:
        raise RubricError(str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: not TOML: {exc}") from None
    for key in data:
        if key not in ("points", "holds_with_conditions"):
            raise RubricError(f"{path}: unknown key {key!r} (known: points, holds_with_conditions)")
    if "holds_with_conditions" in data:
        share = data["holds_with_conditions"]
        if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share <= 1:
            raise RubricError(f"{path}: holds_with_conditions must be a number from 0 to 1, not {share!r}")
    for part, value in data.get("points", {}).items():
        if part not in DEFAULT_POINTS:
            raise RubricError(f"{path}: unknown part {part!r} in [points] (known: {', '.join(DEFAULT_POINTS)})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise RubricError(f"{path}: points for {part} must be a number ≥ 0, not {value!r}")
        points[part] = float(value)
    return points, float(share)


def _submission_rows(folder: Path) -> tuple[list[dict], list[str], str]:
    """(rows, files read, note) for a submission folder, as `check` decides them."""
    from .answer_grading import grade
    from .answer_sources import not_found_row
    from .answer_file import read_answers
    from .writeup import MATH_FIELDS, read_writeup

    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    answers = [p for p in files if p.suffix.lower() in ANSWER_SUFFIXES]
    writeups = [p for p in files if p.suffix.lower() in WRITEUP_SUFFIXES]
    if answers:
        rows = grade([read_answers(answers[0])], jobs=1)[0]
        for r in rows:
            r["source"] = str(answers[0].relative_to(folder))
        note = f"answers read from {answers[0].relative_to(folder)}" + (
            f" (the first of {len(answers)} answer files)" if len(answers) > 1 else "")
        return rows, [str(answers[0])], note
    if not writeups:
        return [], [], ("no answer file (.toml) or write-up (.md, .tex, .ipynb) in the submission: "
                        "nothing to grade")
    merged: dict = {}
    where: dict = {}
    for p in writeups:
        ex = read_writeup(p)
        for f in ex.found:
            if (f.part, f.field) not in where:
                merged.setdefault(f.part, {})[f.field] = f.expression
                where[(f.part, f.field)] = f"{p.relative_to(folder)}: " + f.where().split(": ", 1)[1]
    rows = grade([{p: {f: merged[p][f] for f in PARTS[p] if f in merged.get(p, {})} for p in PARTS if p in merged}],
                 jobs=1)[0]
    for r in rows:
        r["source"] = where[(r["part"], r["field"])]
    rows += [not_found_row(p, f, "the submission") for p, f in MATH_FIELDS if (p, f) not in where]
    return rows, [str(p) for p in writeups], f"answers read from {', '.join(str(p.relative_to(folder)) for p in writeups)}"


def _credit(verdict: str, share: float) -> float:
    return 1.0 if verdict == "holds" else share if verdict == "holds-with-conditions" else 0.0


def _field_output(r: dict) -> str:
    """One field's lines in a Gradescope test: the CLI's (`answer_table.table_lines`), without the part."""
    from .answer_table import table_lines

    return "\n".join(table_lines([r], parts=False, decided_by=False))


def grade(folder: Path, points: dict[str, float], share: float) -> dict:
    """Gradescope's results dict for one submission folder."""
    from .writeup import MATH_FIELDS

    try:
        rows, _, note = _submission_rows(folder)
    except AnswerFileError as exc:
        rows, note = [], f"the submission could not be read: {exc}"
    by_part: dict[str, list[dict]] = {}
    for r in rows:
        if (r["part"], r["field"]) in MATH_FIELDS:
            by_part.setdefault(r["part"], []).append(r)
    tests = []
    for part, max_score in points.items():
        if max_score <= 0:
            continue
        fields = [f for p, f in MATH_FIELDS if p == part]
        got = {r["field"]: r for r in by_part.get(part, [])}
        each = max_score / len(fields)
        score = sum(each * _credit(got[f]["verdict"], share) for f in fields if f in got)
        output = "\n".join(_field_output(got[f]) if f in got else f"{f}: not found in the submission (nothing guessed)"
                           for f in fields)
        tests.append({"name": PART_NAMES[part], "score": round(score, 4), "max_score": max_score,
                      "output": output, "output_format": "text", "visibility": "visible"})
    return {"score": round(sum(t["score"] for t in tests), 4), "output": note, "output_format": "text",
            "test_output_format": "text", "visibility": "visible", "tests": tests}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gradescope", help="grade a Gradescope submission folder into results.json",
        description="Read the submission's answer file (.toml) or write-ups (.md, .tex, .ipynb), decide every field as "
                    "`check` does and write Gradescope's results.json: one test per part, points from the rubric "
                    "(docs/gradescope.md). Exit 0 when results.json was written, 2 for a user error.")
    p.add_argument("submission", type=Path, metavar="SUBMISSION_DIR", help="the submission folder (/autograder/submission)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="results.json to write (/autograder/results/results.json)")
    p.add_argument("--rubric", type=Path, metavar="FILE",
                   help="points per part and the share for holds-with-conditions (TOML; default in docs/gradescope.md)")


def run(args, error) -> int:
    """Carry out `gradescope`; ``error(message)`` exits 2 with one line."""
    from fileguard.outputs import check_output, write_atomic

    if not args.submission.is_dir():
        error(f"{args.submission}: no such submission folder")
    try:
        points, share = read_rubric(args.rubric)
        check_output(args.out, "results.json", inputs=[args.rubric] if args.rubric else [])
    except (RubricError, UserError) as exc:
        error(str(exc))
    results = grade(args.submission, points, share)
    write_atomic(args.out, json.dumps(results, ensure_ascii=False, indent=1) + "\n", "results.json")
    return 0
