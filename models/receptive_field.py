"""Which input positions can each output position depend on? From the masks, and by gradients.

From the masks alone, following each layer's wiring: an attention output at query i depends
on every visible key/value position (mask row i), on its own query stream when the row has
two or more visible keys (with one key the weight is 1 whatever the query), and on its
own stream again through a residual. Per-position layers (LayerNorm, MLP) change nothing.

By gradients: ∂ output_j / ∂ x_input_i for a model with random weights in float64, dropout
off. Masked weights are exactly zero, so the gradient is exactly zero where the masks say
no path exists, and (for generic weights) nonzero where one does. One path is zero only
mathematically: a query with a single visible key has weight 1 whatever the query, but the
fused kernel's backward forms that zero as the difference of two equal dot products and
leaves float64 rounding (~1e-20 against gradients ~1e-1). So "nonzero" means above
RELATIVE_ZERO times the largest gradient; true dependences are many orders above it.
"""


from __future__ import annotations

import torch

from .data import QA
from .baselines import name_of
from .model import GPT

RELATIVE_ZERO = 1e-10


def _attend(r_query, r_kv, mask, residual: bool):
    via_kv = (mask.to(torch.int64) @ r_kv.to(torch.int64)) > 0
    query_matters = (mask.sum(1) >= 2)[:, None]
    out = via_kv | (r_query & query_matters)
    return out | r_query if residual else out


def dependence_from_masks(model: GPT, t: int) -> torch.Tensor:
    """Boolean (t, t): [j, i] is True when output position j can depend on input position i."""
    masks = model.masks(t)
    r_in = torch.eye(t, dtype=torch.bool)
    if not model.perceiver:
        r = r_in
        for _ in model.blocks:
            r = _attend(r, r, masks["self"], residual=True)
        return r
    default = model.config.perceiver_wiring == "default"
    m = model.config.bottleneck_dim
    r_basis = torch.zeros(m, t, dtype=torch.bool)  # C depends on no input
    r = _attend(r_basis, r_in, masks["down"], residual=default)
    for _ in model.blocks:
        r = _attend(r, r, masks["latent"], residual=True)
    return _attend(r_in, r, masks["up"], residual=default)


def dependence_from_gradients(model: GPT, t: int, seed: int = 0) -> torch.Tensor:
    """Boolean (t, t): [j, i] is True when ∂ output_j / ∂ x_input_i is not exactly zero."""
    model = model.double().eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, t, model.config.n_embd, generator=g, dtype=torch.float64, requires_grad=True)
    out = model.body(x)[0]  # (t, n_embd): the last hidden states, before ln_f and head
    probe = torch.randn(out.shape, generator=g, dtype=torch.float64)
    size = torch.zeros(t, t, dtype=torch.float64)
    for j in range(t):
        (grad,) = torch.autograd.grad((out[j] * probe[j]).sum(), x, retain_graph=True)
        size[j] = grad[0].abs().sum(-1)
    return size > RELATIVE_ZERO * size.max()


def describe_rule(dep: torch.Tensor, m: int) -> str:
    """The perceiver's dependence matrix in words, checked against it ('irregular' otherwise)."""
    t = dep.shape[0]
    prefix = torch.zeros(t, t, dtype=torch.bool)
    for j in range(t):
        prefix[j, :min(j, m - 1) + 1] = True
    if torch.equal(dep, prefix | torch.eye(t, dtype=torch.bool)):
        return f"output j sees inputs 0..min(j, {m - 1}) and j itself"
    if torch.equal(dep, prefix):
        return f"output j sees inputs 0..min(j, {m - 1}) only (not itself once j >= {m})"
    return "irregular"


def question_impact(rows: list[QA], m: int) -> dict:
    """What the perceiver's receptive field means on a question file, for bottleneck m.

    A name ending at position >= m (0-based) has characters that no answer position sees:
    answer positions come after the question, and a position j >= m sees only inputs
    0..m-1 and j itself. Answer characters at positions >= m are likewise predicted without
    seeing the earlier answer characters past m-1 (only the current one)."""
    name_past_m, answer_past_m, examples = 0, 0, []
    for r in rows:
        name = name_of(r.question)
        start = r.question.find(name)
        last_name_pos = start + len(name) - 1
        if last_name_pos >= m:
            name_past_m += 1
            if len(examples) < 3:
                examples.append({"line": r.line, "question": r.question,
                                 "visible_to_answer": r.question[:m], "hidden_from_answer": r.question[m:]})
        if r.answer is not None and len(r.question) + 1 + len(r.answer) > m:
            answer_past_m += 1
    return {"m": m, "questions": len(rows), "name_ends_at_or_after_m": name_past_m,
            "answer_reaches_position_m": answer_past_m, "examples": examples}
