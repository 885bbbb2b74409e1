"""Greedy decoding with a key/value cache, for both variants.

The plain loop (GPT.generate) runs the whole model on the whole prefix for every character.
Here each character costs one position:

- vanilla: the usual cache of every layer's keys and values by position.
- perceiver: exact too, because of the course's masks. Latent i attends to input positions
  0..i only, and the latent blocks are causal, so latent i is a function of the first i+1
  inputs and never changes once they exist; position j reads latents 0..min(j, m-1), all of
  them final by then. So the cache holds the down block's keys/values of the inputs, each
  latent block's keys/values of the latents, and the up block's keys/values of the final
  latents; a new position p < m adds latent p (down block, latent blocks, up-block keys), and
  every new position runs the up block, ln_f and head for itself alone. Latents that a padded
  prompt's prefill computed past the prompt's end see padding; they are recomputed, before
  any position reads them, when their position arrives. Nothing is recomputed.
- the one exception is the course's crop: a sequence longer than the block is cut to its
  last block_size tokens, which moves every position, so such a sequence (a question of more
  than 95 characters) is decoded by full recomputation from then on, as GPT.generate does.

Predictions equal the plain loop's (tested on both variants and wirings, with early stops and
a crop); the logits agree to float rounding, as any two batchings do.
"""

from __future__ import annotations

import os

import torch

from .data import MASK_ID, PAD_ID
from .model import GPT, attention


def _merge(y):
    b, h, t, d = y.shape
    return y.transpose(1, 2).reshape(b, t, h * d)


def _kv(attn, x):
    return attn.keys(x), attn.values(x)


def _attend(attn, x_q, k, v, mask):
    q = attn.queries(x_q)
    if q.shape[0] != k.shape[0]:
        q = q.expand(k.shape[0], -1, -1, -1)
    return attn.proj(_merge(attention(q, k, v, mask)))


def _attend_rows(attn, x_q, k, v, last, group: int = 64, q=None):
    """One query per row (B, 1, C) over cached keys/values (B, H, S, D), row b seeing keys
    0..last[b]; rows in groups of `group`, each reading its cache only up to its own largest
    `last` (rows come sorted by length, so this skips most of the unwritten tail). `q`: the
    queries (B, H, 1, D), when they are already known (x_q is then unused)."""
    q = attn.queries(x_q) if q is None else q
    out = []
    for a in range(0, q.shape[0], group):
        lst = last[a:a + group]
        n = int(lst.max()) + 1
        out.append(attention(q[a:a + group], k[a:a + group, :, :n], v[a:a + group, :, :n], _upto(n, lst, q.device)))
    return attn.proj(_merge(torch.cat(out)))


def _mlp(block, z):
    return z + block.mlp(block.ln2(z))


def _write(cache, new, pos, where=None):
    """cache (B, H, S, D)[b, :, pos[b]] = new (B, H, 1, D)[b, :, 0], only for rows `where`."""
    b, h, size, d = cache.shape
    flat = (torch.arange(b * h, device=cache.device).view(b, h) * size + pos[:, None])
    value = new.reshape(b, h, d)
    if where is not None:
        flat, value = flat[where], value[where]
    cache.view(-1, d).index_copy_(0, flat.reshape(-1), value.reshape(-1, d))


def _upto(n, last, device):
    """(B, 1, 1, n) mask: key index <= last[b] (one query per row)."""
    return (torch.arange(n, device=device)[None, :] <= last[:, None])[:, None, None]


