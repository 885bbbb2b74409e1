"""Many answer files decided field by field, each field under a time and a size budget.

`grade` sends every distinct field (its text and the parts its decision reads, `CONTEXT`)
once to a `worker_pool.WorkerPool`: a field whose decision takes longer than
``field_timeout`` seconds is ``not-checkable`` with the evidence "took longer than N s", its
worker is killed and replaced, and every other field and file is still decided. Inside the
worker `field_guard.decide_guarded` applies the size budget and turns any exception into the
field's verdict. The rows come back in the order of the files and of their fields, whatever
the number of workers. A class repeats answers: each distinct one is decided once.

A computation beside the decisions (`Beside`: the Monte Carlo of ``python -m simulate check``)
is supplied by the caller, which names its module and functions: derivations never imports it,
and runs it in the same workers under the same budget.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

from .answer_file import DEPENDS_ON, PARTS
from .worker_pool import WorkerPool

DEFAULT_FIELD_TIMEOUT = 5.0  # seconds; the slowest answer of the tests and of the generated class takes about 1 s

# The other fields each field's decision reads, declared once beside the answer format.
CONTEXT = DEPENDS_ON
PRELOAD = ("derivations.answer_checks", "derivations.answer_size", "derivations.field_guard")


@dataclass(frozen=True)
class Beside:
    """A computation run beside the decisions, supplied from above (``simulate.answers.SIMULATION``).

    ``inputs(rows)`` gives, for each row of one file, the arguments of ``run`` or None (nothing to
    run for that row); ``run(*args)`` is a module-level function (workers receive it by reference)
    that returns a JSON-ready dict with a ``text``, or None, and never raises; ``preload`` is its
    module, imported once by the workers' fork server; ``column`` names the row key it fills.
    """

    preload: str
    inputs: Callable[[list[dict]], list[tuple | None]]
    run: Callable[..., dict | None]
    column: str = "simulated"


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else os.cpu_count())."""
    try:
        return max(1, min(len(os.sched_getaffinity(0)), os.cpu_count() or 1))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_jobs(files: int) -> int:
    """Worker processes for a class of ``files``: one per file up to the cores (`cores`)."""
    return max(1, min(cores(), files))


def context(part: str, field: str, answers: dict) -> dict:
    """The answers a field's decision reads: the field itself and its `CONTEXT`, nothing else."""
    out: dict[str, dict] = {part: {field: answers[part][field]}}
    for p, f in CONTEXT.get((part, field), ()):
        if f in answers.get(p, {}):
            out.setdefault(p, {})[f] = answers[p][f]
    return out


def _key(*parts) -> str:
    return repr(parts)


def _progress_bar(total: int, show: bool, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc="checking", disable=not show, file=sys.stderr, leave=False)


def _run_unique(pool: WorkerPool, calls: dict[str, tuple[Callable, tuple]], bar) -> dict[str, object]:
    keys = list(calls)
    # Calls of one question part and field go to one worker where they can: they share its SymPy caches.
    outcomes = pool.run([calls[k] for k in keys], progress=lambda: bar.update(1),
                        groups=[tuple(map(str, calls[k][1][:2])) for k in keys])
    return dict(zip(keys, outcomes))


def grade(files: list[dict], *, jobs: int = 1, field_timeout: float = DEFAULT_FIELD_TIMEOUT,
          beside: Beside | None = None, progress: bool = False) -> list[list[dict]]:
    """The rows (`FieldResult.to_json`) of each answer file, given as `answer_file.read_answers` returns it.

    ``jobs`` worker processes decide the fields, each under ``field_timeout`` seconds; with
    ``beside``, the rows it names also get its ``column`` (same workers, same budget). Raises
    `ValueError` for ``jobs`` < 1 or a timeout that is not positive.
    """
    from .field_guard import budget_row, decide_guarded

    fields = [[(part, field, value) for part, answered in answers.items() for field, value in answered.items()]
              for answers in files]
    calls: dict[str, tuple[Callable, tuple]] = {}
    keys: list[list[str]] = []
    for answers, items in zip(files, fields):
        keys.append([])
        for part, field, value in items:
            ctx = context(part, field, answers)
            key = _key(part, field, ctx)
            calls.setdefault(key, (decide_guarded, (part, field, value, ctx)))
            keys[-1].append(key)
    preload = PRELOAD + ((beside.preload,) if beside else ())
    with WorkerPool(jobs, field_timeout, preload=preload) as pool:
        bar = _progress_bar(len(calls), progress, "field")
        done = _run_unique(pool, calls, bar)
        bar.close()
        results = []
        for items, file_keys in zip(fields, keys):
            rows = []
            for (part, field, value), key in zip(items, file_keys):
                outcome = done[key]
                if outcome.status == "done":
                    rows.append(outcome.value)
                elif outcome.status == "timeout":
                    rows.append(budget_row(part, field, value, f"took longer than {field_timeout:g} s"))
                elif outcome.status == "died":
                    rows.append(budget_row(part, field, value, f"could not be decided: {outcome.value}"))
                else:  # an exception outside decide_guarded's own guard (pickling the row, say)
                    rows.append(budget_row(part, field, value, f"could not be decided ({outcome.value})"))
            results.append(rows)
        if beside:
            results = _beside(pool, results, beside, progress)
    return results


def _beside(pool: WorkerPool, results: list[list[dict]], beside: Beside, progress: bool) -> list[list[dict]]:
    """The rows with ``beside.column`` added where ``beside.inputs`` names arguments (each distinct once);
    a row stopped by the budget (`field_guard.GUARD`) is not run."""
    from .field_guard import GUARD

    wanted = [beside.inputs(rows) for rows in results]
    calls = {}
    for rows, inputs in zip(results, wanted):
        for r, found in zip(rows, inputs):
            if found and r["decided_by"] != GUARD:
                calls.setdefault(_key(*found), (beside.run, found))
    bar = _progress_bar(len(calls), progress, beside.column)
    done = _run_unique(pool, calls, bar)
    bar.close()
    out = []
    for rows, inputs in zip(results, wanted):
        out.append([])
        for r, found in zip(rows, inputs):
            if found:
                outcome = done.get(_key(*found))
                r = {**r, beside.column: None if outcome is None else outcome.value if outcome.status == "done"
                     else {"text": f"not {beside.column}: took longer than {pool.timeout:g} s" if outcome.status == "timeout"
                           else f"not {beside.column}: {outcome.value}"}}
            out[-1].append(r)
    return out
