"""The birthplace GPT of MODEL.md: config, the attention core, blocks, and the model.

Parameter names follow the course code (tok_emb, pos_emb, blocks.N.{ln1,attn,ln2,mlp},
ln_f, head; down_block / up_block / down_block.C for the perceiver), so a course state
dict loads once its `attn.mask` buffers are dropped: masks here are explicit boolean
tensors handed to every attention call, never parameters or saved buffers.
"""

from __future__ import annotations

import contextlib
import math
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = ("vanilla", "perceiver")
WIRINGS = ("default", "ln-both")


@dataclass
class GPTConfig:
    vocab_size: int = 256
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 8
    n_embd: int = 256
    dropout: float = 0.1  # embedding, attention and residual dropout alike
    variant: str = "vanilla"  # vanilla | perceiver
    bottleneck_dim: int = 64  # m, perceiver only (the course's commands use 64)
    perceiver_wiring: str = "default"  # default | ln-both (MODEL.md's alternative reading)
    # Not MODEL.md (recipes only): LayerNorm on each head's queries and keys, which bounds the
    # attention logits. Without it, a high learning rate grows them into the hundreds and the
    # attention goes one-hot (entropy collapse; Wortsman et al. 2023, Dehghani et al. 2023).
    qk_norm: bool = False

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {self.variant!r}")
        if self.perceiver_wiring not in WIRINGS:
            raise ValueError(f"perceiver_wiring must be one of {WIRINGS}, not {self.perceiver_wiring!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")
        if self.variant == "perceiver":
            if not 1 <= self.bottleneck_dim <= self.block_size:
                raise ValueError(f"bottleneck_dim must be in 1..{self.block_size}")
            if self.n_layer < 2:
                raise ValueError("the perceiver needs n_layer >= 2 (down and up blocks)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GPTConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


# ---------------------------------------------------------------------------- dropout


class DropoutSource:
    """Dropout keep-masks drawn with NumPy's PCG64 on the CPU: the distribution of torch's
    dropout (each element kept with probability 1 - p, independently, kept ones scaled by
    1/(1 - p); p is resolved to 2^-32), drawn about 3x faster than torch's serial Mersenne
    Twister, which makes dropout a third of a CPU training step. Another random stream than
    torch's, so a run with it is not bit-identical to one without; seed it per step, e.g.
    (seed, step), and a resumed run draws the masks an uninterrupted one draws."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def keep(self, shape, p: float) -> torch.Tensor:
        bits = self.rng.bit_generator
        if math.prod(shape) % 2 == 0 and sys.byteorder == "little" and not bits.state["has_uint32"]:
            # the very words integers(0, 2**32, uint32) draws (each 64-bit output's low half, then its high
            # half), and the generator left where it leaves it, in 60% of the time
            u = bits.random_raw(math.prod(shape) // 2).view(np.uint32).reshape(tuple(shape))
        else:
            u = self.rng.integers(0, 2 ** 32, size=tuple(shape), dtype=np.uint32)
        return torch.from_numpy(u >= np.uint32(min(round(p * 2 ** 32), 2 ** 32 - 1)))

    def dropout(self, x: torch.Tensor, p: float) -> torch.Tensor:
        return torch.where(self.keep(x.shape, p), x * (1.0 / (1.0 - p)), 0.0)


_DROPOUT_SOURCE: ContextVar[DropoutSource | None] = ContextVar("attnlab_dropout_source", default=None)


@contextmanager
def dropout_source(source: DropoutSource | None):
    """Within this block, dropout on CPU tensors draws its masks from `source` (None: torch's)."""
    token = _DROPOUT_SOURCE.set(source)
    try:
        yield source
    finally:
        _DROPOUT_SOURCE.reset(token)


def _fast_source(x: torch.Tensor) -> DropoutSource | None:
    source = _DROPOUT_SOURCE.get()
    return source if source is not None and x.device.type == "cpu" else None


class Dropout(nn.Dropout):
    """nn.Dropout, drawing from the active DropoutSource when there is one (CPU only)."""

    def forward(self, x):
        source = _fast_source(x)
        if source is None or not self.training or self.p == 0.0:
            return super().forward(x)
        return source.dropout(x, self.p)


def autocast(device: torch.device, dtype: str):
    """The precision context of a forward pass: none for fp32, else torch's autocast."""
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[dtype])


# ---------------------------------------------------------------------------- attention core


def attention(q, k, v, mask=None, dropout_p: float = 0.0, training: bool = False, scale=None):
    """softmax(q kᵀ · scale, masked) v for every batch and head: the one attention core.

    q: (..., Tq, D), k and v: (..., Tk, D); mask: boolean, broadcastable to (..., Tq, Tk),
    True where a query may attend to a key (every row needs at least one True).
    scale defaults to 1/sqrt(D). Dropout on the weights only while training.
    Passing v = identity (Tk × Tk) returns the attention weights themselves.
    With a DropoutSource active (CPU, training, dropout_p > 0) the same formula is written out
    (scaled_dot_product_attention would draw its dropout with torch's slower generator).
    """
    p = dropout_p if training else 0.0
    if p == 0.0 and q.shape[-2] == 1 and q.device.type == "cpu":
        return _one_query(q, k, v, mask, scale)
    source = _fast_source(q) if p > 0.0 else None
    if source is None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, scale=scale)
    # Passes over the (B, H, Tq, Tk) scores cost more than their arithmetic here (they do not
    # fit in cache), so: the scale goes on q, the mask is filled in place (the product is not
    # needed for the backward pass), the dropped weights are zeroed with the boolean mask itself
    # (multiplying by it would convert it to floats, forward and backward) and the kept ones
    # scaled on the output, the smaller side.
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = torch.matmul(q * scale, k.transpose(-2, -1))
    if mask is not None:
        s = s.masked_fill_(~mask, float("-inf"))
    weights = torch.where(source.keep(s.shape, p), torch.softmax(s, dim=-1), 0.0)
    return torch.matmul(weights, v) * (1.0 / (1.0 - p))


