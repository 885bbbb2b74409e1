"""Throughput of the faithful fp32 path: training steps at the pretraining and finetuning
shapes, and batched greedy decoding of dev questions, for both variants."""

from __future__ import annotations

import time

import torch

from .data import PretrainDataset, FinetuneDataset, Vocab, batches
from .evaluate import predict
from .model import GPT, GPTConfig
from .train import RECIPES, TrainConfig, step_lr


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_training(config: GPTConfig, dataset, batch_size: int, lr: float, steps: int, warmup: int,
                   device: torch.device, seed: int = 0) -> dict:
    """Time `steps` optimizer steps (after `warmup` untimed ones) on the dataset's first batches."""
    torch.manual_seed(seed)
    model = GPT(config).to(device).train()
    cfg = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, seed=seed)
    optimizer = model.configure_optimizer(cfg.lr, cfg.weight_decay, cfg.betas)
    full = min(batch_size, len(dataset))
    data, epoch = [], 0
    while len(data) < warmup + steps:  # generated before timing; only full batches
        data += [b for b in batches(dataset, seed, epoch, batch_size) if b[0].shape[0] == full]
        epoch += 1
    data = data[:warmup + steps]
    tokens = useful = 0
    seconds = 0.0
    for i, (x, y) in enumerate(data):
        x, y = x.to(device), y.to(device)
        _sync(device)
        t0 = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = step_lr(tokens, cfg)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        _sync(device)
        if i >= warmup:
            seconds += time.perf_counter() - t0
            tokens += y.numel()
            useful += int((y != 0).sum())
    return {"batch": f"{data[0][0].shape[0]}x{data[0][0].shape[1]}", "steps": steps,
            "seconds_per_step": seconds / steps, "tokens_per_second": tokens / seconds,
            "useful_tokens_per_second": useful / seconds}


def bench_evaluation(config: GPTConfig, vocab: Vocab, questions: list[str], batch_size: int,
                     device: torch.device, seed: int = 0) -> dict:
    """Batched greedy decoding with an untrained model (it rarely emits ⁇, so every question
    decodes all 32 characters: the worst case for a trained model)."""
    torch.manual_seed(seed)
    model = GPT(config).to(device).eval()
    predict(model, vocab, questions[:2], batch_size=batch_size, device=device)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    predict(model, vocab, questions, batch_size=batch_size, device=device)
    _sync(device)
    seconds = time.perf_counter() - t0
    return {"examples": len(questions), "seconds": seconds, "examples_per_second": len(questions) / seconds}


def run_bench(vocab: Vocab, wiki_lines: list[str], train_rows, dev_questions: list[str], *,
              variants: list[str], steps: int, warmup: int, eval_count: int, eval_batch_size: int,
              device: torch.device, seed: int = 0) -> list[dict]:
    rows = []
    pre = PretrainDataset(wiki_lines, vocab, seed)
    fin = FinetuneDataset(train_rows, vocab)
    for variant in variants:
        config = GPTConfig(vocab_size=len(vocab), variant=variant)
        for stage, dataset, recipe in (("pretrain", pre, "pretrain"), ("finetune", fin, "no-pretraining")):
            r = bench_training(config, dataset, RECIPES[recipe]["batch_size"], RECIPES[recipe]["lr"],
                               steps, warmup, device, seed)
            rows.append({"stage": stage, "variant": variant, "unit": "tokens/s", **r})
        r = bench_evaluation(config, vocab, dev_questions[:eval_count], eval_batch_size, device, seed)
        rows.append({"stage": "evaluate", "variant": variant, "unit": "examples/s", **r})
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'stage':<9} {'variant':<10} {'shape':<14} {'s/step':>8} {'tokens/s':>10} "
             f"{'useful tok/s':>13} {'examples/s':>11}"]
    for r in rows:
        if r["stage"] == "evaluate":
            lines.append(f"{r['stage']:<9} {r['variant']:<10} {str(r['examples']) + ' questions':<14} "
                         f"{'':>8} {'':>10} {'':>13} {r['examples_per_second']:>11.2f}")
        else:
            lines.append(f"{r['stage']:<9} {r['variant']:<10} {r['batch']:<14} {r['seconds_per_step']:>8.3f} "
                         f"{r['tokens_per_second']:>10.0f} {r['useful_tokens_per_second']:>13.0f} {'':>11}")
    return "\n".join(lines)
