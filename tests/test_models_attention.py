"""The attention core and the model's structure, tested as properties (Hypothesis).

- the core against the formulas of `derivations.numeric` (Question 1's keys and queries);
- weights form a distribution for logits up to 1e4 in size;
- causality through the whole model, both variants and both perceiver wirings;
- the perceiver's receptive field: predicted from the masks, measured by gradients;
- the recipes' qk_norm option: logits bounded, weights unmoved as the query scale grows.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.model import GPT, WIRINGS, CrossAttention, GPTConfig, attention
from models.receptive_field import dependence_from_gradients, dependence_from_masks, describe_rule

numeric = pytest.importorskip("derivations.numeric", reason="derivations.numeric provides the analytic formulas")

torch.set_num_threads(1)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def orthonormal_keys(seed: int, n: int, d: int) -> torch.Tensor:
    """n orthonormal rows in R^d: QR of a Gaussian d × d matrix, float64."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))  # a Haar-distributed basis
    return q[:, :n].T.contiguous()


def weights_of(q: torch.Tensor, k: torch.Tensor, mask=None) -> torch.Tensor:
    """The core's attention weights: its output with v = identity. q (..., Tq, d), k (..., n, d)."""
    eye = torch.eye(k.shape[-2], dtype=k.dtype).expand(*k.shape[:-2], -1, -1)
    return attention(q, k, eye, mask, scale=1.0)


problems = st.integers(2, 24).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(n, 40), st.floats(0.0, 40.0), st.floats(-2.5, 2.5),  # η of either sign
    st.integers(0, 2**31 - 1), st.permutations(range(n)).map(lambda p: (p[0], p[1]))))


@FAST
@given(problems)
def test_single_head_weights_match_the_formula(problem):
    """q = β(μ_a + μ_b), k_a = η μ_a, other keys μ_i: the weights of derivations' formula."""
    n, d, beta, eta, seed, (a, b) = problem
    keys = orthonormal_keys(seed, n, d)
    q = beta * (keys[a] + keys[b])
    keys[a] = eta * keys[a]
    w = weights_of(q[None, None, None], keys[None, None])[0, 0, 0]
    w_a, w_b, w_other = (float(x) for x in numeric.single_head_weights(eta, beta, n))
    expected = torch.full((n,), w_other, dtype=torch.float64)
    expected[a], expected[b] = w_a, w_b
    torch.testing.assert_close(w, expected, rtol=1e-9, atol=1e-12)


@FAST
@given(problems)
def test_multi_head_weights_match_the_formula(problem):
    """Two heads in one call, q_1 = β μ_a and q_2 = β μ_b, sharing the keys (k_a = η μ_a)."""
    n, d, beta, eta, seed, (a, b) = problem
    keys = orthonormal_keys(seed, n, d)
    q = torch.stack([beta * keys[a], beta * keys[b]])[None, :, None]  # (1, 2 heads, 1, d)
    keys[a] = eta * keys[a]
    w = weights_of(q, keys.expand(1, 2, n, d))[0, :, 0]
    h1_a, h1_other, h2_b, h2_other = (float(x) for x in numeric.multi_head_weights(eta, beta, n))
    expected = torch.tensor([[h1_other] * n, [h2_other] * n], dtype=torch.float64)
    expected[0, a], expected[1, b] = h1_a, h2_b
    torch.testing.assert_close(w, expected, rtol=1e-9, atol=1e-12)


