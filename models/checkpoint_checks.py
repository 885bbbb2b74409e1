"""Checks on a checkpoint before its model is allocated: the stored config within sane ranges,
the metadata JSON objects, and the tensors exactly the names, shapes and floating-point dtypes of
the config's model, with finite values.

The model the config describes is first built on PyTorch's "meta" device, which allocates no
memory, and compared with the tensors in the file; only a checkpoint that passes is built for
real, so what is allocated is what the file itself holds (a 56 KB file claiming 100,000 layers
is refused at once).
"""

from __future__ import annotations

import json
import math

import torch

from fileguard.inputs import GiB

from .fileio import UserError
from .model import GPT, GPTConfig

MAX_BYTES = 4 * GiB  # a checkpoint or training state; MODEL.md's model is about 13 MB

# The integer sizes of a config, each at least 1 and at most this (far above any model here: 4 layers,
# width 256, 8 heads, block 128, a vocabulary of a few hundred characters).
SIZE_LIMITS = {"vocab_size": 1 << 21, "block_size": 8192, "n_layer": 256, "n_head": 4096, "n_embd": 65536,
               "bottleneck_dim": 8192}


def metadata_object(meta: dict, key: str, path, default: str | None = None) -> dict:
    """The JSON object stored under `key` in a checkpoint's metadata (`default` when absent).
    Raises UserError when it is missing without a default, not JSON, or not a JSON object."""
    text = meta.get(key, default)
    if text is None:
        raise UserError(f"has no '{key}' in its metadata", path)
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise UserError(f"its '{key}' metadata is not JSON", path) from None
    if not isinstance(value, dict):
        raise UserError(f"its '{key}' metadata is a JSON {type(value).__name__}, not an object", path)
    return value


def config_from_dict(d: dict, path, source: str = "in its config") -> GPTConfig:
    """A GPTConfig from a stored (or inferred) config, its sizes checked first: integers in
    1..SIZE_LIMITS, n_head dividing n_embd, and GPTConfig's own rules. Raises UserError naming
    the first value out of range and where it came from (`source`)."""
    for key, limit in SIZE_LIMITS.items():
        if key not in d:
            continue
        value = d[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"has {key} {value!r} {source}, not an integer", path)
        if not 1 <= value <= limit:
            raise UserError(f"has {key} {value} {source}, outside 1..{limit:,}", path)
    dropout = d.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not math.isfinite(dropout):
        raise UserError(f"has dropout {dropout!r} {source}, not a number in [0, 1)", path)
    if not isinstance(d.get("qk_norm", False), bool):
        raise UserError(f"has qk_norm {d['qk_norm']!r} {source}, not true or false", path)
    try:
        return GPTConfig.from_dict(d)
    except (ValueError, TypeError) as e:
        raise UserError(f"has an impossible model {source}: {e}", path) from None


def _listed(names: list[str]) -> str:
    return ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")


def check_tensors(config: GPTConfig, state: dict, path, label: str) -> None:
    """Refuse, before any allocation, tensors that are not exactly the model's: names missing or
    unexpected, another shape, a dtype that is not floating point (integers or booleans where
    weights belong), or values that are not finite (NaN, infinity). `label` describes the
    model in messages. Raises UserError naming the first such tensor."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in GPT(config).state_dict().items()}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing {_listed(missing)}"] if missing else []) + \
                ([f"unexpected {_listed(unexpected)}"] if unexpected else [])
        raise UserError(f"does not match a {label} model: {'; '.join(parts)}", path)
    for name, shape in expected.items():
        t = state[name]
        if tuple(t.shape) != shape:
            raise UserError(f"does not match a {label} model: {name} has shape {list(t.shape)}, the model's is "
                            f"{list(shape)}", path)
        if not t.dtype.is_floating_point:
            raise UserError(f"tensor {name} is {str(t.dtype).removeprefix('torch.')}, not floating point: "
                            "not model weights", path)
        if not bool(torch.isfinite(t).all()):
            raise UserError(f"tensor {name} holds values that are not finite (NaN or infinity)", path)
