"""`python -m derivations`: the audit of every claim of the answer sheet."""
from __future__ import annotations

import json
import sys

from fileguard.parsing import OneLineParser, UsageError, exit_with

from . import check_cli, gradescope
from .claims import REGISTRY, audit


def _error(message: str):
    """A mistake found after parsing: `derivations: error: <message>`, exit 2."""
    exit_with("derivations", UsageError(message))


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="derivations",
        description="Decide every claim of the answer sheet (../shared/seed/CLAIMS.md) by SymPy proof, or anyone's "
        "answers in answer files (`check`). With no command, prints the audit table.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    run = sub.add_parser("audit", help="decide the claims and print a table (or JSON)",
                         description="Decide the claims and print one line per claim: id, verdict, evidence.")
    run.add_argument("--json", action="store_true", help='print {"claims": [{"id", "verdict", "evidence", ...}]} instead of a table')
    run.add_argument("--claim", action="append", metavar="ID", default=None,
                     help="decide only this claim id (repeatable); default: all ids of CLAIMS.md")
    sub.add_parser("ids", help="list the claim ids, one per line")
    check_cli.add_parser(sub)
    gradescope.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:  # named by the (sub)command it was in: `derivations check: error: ...`
        exit_with(exc.prog, exc)
    if args.command == "ids":
        print("\n".join(REGISTRY))
        return 0
    if args.command == "check":
        return check_cli.run(args, _error)
    if args.command == "gradescope":
        return gradescope.run(args, _error)
    ids = getattr(args, "claim", None)
    unknown = [c for c in ids or [] if c not in REGISTRY]
    if unknown:
        _error(f"unknown claim id {unknown[0]!r} (known: {', '.join(REGISTRY)})")
    results = audit(ids)
    if getattr(args, "json", False):
        json.dump({"claims": [r.to_json() for r in results]}, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    width = max(len(r.claim_id) for r in results)
    vwidth = max(len(r.verdict) for r in results)
    for r in results:
        print(f"{r.claim_id:<{width}}  {r.verdict:<{vwidth}}  {r.evidence}")
    return 0
