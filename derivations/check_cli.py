"""`python -m derivations check FILE...`: decide anyone's answer files (ANSWER-FILE.md).

One file prints a table (or ``--json``: {"parts": [...]}); several files (a class) print one
line per file with its verdict counts, show a progress bar on stderr, and ``--csv OUT``
writes one row per file, part and field. Every field is decided under a budget of time
(``--field-timeout``) and size (`answer_grading`, `field_guard`): a field over it, or one
whose decision fails, is ``not-checkable`` with the reason, and the rest is still decided.
Student text is printed through `display` (one line, controls made visible; CSV cells never
formulas). Exit 0 when the files were read, whatever the verdicts; a user error (unreadable
file, not TOML, unknown part or field) is one line and exit 2, and nothing is written.

The Monte Carlo beside the proofs is ``python -m simulate check`` (same arguments, plus
``--samples``): simulate composes this command with its simulation (`answer_grading.Beside`),
since derivations never imports simulate; ``--simulate`` here says so and exits 2.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from pathlib import Path

from .answer_file import AnswerFileError
from .answer_grading import DEFAULT_FIELD_TIMEOUT, Beside, cores, default_jobs, grade
from .answer_sources import annotate, check_source, read_source
from .display import for_csv, for_terminal, json_text

CSV_COLUMNS = ("file", "part", "field", "given", "verdict", "condition", "evidence", "counterexample", "decided_by")


def check_file(path: str) -> list[dict]:
    """The decisions of one answer file or write-up as JSON-ready rows, in this process and without
    a time budget (`field_guard.decide_guarded`: sizes checked, no exception escapes a field);
    raises `AnswerFileError`."""
    return check_source(path)


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


SIMULATE_MOVED = ("--simulate: the Monte Carlo beside the proofs is its own command: "
                  "python -m simulate check FILE... [--samples N] (the same arguments as this one)")


def run(args, error, beside: Beside | None = None, samples: int | None = None) -> int:
    """Carry out `check` with parsed ``args``; ``error(message)`` exits 2 with one line. ``beside``
    (with its ``samples``, at least 4) adds a computation to every file's rows (`answer_grading.Beside`)."""
    if getattr(args, "simulate", False):
        error(SIMULATE_MOVED)
    paths = [str(p) for p in args.files]
    if args.max_file_kib is not None and not args.max_file_kib > 0:
        error("--max-file-kib must be a positive number")
    sources = []
    for p in paths:  # read them all first: a user error stops before anything is decided or written
        try:
            sources.append(read_source(p, None if args.max_file_kib is None else int(args.max_file_kib * 1024)))
        except AnswerFileError as exc:
            error(for_terminal(exc))
    if args.extract_only:
        return _extract_only(paths, error)
    if args.summary is not None:  # before any work: a refused folder leaves nothing behind
        from .class_summary import check_summary_dir
        check_summary_dir(args.summary, paths, error)
    if args.csv is not None and not Path(args.csv).resolve().parent.is_dir():
        error(f"--csv {for_terminal(args.csv)}: no such folder")
    if args.csv is not None:  # not an answer file, not the data, not a device or FIFO (fileguard)
        from fileguard.errors import UserError
        from fileguard.outputs import check_output
        try:
            check_output(args.csv, "CSV", inputs=paths)
        except UserError as exc:
            error(for_terminal(exc))
    if args.jobs < 0:
        error("--jobs must be ≥ 0")
    if samples is not None and samples < 4:
        error("--samples must be ≥ 4")
    if args.jobs > cores():
        error(f"--jobs {args.jobs}: more processes than the {cores()} cores this machine gives this command")
    if not args.field_timeout > 0:
        error("--field-timeout must be a positive number of seconds")
    jobs = args.jobs or default_jobs(len(paths))
    results = grade([answers for answers, _ in sources], jobs=jobs, field_timeout=args.field_timeout,
                    beside=beside, progress=len(paths) > 1 and not args.quiet)
    results = [annotate(rows, p, extraction) for rows, p, (_, extraction) in zip(results, paths, sources)]
    if args.csv is not None:
        from fileguard.outputs import write_atomic
        write_atomic(Path(args.csv), csv_text(paths, results, beside is not None), "CSV")
    if args.summary is not None:
        from .class_summary import write_summary
        written = write_summary(args.summary, paths, results)
        print(f"derivations: wrote {', '.join(for_terminal(str(w)) for w in written)}", file=sys.stderr)
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
    """One file's rows as the CLI's lines (`answer_table.table_lines`: every value one line, shown as text)."""
    from .answer_table import table_lines

    print("\n".join(table_lines(rows)))


