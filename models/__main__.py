import os
import sys

from .cli import main


def _run(main) -> int:
    """main(), and quietly stop when the reader of the output has gone (`... | head`), as Unix tools do."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 141  # 128 + SIGPIPE, what a shell reports for a writer stopped the same way


if __name__ == "__main__":
    sys.exit(_run(main))
