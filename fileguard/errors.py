"""`UserError`: a mistake in the user's input, which a command prints as one line and exit 2."""

from __future__ import annotations

import os


class UserError(Exception):
    """A mistake in the user's input: the command line prints it as one line and exits 2.

    `path` is the file the message is about (optionally with a `line` number); the rendered
    message is `path:line: message`, `path: message` or the bare message.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"
