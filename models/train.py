"""Training: the course's optimizer and learning-rate schedule, checkpoints and exact resume.

A run lives in one folder:
  model.safetensors  the weights (with config, vocabulary hash and provenance)
  state.pt           everything needed to resume: weights, optimizer, step, tokens, RNG
  metrics.jsonl      one JSON line per step: step, epoch, loss, lr, tokens, seconds
Examples depend only on (seed, epoch, index) and the epoch order only on (seed, epoch),
so a resumed run sees exactly the batches and dropout masks of an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .checkpoint import describe, load_train_state, save_model, save_train_state
from .data import Vocab, step_batches
from .fast import FAST, Prefetcher, Speed, Stepper
from .fileio import UserError, atomic_write_text, folder_lock
from .model import GPT, GPTConfig

WARMUP_TOKENS = 512 * 20
FINAL_TOKENS = 200 * 2937 * 128  # the course's final_tokens for every run (pretraining set size)

COURSE_SCHEDULES = {  # MODEL.md's table: epochs, batch, lr
    "pretrain": dict(epochs=650, batch_size=128, lr=6e-3),
    "no-pretraining": dict(epochs=75, batch_size=256, lr=6e-4),
    "pretrain-finetune": dict(epochs=10, batch_size=256, lr=6e-4),
}


@dataclass
class TrainConfig:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    warmup_tokens: int = WARMUP_TOKENS
    final_tokens: int = FINAL_TOKENS
    seed: int = 0
    max_steps: int | None = None  # stop after this many steps in all (resumable), None: run to the end
    save_every: int = 0  # steps between checkpoints; 0: at the end of every epoch
    decay: str = "all-but-bias"  # which weights decay: the course's trainer.py (every name without "bias" or
    # "LayerNorm.weight"), or "linear": minGPT's rule, Linear weights only (MODEL.md before its correction)
    shuffle: bool = False  # False: the file's order every epoch (the course's DataLoader); True: a new order each epoch
    position_shift: int = 0  # each example starts at a random position up to this (models.recipe); 0: MODEL.md
    lr_floor: float = 0.1  # the schedule's lowest multiplier (the course's 0.1; models.recipe may lower it)


# What a training state or record written before a setting existed ran with: the behaviour that the
# setting made optional (minGPT's decay rule and shuffled batches, MODEL.md before its correction).
BEFORE_SETTING = {"decay": "linear", "shuffle": True}


def train_config_from_dict(stored: dict) -> TrainConfig:
    """A TrainConfig from its asdict() form (a state.pt or a record), reading a setting the dict
    lacks as what runs did before that setting existed (BEFORE_SETTING), never as today's default.
    Raises TypeError/KeyError for a dict that is not a training configuration."""
    return TrainConfig(**{**BEFORE_SETTING, **stored, "betas": tuple(stored["betas"])})


STATE_KEYS = ("model", "optimizer", "step", "tokens", "wall_seconds", "rng", "config", "train_config", "info")


class Diverged(UserError):
    """The loss became NaN or infinite: the run stops, keeps its last good checkpoint and writes
    no result record."""


def lr_multiplier(tokens: int, warmup_tokens: int, final_tokens: int, floor: float = 0.1) -> float:
    """The course's schedule as a function of the tokens seen (progress may pass 1); `floor`
    is the course's 0.1 unless a recipe lowers it."""
    if tokens < warmup_tokens:
        return tokens / max(1, warmup_tokens)
    progress = (tokens - warmup_tokens) / max(1, final_tokens - warmup_tokens)
    return max(floor, 0.5 * (1.0 + math.cos(math.pi * progress)))


def step_lr(tokens_before: int, cfg: TrainConfig) -> float:
    """The rate a step uses, given the tokens counted before it. The course sets the rate
    *after* each optimizer step, so its first step runs at the optimizer's initial rate,
    the base rate itself; every later step uses the schedule at the tokens so far."""
    if tokens_before == 0:
        return cfg.lr
    return cfg.lr * lr_multiplier(tokens_before, cfg.warmup_tokens, cfg.final_tokens, cfg.lr_floor)


