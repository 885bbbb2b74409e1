"""Shared fixtures. The models tests run torch on one thread: the machine's two cores are shared,
and two busy-waiting threads on a contended core make small models many times slower."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")  # for `python -m models` subprocesses


@pytest.fixture(scope="session")
def data_dir():
    from models.data import data_dir as resolve
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return resolve()


@pytest.fixture(scope="session")
def vocab(data_dir):
    from models.data import load_vocab
    return load_vocab(data_dir)
