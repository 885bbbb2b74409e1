"""`python -m derivations check FILE...`: decide anyone's answer files (ANSWER-FILE.md).

One file prints a table (or ``--json``: {"parts": [...]}); several files (a class) print one
line per file with its verdict counts, show a progress bar on stderr, and ``--csv OUT``
writes one row per file, part and field. Every field is decided under a budget of time
(``--field-timeout``) and size (`answer_grading`, `field_guard`): a field over it, or one
whose decision fails, is ``not-checkable`` with the reason, and the rest is still decided.
Student text is printed through `display` (one line, controls made visible; CSV cells never
formulas). Exit 0 when the files were read, whatever the verdicts; a user error (unreadable
file, not TOML, unknown part or field) is one line and exit 2, and nothing is written.
"""
from __future__ import annotations

import csv
import io
import os
import sys
from collections import Counter
from pathlib import Path

from .answer_file import AnswerFileError, read_answers
from .answer_grading import DEFAULT_FIELD_TIMEOUT, default_jobs, grade
from .display import for_csv, for_terminal, json_text

CSV_COLUMNS = ("file", "part", "field", "given", "verdict", "condition", "evidence", "counterexample", "decided_by")


def check_file(path: str) -> list[dict]:
    """The decisions of one answer file as JSON-ready rows, in this process and without a time
    budget (`field_guard.decide_guarded`: sizes checked, no exception escapes a field);
    raises `AnswerFileError`."""
    from .field_guard import decide_guarded

    answers = read_answers(Path(path))
    return [decide_guarded(part, field, value, answers) for part, fields in answers.items() for field, value in fields.items()]


def _cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else os.cpu_count())."""
    try:
        return max(1, min(len(os.sched_getaffinity(0)), os.cpu_count() or 1))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def csv_text(paths: list[str], results: list[list[dict]], simulated: bool) -> str:
    """The class's CSV: a row per file, part and field; every cell through `display.for_csv`
    (file names exact, so they round-trip; `display.from_csv` reads them back)."""
    buf = io.StringIO()
    columns = CSV_COLUMNS + (("simulated",) if simulated else ())
    writer = csv.writer(buf)
    writer.writerow(columns)
    for p, rows in zip(paths, results):
        for r in rows:
            cells = [for_csv(p, exact=True)]
            for k in columns[1:]:
                v = r.get(k)
                cells.append(for_csv(json_text(v, indent=None) if isinstance(v, dict) else "" if v is None else v))
            writer.writerow(cells)
    return buf.getvalue()


def run(args, error) -> int:
    """Carry out `check` with parsed ``args``; ``error(message)`` exits 2 with one line."""
    paths = [str(p) for p in args.files]
    files = []
    for p in paths:  # read them all first: a user error stops before anything is decided or written
        try:
            files.append(read_answers(Path(p)))
        except AnswerFileError as exc:
            error(for_terminal(exc))
    if args.csv is not None and not Path(args.csv).resolve().parent.is_dir():
        error(f"--csv {for_terminal(args.csv)}: no such folder")
    if args.csv is not None:  # not an answer file, not the data, not a device or FIFO (fileguard)
        from fileguard.errors import UserError
        from fileguard.outputs import check_output
        try:
            check_output(args.csv, "CSV", inputs=paths)
        except UserError as exc:
            error(for_terminal(exc))
    if args.jobs < 0 or args.samples < 4:
        error("--jobs must be ≥ 0 and --samples ≥ 4")
    if args.jobs > _cores():
        error(f"--jobs {args.jobs}: more processes than the {_cores()} cores this machine gives this command")
    if not args.field_timeout > 0:
        error("--field-timeout must be a positive number of seconds")
    jobs = args.jobs if args.jobs else min(default_jobs(len(paths)), _cores())
    results = grade(files, jobs=jobs, field_timeout=args.field_timeout,
                    samples=args.samples if args.simulate else None, progress=len(paths) > 1 and not args.quiet)
    if args.csv is not None:
        from fileguard.outputs import write_atomic
        write_atomic(Path(args.csv), csv_text(paths, results, args.simulate), "CSV")
    if args.json:
        data = {"parts": results[0]} if len(paths) == 1 else {"files": [{"file": p, "parts": r} for p, r in zip(paths, results)]}
        print(json_text(data))
        return 0
    if len(paths) == 1:
        _print_table(results[0])
    else:
        for p, rows in zip(paths, results):
            counts = Counter(r["verdict"] for r in rows)
            print(f"{for_terminal(p)}: " + ", ".join(f"{v} {counts[v]}" for v in sorted(counts)))
    return 0


def _print_table(rows: list[dict]) -> None:
    """One file's rows as a table; every value through `display.for_terminal`, so each is one line."""
    t = for_terminal
    for r in rows:
        print(f"[{t(r['part'])}] {t(r['field'])} = {t(r['given'])}")
        print(f"  verdict: {t(r['verdict'])}" + (f" (condition: {t(r['condition'])})" if r["condition"] else ""))
        print(f"  evidence: {t(r['evidence'])}")
        if r["counterexample"]:
            print(f"  counterexample: {t(r['counterexample'])}")
        if r.get("simulated"):
            print(f"  simulated: {t(r['simulated']['text'])}")
        print(f"  decided by: {t(r['decided_by'])}")


def add_parser(sub) -> None:
    """The `check` subcommand's arguments."""
    p = sub.add_parser(
        "check", help="decide the answers in answer files (../shared/spec/ANSWER-FILE.md)",
        description="Decide every field of each answer file (TOML, ../shared/spec/ANSWER-FILE.md) by proof from the "
                    "given expression: verdict, condition, evidence, a numeric counterexample when it fails, and the "
                    "deciding function. Answer text is parsed, never evaluated; each field is decided under a budget "
                    "of time and size. Exit 0 when the files were read "
                    "(whatever the verdicts), 2 for a user error (unreadable file, not TOML, unknown part or field).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="answer files (.toml); several = a class")
    p.add_argument("--json", action="store_true",
                   help='print JSON: {"parts": [...]} for one file, {"files": [{"file", "parts"}]} for several')
    p.add_argument("--csv", type=Path, metavar="OUT", help="also write one row per file, part and field to OUT")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="worker processes that decide the fields (default: one per file, up to the machine's cores); "
                        "more than the machine's cores is an error (exit 2), not clamped")
    p.add_argument("--field-timeout", type=float, default=DEFAULT_FIELD_TIMEOUT, metavar="SECONDS",
                   help=f"time each field's decision may take (default {DEFAULT_FIELD_TIMEOUT:g}); a field over it is "
                        "not-checkable ('took longer than N s') and the others are still decided")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--simulate", action="store_true",
                   help="for query answers, add a Monte Carlo estimate of c (root-mean-square distance to ½(v_a + v_b), "
                        "tr Cov[c]) under the keys of (c) i and (c) ii, through simulate/ (a simulation beside the proof)")
    p.add_argument("--samples", type=int, default=20000, metavar="N", help="Monte Carlo samples for --simulate (default 20000)")
