"""`OneLineParser`: the argparse parser of every command line here, whose usage mistakes are one
line (`prog: error: what`) and exit status 2, never a usage block or a traceback."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .errors import UserError


class UsageError(UserError):
    """A mistake on the command line (a flag, a value): raised by OneLineParser, printed by the
    command's main as one line. ``prog`` is the (sub)command the mistake was in, e.g.
    "derivations check", for a main that names it."""

    def __init__(self, message: str, prog: str = ""):
        super().__init__(message)
        self.prog = prog


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose `error` raises UsageError (its subparsers too: argparse makes them of
    the parser's class) instead of printing the usage and exiting, so that the command's main
    prints one line under its own name, whatever subcommand the mistake was in."""

    def error(self, message: str) -> NoReturn:  # argparse's API
        raise UsageError(message, self.prog)


def exit_with(prog: str, error: UserError) -> NoReturn:
    """Print `prog: error: <error>` on stderr and exit with status 2."""
    print(f"{prog}: error: {error}", file=sys.stderr)
    raise SystemExit(2)
