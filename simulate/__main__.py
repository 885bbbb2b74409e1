"""Entry point of ``python -m simulate``; see :mod:`simulate.cli`."""
import os
import signal
import sys

if len(sys.argv) > 1 and sys.argv[1] == "bench":
    # The benchmark's goals are per core. BLAS reads these when NumPy is first
    # imported, which has not happened yet at this point.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head`: end quietly when the reader has gone, as Unix tools do

from .cli import main  # noqa: E402

sys.exit(main())
