"""Command-line building blocks shared by every `python -m models` command: checked argument
types and the option groups that several commands share (the one-line parser itself:
fileguard.parsing.OneLineParser)."""

from __future__ import annotations

import argparse


def _checked(kind, name: str, ok, requirement: str):
    """An argparse type: parse with `kind`, then require `ok(value)`, else say `requirement`."""

    def parse(s: str):
        try:
            v = kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {name}: {s!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{requirement}, not {s}")
        return v

    return parse


positive_int = _checked(int, "integer", lambda v: v >= 1, "must be at least 1")
nonnegative_int = _checked(int, "integer", lambda v: v >= 0, "must not be negative")
positive_float = _checked(float, "number", lambda v: 0 < v < float("inf"), "must be a positive number")
seed_int = _checked(int, "integer", lambda v: 0 <= v < 2 ** 32, "a seed must be in 0..4294967295 (2^32 - 1)")
probability = _checked(float, "number", lambda v: 0.0 <= v < 1.0, "must be in [0, 1)")


def int_list(s: str) -> list[int]:
    return [positive_int(p) for p in s.split(",") if p.strip()]


def trainer_options(g) -> None:
    """--decay and --shuffle/--no-shuffle: the course's trainer.py by default (MODEL.md), minGPT's
    decay rule and shuffled batches as named options (runs with them are not faithful)."""
    g.add_argument("--decay", choices=("all-but-bias", "linear"),
                   help="which parameters weight decay applies to: all-but-bias (default; the course's trainer.py: "
                        "every parameter except the biases, so embeddings, pos_emb, LayerNorm gains and the "
                        "perceiver's C too) or linear (minGPT's rule: Linear weights only; not faithful)")
    g.add_argument("--shuffle", dest="shuffle", action="store_true", default=None,
                   help="a new example order every epoch (not faithful; default: the file's order every epoch, "
                        "as the course's DataLoader)")
    g.add_argument("--no-shuffle", dest="shuffle", action="store_false", default=None,
                   help="the file's order every epoch (the default, kept for older commands)")


def threads_option(p) -> None:
    p.add_argument("--threads", type=positive_int,
                   help="CPU threads for torch (default: torch's choice, or OMP_NUM_THREADS)")
