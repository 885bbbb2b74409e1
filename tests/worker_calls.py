"""Functions the tests run inside `derivations.worker_pool` workers: module-level (workers import
them by name) and cheap to import, so that a worker's first call is not slowed by importing a test module."""
from __future__ import annotations

import time


def sleep_or_square(x):
    """x², or a 30-second sleep for a negative x (a call that overruns any budget of the tests)."""
    if x < 0:
        time.sleep(30)
    return x * x


def decide_and_count_cache_hits(part, field, text):
    """Decide one field and return the hits of `answer_checks._decide`'s cache in this worker so far."""
    from derivations import answer_checks
    from derivations.field_guard import decide_guarded

    decide_guarded(part, field, text, {part: {field: text}})
    return answer_checks._decide.cache_info().hits


def shout(text):
    """Print ``text`` to the worker's stdout and stderr, as a library's warning might."""
    import sys

    print(text, flush=True)
    print(text, file=sys.stderr, flush=True)
    return len(text)