@FAST
@given(problems, st.integers(1, 16), st.floats(0.1, 100.0))
def test_average_of_two_within_the_analytic_bound(problem, d_v, value_scale):
    """q = β(k_a + k_b), orthonormal keys: ‖c − ½(v_a + v_b)‖ ≤ bound(β, n) · max‖v_i‖ and
    |w_a − ½| ≤ bound / 4, with bound = derivations.numeric.average_error_bound."""
    n, d, beta, _, seed, (a, b) = problem
    keys = orthonormal_keys(seed, n, d)
    g = torch.Generator().manual_seed(seed + 1)
    values = value_scale * torch.randn(n, d_v, generator=g, dtype=torch.float64)
    q = beta * (keys[a] + keys[b])
    c = attention(q[None, None, None], keys[None, None], values[None, None], scale=1.0)[0, 0, 0]
    w = weights_of(q[None, None, None], keys[None, None])[0, 0, 0]
    bound = float(numeric.average_error_bound(beta, n))
    slack = 1e-12 * (1 + bound)
    err = torch.linalg.norm(c - 0.5 * (values[a] + values[b])) / values.norm(dim=1).max()
    assert err <= bound + slack
    assert abs(w[a] - 0.5) <= bound / 4 + slack and abs(w[b] - 0.5) <= bound / 4 + slack
    torch.testing.assert_close(c, w @ values, rtol=1e-10, atol=1e-12)  # the output is Σ α_i v_i


@FAST
@given(problems)
def test_layer_with_identity_projections_is_the_core(problem):
    """A one-head attention layer with identity key/query/value/proj and zero biases computes
    the core with scale 1/sqrt(d): a query scaled by sqrt(d) gives the formula's weights."""
    n, d, beta, eta, seed, (a, b) = problem
    keys = orthonormal_keys(seed, n, d)
    q = math.sqrt(d) * beta * (keys[a] + keys[b])
    keys[a] = eta * keys[a]
    layer = CrossAttention(GPTConfig(n_embd=d, n_head=1, dropout=0.0)).double().eval()
    with torch.no_grad():
        for lin in (layer.key, layer.query, layer.value, layer.proj):
            lin.weight.copy_(torch.eye(d, dtype=torch.float64))
            lin.bias.zero_()
    # Values = the keys themselves: c = Σ w_i k_i.
    c = layer(keys[None], q[None, None], None)[0, 0]
    w_a, w_b, w_other = (float(x) for x in numeric.single_head_weights(eta, beta, n))
    w = torch.full((n,), w_other, dtype=torch.float64)
    w[a], w[b] = w_a, w_b
    torch.testing.assert_close(c, w @ keys, rtol=1e-9, atol=1e-12)


def single_head_expected(n, a, b, eta, beta) -> torch.Tensor:
    w_a, w_b, w_other = (float(x) for x in numeric.single_head_weights(eta, beta, n))
    expected = torch.full((n,), w_other, dtype=torch.float64)
    expected[a], expected[b] = w_a, w_b
    return expected


@FAST
@given(problems, st.integers(2, 4), st.integers(2, 5))
def test_several_heads_and_query_positions_match_the_formula(problem, heads, positions):
    """The multi-query path (the fused kernel training uses, not the single-query one): H heads
    × T query positions in one call, each (head, position) with its own scale β_ht, η of either
    sign; every row of weights is the formula's for its β_ht."""
    n, d, beta, eta, seed, (a, b) = problem
    keys = orthonormal_keys(seed, n, d)
    betas = beta * torch.linspace(0.25, 1.0, heads * positions, dtype=torch.float64).reshape(heads, positions)
    q = betas[..., None] * (keys[a] + keys[b])  # (H, T, d)
    keys[a] = eta * keys[a]
    w = weights_of(q[None], keys.expand(1, heads, n, d))[0]
    for h in range(heads):
        for t in range(positions):
            torch.testing.assert_close(w[h, t], single_head_expected(n, a, b, eta, float(betas[h, t])),
                                       rtol=1e-9, atol=1e-12)