def pick_device(name: str | None) -> torch.device:
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} asked for, but CUDA is not available")
    return device


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def _rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _log_row(line: str) -> dict | None:
    """A metrics-log line as a dict, or None for a blank line or one cut short (a full disk or a
    kill mid-write): those hold no step that the checkpoint could need."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) and isinstance(row.get("step"), int) else None


class Run:
    """A training run in `out_dir`: fresh (from a model) or resumed (from state.pt)."""

    def __init__(self, out_dir: Path, model: GPT, vocab: Vocab, cfg: TrainConfig, info: dict):
        self.out_dir, self.model, self.vocab, self.cfg, self.info = Path(out_dir), model, vocab, cfg, info
        self.step = 0
        self.tokens = 0
        self.wall_seconds = 0.0
        self.resume_state = None

    @property
    def model_path(self) -> Path:
        return self.out_dir / "model.safetensors"

    @property
    def state_path(self) -> Path:
        return self.out_dir / "state.pt"

    @property
    def log_path(self) -> Path:
        return self.out_dir / "metrics.jsonl"

    @classmethod
    def resume(cls, out_dir: Path, vocab: Vocab, requested: dict, cfg_overrides: dict) -> Run:
        """Reopen a run. `requested` holds model options the user typed (must agree with the
        run's), `cfg_overrides` training options the user typed (only max_steps may change)."""
        state_path = Path(out_dir) / "state.pt"
        if not state_path.exists():
            raise UserError("nothing to resume: no state.pt in this folder", out_dir)
        state = load_train_state(state_path)
        missing = [k for k in STATE_KEYS if not isinstance(state, dict) or k not in state]
        if missing:
            raise UserError(f"an incomplete training state: no {', '.join(missing)} (it cannot be resumed exactly; "
                            "start a new run in another --out)", state_path)
        try:
            config = GPTConfig.from_dict(state["config"])
            cfg = train_config_from_dict(state["train_config"])
            info = state["info"]
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"not a training state of this project ({e})", state_path) from None
        if state.get("vocab_sha256") != vocab.sha256:
            raise UserError("was trained with another vocabulary", state_path)
        for key, value in requested.items():
            if value is not None and getattr(config, key) != value:
                raise UserError(f"holds a {describe(config)} run; {key.replace('_', '-')} {value} was asked for",
                                state_path)
        cfg.max_steps = cfg_overrides.get("max_steps")  # where to stop is this invocation's choice
        for key, value in cfg_overrides.items():
            if value is None or key == "max_steps":
                continue
            if key == "save_every":
                cfg.save_every = value
            elif getattr(cfg, key) != value:
                raise UserError(f"the run was started with {key.replace('_', '-')} {getattr(cfg, key)}; "
                                f"a resumed run keeps it", state_path)
        model = GPT(config)
        try:
            model.load_state_dict(state["model"])
        except (KeyError, RuntimeError) as e:
            raise UserError(f"its weights do not match its config ({str(e).splitlines()[0][:120]})",
                            state_path) from None
        run = cls(out_dir, model, vocab, cfg, info)
        run.step, run.tokens, run.wall_seconds = state["step"], state["tokens"], state["wall_seconds"]
        run.resume_state = state
        return run

    def steps_per_epoch(self, n_examples: int) -> int:
        return math.ceil(n_examples / self.cfg.batch_size)

    def total_steps(self, n_examples: int) -> int:
        return self.cfg.epochs * self.steps_per_epoch(n_examples)

    def save(self, optimizer, device) -> None:
        """Write state.pt and model.safetensors atomically; a failed write (a full disk) keeps the
        previous checkpoint and raises UserError saying from which step --resume continues."""
        try:
            self._save(optimizer, device)
        except OSError as e:
            before = self.resume_step_on_disk()
            raise UserError(f"cannot write the checkpoint at step {self.step} ({e.strerror or e}); "
                            + (f"the checkpoint of step {before} is kept, and --resume continues from it"
                               if before is not None else "no earlier checkpoint exists"), self.out_dir) from None

    def resume_step_on_disk(self) -> int | None:
        """The step of the checkpoint in the run folder, or None."""
        try:
            return int(load_train_state(self.state_path)["step"])
        except (UserError, KeyError, TypeError, ValueError):
            return None

    def _save(self, optimizer, device) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_train_state(self.state_path, {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": optimizer.state_dict(), "step": self.step, "tokens": self.tokens,
            "wall_seconds": self.wall_seconds, "rng": _rng_state(device),
            "config": self.model.config.to_dict(), "train_config": asdict(self.cfg),
            "info": self.info, "vocab_sha256": self.vocab.sha256})
        self.save_model_only()

    def save_model_only(self) -> None:
        """Rewrite model.safetensors with the current info (e.g. once the run is judged faithful)."""
        save_model(self.model_path, self.model, self.vocab, {**self.info, "steps": self.step,
                                                             "wall_seconds": round(self.wall_seconds, 3)})

    def _trim_log(self) -> None:
        """Keep the metrics of the steps the checkpoint holds, drop any after it."""
        if not self.log_path.exists():
            return
        kept = [line for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                if (row := _log_row(line)) is not None and row["step"] <= self.step]
        atomic_write_text(self.log_path, "".join(line + "\n" for line in kept))

    def train(self, dataset, device: torch.device, progress: bool = True, speed: Speed = FAST,
              deadline: float | None = None, on_epoch=None) -> bool:
        """Train until the last epoch (or max_steps), checkpointing as configured. `speed` says
        how each step is computed (models.fast: packed rows, fast dropout, fused AdamW by
        default; models.fast.BASELINE is the plain padded fp32 step). `deadline` (a
        time.monotonic() value): past it, save a checkpoint and stop early (resume continues).
        `on_epoch(run, epoch)`: called after each finished epoch (e.g. to evaluate; its time
        counts in the run's wall time). Returns whether the run reached its end. Raises UserError
        when another process trains in the same folder (folder_lock), Diverged when the loss
        becomes NaN or infinite, UserError when a checkpoint cannot be written."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with folder_lock(self.out_dir, "training"):
            return self._train(dataset, device, progress, speed, deadline, on_epoch)

    def _train(self, dataset, device, progress, speed, deadline, on_epoch) -> bool:
        cfg, model = self.cfg, self.model
        model.to(device).train()
        stepper = Stepper(model, cfg, device, speed)
        optimizer = stepper.optimizer
        self.info["speed"] = stepper.speed.to_dict()
        self.info["exact"] = self.info.get("exact", True) and stepper.speed.exact
        if self.resume_state is not None:
            optimizer.load_state_dict(self.resume_state["optimizer"])
            _set_rng_state(self.resume_state["rng"], device)
            self._trim_log()
            self.resume_state = None
        per_epoch = self.steps_per_epoch(len(dataset))
        end = self.total_steps(len(dataset))
        if cfg.max_steps is not None:
            end = min(end, cfg.max_steps)
        bar = tqdm(total=end, initial=self.step, file=sys.stderr, disable=not progress, dynamic_ncols=True,
                   desc=f"{self.info.get('recipe', 'train')} {describe(model.config)}")
        started = time.perf_counter() - self.wall_seconds
        # losses are read back in groups on a GPU (each read waits for the GPU), every step on the CPU
        pending: list[tuple[dict, torch.Tensor]] = []
        every = 1 if device.type == "cpu" else 50

        def flush(log):
            for entry, loss in pending:
                entry["loss"] = loss.item()
                if not math.isfinite(entry["loss"]):
                    pending.clear()
                    kept = self.resume_step_on_disk()
                    raise Diverged(f"training diverged: the loss is {entry['loss']} at step {entry['step']} "
                                   f"(epoch {entry['epoch']}, lr {entry['lr']:.3g}); no record written"
                                   + (f", the checkpoint of step {kept} is kept" if kept is not None else ""),
                                   self.out_dir)
                log.write(json.dumps(entry) + "\n")
            if pending:
                bar.set_postfix(loss=f"{pending[-1][0]['loss']:.4f}", lr=f"{pending[-1][0]['lr']:.3g}",
                                epoch=pending[-1][0]["epoch"])
            pending.clear()

        def stream():
            """(epoch, x, y, packed arrays or None) for every step from here to the end."""
            if stepper.speed.prefetch:
                pre = Prefetcher(dataset, cfg.seed, cfg.batch_size, self.step, end,
                                 stepper.speed.fast_data, stepper.pack_args(), shuffle=cfg.shuffle)
                try:
                    step = self.step
                    for xn, yn, packed in pre:
                        yield step // per_epoch, torch.from_numpy(xn), torch.from_numpy(yn), packed
                        step += 1
                finally:
                    pre.close()
                return
            for epoch, x, y in step_batches(dataset, cfg.seed, cfg.batch_size, range(self.step, end),
                                            stepper.speed.fast_data, cfg.shuffle):
                yield epoch, x, y, None

        with open(self.log_path, "a" if self.step else "w", encoding="utf-8") as log:
            data = stream()
            try:
                for epoch, x, y, packed in data:
                    lr = step_lr(self.tokens, cfg)
                    loss = stepper.step(stepper.prepare(x, y, packed), lr, step_seed=(cfg.seed, self.step))
                    self.tokens += y.numel()  # the course counts every target position, PAD included
                    self.step += 1
                    self.wall_seconds = time.perf_counter() - started
                    pending.append(({"step": self.step, "epoch": epoch, "loss": None, "lr": lr, "tokens": self.tokens,
                                     "seconds": round(self.wall_seconds, 3)}, loss))
                    bar.update(1)
                    at_epoch_end = self.step % per_epoch == 0
                    due = self.step % cfg.save_every == 0 if cfg.save_every else at_epoch_end
                    late = deadline is not None and time.monotonic() > deadline and self.step < end
                    if due or late or self.step == end or len(pending) >= every:
                        flush(log)
                    if due or late or self.step == end:
                        log.flush()
                        self.wall_seconds = time.perf_counter() - started
                        self.save(optimizer, device)
                    if at_epoch_end and on_epoch is not None:
                        on_epoch(self, epoch)
                        model.train()
                    if self.step >= end or late:
                        break
            finally:
                data.close()
        bar.close()
        model.eval()
        return self.step >= end
