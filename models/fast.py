"""The fast training path: packed rows, fast dropout, fused AdamW, mixed precision, compile.

Every option computes what the faithful padded fp32 step computes, or a tested approximation
of it (see docs/speed.md):

- pack: the examples of a batch (never of two batches) are packed into rows of at most
  `capacity` tokens, first-fit by decreasing length, each keeping its own positions 0..n-1.
  A block-diagonal causal mask keeps every example to itself: token (e, j) sees tokens
  (e, j') with j' <= j. The perceiver gets, per example, its latents 0..min(n, m)-1 (the only
  ones a real position ever reads), with the queries C[i] and the masks of MODEL.md within the
  example. Positions after an example's last non-PAD target are dropped: the model is causal,
  so they never reach a position that is trained on. The loss is the same cross-entropy mean
  over the same non-PAD targets, so loss and gradients equal the padded step's (tested in
  fp32 without dropout); with dropout the masks fall elsewhere, with the same distribution.
- fast_dropout (CPU): masks from NumPy's PCG64 (models.model.DropoutSource), seeded by
  (seed, step): same distribution as torch's dropout, a third of the cost.
- optimizer: AdamW's "forloop" (torch's CPU default, the baseline), "foreach" or "fused"
  implementation: the same update up to float rounding (tested).
- dtype bf16: autocast (CPU or CUDA). Not exact; off by default. A speed-up only where bf16
  matrix products are native: on the Zen 4 machine with AVX-512 BF16 the fast step takes about
  half the fp32 time; on the Zen 3 one (AVX2) bf16 is emulated, about 100x slower than fp32.
  models.results.cpu_features says which a machine is.
- compile: torch.compile of the model (dynamic shapes, as packed batches vary). Off by default.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from .data import PAD_ID
from .model import GPT, DropoutSource, autocast, dropout_source

OPTIMIZERS = ("forloop", "foreach", "fused")
DTYPES = ("fp32", "bf16")


@dataclass(frozen=True)
class Speed:
    """How a training step is computed (never what: see the module docstring)."""

    pack: bool = True
    fast_dropout: bool = True
    optimizer: str = "fused"
    dtype: str = "fp32"
    compile: bool = False
    fast_data: bool = True
    capacity: int | None = None  # tokens per packed row; None: block_size - 1 (one example always fits)
    prefetch: bool | None = None  # data in a worker process; None: on CUDA only (the CPU has no core to spare)

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, not {self.dtype!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Speed:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d}) if d else cls()

    @property
    def exact(self) -> bool:
        """Whether the step computes MODEL.md's step (up to float rounding and the dropout stream)."""
        return self.dtype == "fp32"

    def optimizer_kwargs(self, device: torch.device) -> dict:
        if self.optimizer == "forloop":
            return {"foreach": False}
        if self.optimizer == "foreach":
            return {"foreach": True}
        return {"fused": True}


BASELINE = Speed(pack=False, fast_dropout=False, optimizer="forloop", dtype="fp32", compile=False, fast_data=False,
                 prefetch=False)
FAST = Speed()


def for_device(speed: Speed, device: torch.device) -> Speed:
    """The options as they apply on `device` (fast dropout is a CPU measure, prefetching a GPU one)."""
    prefetch = device.type != "cpu" if speed.prefetch is None else speed.prefetch
    return replace(speed, fast_dropout=speed.fast_dropout and device.type == "cpu", prefetch=prefetch)


# ---------------------------------------------------------------------------- memory


_RETAINED = False


def retain_freed_memory() -> bool:
    """Keep freed memory inside the process (glibc: no mmap for large blocks, no trimming of the
    heap), so that a step's large tensors reuse pages the previous step freed, instead of the
    kernel mapping and zeroing fresh ones every time: about 80,000-120,000 page faults and
    0.3-0.9 s of system time a vanilla pretraining step otherwise (measured with one thread;
    none once the heap has reached its peak, after a few steps). Nothing computed changes; the
    process keeps its peak memory. Returns whether it applied: not off glibc, nor with
    ATTNLAB_MALLOC=default in the environment."""
    global _RETAINED
    if os.environ.get("ATTNLAB_MALLOC") == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # malloc.h
    _RETAINED = _RETAINED or bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2 ** 31 - 1))
    return _RETAINED


def malloc_mode() -> str:
    return "freed memory retained (glibc mallopt)" if _RETAINED else "default"


# ---------------------------------------------------------------------------- packing


@dataclass
class Packed:
    """A batch as packed rows: the arguments of GPT.forward, plus what the bench counts."""

    idx: torch.Tensor  # (R, T) token ids, PAD after the last example of a row
    targets: torch.Tensor  # (R, T) PAD where nothing is trained
    positions: torch.Tensor  # (R, T) position of each token within its example
    masks: dict
    latent_positions: torch.Tensor | None  # (R, L) perceiver only: the row of C each latent uses
    examples: int
    tokens: int  # real tokens (the rest of the R × T slots is filler)

    def forward(self, model):
        return model(self.idx, self.targets, masks=self.masks, positions=self.positions,
                     latent_positions=self.latent_positions)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.idx.shape)


