"""Throughput: of the faithful fp32 path alone (run_bench: training steps at the pretraining and
finetuning shapes, batched greedy decoding), and of the baseline against the fast path on the
same batches in one process (run_compare, `bench --compare`)."""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from .data import PretrainDataset, FinetuneDataset, Vocab, batches
from .evaluate import predict
from .model import GPT, GPTConfig
from .train import COURSE_SCHEDULES, TrainConfig, step_lr


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
    data = _training_batches(dataset, batch_size, warmup + steps, seed)  # generated before timing
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
              device: torch.device, seed: int = 0, log=None) -> list[dict]:
    """Time the fast path's training steps and batched evaluation for each variant; `log(text)`
    (e.g. print to stderr) is told what is measured next, so a long bench shows it is alive."""
    rows = []
    pre = PretrainDataset(wiki_lines, vocab, seed)
    fin = FinetuneDataset(train_rows, vocab)
    for variant in variants:
        config = GPTConfig(vocab_size=len(vocab), variant=variant)
        for stage, dataset, recipe in (("pretrain", pre, "pretrain"), ("finetune", fin, "no-pretraining")):
            if log:
                log(f"[bench] {stage} {variant}: {warmup} warm-up and {steps} timed steps")
            r = bench_training(config, dataset, COURSE_SCHEDULES[recipe]["batch_size"], COURSE_SCHEDULES[recipe]["lr"],
                               steps, warmup, device, seed)
            rows.append({"stage": stage, "variant": variant, "unit": "tokens/s", **r})
        if log:
            log(f"[bench] evaluate {variant}: {eval_count} questions")
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


# ---------------------------------------------------------------------------- baseline vs fast


def _training_batches(dataset, batch_size: int, count: int, seed: int) -> list:
    """The first `count` full batches of the faithful order (epoch 0, then 1, ...)."""
    full = min(batch_size, len(dataset))
    data, epoch = [], 0
    while len(data) < count:
        data += [b for b in batches(dataset, seed, epoch, batch_size) if b[0].shape[0] == full]
        epoch += 1
    return data[:count]


def compare_training(config: GPTConfig, dataset, batch_size: int, lr: float, steps: int, warmup: int,
                     device: torch.device, seed: int = 0, speed=None, epoch: bool = False, bf16: bool = False) -> dict:
    """Baseline (padded fp32 step) and fast path on the same batches, their steps interleaved so
    that both see the same machine; throughput in useful (non-PAD target) tokens per second.
    With `epoch`, also time one whole epoch of the faithful order on the fast path (data,
    packing and steps: everything a real epoch does). With `bf16`, also the fast path under
    bf16 autocast (not exact: never the default), interleaved with the other two."""
    from .fast import BASELINE, FAST, Packed, Stepper
    speed = speed or FAST
    data = _training_batches(dataset, batch_size, warmup + steps, seed)
    cfg = TrainConfig(epochs=1, batch_size=batch_size, lr=lr, seed=seed)
    runs = {}
    variants = [("baseline", BASELINE), ("fast", speed)] + ([("fast_bf16", replace(speed, dtype="bf16"))] if bf16 else [])
    for name, sp in variants:
        torch.manual_seed(seed)
        model = GPT(config).to(device).train()
        runs[name] = {"stepper": Stepper(model, cfg, device, sp), "seconds": 0.0, "useful": 0, "losses": []}
    shapes = {}
    for i, (x, y) in enumerate(data):
        for name, run in runs.items():
            stepper = run["stepper"]
            _sync(device)
            t0 = time.perf_counter()
            batch = stepper.prepare(x, y)  # packing is part of the fast step's cost
            loss = stepper.step(batch, lr, step_seed=(seed, i)).item()
            _sync(device)
            if i >= warmup:
                run["seconds"] += time.perf_counter() - t0
                run["useful"] += int((y != 0).sum())
            run["losses"].append(loss)
            shapes[name] = "x".join(map(str, batch.shape if isinstance(batch, Packed) else batch[0].shape))
    base, fast = runs["baseline"], runs["fast"]
    row = {"batch": f"{data[0][0].shape[0]}x{data[0][0].shape[1]}", "fast_rows": shapes["fast"], "steps": steps,
           "baseline": base["useful"] / base["seconds"], "fast": fast["useful"] / fast["seconds"],
           "baseline_seconds_per_step": base["seconds"] / steps, "fast_seconds_per_step": fast["seconds"] / steps,
           "first_loss": {"baseline": base["losses"][0], "fast": fast["losses"][0]}}
    row["ratio"] = row["fast"] / row["baseline"]
    if bf16:
        b16 = runs["fast_bf16"]
        row.update(fast_bf16=b16["useful"] / b16["seconds"], fast_bf16_seconds_per_step=b16["seconds"] / steps)
        row["ratio_bf16"] = row["fast_bf16"] / row["baseline"]
        row["first_loss"]["fast_bf16"] = b16["losses"][0]
    if epoch:
        stepper = fast["stepper"]
        _sync(device)
        t0 = time.perf_counter()
        for j, (x, y) in enumerate(batches(dataset, seed, 1, batch_size, fast=stepper.speed.fast_data)):
            stepper.step(stepper.prepare(x, y), lr, step_seed=(seed, 10_000 + j)).item()
        _sync(device)
        row["epoch_seconds_fast"] = time.perf_counter() - t0
        row["epoch_measured"] = True
    else:  # from the timed steps, per example
        row["epoch_seconds_fast"] = row["fast_seconds_per_step"] / batch_size * len(dataset)
        row["epoch_measured"] = False
    return row


