"""Worker processes that run calls under a time budget each: an overrunning worker is killed and replaced.

SymPy cannot be interrupted from inside a thread, and `concurrent.futures.ProcessPoolExecutor`
cannot stop one running call without breaking the whole pool. `WorkerPool` keeps its worker
processes across calls (their imports and caches stay warm), gives each call at most
``timeout`` seconds from the moment a ready worker receives it, kills only the worker of a
call that overruns, and starts another in its place. Workers come from a fork server that has
imported ``preload`` once, so a replacement starts in milliseconds; each worker's address space
is capped (`MEMORY_HEADROOM` above its size at start), so a runaway allocation is a
`MemoryError` inside the call rather than the machine's memory.

`WorkerPool.run` returns one `Outcome` per call, in the order of the calls, whatever the
number of workers.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable

MEMORY_HEADROOM = 3 * 2**29  # bytes (1.5 GiB) a worker may allocate beyond its size at start


@dataclass(frozen=True)
class Outcome:
    """How one call ended: ``status`` "done" (``value`` is its return value), "error" (``value``
    is one line naming the exception), "timeout" (killed after ``elapsed`` s) or "died" (the worker
    process ended: ``value`` says how)."""

    status: str
    value: Any
    elapsed: float


def _limit_memory(headroom: int) -> None:
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as fh:
            size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (size + headroom, resource.RLIM_INFINITY))
    except (ImportError, OSError, ValueError):  # no /proc or no setrlimit: no cap
        pass


def _serve(conn, headroom: int | None, quiet: bool) -> None:
    """A worker's loop: receive (index, fn, args), send back (index, status, value)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if quiet:  # the pipe is a worker's only output: a library's warning may quote the text it was given
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    if headroom:
        _limit_memory(headroom)
    conn.send(None)  # ready
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, fn, args = message
        try:
            reply = (index, "done", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported as the call's outcome, never raised here
            reply = (index, "error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - a value that does not pickle
            conn.send((index, "error", f"{type(exc).__name__} while sending the result"))


class _Worker:
    def __init__(self, ctx, headroom, quiet):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, headroom, quiet), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.call: int | None = None
        self.started = 0.0

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class WorkerPool:
    """``workers`` processes; each call may run ``timeout`` seconds. Use as a context manager.

    ``preload`` names the modules the fork server imports once (the calls' own modules); it takes
    effect when this process starts its fork server, with its first pool. ``quiet`` sends the
    workers' own stdout and stderr to /dev/null. Raises `ValueError` for no worker or a timeout
    that is not positive, `RuntimeError` when a worker cannot start at all (it dies before it is ready).
    """

    def __init__(self, workers: int, timeout: float, preload: tuple[str, ...] = (),
                 memory_headroom: int | None = MEMORY_HEADROOM, quiet: bool = True):
        if workers < 1 or not timeout > 0:
            raise ValueError("a pool needs at least one worker and a positive timeout")
        methods = mp.get_all_start_methods()
        self._ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        if preload and "forkserver" in methods:
            self._ctx.set_forkserver_preload(list(preload))
        self.timeout = float(timeout)
        self._headroom, self._quiet = memory_headroom, quiet
        self._workers = [_Worker(self._ctx, memory_headroom, quiet) for _ in range(workers)]

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, kill: bool = False) -> None:
        """Stop every worker (at once when ``kill``)."""
        for w in self._workers:
            w.stop(kill=kill or w.call is not None)
        self._workers = []

    def _replace(self, worker: _Worker) -> None:
        worker.stop(kill=True)
        self._workers[self._workers.index(worker)] = _Worker(self._ctx, self._headroom, self._quiet)

    def _queues(self, count: int, groups: list | None) -> list[deque]:
        """One queue of call indices per worker: calls of a group (say, one question part) together in
        one worker's queue, so that they share that worker's caches."""
        order = sorted(range(count), key=lambda i: groups[i]) if groups is not None else list(range(count))
        n = len(self._workers)
        return [deque(order[k * count // n:(k + 1) * count // n]) for k in range(n)]

    def run(self, calls: list[tuple[Callable, tuple]], progress: Callable[[], None] | None = None,
            groups: list | None = None) -> list[Outcome]:
        """Run every ``(fn, args)`` (``fn`` a module-level function) and return their outcomes in order;
        ``progress()`` is called once per finished call. ``groups`` (one sortable label per call) keeps
        calls of a label on one worker where it can; a worker whose queue is empty takes from the longest."""
        queues = self._queues(len(calls), groups)
        outcomes: list[Outcome | None] = [None] * len(calls)
        left = len(calls)

        def finish(worker: _Worker, outcome: Outcome) -> None:
            nonlocal left
            outcomes[worker.call] = outcome
            worker.call = None
            left -= 1
            if progress is not None:
                progress()

        while left:
            for k, w in enumerate(self._workers):
                if w.ready and w.call is None and any(queues):
                    w.call = queues[k].popleft() if queues[k] else max(queues, key=len).pop()
                    fn, args = calls[w.call]
                    w.conn.send((w.call, fn, args))
                    w.started = time.monotonic()
            busy = [w for w in self._workers if w.call is not None]
            now = time.monotonic()
            wait_for = min((w.started + self.timeout - now for w in busy), default=None)
            ready = wait([w.conn for w in self._workers], timeout=None if wait_for is None else max(wait_for, 0))
            now = time.monotonic()
            for w in list(self._workers):
                if w.conn in ready:
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        if not w.ready:
                            raise RuntimeError(f"a worker process could not start (exit code {w.process.exitcode})")
                        if w.call is not None:
                            w.process.join(timeout=5)
                            code = w.process.exitcode
                            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                            finish(w, Outcome("died", f"the process deciding it ended ({how})", now - w.started))
                        self._replace(w)
                        continue
                    if message is None:
                        w.ready = True
                    else:
                        _, status, value = message
                        finish(w, Outcome(status, value, now - w.started))
                elif w.call is not None and now - w.started >= self.timeout:
                    finish(w, Outcome("timeout", None, now - w.started))
                    self._replace(w)
        return outcomes  # type: ignore[return-value]