def example_lengths(y: np.ndarray) -> np.ndarray:
    """Tokens each example needs: up to and including its last non-PAD target (0: none)."""
    nonpad = y != PAD_ID
    last = y.shape[1] - np.argmax(nonpad[:, ::-1], axis=1)
    return np.where(nonpad.any(axis=1), last, 0)


def first_fit_decreasing(lengths: np.ndarray, capacity: int) -> list[list[int]]:
    """Rows of example indices, each row's lengths summing to at most `capacity`; longest
    first, each into the first row with room (ties by index, so the packing is deterministic)."""
    order = sorted((i for i in range(len(lengths)) if lengths[i] > 0), key=lambda i: (-lengths[i], i))
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = int(lengths[i])
        if n > capacity:
            raise ValueError(f"an example of {n} tokens does not fit a row of {capacity}")
        for r, free in enumerate(room):
            if free >= n:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(capacity - n)
    return rows


def _segment_mask(q_seg, q_pos, k_seg, k_pos) -> np.ndarray:
    """(R, 1, Tq, Tk): query sees key when both belong to one example and the key's position is
    at most the query's. Filler queries (segment -1) see every key, so no row is empty (an empty
    row would make NaNs that zero weights cannot cancel); no real query ever sees filler."""
    same = q_seg[:, :, None] == k_seg[:, None, :]
    allowed = same & (k_pos[:, None, :] <= q_pos[:, :, None])
    allowed |= (q_seg == -1)[:, :, None]
    return allowed[:, None]


def _layout(rows: list[list[int]], sizes: np.ndarray):
    """Row, offset and segment arrays for items of the given sizes laid out row by row."""
    width = max(int(sizes[r].sum()) for r in rows)
    seg = np.full((len(rows), width), -1, dtype=np.int64)
    pos = np.zeros((len(rows), width), dtype=np.int64)
    dest_row, dest_off = np.zeros(len(sizes), np.int64), np.zeros(len(sizes), np.int64)
    for r, members in enumerate(rows):
        off = 0
        for e in members:
            n = int(sizes[e])
            seg[r, off:off + n] = e
            pos[r, off:off + n] = np.arange(n)
            dest_row[e], dest_off[e] = r, off
            off += n
    return seg, pos, dest_row, dest_off


def pack_arrays(xn: np.ndarray, yn: np.ndarray, variant: str, bottleneck_dim: int, capacity: int) -> dict:
    """The packed batch as NumPy arrays (what a prefetching worker sends); see pack_batch."""
    lengths = example_lengths(yn)
    rows = first_fit_decreasing(lengths, capacity)
    seg, pos, _, _ = _layout(rows, lengths)
    idx = np.full(seg.shape, PAD_ID, dtype=np.int64)
    tgt = np.full(seg.shape, PAD_ID, dtype=np.int64)
    real = seg >= 0
    e, j = seg[real], pos[real]
    idx[real], tgt[real] = xn[e, j], yn[e, j]
    out = {"idx": idx, "targets": tgt, "positions": pos, "examples": int((lengths > 0).sum()),
           "tokens": int(lengths.sum())}
    if variant == "perceiver":
        latents = np.minimum(lengths, bottleneck_dim)
        lseg, lpos, _, _ = _layout(rows, latents)
        out["masks"] = {"down": _segment_mask(lseg, lpos, seg, pos), "latent": _segment_mask(lseg, lpos, lseg, lpos),
                        "up": _segment_mask(seg, pos, lseg, lpos)}
        out["latent_positions"] = lpos
    else:
        out["masks"] = {"self": _segment_mask(seg, pos, seg, pos)}
    return out


def from_arrays(a: dict, device) -> Packed:
    dev = torch.device(device)
    as_t = lambda arr: torch.from_numpy(arr).to(dev, non_blocking=True)
    return Packed(idx=as_t(a["idx"]), targets=as_t(a["targets"]), positions=as_t(a["positions"]),
                  masks={k: as_t(v) for k, v in a["masks"].items()},
                  latent_positions=as_t(a["latent_positions"]) if "latent_positions" in a else None,
                  examples=a["examples"], tokens=a["tokens"])


def pack_batch(x: torch.Tensor, y: torch.Tensor, model: GPT, capacity: int | None = None,
               device: torch.device | str = "cpu") -> Packed:
    """Pack a padded batch (B, 127) into rows; see the module docstring."""
    cfg = model.config
    arrays = pack_arrays(x.cpu().numpy(), y.cpu().numpy(), cfg.variant, cfg.bottleneck_dim,
                         capacity or cfg.block_size - 1)
    return from_arrays(arrays, device)


# ---------------------------------------------------------------------------- prefetching


def _prefetch_worker(queue, dataset, seed: int, batch_size: int, steps: range, fast_data: bool,
                     pack: tuple | None, shuffle: bool = False) -> None:
    """Build the batches of `steps` (one worker's share, in order) and put them on `queue`."""
    from .data import step_batches
    for _, x, y in step_batches(dataset, seed, batch_size, steps, fast_data, shuffle):
        queue.put((x.numpy(), y.numpy(), pack_arrays(x.numpy(), y.numpy(), *pack) if pack else None))
    queue.put(None)