def compare_evaluation(config: GPTConfig, vocab: Vocab, questions: list[str], baseline_count: int,
                       batch_size: int, device: torch.device, seed: int = 0, repeats: int = 1,
                       model: GPT | None = None, model_name: str | None = None) -> dict:
    """One question at a time, the whole model run on every prefix for 32 characters (GPT.generate
    under no_grad: the course's `sample`), on an evenly spaced subset of `baseline_count`
    questions, against batched cached decoding of all the questions; questions per second, and
    whether the subset's predictions are identical. The two alternate in `repeats` rounds (a
    share of the subset, then one run of all the questions), so that both see the same machine.

    `model`: a trained model; by default an untrained one, which rarely emits ⁇, so nearly every
    question decodes all 32 characters: the most work per question for the fast path (a trained
    model's questions stop at their ⁇; the course's loop never stops early)."""
    from .data import MASK_CHAR
    from .evaluate import DECODE_STEPS, extract_prediction
    if model is None:
        torch.manual_seed(seed)
        model, model_name = GPT(config), f"untrained (seed {seed})"
    model = model.to(device).eval()
    stride = max(1, len(questions) // baseline_count)
    subset = list(range(0, len(questions), stride))[:baseline_count]
    predict(model, vocab, questions[:8], batch_size=batch_size, device=device)  # warm-up
    singles, base_seconds, fast_runs = [], 0.0, []
    rounds = max(1, min(repeats, len(subset)))
    for r in range(rounds):
        _sync(device)
        t0 = time.perf_counter()
        with torch.no_grad():
            for i in subset[r::rounds]:
                out = model.generate(torch.tensor([vocab.encode(questions[i] + MASK_CHAR)], device=device),
                                     DECODE_STEPS)
                singles.append((i, extract_prediction(vocab.decode(out[0].tolist()))))
        _sync(device)
        base_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        preds = predict(model, vocab, questions, batch_size=batch_size, device=device)
        _sync(device)
        fast_runs.append(time.perf_counter() - t0)
    fast_seconds = sum(fast_runs) / len(fast_runs)
    same = sum(preds[i] == s for i, s in singles)
    # characters the fast path decodes: up to and including the ⁇ that ends a prediction, at most 32
    decoded = sum(min(len(p) + 1, DECODE_STEPS) for p in preds) / len(preds)
    row = {"examples": len(questions), "baseline_examples": len(subset), "model": model_name,
           "baseline": len(subset) / base_seconds, "fast": len(questions) / fast_seconds,
           "baseline_seconds_per_example": base_seconds / len(subset), "fast_seconds": fast_seconds,
           "fast_seconds_runs": fast_runs, "identical_predictions": same == len(subset),
           "identical_count": same, "fast_characters_per_question": decoded}
    row["ratio"] = row["fast"] / row["baseline"]
    row["seconds_500_baseline_estimate"] = row["baseline_seconds_per_example"] * len(questions)
    return row


STAGES = ("pretrain", "finetune", "evaluate")


def run_compare(vocab: Vocab, wiki_lines: list[str], train_rows, dev_questions: list[str], *, variants: list[str],
                steps: int, warmup: int, epoch: bool, eval_baseline_count: int, eval_count: int,
                eval_batch_size: int, eval_repeats: int, device: torch.device, seed: int = 0,
                bf16: bool = False, eval_models: dict | None = None, stages=STAGES, log=None) -> list[dict]:
    """eval_models: variant -> (trained model, its name) for the evaluation rows (default untrained);
    stages: which of pretrain, finetune, evaluate to measure."""
    pre = PretrainDataset(wiki_lines, vocab, seed)
    fin = FinetuneDataset(train_rows, vocab)
    rows = []
    for variant in variants:
        config = GPTConfig(vocab_size=len(vocab), variant=variant)
        for stage, dataset, recipe in (("pretrain", pre, "pretrain"), ("finetune", fin, "no-pretraining")):
            if stage not in stages:
                continue
            r = compare_training(config, dataset, COURSE_SCHEDULES[recipe]["batch_size"], COURSE_SCHEDULES[recipe]["lr"], steps, warmup,
                                 device, seed, epoch=epoch and stage == "pretrain", bf16=bf16)
            if stage != "pretrain":
                r.pop("epoch_seconds_fast")
                r.pop("epoch_measured")
            rows.append({"stage": stage, "variant": variant, "unit": "useful tokens/s", **r})
            if log:
                log(format_compare(rows[-1:], header=False))
        if "evaluate" not in stages:
            continue
        trained, name = (eval_models or {}).get(variant, (None, None))
        r = compare_evaluation(config, vocab, dev_questions[:eval_count], eval_baseline_count, eval_batch_size,
                               device, seed, eval_repeats, trained, name)
        rows.append({"stage": "evaluate", "variant": variant, "unit": "questions/s", **r})
        if log:
            log(format_compare(rows[-1:], header=False))
    return rows


def format_compare(rows: list[dict], header: bool = True) -> str:
    lines = [f"{'stage':<9} {'variant':<10} {'unit':<16} {'baseline':>10} {'fast':>10} {'ratio':>7}  detail"] if header else []
    for r in rows:
        if r["stage"] == "evaluate":
            detail = (f"{r['model']} model; baseline: {r['baseline_examples']} questions one at a time, full "
                      f"recompute, 32 characters; fast: {r['examples']} batched, cached, "
                      f"{r['fast_characters_per_question']:.1f} characters a question; identical predictions: "
                      f"{r['identical_predictions']}")
        else:
            detail = (f"{r['batch']} padded vs packed {r['fast_rows']}; s/step {r['baseline_seconds_per_step']:.2f} "
                      f"vs {r['fast_seconds_per_step']:.2f}")
            if "epoch_seconds_fast" in r:
                detail += f"; fast epoch {r['epoch_seconds_fast']:.1f} s" + ("" if r["epoch_measured"] else " (est.)")
            if "ratio_bf16" in r:
                detail += (f"; fast with bf16 autocast (not exact) {r['fast_bf16']:.1f} = {r['ratio_bf16']:.1f}x, "
                           f"{r['fast_bf16_seconds_per_step']:.2f} s/step")
        lines.append(f"{r['stage']:<9} {r['variant']:<10} {r['unit']:<16} {r['baseline']:>10.1f} {r['fast']:>10.1f} "
                     f"{r['ratio']:>6.1f}x  {detail}")
    return "\n".join(lines)
