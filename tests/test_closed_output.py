"""Every command line stops quietly when the reader of its output has gone (`... | head`): no
traceback and no error line: ended by SIGPIPE, as a Unix tool is (a shell reports 141). (`report`
prints only its --help, which argparse already writes quietly.)"""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv", [["models", "recipe", "cpu-60", "--dry-run"], ["derivations", "ids"],
                                  ["simulate", "variance", "--samples", "1000", "--quiet"]], ids=lambda a: a[0])
def test_a_closed_output_ends_the_command_quietly(argv):
    proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line: every write fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == -signal.SIGPIPE, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err and "error" not in err, err
