"""`python -m report`: build report/REPORT.md and report/index.html, or check they are current."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fileguard.parsing import OneLineParser, UsageError, exit_with

EPILOG = """\
The report reads recorded results only (report/results/*.json, written by `python -m models`);
it never trains. It decides every claim of ../shared/seed/CLAIMS.md (derivations/), reruns the
variance sweep (simulate/, fixed seed, about a minute on 2 cores) and draws the model figures.
The output is deterministic, so `--check` can compare a fresh generation with the files on disk:
it exits 1, naming the stale files, when they differ, and 0 when they are current.
Exit status: 0 success, 1 stale (--check), 2 a usage or input error."""


def build_parser() -> argparse.ArgumentParser:
    from .build import REPORT_DIR, RESULTS_DIR
    parser = OneLineParser(
        prog="report", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Build the audit report (REPORT.md, index.html, figures/, data/) from the proofs, the "
                    "simulations and the recorded training results.")
    parser.add_argument("--check", action="store_true",
                        help="build in memory and compare with the files on disk instead of writing them; "
                             "exit 1 and name the stale files if they differ")
    parser.add_argument("--out", type=Path, default=REPORT_DIR, metavar="DIR",
                        help=f"folder of REPORT.md, index.html, figures/ and data/ (default: {_rel(REPORT_DIR)})")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, metavar="DIR",
                        help=f"folder of the result records <name>.json (default: {_rel(RESULTS_DIR)})")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="the data folder with birth_dev.tsv (default: $ATTNLAB_DATA, else ../shared/data)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer simulation points and samples (for tests); the committed report is built without it")
    parser.add_argument("--answers", type=Path, default=None, metavar="FILE",
                        help="instead of the audit report, write a feedback page for one answer file "
                             "(../shared/spec/ANSWER-FILE.md): FEEDBACK.md and feedback.html in --out")
    return parser


REPORT_DIR_DEFAULT = Path(__file__).resolve().parent


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    """Build or check the report (or a feedback page) as `argv` says; return the exit status (0
    done, 1 stale with --check); a user's mistake is one line on stderr and SystemExit(2)."""
    parser = build_parser()
    try:
        return _run(parser, argv)
    except UsageError as exc:
        exit_with(parser.prog, exc)


def _run(parser: OneLineParser, argv: list[str] | None) -> int:
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out}: not a folder")
    if not args.results.is_dir():
        parser.error(f"--results {args.results}: no such folder")
    if args.data_dir is not None and not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir}: no such folder")
    if not args.check:  # found before the minute of building, by the models' own probe
        from models.fileio import UserError, check_output
        try:
            check_output(args.out, "report", folder=True)
        except UserError as exc:
            parser.error(f"--out {args.out}: {exc.message}")
    if args.answers is not None:
        if args.out.resolve() == REPORT_DIR_DEFAULT.resolve():
            parser.error("--answers needs --out DIR (the audit report's folder is not for feedback pages)")
        from .feedback import FeedbackError, build as build_feedback
        try:
            written = build_feedback(args.answers, args.out)
        except FeedbackError as exc:
            parser.error(str(exc))
        print(f"report: wrote {', '.join(_rel(p) for p in written)}", file=sys.stderr)
        return 0

    from .build import BuildError, Options, build, say, stale
    opts = Options(quick=args.quick, results_dir=args.results.resolve(),
                   data_dir=None if args.data_dir is None else args.data_dir.resolve())
    try:
        if args.check:
            say(f"checking {_rel(args.out)} against a fresh build (nothing is written)")
            differing = stale(args.out, opts)
            if differing:
                print(f"report: stale: {', '.join(differing)} in {_rel(args.out)}; run `python -m report` "
                      "and commit the result", file=sys.stderr)
                return 1
            say(f"{_rel(args.out)} is current")
            return 0
        written = build(args.out, opts)
    except BuildError as exc:
        parser.error(str(exc))
    say(f"wrote {len(written)} files into {_rel(args.out)}: REPORT.md, index.html, "
        f"{sum(f.startswith('figures/') for f in written)} figures, {sum(f.startswith('data/') for f in written)} data files")
    return 0
