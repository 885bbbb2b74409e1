"""Writing results: atomic files (fileguard's one writer, re-exported) and strict JSON."""
from __future__ import annotations

import math

from fileguard.outputs import write_atomic

__all__ = ["write_atomic", "json_safe"]


def json_safe(obj):
    """Replace non-finite floats by None so that the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