@FAST
@given(problems, st.integers(2, 4), st.integers(2, 5))
def test_layer_with_several_heads_splits_and_merges_them(problem, heads, positions):
    """A CrossAttention layer of H heads (identity projections, zero biases) on an embedding
    that stacks H copies of R^d, one per head: head h's slice of the output at position t is
    Σ_i w_i k_i^(h) with the formula's weights for that head and position; the keys of each head
    are its own orthonormal set (a mixed-up head split or merge puts one head's keys in
    another's slice)."""
    n, d, beta, eta, seed, (a, b) = problem
    basis = [orthonormal_keys(seed + h, n, d) for h in range(heads)]
    betas = beta * torch.linspace(0.25, 1.0, heads * positions, dtype=torch.float64).reshape(heads, positions)
    x_q = torch.cat([math.sqrt(d) * betas[h][:, None] * (basis[h][a] + basis[h][b]) for h in range(heads)], dim=1)
    for k in basis:
        k[a] = eta * k[a]
    x_kv = torch.cat(basis, dim=1)  # (n, H·d)
    layer = CrossAttention(GPTConfig(n_embd=heads * d, n_head=heads, dropout=0.0)).double().eval()
    with torch.no_grad():
        for lin in (layer.key, layer.query, layer.value, layer.proj):
            lin.weight.copy_(torch.eye(heads * d, dtype=torch.float64))
            lin.bias.zero_()
    c = layer(x_kv[None], x_q[None], None)[0]  # (T, H·d)
    for h in range(heads):
        for t in range(positions):
            expected = single_head_expected(n, a, b, eta, float(betas[h, t])) @ basis[h]
            torch.testing.assert_close(c[t, h * d:(h + 1) * d], expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=64), st.sampled_from([torch.float32, torch.float64]),
       st.integers(0, 2**31 - 1))
def test_weights_are_a_distribution_for_huge_logits(logits, dtype, seed):
    """No NaN, no overflow: weights in [0, 1] summing to 1, equal to a float64 stable softmax,
    masked keys exactly 0, for logits of size up to 1e4 (head dim 1: q = 1, k_i = logit_i)."""
    n = len(logits)
    k = torch.tensor(logits, dtype=dtype).reshape(1, 1, n, 1)
    q = torch.ones(1, 1, 1, 1, dtype=dtype)
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(1, n, generator=g) < 0.7
    mask[0, torch.randint(n, (1,), generator=g)] = True  # every row keeps at least one key
    for m in (None, mask):
        w = weights_of(q, k, m)[0, 0, 0].double()
        assert torch.isfinite(w).all()
        assert (w >= 0).all() and (w <= 1).all()
        assert abs(float(w.sum()) - 1.0) <= (1e-6 if dtype == torch.float32 else 1e-12)
        x = np.array(k.flatten().tolist(), dtype=np.float64)  # the logits as the core sees them
        if m is not None:
            x = np.where(m[0].numpy(), x, -np.inf)
            assert (w[~m[0]] == 0).all()
        ref = np.exp(x - x.max())
        ref /= ref.sum()
        np.testing.assert_allclose(w.numpy(), ref, atol=1e-5 if dtype == torch.float32 else 1e-12)


# ---------------------------------------------------------------------------- whole model


def tiny_model(variant: str, wiring: str = "default", m: int = 4, n_layer: int = 3, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=256, n_layer=n_layer, n_head=2, n_embd=16, dropout=0.1, variant=variant,
                         bottleneck_dim=m, perceiver_wiring=wiring)).eval()


def layer_weights(layer: CrossAttention, x: torch.Tensor) -> torch.Tensor:
    """Causal attention weights of every head of `layer` on x (B, T, C), and the logits."""
    q, k = layer.queries(x), layer.keys(x)
    logits = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    t = x.shape[1]
    return weights_of(q / math.sqrt(q.shape[-1]), k, torch.ones(t, t, dtype=torch.bool).tril()), logits


@FAST
@given(st.integers(0, 2**31 - 1), st.floats(1.0, 1e4), st.floats(1.0, 1e4),
       st.integers(1, 4).map(lambda h: 2 ** h))
