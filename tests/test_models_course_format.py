"""A course-format state dict loads and computes what MODEL.md's model computes.

`Ref*` below is a plain eager implementation of MODEL.md written in the course's style,
independently of models/model.py: manual softmax attention masked with the `attn.mask`
buffer (-1e10), the course's parameter names, nn.Sequential blocks, and the perceiver's
mask buffers sized as the course builds them (128 × 128 for the down and up blocks, m × m
for the latent blocks). Its state dict, saved with torch.save, must load through the
project's loader and give the same logits (within 1e-5) and greedy predictions.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.checkpoint import load_model
from models.evaluate import predict
from models.fileio import UserError

torch.set_num_threads(1)
MASK, PAD = "\u2047", "\u25a1"


class RefCausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.key = nn.Linear(n_embd, n_embd)
        self.query = nn.Linear(n_embd, n_embd)
        self.value = nn.Linear(n_embd, n_embd)
        self.attn_drop = nn.Dropout(0.1)
        self.resid_drop = nn.Dropout(0.1)
        self.proj = nn.Linear(n_embd, n_embd)
        self.register_buffer("mask", torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size))
        self.n_head = n_head

    def forward(self, x):
        B, T, C = x.size()
        k = self.key(x).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = self.query(x).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = self.value(x).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, -1e10)
        att = self.attn_drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.proj(y))


class RefCausalCrossAttention(RefCausalSelfAttention):
    def forward(self, x_kv, x_q):
        Bk, Tk, Ck = x_kv.size()
        Bq, Tq, Cq = x_q.size()
        k = self.key(x_kv).view(Bk, Tk, self.n_head, Ck // self.n_head).transpose(1, 2)
        q = self.query(x_q).view(Bq, Tq, self.n_head, Cq // self.n_head).transpose(1, 2)
        v = self.value(x_kv).view(Bk, Tk, self.n_head, Ck // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :Tq, :Tk] == 0, -1e10)
        att = self.attn_drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(max(Bk, Bq), Tq, Cq)
        return self.resid_drop(self.proj(y))


def ref_mlp(n_embd):
    return nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd), nn.Dropout(0.1))


class RefBlock(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        self.attn = RefCausalSelfAttention(n_embd, n_head, block_size)
        self.mlp = ref_mlp(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class RefDownProjectBlock(nn.Module):
    def __init__(self, n_embd, n_head, block_size, m, wiring):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        self.attn = RefCausalCrossAttention(n_embd, n_head, block_size)
        self.mlp = ref_mlp(n_embd)
        self.C = nn.Parameter(torch.empty(1, m, n_embd))
        nn.init.xavier_uniform_(self.C)
        self.wiring = wiring

    def forward(self, x_input):
        if self.wiring == "default":
            z = self.C + self.attn(x_input, self.ln1(self.C))
        else:
            z = self.attn(self.ln1(x_input), self.ln1(self.C))
        return z + self.mlp(self.ln2(z))


class RefUpProjectBlock(nn.Module):
    def __init__(self, n_embd, n_head, block_size, wiring):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        self.attn = RefCausalCrossAttention(n_embd, n_head, block_size)
        self.mlp = ref_mlp(n_embd)
        self.wiring = wiring

    def forward(self, y, x_input):
        if self.wiring == "default":
            z = x_input + self.attn(self.ln1(y), x_input)
        else:
            z = self.attn(self.ln1(y), self.ln1(x_input))
        return z + self.mlp(self.ln2(z))


class RefGPT(nn.Module):
    def __init__(self, vocab_size=256, block_size=128, n_layer=4, n_head=8, n_embd=256,
                 perceiver=False, bottleneck_dim=64, wiring="default"):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.Parameter(torch.zeros(1, block_size, n_embd))
        self.drop = nn.Dropout(0.1)
        self.perceiver = perceiver
        self.block_size = block_size
        if perceiver:
            self.down_block = RefDownProjectBlock(n_embd, n_head, block_size, bottleneck_dim, wiring)
            self.blocks = nn.Sequential(*[RefBlock(n_embd, n_head, bottleneck_dim) for _ in range(n_layer - 2)])
            self.up_block = RefUpProjectBlock(n_embd, n_head, block_size, wiring)
        else:
            self.blocks = nn.Sequential(*[RefBlock(n_embd, n_head, block_size) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        b, t = idx.size()
        x_input = self.drop(self.tok_emb(idx) + self.pos_emb[:, :t, :])
        x = self.down_block(x_input) if self.perceiver else x_input
        x = self.blocks(x)
        if self.perceiver:
            x = self.up_block(x, x_input)
        return self.head(self.ln_f(x))


def ref_sample(model, x, steps):
    """The course's utils.sample with sample=False: greedy, cropping to the block."""
    for _ in range(steps):
        x_cond = x if x.size(1) <= model.block_size else x[:, -model.block_size:]
        logits = model(x_cond)[:, -1, :]
        x = torch.cat((x, logits.argmax(-1, keepdim=True)), dim=1)
    return x


