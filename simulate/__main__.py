"""Entry point of ``python -m simulate``; see :mod:`simulate.cli`."""
import os
import sys

if len(sys.argv) > 1 and sys.argv[1] == "bench":
    # The benchmark's goals are per core. BLAS reads these when NumPy is first
    # imported, which has not happened yet at this point.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

from .cli import main  # noqa: E402


def _run(main) -> int:
    """main(), and quietly stop when the reader of the output has gone (`... | head`), as Unix tools do."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 141  # 128 + SIGPIPE, what a shell reports for a writer stopped the same way


sys.exit(_run(main))