def test_qk_norm_keeps_weights_as_query_and_key_scales_grow(seed, scale, key_scale, n_head):
    """Growing the query weights by `scale` is the limit of Question 1 (attention tends to
    copying the best-matching value); growing the key weights is the same limit reached from
    the other side. With qk_norm queries and keys are layer-normalised, so the weights do not
    move and every logit stays within sqrt(head_dim) (Cauchy-Schwarz on two vectors of norm
    sqrt(head_dim)); without it, at query scale 1e4 the weights are (nearly all) one-hot."""
    torch.manual_seed(seed)
    x = torch.randn(2, 12, 32, dtype=torch.float64)
    for qk_norm in (True, False):
        layer = CrossAttention(GPTConfig(n_embd=32, n_head=n_head, qk_norm=qk_norm)).double()
        if qk_norm:  # LayerNorm's eps only guards a zero variance; without it the norm is exactly scale-free
            layer.q_ln.eps = layer.k_ln.eps = 0.0
        w, logits = layer_weights(layer, x)
        factor, key_factor = (scale, key_scale) if qk_norm else (1e4, 1.0)  # without the norm: the far end
        with torch.no_grad():
            layer.query.weight.mul_(factor), layer.query.bias.mul_(factor)
            layer.key.weight.mul_(key_factor), layer.key.bias.mul_(key_factor)
        w_scaled, logits_scaled = layer_weights(layer, x)
        if qk_norm:
            torch.testing.assert_close(w_scaled, w, atol=1e-9, rtol=0)
            assert logits_scaled.abs().max().item() <= math.sqrt(32 // n_head) * (1 + 1e-9)
        else:
            # past the first row the weights go one-hot, but for near-ties between two keys
            assert w_scaled[..., 1:, :].amax(-1).mean().item() > 0.98


def test_parameter_counts_match_model_md():
    """MODEL.md: 3,323,392 (vanilla) and 3,339,776 (perceiver, m = 64)."""
    assert GPT(GPTConfig(variant="vanilla")).num_params() == 3_323_392
    assert GPT(GPTConfig(variant="perceiver", bottleneck_dim=64)).num_params() == 3_339_776


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([("vanilla", "default"), ("perceiver", "default"), ("perceiver", "ln-both")]),
       st.integers(1, 12), st.integers(2, 40), st.data())
def test_causality_through_the_whole_model(kind, m, t, data):
    """Changing input positions >= p never changes the outputs (logits) at positions < p."""
    variant, wiring = kind
    model = tiny_model(variant, wiring, m, seed=data.draw(st.integers(0, 3)))
    p = data.draw(st.integers(1, t - 1))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**31 - 1)))
    idx = torch.randint(256, (2, t), generator=g)
    changed = idx.clone()
    changed[:, p:] = (idx[:, p:] + torch.randint(1, 256, (2, t - p), generator=g)) % 256
    with torch.no_grad():
        before, _ = model(idx)
        after, _ = model(changed)
    assert torch.equal(before[:, :p], after[:, :p])
    if dependence_from_masks(model, t)[p:, p:].any():  # the change can reach a later output: it does
        assert not torch.equal(before[:, p:], after[:, p:])


@pytest.mark.parametrize("variant", ["vanilla", "perceiver"])
def test_explicit_masks_and_positions_default_to_the_course(variant):
    """forward(masks=..., positions=...) with the course's values computes the default, and a
    different mask changes the result (the argument is used)."""
    model = tiny_model(variant, m=5)
    idx = torch.randint(256, (2, 12))
    with torch.no_grad():
        plain, _ = model(idx)
        explicit, _ = model(idx, masks=model.masks(12), positions=torch.arange(12).expand(2, 12))
        key = "self" if variant == "vanilla" else "up"
        full = {**model.masks(12), key: torch.ones_like(model.masks(12)[key])}
        other, _ = model(idx, masks=full)
    assert torch.equal(plain, explicit) and not torch.equal(plain, other)


