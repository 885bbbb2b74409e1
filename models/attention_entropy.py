"""How sharp is a trained model's attention? Entropy, largest weight and largest logit, per head.

Question 1's limit in practice: as the query/key scale grows, softmax attention tends to a
one-hot choice of the best-matching key (derivations.q1a_copying, q1b_average). A model
whose logits have grown into the hundreds attends one-hot everywhere (entropy near 0 nats),
which is a known way for transformer training to stall ("attention entropy collapse",
Zhai et al. 2023; attention-logit growth, Wortsman et al. 2023). This module measures it on
real pretraining examples, for the vanilla model: per layer and head, over every real
(non-PAD) query position with at least two visible keys,
  - the mean entropy of the attention weights (nats; log(keys) when uniform, 0 when one-hot),
  - the mean of the largest weight,
  - the largest |logit| (q·k / sqrt(head_dim)),
and the mean |gain| of the LayerNorm before the attention (a weight decay on it bounds the
queries' and keys' scale).
"""

from __future__ import annotations

import math

import torch

from .data import PAD_ID
from .model import GPT, causal_mask


@torch.no_grad()
def attention_stats(model: GPT, x: torch.Tensor) -> list[dict]:
    """Per layer: {"entropy", "max_weight", "max_logit"}, each a list over heads, and "ln1_gain".
    x (B, T) ids."""
    if model.perceiver:
        raise ValueError("attention statistics are for the vanilla model (its self-attention layers)")
    model.eval()
    t = x.shape[1]
    mask = causal_mask(t, t)
    rows = (x != PAD_ID) & (mask.sum(1) >= 2)[None, :]  # (B, T): queries that choose among keys
    found: list[dict] = []

    def hook(attn, inputs, _output):
        h = inputs[0]
        q, k = attn.queries(h), attn.keys(h)
        logits = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(~mask, float("-inf"))
        w = logits.softmax(-1)
        entropy = -(w * torch.log(w.clamp_min(1e-30))).sum(-1)  # (B, H, T)
        keep = rows[:, None, :].expand_as(entropy)
        n = keep.sum((0, 2)).clamp_min(1)
        found.append({
            "entropy": ((entropy * keep).sum((0, 2)) / n).tolist(),
            "max_weight": ((w.amax(-1) * keep).sum((0, 2)) / n).tolist(),
            "max_logit": logits.masked_fill(~(mask & rows[:, None, :, None]), 0).abs().amax((0, 2, 3)).tolist()})

    handles = [block.attn.register_forward_hook(hook) for block in model.blocks]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    for layer, block in zip(found, model.blocks):
        layer["ln1_gain"] = block.ln1.weight.abs().mean().item()
    return found


def summary(stats: list[dict]) -> list[dict]:
    """Per layer, the heads' mean entropy and mean largest weight, the largest |logit|, the gain."""
    return [{"layer": i, "entropy": sum(s["entropy"]) / len(s["entropy"]),
             "max_weight": sum(s["max_weight"]) / len(s["max_weight"]), "max_logit": max(s["max_logit"]),
             "ln1_gain": s["ln1_gain"]} for i, s in enumerate(stats)]