def _extract_only(paths: list[str], error) -> int:
    """Print the answer file read from one write-up (TOML a TA can correct and check instead)."""
    from .writeup import is_writeup, read_writeup
    from .writeup_toml import to_toml

    if len(paths) != 1 or not is_writeup(paths[0]):
        error("--extract-only takes one write-up (.md, .tex or .ipynb): it prints the answer file read from it")
    sys.stdout.write(to_toml(read_writeup(paths[0])))
    return 0


def add_parser(sub) -> None:
    """The `check` subcommand of ``python -m derivations`` (`add_arguments`, and ``--simulate``, moved)."""
    p = add_arguments(sub)
    p.add_argument("--simulate", action="store_true",
                   help="moved: the Monte Carlo of c beside the proofs is `python -m simulate check` (exit 2 here)")
    p.add_argument("--samples", type=int, help=argparse.SUPPRESS)  # so an old command line gets the line above


def add_arguments(sub, description: str = "") -> argparse.ArgumentParser:
    """The `check` subcommand with its arguments, added to ``sub`` (`python -m simulate check` adds it too)."""
    p = sub.add_parser(
        "check", help="decide the answers in answer files (../shared/spec/ANSWER-FILE.md)",
        description="Decide every field of each answer file (TOML, ../shared/spec/ANSWER-FILE.md) by proof from the "
                    "given expression: verdict, condition, evidence, a numeric counterexample when it fails, and the "
                    "deciding function. Answer text is parsed, never evaluated; each field is decided under a budget "
                    "of time and size. Exit 0 when the files were read "
                    "(whatever the verdicts), 2 for a user error (unreadable file, not TOML, unknown part or field)."
                    + description)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help="answer files (.toml) or write-ups (.md, .tex, .ipynb: each field read where its symbol is written "
                        "in its part, shown with its file and line); several = a class")
    p.add_argument("--extract-only", action="store_true",
                   help="print the answer file (TOML) read from one write-up, with where each field was read, and "
                        "decide nothing: correct it and check it instead")
    p.add_argument("--summary", type=Path, metavar="DIR",
                   help="also write the class's common mistakes to DIR/SUMMARY.md and DIR/summary.html: answers grouped "
                        "per part by meaning, with count, verdict, a counterexample and the files, wrong answers first")
    p.add_argument("--json", action="store_true",
                   help='print JSON: {"parts": [...]} for one file, {"files": [{"file", "parts"}]} for several')
    p.add_argument("--csv", type=Path, metavar="OUT", help="also write one row per file, part and field to OUT")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="worker processes that decide the fields (default: one per file, up to the machine's cores); "
                        "more than the machine's cores is an error (exit 2), not clamped")
    p.add_argument("--field-timeout", type=float, default=DEFAULT_FIELD_TIMEOUT, metavar="SECONDS",
                   help=f"time each field's decision may take (default {DEFAULT_FIELD_TIMEOUT:g}); a field over it is "
                        "not-checkable ('took longer than N s') and the others are still decided")
    p.add_argument("--max-file-kib", type=float, default=None, metavar="KIB",
                   help="refuse (exit 2, one line) an input larger than this many KiB (default 256 for an answer file, "
                        "4096 for a write-up; a class's largest honest answer file is a few KiB)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p