def _one_query(q, k, v, mask, scale):
    """The formula written out for one query per row (cached decoding on the CPU), where the
    fused kernel spends more on its blocking than on reading the keys and values."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = torch.matmul(q * scale, k.transpose(-2, -1))
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def causal_mask(n_queries: int, n_keys: int, device=None) -> torch.Tensor:
    """The course's mask: the lower triangle cut to [queries × keys], query i sees keys <= i."""
    return torch.ones(n_queries, n_keys, dtype=torch.bool, device=device).tril()


class CrossAttention(nn.Module):
    """Multi-head attention with queries from one sequence, keys and values from another."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        d = config.n_embd
        self.key = nn.Linear(d, d)
        self.query = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.resid_drop = Dropout(config.dropout)
        self.n_head = config.n_head
        self.dropout = config.dropout
        if config.qk_norm:
            self.q_ln = nn.LayerNorm(d // config.n_head)
            self.k_ln = nn.LayerNorm(d // config.n_head)

    def _heads(self, x):
        b, t, c = x.shape
        return x.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)

    def keys(self, x_kv):
        """(B, H, T, D) keys of each head (keys, queries and values are made here only: decode.py uses these too)."""
        k = self._heads(self.key(x_kv))
        return self.k_ln(k) if hasattr(self, "k_ln") else k

    def queries(self, x_q):
        q = self._heads(self.query(x_q))
        return self.q_ln(q) if hasattr(self, "q_ln") else q

    def values(self, x_kv):
        return self._heads(self.value(x_kv))

    def forward(self, x_kv, x_q, mask):
        b = max(x_kv.shape[0], x_q.shape[0])  # the perceiver's basis C has batch 1
        k = self.keys(x_kv).expand(b, -1, -1, -1)
        v = self.values(x_kv).expand(b, -1, -1, -1)
        q = self.queries(x_q).expand(b, -1, -1, -1)
        y = attention(q, k, v, mask, self.dropout, self.training)
        y = y.transpose(1, 2).reshape(b, x_q.shape[1], x_q.shape[2])
        return self.resid_drop(self.proj(y))


class CausalSelfAttention(CrossAttention):
    def forward(self, x, mask):
        return super().forward(x, x, mask)


def mlp(config: GPTConfig) -> nn.Sequential:
    d = config.n_embd
    return nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d), Dropout(config.dropout))


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, config: GPTConfig, attn_cls=CausalSelfAttention):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = attn_cls(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = mlp(config)

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


class DownProjectBlock(Block):
    """Input (length ℓ) -> m latents; queries from the learned basis C.

    default:  z = C + attn(kv = x_input, q = ln1(C))      ln-both:  z = attn(ln1(x_input), ln1(C))
    then z + mlp(ln2(z)).
    """

    def __init__(self, config: GPTConfig):
        super().__init__(config, CrossAttention)
        self.wiring = config.perceiver_wiring
        self.C = nn.Parameter(torch.empty(1, config.bottleneck_dim, config.n_embd))

    def forward(self, x_input, mask, latent_positions=None):
        """latent_positions (B, L): which rows of C the L latents use (packed rows hold the
        latents of several examples); default the m rows of C, shared by the batch."""
        C = self.C if latent_positions is None else self.C[0, latent_positions]
        if self.wiring == "default":
            z = C + self.attn(x_input, self.ln1(C), mask)
        else:
            z = self.attn(self.ln1(x_input), self.ln1(C), mask)
        return z + self.mlp(self.ln2(z))


class UpProjectBlock(Block):
    """m latents -> ℓ positions; queries from the embedded input x_input.

    default:  z = x_input + attn(kv = ln1(y), q = x_input)  ln-both:  z = attn(ln1(y), ln1(x_input))
    then z + mlp(ln2(z)).
    """

    def __init__(self, config: GPTConfig):
        super().__init__(config, CrossAttention)
        self.wiring = config.perceiver_wiring

    def forward(self, y, x_input, mask):
        if self.wiring == "default":
            z = x_input + self.attn(self.ln1(y), x_input, mask)
        else:
            z = self.attn(self.ln1(y), self.ln1(x_input), mask)
        return z + self.mlp(self.ln2(z))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Parameter(torch.zeros(1, config.block_size, config.n_embd))
        self.drop = Dropout(config.dropout)
        self.perceiver = config.variant == "perceiver"
        if self.perceiver:
            self.down_block = DownProjectBlock(config)
            self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer - 2))
            self.up_block = UpProjectBlock(config)
        else:
            self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        if self.perceiver:
            nn.init.xavier_uniform_(self.down_block.C)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def masks(self, t: int, device=None) -> dict[str, torch.Tensor]:
        """The boolean masks of a length-t input: `self` for vanilla blocks; `down` (m × t),
        `latent` (m × m) and `up` (t × m) for the perceiver."""
        if not self.perceiver:
            return {"self": causal_mask(t, t, device)}
        m = self.config.bottleneck_dim
        return {"down": causal_mask(m, t, device), "latent": causal_mask(m, m, device),
                "up": causal_mask(t, m, device)}

    def embed(self, idx, positions=None):
        """Token + position embeddings, dropout. positions (B, t), default 0..t-1 for every row."""
        t = idx.shape[1]
        if t > self.config.block_size:
            raise ValueError(f"sequence of length {t} is longer than the block ({self.config.block_size})")
        pos = self.pos_emb[:, :t, :] if positions is None else self.pos_emb[0, positions]
        return self.drop(self.tok_emb(idx) + pos)

    def body(self, x_input, masks=None, latent_positions=None):
        """Embedded input (B, t, n_embd) -> final hidden states (B, t, n_embd), before ln_f."""
        if masks is None:
            masks = self.masks(x_input.shape[1], x_input.device)
        if not self.perceiver:
            x = x_input
            for block in self.blocks:
                x = block(x, masks["self"])
            return x
        y = self.down_block(x_input, masks["down"], latent_positions)
        for block in self.blocks:
            y = block(y, masks["latent"])
        return self.up_block(y, x_input, masks["up"])

    def forward(self, idx, targets=None, masks=None, positions=None, latent_positions=None):
        """Logits (B, t, vocab) and, with targets, the cross-entropy ignoring PAD (id 0).
        masks / positions / latent_positions default to the course's (see masks(), embed(),
        DownProjectBlock); models.fast.pack_batch makes them for packed rows."""
        logits = self.head(self.ln_f(self.body(self.embed(idx, positions), masks, latent_positions)))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=0)
        return logits, loss

    def configure_optimizer(self, lr: float, weight_decay: float = 0.1, betas=(0.9, 0.95),
                            decay: str = "all-but-bias", **kw):
        """AdamW with weight decay on the parameters `decay` names (decay_names), the rest at 0.
        kw go to AdamW (foreach=True or fused=True pick its faster implementations; default its
        for-loop). Raises ValueError for an unknown rule."""
        chosen = set(self.decay_names(decay))
        named = list(self.named_parameters())
        groups = [{"params": [p for n, p in named if n in chosen], "weight_decay": weight_decay},
                  {"params": [p for n, p in named if n not in chosen], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=betas, **kw)

    def decay_names(self, decay: str = "all-but-bias") -> list[str]:
        """The names of the parameters that weight decay applies to under the rule `decay`:
        "all-but-bias", the course's trainer.py (every parameter whose name contains neither
        "bias" nor "LayerNorm.weight"; the LayerNorms here are ln1/ln2/ln_f, so only the biases
        are spared: tok_emb, pos_emb, the LayerNorm gains and the perceiver's C decay too);
        "linear", minGPT's rule (the weights of Linear layers only; MODEL.md before its
        correction). Raises ValueError for another rule."""
        if decay == "all-but-bias":
            return [n for n, _ in self.named_parameters() if "bias" not in n and "LayerNorm.weight" not in n]
        if decay == "linear":
            linear = {id(m.weight) for m in self.modules() if isinstance(m, nn.Linear)}
            return [n for n, p in self.named_parameters() if id(p) in linear]
        raise ValueError(f"decay must be 'all-but-bias' or 'linear', not {decay!r}")

    @torch.no_grad()
    def generate(self, idx, steps: int):
        """Greedy decoding of `steps` tokens, one full forward per token; the context is cropped
        to the last block_size tokens as the course's `sample` does."""
        for _ in range(steps):
            logits, _ = self(idx[:, -self.config.block_size:])
            idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return idx