def prefetch_workers() -> int:
    """Enough workers that building batches keeps ahead of a GPU step (one perceiver batch
    takes about 15 ms to build and pack on one core), leaving cores for the main process."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class Prefetcher:
    """The batches of steps start..end-1, generated (and packed) ahead by `workers` processes
    that live as long as the run, worker k building steps start+k, start+k+workers, ...; the
    batches come back in step order and are the ones models.data.batches gives. The data path
    stays off the GPU's critical path."""

    def __init__(self, dataset, seed: int, batch_size: int, start: int, end: int,
                 fast_data: bool, pack: tuple | None, depth: int = 16, workers: int | None = None,
                 shuffle: bool = False):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        n = max(1, min(workers or prefetch_workers(), end - start)) if end > start else 1
        self.queues = [ctx.Queue(maxsize=depth) for _ in range(n)]
        self.procs = [ctx.Process(target=_prefetch_worker, daemon=True,
                                  args=(q, dataset, seed, batch_size, range(start + k, end, n),
                                        fast_data, pack, shuffle))
                      for k, q in enumerate(self.queues)]
        for proc in self.procs:
            proc.start()

    def __iter__(self):
        k = 0
        while True:
            item = self.queues[k].get()
            if item is None:  # workers' shares end in step order, so the first None is the end
                return
            yield item
            k = (k + 1) % len(self.queues)

    def close(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)


# ---------------------------------------------------------------------------- one training step


def shift_positions(positions: torch.Tensor, max_shift: int, block_size: int, seed) -> torch.Tensor:
    """Packed positions with each example moved to start at a random position 0..max_shift (as
    far as the block allows: its last token stays below block_size). An example starts where its
    position is 0; every token of an example moves by the same amount, so masks stay as they
    are. The shifts depend on `seed` alone (e.g. (run seed, step))."""
    rows, width = positions.shape
    starts = positions == 0
    segment = starts.long().cumsum(1) - 1 + torch.arange(rows, device=positions.device)[:, None] * width
    flat = segment.flatten()
    length = torch.zeros(rows * width, dtype=torch.long, device=positions.device)
    length.scatter_add_(0, flat, torch.ones_like(flat))
    room = (block_size - length[flat]).clamp(min=0).clamp(max=max_shift)
    run_seed, step = seed if isinstance(seed, tuple) else (seed, 0)
    g = torch.Generator().manual_seed(int(run_seed) * 1_000_003 + int(step))
    u = torch.rand(rows * width, generator=g).to(positions.device)[flat]
    shift = torch.floor(u * (room + 1)).long().clamp(max=room)
    return positions + shift.view(rows, width)


class Stepper:
    """One optimizer step of the course's training, computed as `speed` says.

    The learning rate, gradient clipping and token count are the caller's (models.train);
    `step_seed` seeds the step's dropout masks when fast dropout is on.
    """

    def __init__(self, model: GPT, cfg, device: torch.device, speed: Speed = FAST):
        self.model, self.cfg, self.device = model, cfg, device
        self.speed = for_device(speed, device)
        self.optimizer = model.configure_optimizer(cfg.lr, cfg.weight_decay, cfg.betas, decay=cfg.decay,
                                                   **self.speed.optimizer_kwargs(device))
        self.forward = model
        if self.speed.compile:
            self.forward = torch.compile(model, dynamic=True)

    def prepare(self, x: torch.Tensor, y: torch.Tensor, packed: dict | None = None):
        """The batch as the step consumes it (packing happens here, or arrives prefetched)."""
        if packed is not None:
            return from_arrays(packed, self.device)
        if self.speed.pack:
            return pack_batch(x, y, self.model, self.speed.capacity, self.device)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def pack_args(self) -> tuple | None:
        cfg = self.model.config
        return (cfg.variant, cfg.bottleneck_dim, self.speed.capacity or cfg.block_size - 1) if self.speed.pack else None

    def step(self, batch, lr: float, step_seed) -> torch.Tensor:
        """Forward, backward, clip, AdamW at rate `lr`; returns the loss (a tensor, not synced)."""
        model, opt = self.model, self.optimizer
        for group in opt.param_groups:
            group["lr"] = lr
        shift = self.cfg.position_shift
        if shift:  # a recipe option (models.recipe), never MODEL.md's
            if not isinstance(batch, Packed) or self.model.config.variant != "vanilla":
                raise ValueError("position_shift needs packed rows and the vanilla model")
            batch = replace(batch, positions=shift_positions(batch.positions, shift, self.model.config.block_size,
                                                             step_seed))
        source = DropoutSource(step_seed) if self.speed.fast_dropout else None
        with autocast(self.device, self.speed.dtype), dropout_source(source):
            if isinstance(batch, Packed):
                _, loss = batch.forward(self.forward)
            else:
                _, loss = self.forward(*batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
        opt.step()
        return loss.detach()
