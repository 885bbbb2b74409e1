import signal
import sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head`: end quietly when the reader has gone, as Unix tools do

from .cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