def ref_predict(model, vocab, question):
    x = torch.tensor([vocab.stoi[c] for c in question + MASK])[None]
    completion = "".join(vocab.itos[int(i)] for i in ref_sample(model, x, 32)[0])
    return completion.split(MASK)[1]


def trained_looking(model, seed):
    """Every parameter random and non-trivial (pos_emb, biases and LayerNorms included), so a
    mis-loaded tensor shows in the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_f.weight":
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return model.eval()


CASES = [("vanilla", "default", 64), ("perceiver", "default", 64), ("perceiver", "ln-both", 64),
         ("perceiver", "default", 32)]


@pytest.mark.parametrize("variant,wiring,m", CASES)
def test_course_state_dict_loads_with_the_same_logits_and_predictions(tmp_path, vocab, data_dir, variant, wiring, m):
    ref = trained_looking(RefGPT(perceiver=variant == "perceiver", bottleneck_dim=m, wiring=wiring), seed=m)
    state = ref.state_dict()
    assert any(k.endswith("attn.mask") for k in state)  # the course's buffers travel with it
    path = tmp_path / "course.params"
    torch.save(state, path)

    model, info = load_model(path, vocab, perceiver_wiring=wiring if variant == "perceiver" else None)
    assert info["format"] == "course"
    assert model.config.variant == variant and model.config.n_layer == 4 and model.config.n_embd == 256
    if variant == "perceiver":
        assert model.config.bottleneck_dim == m  # inferred from down_block.C, never typed

    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for t in (1, 17, 64, 100, 128):
            idx = torch.randint(len(vocab), (3, t), generator=g)
            ours, _ = model(idx)
            theirs = ref(idx)
            assert (ours - theirs).abs().max().item() < 1e-5, t

    dev = (data_dir / "birth_dev.tsv").read_text(encoding="utf-8").splitlines()[:4]
    questions = [line.split("\t")[0] for line in dev] + ["Where was " + "Abcdefghij " * 9 + "born?"]
    assert len(questions[-1]) + 1 + 32 > 128  # the last one decodes past the block: cropped context
    with torch.no_grad():
        expected = [ref_predict(ref, vocab, q) for q in questions]
    assert predict(model, vocab, questions, batch_size=3) == expected


def test_course_state_dict_of_a_pickled_model_is_refused(tmp_path, vocab):
    """weights_only loading: a whole pickled module is not a state dict and is not executed."""
    path = tmp_path / "model.params"
    torch.save(RefGPT(n_layer=2, n_embd=32, n_head=2), path)
    with pytest.raises(UserError, match="not a state dict|truncated or not a checkpoint"):
        load_model(path, vocab)


def test_course_state_dict_with_another_vocabulary_is_refused(tmp_path, vocab):
    path = tmp_path / "small.params"
    torch.save(RefGPT(vocab_size=100, n_layer=2, n_embd=32, n_head=2).state_dict(), path)
    with pytest.raises(UserError, match="another vocabulary"):
        load_model(path, vocab, n_head=2)


@pytest.mark.parametrize("first_bytes", [b"\x80", b"PK"])
def test_own_checkpoint_loads_whatever_its_header_length_starts_with(tmp_path, vocab, first_bytes):
    """A safetensors file begins with its header's length (8 bytes, little-endian), so its first
    bytes can be a pickle's 0x80 or a zip's "PK": the file is still our format, with its info."""
    from models.checkpoint import save_model
    from models.model import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=len(vocab), n_layer=1, n_head=2, n_embd=16))
    path = tmp_path / "model.safetensors"
    modulus = 256 ** len(first_bytes)
    target = int.from_bytes(first_bytes, "little")
    pad = 0
    for _ in range(50):  # grow the info until the header's length ends in the wanted bytes
        save_model(path, model, vocab, {"settings": {"answer_form": "recall"}, "pad": "x" * pad})
        n = int.from_bytes(path.read_bytes()[:8], "little")
        if n % modulus == target:
            break
        pad += max(1, (target - n) % modulus)
    else:
        pytest.fail("no header length began with the wanted bytes")
    assert path.read_bytes()[:len(first_bytes)] == first_bytes
    loaded, info = load_model(path, vocab)
    assert info["format"] == "attnlab" and info["settings"] == {"answer_form": "recall"}
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