class CachedDecoder:
    """Caches for `n` sequences of up to `size` positions; prefill() the prompts (in groups of
    similar length), then step() once per character."""

    def __init__(self, model: GPT, n: int, size: int):
        self.model, self.n, self.size = model, n, size
        self.perceiver = model.perceiver
        self.wiring = model.config.perceiver_wiring
        self.m = model.config.bottleneck_dim
        self.caches: dict[str, torch.Tensor] = {}
        if self.perceiver:  # the down block's queries come from the basis C alone: made once
            down = model.down_block
            self.basis_queries = down.attn.queries(down.ln1(down.C))[0]  # (H, m, D)

    def _put(self, name, value, rows: slice, positions: int):
        """Write value (g, H, t, D) into cache `name` (rows, first t of `positions` positions)."""
        if name not in self.caches:  # keys may hold anything where masked; values must be finite (0 · NaN)
            b, h, t, d = value.shape
            make = value.new_empty if name[0] == "k" and value.device.type == "cpu" else value.new_zeros
            self.caches[name] = make(self.n, h, positions, d)
        self.caches[name][rows, :, :value.shape[2]] = value

    def keep(self, rows: torch.Tensor) -> None:
        """Drop the other rows (sequences that have finished)."""
        self.caches = {k: v.index_select(0, rows) for k, v in self.caches.items()}
        self.n = len(rows)

    def prefix(self, ids: list[int], device) -> None:
        """Run the first tokens that every prompt shares ("Where was ") once, for all rows."""
        model, c = self.model, len(ids)
        self.start, self.shared = c, {}
        if c == 0:
            return
        x = model.tok_emb(torch.tensor([ids], device=device)) + model.pos_emb[:, :c]
        tri = lambda a, b: torch.ones(a, b, dtype=torch.bool, device=device).tril()
        if not self.perceiver:
            for i, block in enumerate(model.blocks):
                h = block.ln1(x)
                k, v = self.shared[f"k{i}"], self.shared[f"v{i}"] = _kv(block.attn, h)
                if i < len(model.blocks) - 1:
                    x = _mlp(block, x + _attend(block.attn, h, k, v, tri(c, c)))
            return
        default = self.wiring == "default"
        down, up = model.down_block, model.up_block
        k, v = self.shared["kd"], self.shared["vd"] = _kv(down.attn, x if default else down.ln1(x))
        n = min(c, self.m)  # latents 0..n-1 see only shared positions
        basis = down.C[:, :n]
        z = _attend(down.attn, down.ln1(basis), k, v, tri(n, c))
        z = _mlp(down, basis + z if default else z)
        for i, block in enumerate(model.blocks):
            h = block.ln1(z)
            k, v = self.shared[f"k{i}"], self.shared[f"v{i}"] = _kv(block.attn, h)
            z = _mlp(block, z + _attend(block.attn, h, k, v, tri(n, n)))
        self.shared["ku"], self.shared["vu"] = _kv(up.attn, up.ln1(z))

    def _joined(self, name, own, rows: slice, positions: int):
        """The shared prefix's keys or values followed by the group's own, stored in the cache."""
        if name in self.shared:
            own = torch.cat([self.shared[name].expand(own.shape[0], -1, -1, -1), own], dim=2)
        self._put(name, own, rows, positions)
        return own

    def prefill(self, idx: torch.Tensor, lengths: torch.Tensor, rows: slice) -> torch.Tensor:
        """Run the prompts idx (g, T), right-padded, for decoder rows `rows`, after the shared
        prefix (prefix() first); returns the logits (g, vocab) at each prompt's last position.
        What only the last position needs (the last block's attention and MLP, or the
        perceiver's up block) runs for it alone."""
        model, c = self.model, self.start
        g, t = idx.shape
        dev = idx.device
        x = model.tok_emb(idx[:, c:]) + model.pos_emb[:, c:t]  # the positions c..t-1
        at = torch.arange(g, device=dev)
        last = lengths - 1
        after = lambda a, b, d: torch.ones(a, b, dtype=torch.bool, device=dev).tril(diagonal=d)
        if not self.perceiver:
            for i, block in enumerate(model.blocks):
                h = block.ln1(x)
                k, v = _kv(block.attn, h)
                k, v = self._joined(f"k{i}", k, rows, self.size), self._joined(f"v{i}", v, rows, self.size)
                if i < len(model.blocks) - 1:
                    x = _mlp(block, x + _attend(block.attn, h, k, v, after(t - c, t, c)))
                else:
                    x = x[at, last - c][:, None]
                    x = _mlp(block, x + _attend(block.attn, h[at, last - c][:, None], k, v, _upto(t, last, dev)))
            return model.head(model.ln_f(x[:, 0]))
        default = self.wiring == "default"
        down, up = model.down_block, model.up_block
        k, v = _kv(down.attn, x if default else down.ln1(x))
        k, v = self._joined("kd", k, rows, self.size), self._joined("vd", v, rows, self.size)
        n = min(c, self.m)
        n_end = min(t, self.m)  # latents t..m-1 would see only padding: computed when their position comes
        if n < self.m:  # latents n..n_end-1 see the rows' own positions
            basis = down.C[:, n:n_end]
            z = _attend(down.attn, down.ln1(basis), k, v, after(n_end - n, t, n))
            z = _mlp(down, basis + z if default else z)
            for i, block in enumerate(model.blocks):
                h = block.ln1(z)
                k, v = _kv(block.attn, h)
                k, v = self._joined(f"k{i}", k, rows, self.m), self._joined(f"v{i}", v, rows, self.m)
                z = _mlp(block, z + _attend(block.attn, h, k, v, after(n_end - n, n_end, n)))
            k, v = _kv(up.attn, up.ln1(z))
            k, v = self._joined("ku", k, rows, self.m), self._joined("vu", v, rows, self.m)
        else:
            for name in [f"k{i}" for i in range(len(model.blocks))] + [f"v{i}" for i in range(len(model.blocks))]:
                self._put(name, self.shared[name].expand(g, -1, -1, -1), rows, self.m)
            k, v = (self.shared[name].expand(g, -1, -1, -1) for name in ("ku", "vu"))
            self._put("ku", k, rows, self.m)
            self._put("vu", v, rows, self.m)
        x = x[at, last - c][:, None]
        y = _attend(up.attn, x if default else up.ln1(x), k, v, _upto(k.shape[2], last.clamp(max=self.m - 1), dev))
        out = _mlp(up, x + y if default else y)
        return model.head(model.ln_f(out[:, 0]))

    def step(self, tokens: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Feed one token per row at position pos (B,); returns the logits (B, vocab) there."""
        model = self.model
        x = (model.tok_emb(tokens) + model.pos_emb[0, pos])[:, None]
        if not self.perceiver:
            for i, block in enumerate(model.blocks):
                h = block.ln1(x)
                k, v = _kv(block.attn, h)
                _write(self.caches[f"k{i}"], k, pos)
                _write(self.caches[f"v{i}"], v, pos)
                x = _mlp(block, x + _attend_rows(block.attn, h, self.caches[f"k{i}"], self.caches[f"v{i}"], pos))
            return model.head(model.ln_f(x[:, 0]))
        default = self.wiring == "default"
        down, up = model.down_block, model.up_block
        latent = pos.clamp(max=self.m - 1)  # the last latent this position reads
        new = pos < self.m  # rows whose position brings a new latent
        if bool(new.any()):  # rows come sorted by length: those with a new latent come first
            b = int(new.nonzero().max()) + 1
            cache = lambda name: self.caches[name][:b]
            lat, fresh = latent[:b], new[:b]
            # only latents read the down block's keys/values, and latent i only those of
            # positions 0..i: a position >= m needs none
            k, v = _kv(down.attn, x[:b] if default else down.ln1(x[:b]))
            _write(cache("kd"), k, pos[:b], fresh)
            _write(cache("vd"), v, pos[:b], fresh)
            c = down.C[0, lat][:, None]
            q = self.basis_queries[:, lat].transpose(0, 1)[:, :, None]
            z = _attend_rows(down.attn, None, cache("kd"), cache("vd"), lat, q=q)
            z = _mlp(down, c + z if default else z)
            for i, block in enumerate(model.blocks):
                h = block.ln1(z)
                k, v = _kv(block.attn, h)
                _write(cache(f"k{i}"), k, lat, fresh)
                _write(cache(f"v{i}"), v, lat, fresh)
                z = _mlp(block, z + _attend_rows(block.attn, h, cache(f"k{i}"), cache(f"v{i}"), lat))
            k, v = _kv(up.attn, up.ln1(z))
            _write(cache("ku"), k, lat, fresh)
            _write(cache("vu"), v, lat, fresh)
        y = _attend_rows(up.attn, x if default else up.ln1(x), self.caches["ku"], self.caches["vu"], latent)
        out = _mlp(up, x + y if default else y)
        return model.head(model.ln_f(out[:, 0]))


@torch.no_grad()
def greedy_cached(model: GPT, prompts: list[list[int]], steps: int, device: torch.device,
                  stop: int = MASK_ID, prefill_group: int = 64, compact: float = 0.75,
                  share_prefix: bool = True, stops: int = 1) -> list[list[int]]:
    """Greedy continuation of each prompt: up to `steps` ids, ending after the `stops`-th `stop`.
    Prompts are prefilled in groups of `prefill_group` of similar length (little padding);
    finished rows leave the batch once fewer than `compact` of its rows are still decoding;
    the tokens that every prompt starts with are run once (share_prefix)."""
    model.eval()
    block = model.config.block_size
    n = len(prompts)
    generated: list[list[int]] = [[] for _ in prompts]
    order = sorted(range(n), key=lambda r: len(prompts[r]))  # decoder row i holds prompt order[i]
    size = min(block, max(len(p) for p in prompts) + steps)
    decoder = CachedDecoder(model, n, size)
    shortest = min(len(p) for p in prompts)
    shared = os.path.commonprefix(prompts)[:shortest - 1] if share_prefix else []  # the last stays per row
    decoder.prefix(list(shared), device)
    parts = []
    for g in range(0, n, prefill_group):
        group = order[g:g + prefill_group]
        lengths = torch.tensor([len(prompts[r]) for r in group])
        idx = torch.full((len(group), int(lengths.max())), PAD_ID, dtype=torch.long)
        for i, r in enumerate(group):
            idx[i, :len(prompts[r])] = torch.tensor(prompts[r])
        parts.append(decoder.prefill(idx.to(device), lengths.to(device), slice(g, g + len(group))))
    logits = torch.cat(parts)
    rows = order  # the decoder's rows, as prompt indices (finished ones stay until compaction)
    full: list[int] = []  # prompts past the block: full recomputation of the cropped window
    seen = [0] * n  # stop tokens each row has written
    alive = lambda r: seen[r] < stops
    length = lambda r: len(prompts[r]) + len(generated[r])
    live = [True] * len(rows)
    for s in range(steps):
        nxt = logits.float().argmax(-1).tolist()
        for r, ok, token in zip(rows + full, live + [True] * len(full), nxt):
            if ok:
                generated[r].append(token)
                seen[r] += token == stop
        if s == steps - 1:
            break
        full = [r for r in full if alive(r)] + [r for r, ok in zip(rows, live) if ok and alive(r) and length(r) > block]
        live = [ok and alive(r) and length(r) <= block for r, ok in zip(rows, live)]
        if sum(live) < compact * len(rows):  # drop finished rows once they are many (a copy of every cache)
            keep = [i for i, ok in enumerate(live) if ok]
            rows, live = [rows[i] for i in keep], [True] * len(keep)
            if rows:
                decoder.keep(torch.tensor(keep, device=device))
        parts = []
        if rows:  # a finished row is fed PAD at its last position, in its own cache; its logits are ignored
            tokens = torch.tensor([generated[r][-1] if ok else PAD_ID for r, ok in zip(rows, live)], device=device)
            pos = torch.tensor([min(length(r), size) - 1 for r in rows], device=device)
            parts.append(decoder.step(tokens, pos))
        if full:
            window = torch.tensor([(prompts[r] + generated[r])[-block:] for r in full], device=device)
            parts.append(model(window)[0][:, -1])
        if not parts:
            break
        logits = torch.cat(parts)
    return generated