def test_vanilla_dependence_is_the_lower_triangle():
    model = tiny_model("vanilla", n_layer=2)
    expected = torch.ones(20, 20, dtype=torch.bool).tril()
    assert torch.equal(dependence_from_masks(model, 20), expected)
    assert torch.equal(dependence_from_gradients(model, 20), expected)


@pytest.mark.parametrize("wiring", WIRINGS)
@pytest.mark.parametrize("m", [1, 3, 8, 30])
def test_perceiver_receptive_field_masks_agree_with_gradients(wiring, m):
    """∂ output_j / ∂ input_i ≠ 0 exactly where the masks predict (t = 24, so m = 30 > t too),
    and the prediction is the closed form: inputs 0..min(j, m−1), plus j itself unless the
    only path to it would be a one-key softmax (ln-both wiring with m = 1)."""
    t = 24
    model = tiny_model("perceiver", wiring, m, n_layer=4)
    predicted = dependence_from_masks(model, t)
    assert torch.equal(predicted, dependence_from_gradients(model, t))
    j = torch.arange(t)[:, None]
    i = torch.arange(t)[None, :]
    closed_form = i <= torch.clamp(j, max=m - 1)
    if not (wiring == "ln-both" and m == 1):
        closed_form = closed_form | (i == j)
    assert torch.equal(predicted, closed_form)
    if m < t:
        assert describe_rule(predicted, m) != "irregular"


def test_receptive_field_gradient_check_detects_a_leak():
    """The gradient check can fail: a model whose up-projection sees every latent (a full
    mask instead of the course's triangle) depends on inputs the masks rule out."""
    t, m = 12, 4
    model = tiny_model("perceiver", "default", m, n_layer=3)
    masks = model.masks(t)
    masks["up"] = torch.ones_like(masks["up"])
    leaky = model.body
    model.body = lambda x, masks_=None: leaky(x, masks)
    assert not torch.equal(dependence_from_masks(model, t), dependence_from_gradients(model, t))


def test_attention_stats_measure_uniform_and_one_hot_heads():
    """With queries zeroed every logit is 0, so each real row i spreads evenly over its i + 1
    keys: entropy log(i + 1), largest weight 1/(i + 1), largest |logit| 0. Scaled up 1e4
    times, random queries give (nearly) one-hot rows: entropy near 0, largest weight near 1."""
    from models.attention_entropy import attention_stats
    from models.data import PAD_ID
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.0)).eval()
    x = torch.randint(2, 20, (3, 16))
    x[0, 10:] = PAD_ID  # PAD queries are left out
    rows = [i for b in range(3) for i in range(1, 16) if x[b, i] != PAD_ID]
    with torch.no_grad():
        for block in model.blocks:
            block.attn.query.weight.zero_(), block.attn.query.bias.zero_()
    model.blocks[1].ln1.weight.data.fill_(-0.5)
    for layer, gain in zip(attention_stats(model, x), (1.0, 0.5)):  # the mean |gain| of ln1
        assert layer["ln1_gain"] == pytest.approx(gain)
        for h in range(2):
            assert layer["entropy"][h] == pytest.approx(np.mean([math.log(i + 1) for i in rows]), rel=1e-5)
            assert layer["max_weight"][h] == pytest.approx(np.mean([1 / (i + 1) for i in rows]), rel=1e-5)
            assert layer["max_logit"][h] == 0
    with torch.no_grad():
        model.pos_emb.normal_()  # distinct keys for repeated characters (pos_emb starts at zero)
        for block in model.blocks:
            block.attn.query.weight.copy_(1e4 * torch.randn(16, 16))
    for layer in attention_stats(model, x):
        assert max(layer["entropy"]) < 0.1 and min(layer["max_weight"]) > 0.95, layer
    with pytest.raises(ValueError, match="vanilla"):
        attention_stats(GPT(GPTConfig(vocab_size=20, n_layer=2, n_head=2, n_embd=16, variant="perceiver",
                                      bottleneck_dim=4)), x)
