"""`python -m models <command>`: examples, pretrain, finetune, evaluate, london, nearest-name,
bench, pipeline, recipe, sweep, sweep-report, attention-entropy,
receptive-field. A user mistake prints one line `models: error: ...` and exits 2.

This module is the top parser and the dispatch only: each command is one module
(models/commands/, models/recipe.py, models/pipeline.py) with `add_parser(sub, add)` and the
function `add` registers."""

from __future__ import annotations

import sys
import time

import torch

from fileguard.parsing import OneLineParser

from . import pipeline, recipe, sweep, sweep_report
from .commands import (attention_entropy, bench, evaluate, examples, finetune, london, nearest_name, pretrain,
                       receptive_field)
from .commands.common import exit_status
from .fast import retain_freed_memory
from .results import remember_commit

# the order of `python -m models --help`
COMMANDS = (examples, pretrain, finetune, evaluate, london, nearest_name, bench, pipeline, recipe, sweep, sweep_report,
            attention_entropy, receptive_field)


def build_parser() -> OneLineParser:
    """The parser of every command: each module's add_parser, through `add(name, help, func)`,
    which gives the subparser its help, the function `main` runs, and --data-dir."""
    parser = OneLineParser(prog="models", description="The birthplace model of MODEL.md: data, training, evaluation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    def add(name, help_text, func):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", help="data folder (default: $ATTNLAB_DATA, else ../shared/data)")
        return p

    for command in COMMANDS:
        command.add_parser(sub, add)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command `argv` names (default sys.argv[1:]); return its exit status: 0 done, 2 a
    user's mistake (one line on stderr, no traceback), 3 a pipeline not finished yet, 130
    interrupted."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            stream.reconfigure(encoding="utf-8")
    started = time.monotonic()

    def command() -> int:
        args = build_parser().parse_args(argv)
        args.argv = argv
        args.started = started
        if getattr(args, "threads", None):
            torch.set_num_threads(args.threads)
        retain_freed_memory()
        remember_commit()  # records name the code that started, however long the run
        return args.func(args)

    return exit_status(command)
