"""Softmax attention as SymPy expressions: the one definition every proof builds on.

Weights are written as ``1 / sum_j exp(x_j - x_i)`` rather than
``exp(x_i) / sum_j exp(x_j)``: the two are equal, but the first form stays finite
when lambdified and evaluated at large logits (an overflowing term only sends the
weight to its correct limit 0).
"""
from __future__ import annotations

from collections.abc import Sequence

import sympy as sp


def softmax_weight(logits: Sequence[sp.Expr], i: int, counts: Sequence[sp.Expr] | None = None) -> sp.Expr:
    """Weight of logit ``i``; ``counts[j]`` says how many keys share logit ``j`` (default 1 each)."""
    counts = counts if counts is not None else [sp.Integer(1)] * len(logits)
    return 1 / sp.Add(*[c * sp.exp(sp.expand(x - logits[i])) for x, c in zip(logits, counts)])


def softmax_weights(logits: Sequence[sp.Expr], counts: Sequence[sp.Expr] | None = None) -> list[sp.Expr]:
    return [softmax_weight(logits, i, counts) for i in range(len(logits))]


def textbook_weight(logits: Sequence[sp.Expr], i: int) -> sp.Expr:
    """exp(x_i) / sum_j exp(x_j): the definition as the question writes it."""
    return sp.exp(logits[i]) / sp.Add(*[sp.exp(x) for x in logits])
