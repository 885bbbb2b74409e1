"""The fast path computes what the faithful padded fp32 path computes (models/fast.py,
models/decode.py, the fast data path), and the pipeline script runs end to end."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from models import data as D
from models.cli import main
from models.decode import CachedDecoder, greedy_cached
from models.evaluate import predict
from models.fast import BASELINE, FAST, Speed, Stepper, first_fit_decreasing, pack_arrays, pack_batch
from models.model import GPT, DropoutSource, GPTConfig, attention, dropout_source
from models.train import Run, TrainConfig

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
MODELS = [("vanilla", "default", 8), ("perceiver", "default", 8), ("perceiver", "ln-both", 8),
          ("perceiver", "default", 64)]


def small(variant, wiring="default", m=8, dropout=0.0, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(n_layer=3, n_head=2, n_embd=32, variant=variant, bottleneck_dim=m, perceiver_wiring=wiring,
               dropout=dropout, **kw)
    return GPT(GPTConfig(**cfg))


@pytest.fixture(scope="module")
def corpus(data_dir, vocab):
    lines = D.read_wiki(data_dir / D.WIKI)
    train = D.read_tsv(data_dir / D.TRAIN_TSV, vocab, answers=True)
    dev = D.read_tsv(data_dir / D.DEV_TSV, vocab, answers=True)
    return lines, train, dev


# ---------------------------------------------------------------------------- packing


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("variant,wiring,m", MODELS)
@pytest.mark.parametrize("kind", ["pretrain", "finetune"])
def test_packed_rows_give_the_padded_loss_and_gradients(variant, wiring, m, kind, corpus, vocab):
    """fp32, dropout off: one batch padded (B × 127) and packed (block-diagonal causal masks,
    per-example positions, per-example latents): the same loss (the mean over the batch's
    non-PAD targets) and the same gradient for every parameter. Gradients are compared on the
    scale of the largest one, since some are zero up to rounding (key biases: softmax ignores
    a shift of every score)."""
    lines, train, _ = corpus
    ds = D.PretrainDataset(lines[:96], vocab, seed=1) if kind == "pretrain" else D.FinetuneDataset(train[:96], vocab)
    x, y = next(D.batches(ds, 1, 0, 48))
    model = small(variant, wiring, m, vocab_size=len(vocab))
    _, padded = model(x, y)
    padded.backward()
    expected = grads(model)
    model.zero_grad()
    packed = pack_batch(x, y, model)
    assert packed.shape[0] < 0.6 * x.shape[0]  # fewer rows: the point of packing
    assert int((packed.targets != 0).sum()) == int((y != 0).sum())  # every target kept, none added
    _, loss = packed.forward(model)
    loss.backward()
    assert loss.item() == pytest.approx(padded.item(), rel=1e-6)
    scale = max(g.abs().max().item() for g in expected.values())
    for name, g in grads(model).items():
        assert (g - expected[name]).abs().max().item() <= 2e-5 * scale, name
    # the check can fail: without the segment masks, examples sharing a row see each other
    leaky = {k: torch.ones_like(v) for k, v in packed.masks.items()}
    _, other = model(packed.idx, packed.targets, masks=leaky, positions=packed.positions,
                     latent_positions=packed.latent_positions)
    assert abs(other.item() - padded.item()) > 1e-4


def test_first_fit_decreasing_packs_every_example_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 120, size=200)
    lengths[5] = 0  # an example without targets is left out
    rows = first_fit_decreasing(lengths, 127)
    flat = sorted(i for r in rows for i in r)
    assert flat == [i for i in range(200) if i != 5]
    assert all(lengths[r].sum() <= 127 for r in rows)
    assert len(rows) <= math.ceil(lengths.sum() / 127 * 1.25)  # nearly full rows


# ---------------------------------------------------------------------------- data, dropout, optimizer


def test_fast_batches_are_the_per_example_batches(corpus, vocab):
    lines, train, _ = corpus
    for ds, seed, epochs in ((D.PretrainDataset(lines, vocab, seed=4), 4, (0, 7)),
                             (D.FinetuneDataset(train, vocab), 0, (0, 3))):
        for epoch in epochs:
            slow = list(D.batches(ds, seed, epoch, 128, fast=False))
            fast = list(D.batches(ds, seed, epoch, 128, fast=True))
            assert len(slow) == len(fast) == math.ceil(len(ds) / 128)
            assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(slow, fast))


def test_fast_dropout_has_torch_dropouts_distribution():
    """Keep rate 1 - p and scale 1/(1 - p): over n = 4·10^6 draws the kept fraction is within
    5 standard errors of 0.9 (|z| <= 5, a one-in-a-million bound for this one check); the same
    seed draws the same mask, another seed another."""
    n, p = 4_000_000, 0.1
    x = torch.ones(n)
    out = DropoutSource(7).dropout(x, p)
    kept = (out != 0).double().mean().item()
    assert abs(kept - (1 - p)) <= 5 * math.sqrt(p * (1 - p) / n)
    assert torch.all((out == 0) | ((out - 1 / (1 - p)).abs() < 1e-6))
    assert torch.equal(DropoutSource(7).keep((1000,), p), DropoutSource(7).keep((1000,), p))
    # the masks are NumPy's integers(0, 2**32, uint32) draws, whatever the sizes' parity and order
    source, ref = DropoutSource(3), np.random.default_rng(3)
    threshold = np.uint32(round(p * 2 ** 32))
    for shape in [(4, 6), (3, 5, 7), (2, 8), (9,), (6, 4, 10)]:
        assert torch.equal(source.keep(shape, p), torch.from_numpy(ref.integers(0, 2 ** 32, size=shape, dtype=np.uint32)
                                                                   >= threshold)), shape
    assert not torch.equal(DropoutSource(7).keep((1000,), p), DropoutSource(8).keep((1000,), p))
    # attention with a source: the written-out formula, equal to the fused kernel without dropout
    q, k, v = (torch.randn(2, 3, 5, 4) for _ in range(3))
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    with dropout_source(DropoutSource(0)):
        dropped = attention(q, k, v, mask, dropout_p=0.5, training=True)
    plain = attention(q, k, v, mask)
    assert not torch.allclose(dropped, plain)
    with dropout_source(DropoutSource(0)):  # p ~ 0: the written-out path, no element dropped
        same = attention(q, k, v, mask, dropout_p=1e-12, training=True)
    assert torch.allclose(same, plain, atol=1e-6)


def test_attention_with_a_dropout_source_is_the_formula_with_its_mask():
    """The written-out core (scale on q, mask filled in place, dropped weights zeroed with the
    boolean mask, kept ones scaled on the output) gives the textbook formula's output and
    gradients, softmax(q kᵀ / √d, masked) ⊙ keep / (1 - p) · v, with the source's keep mask."""
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 6, 4, generator=g, requires_grad=True) for _ in range(3))
    mask = torch.ones(6, 6, dtype=torch.bool).tril()
    p = 0.3
    with dropout_source(DropoutSource(5)):
        out = attention(q, k, v, mask, dropout_p=p, training=True)
    keep = DropoutSource(5).keep((2, 3, 6, 6), p)
    assert 0 < keep.sum() < keep.numel()
    scores = (q @ k.transpose(-2, -1) / math.sqrt(4)).masked_fill(~mask, float("-inf"))
    ref = (torch.softmax(scores, dim=-1) * keep / (1 - p)) @ v
    assert torch.allclose(out, ref, atol=1e-6)
    probe = torch.randn(out.shape, generator=g)
    for a, b in zip(torch.autograd.grad(out, (q, k, v), probe), torch.autograd.grad(ref, (q, k, v), probe)):
        assert torch.allclose(a, b, atol=1e-5)


ARENA = """
import ctypes, sys, torch
from models.fast import retain_freed_memory
class MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2 (malloc.h), all size_t
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
applied = sys.argv[1] == "retain" and retain_freed_memory()
x = torch.ones(16 << 20)  # 64 MiB
live = libc.mallinfo2()
del x
freed = libc.mallinfo2()
print(applied, live.hblkhd, freed.hblkhd, freed.fordblks)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_stays_in_the_process():
    """A 64 MiB tensor, made and freed, read through glibc's own accounting (mallinfo2). By
    default glibc maps it on its own (mmap) and hands it back to the kernel when it is freed, so
    the next step's tensor is mapped and zeroed afresh, page fault by page fault; with freed
    memory retained it is carved from the heap and stays there, free for the next step. (The
    page faults this saves were measured, 16,385 against 0 for such a tensor; their count is not
    asserted here, since a kernel that reclaims idle pages on its own, as DAMON does, faults
    retained pages back in too.)"""
    mib = 1 << 20
    out = {}
    for mode in ("default", "retain"):
        run = subprocess.run([sys.executable, "-c", ARENA, mode], capture_output=True, text=True, cwd=REPO,
                             check=True, timeout=120)
        applied, live_mapped, freed_mapped, freed_in_heap = run.stdout.split()
        out[mode] = (applied == "True", int(live_mapped), int(freed_mapped), int(freed_in_heap))
    if not out["retain"][0]:
        pytest.skip("not glibc")
    _, live_mapped, freed_mapped, freed_in_heap = out["default"]
    assert live_mapped - freed_mapped >= 64 * mib and freed_in_heap < 64 * mib, out  # mapped, then returned
    _, live_mapped, freed_mapped, freed_in_heap = out["retain"]
    assert live_mapped == freed_mapped and freed_in_heap >= 64 * mib, out  # from the heap, and kept there


def test_single_query_attention_matches_the_fused_kernel():
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(6, 4, 1, 8, generator=g), torch.randn(6, 4, 9, 8, generator=g), torch.randn(6, 4, 9, 8,
                                                                                                      generator=g)
    mask = (torch.arange(9)[None, :] <= torch.tensor([0, 3, 8, 5, 2, 7])[:, None])[:, None, None]
    ours = attention(q, k, v, mask)
    fused = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert (ours - fused).abs().max().item() < 1e-6


@pytest.mark.parametrize("impl", ["foreach", "fused"])
def test_foreach_and_fused_adamw_follow_the_for_loop(impl, corpus, vocab):
    """Twenty steps at the pretraining rate: the weights agree to 1e-5 of their scale, and so do
    the logits. Key biases are left out of the weight comparison: the softmax ignores them, so
    their gradient is rounding noise (~1e-20) that Adam scales up to steps of the size of the
    rate, differently for any two roundings, without any effect on what the model computes."""
    lines, _, _ = corpus
    ds = D.PretrainDataset(lines[:64], vocab, seed=2)
    data = [b for e in range(5) for b in D.batches(ds, 2, e, 16)][:20]
    cfg = TrainConfig(epochs=1, batch_size=16, lr=6e-3)
    states, logits = [], []
    for speed in (BASELINE, replace(BASELINE, optimizer=impl)):
        model = small("vanilla", vocab_size=len(vocab))
        stepper = Stepper(model, cfg, torch.device("cpu"), speed)
        for i, (x, y) in enumerate(data):
            stepper.step(stepper.prepare(x, y), 6e-3, (0, i))
        states.append({n: p.detach().clone() for n, p in model.named_parameters()})
        logits.append(model.eval()(data[0][0])[0].detach())
    for name, w in states[0].items():
        if not name.endswith("attn.key.bias"):
            assert (states[1][name] - w).abs().max().item() <= 1e-5 * max(1.0, w.abs().max().item()), name
    assert (logits[1] - logits[0]).abs().max().item() <= 1e-5 * logits[0].abs().max().item()
    assert any(not torch.equal(states[0][n], small("vanilla", vocab_size=len(vocab)).state_dict()[n])
               for n in states[0])  # training moved the weights: the comparison is not vacuous


def test_fast_step_trains_like_the_baseline(corpus, vocab):
    """With dropout on, the fast and baseline steps draw different masks but follow the same
    distribution: over 30 steps both losses fall, and end within 10% of each other."""
    lines, _, _ = corpus
    ds = D.PretrainDataset(lines[:128], vocab, seed=5)
    data = [b for e in range(8) for b in D.batches(ds, 5, e, 32)][:30]
    cfg = TrainConfig(epochs=1, batch_size=32, lr=6e-3)
    ends = []
    for speed in (BASELINE, FAST):
        model = small("perceiver", dropout=0.1, vocab_size=len(vocab))
        stepper = Stepper(model.train(), cfg, torch.device("cpu"), speed)
        losses = [stepper.step(stepper.prepare(x, y), 3e-3, (5, i)).item() for i, (x, y) in enumerate(data)]
        assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
        ends.append(np.mean(losses[-5:]))
    assert abs(ends[0] - ends[1]) < 0.1 * ends[0]


# ---------------------------------------------------------------------------- cached decoding


def course_reading(completion: str, at: int = 1) -> str:
    """The reference reading, written independently of models.evaluate: the course's
    completion.split('⁇')[1] (at = 2: the recall form's answer after the second ⁇; none: "")."""
    parts = completion.split("\u2047")
    return parts[at] if len(parts) > at else ""


def trained_a_little(variant, wiring, m, vocab, rows):
    model = small(variant, wiring, m, vocab_size=len(vocab), seed=m)
    opt = model.configure_optimizer(3e-3)
    for epoch in range(6):
        for x, y in D.batches(D.FinetuneDataset(rows, vocab), 0, epoch, 32):
            _, loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


@pytest.mark.parametrize("variant,wiring,m", MODELS)
def test_cached_decoding_predicts_what_the_plain_loop_predicts(variant, wiring, m, corpus, vocab):
    """Against GPT.generate (one question at a time, the whole model on every prefix, 32
    characters, the course's crop): the same predictions, for several batch sizes, with and
    without the shared prefix; some questions stop early, one crosses the block (m = 8: most
    positions are past the bottleneck; m = 64: most are not)."""
    _, train, dev = corpus
    model = trained_a_little(variant, wiring, m, vocab, train[:64])
    questions = [r.question for r in dev[:20]] + ["Where was " + "Xy " * 34 + "born?"]
    singles = [course_reading(vocab.decode(model.generate(torch.tensor([vocab.encode(q + "\u2047")]), 32)[0]))
               for q in questions]
    assert any(len(s) < 32 for s in singles)
    for batch_size in (1, 7, 64):
        assert predict(model, vocab, questions, batch_size=batch_size) == singles
    prompts = [vocab.encode(q + "\u2047") for q in questions]
    plain = greedy_cached(model, prompts, 32, torch.device("cpu"), share_prefix=False, prefill_group=5)
    assert [course_reading(q + "\u2047" + vocab.decode(g)) for q, g in zip(questions, plain)] == singles


@pytest.mark.parametrize("variant,wiring,m", MODELS[:2])
def test_recall_form_decoding_reads_the_answer_after_the_second_mask(variant, wiring, m, corpus, vocab):
    """A model trained a little on recall-form questions (data.recall_rows): cached and plain
    decoding give what GPT.generate over a whole block gives, read after its second ⁇; some
    predictions are not empty (the model wrote both ⁇), so the reading is exercised."""
    lines, train, dev = corpus
    rows, _ = D.recall_rows(train[:64], lines)
    model = trained_a_little(variant, wiring, m, vocab, rows)
    questions = [r.question for r in dev[:20]]
    steps = model.config.block_size
    singles = [course_reading(vocab.decode(model.generate(torch.tensor([vocab.encode(q + "\u2047")]), steps)[0]),
                              at=2) for q in questions]
    assert sum(bool(s) for s in singles) >= 5
    for cache in (True, False):
        assert predict(model, vocab, questions, batch_size=7, answer_form="recall", cache=cache) == singles


@pytest.mark.parametrize("variant,wiring,m,qk_norm", [row + (False,) for row in MODELS] +
                         [("vanilla", "default", 8, True), ("perceiver", "default", 8, True)])
def test_cache_steps_give_the_full_forward_logits(variant, wiring, m, qk_norm, vocab):
    """Logits of every cached step equal the full model's at that position (1e-4), for prompts
    of different lengths decoded together; teacher-forced so every position is checked."""
    model = small(variant, wiring, m, vocab_size=len(vocab), seed=3, qk_norm=qk_norm).eval()
    with torch.no_grad():
        for p in model.parameters():  # larger weights than the init, so errors would show
            p.add_(0.05 * torch.randn_like(p))
    g = torch.Generator().manual_seed(1)
    seqs = [torch.randint(2, len(vocab), (n,), generator=g) for n in (20, 26, 32)]
    seqs = [torch.cat([torch.tensor([7, 8, 9]), s]) for s in seqs]  # a shared prefix of 3
    start = [6, 9, 12]
    with torch.no_grad():
        dec = CachedDecoder(model, 3, 40)
        dec.prefix([7, 8, 9], "cpu")
        width = max(start)
        idx = torch.zeros(3, width, dtype=torch.long)
        for r, s in enumerate(seqs):
            idx[r, :start[r]] = s[:start[r]]
        logits = dec.prefill(idx, torch.tensor(start), slice(0, 3))
        for step in range(12):
            for r, s in enumerate(seqs):
                full, _ = model(s[None, :start[r] + step])
                assert (logits[r] - full[0, -1]).abs().max().item() < 1e-4, (r, step)
            tokens = torch.stack([s[start[r] + step] for r, s in enumerate(seqs)])
            logits = dec.step(tokens, torch.tensor([start[r] + step for r in range(3)]))


# ---------------------------------------------------------------------------- command line


def test_training_options_and_time_limit(tmp_path, capsys):
    """--baseline and the fast default both train; a run stopped by --time-limit resumes to the
    weights of an uninterrupted run (fast path, dropout on)."""
    tiny = ["pretrain", "--n-layer", "2", "--n-embd", "32", "--n-head", "2", "--no-progress", "--limit", "40",
            "--batch-size", "8", "--epochs", "2", "--seed", "3"]
    assert main([*tiny, "--out", str(tmp_path / "a")]) == 0
    assert main([*tiny, "--out", str(tmp_path / "b"), "--time-limit", "0.001"]) == 0
    assert "stopped at the time limit after step 1" in capsys.readouterr().out
    assert main([*tiny, "--out", str(tmp_path / "b"), "--resume"]) == 0
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert main([*tiny, "--out", str(tmp_path / "c"), "--baseline"]) == 0
    state = torch.load(tmp_path / "c" / "state.pt", weights_only=True)
    assert state["info"]["speed"]["pack"] is False and state["info"]["speed"]["optimizer"] == "forloop"
    assert torch.load(tmp_path / "a" / "state.pt", weights_only=True)["info"]["speed"]["pack"] is True
    # bf16 autocast trains, and marks the run as not exact (so never faithful)
    assert main([*tiny[:-4], "--epochs", "1", "--out", str(tmp_path / "d"), "--dtype", "bf16"]) == 0
    info = torch.load(tmp_path / "d" / "state.pt", weights_only=True)["info"]
    assert info["speed"]["dtype"] == "bf16" and info["exact"] is False and info["faithful"] is False


def test_prefetching_worker_trains_the_same_weights(tmp_path, corpus, vocab):
    lines, _, _ = corpus
    ds = D.PretrainDataset(lines[:40], vocab, 3)
    outs = []
    for prefetch in (False, True):
        model = small("perceiver", dropout=0.1, vocab_size=len(vocab))
        run = Run(tmp_path / str(prefetch), model, vocab, TrainConfig(epochs=2, batch_size=8, lr=6e-3, seed=3), {})
        run.train(ds, torch.device("cpu"), progress=False, speed=Speed(prefetch=prefetch))
        outs.append(load_file(tmp_path / str(prefetch) / "model.safetensors"))
    assert all(torch.equal(outs[0][k], outs[1][k]) for k in outs[0])


@pytest.mark.parametrize("workers", [1, 3])
def test_prefetcher_gives_the_batches_in_step_order(corpus, vocab, workers):
    from models.fast import Prefetcher
    lines, _, _ = corpus
    ds = D.PretrainDataset(lines[:40], vocab, 5)
    start, end = 3, 13  # 5 batches an epoch: starts mid-epoch, crosses two epoch boundaries
    pack = ("perceiver", 8, D.BLOCK_SIZE - 1)
    want = [(x, y) for e in range(3) for x, y in D.batches(ds, 5, e, 8)][start:end]
    pre = Prefetcher(ds, 5, 8, start, end, True, pack, workers=workers)
    try:
        got = list(pre)
    finally:
        pre.close()
    assert len(got) == len(want)
    for (xn, yn, packed), (x, y) in zip(got, want):
        assert np.array_equal(xn, x.numpy()) and np.array_equal(yn, y.numpy())
        ref = pack_arrays(x.numpy(), y.numpy(), *pack)
        assert np.array_equal(packed["idx"], ref["idx"]) and np.array_equal(packed["positions"], ref["positions"])


def test_pipeline_defaults_to_the_course_trainer_and_names_the_old_rules(tmp_path):
    """The pipeline's records: the course's trainer with no suffix; minGPT's rule and shuffled
    batches passed to every stage and named in the record."""
    work = tmp_path / "work"
    assert main(["pipeline", "--smoke", "--device", "cpu", "--work", str(work), "--stages", "vanilla-no-pretraining",
                 "--no-checkpoints"]) == 0
    record = json.loads((work / "results" / "smoke-vanilla-no-pretraining.json").read_text())
    assert record["train_config"]["decay"] == "all-but-bias" and record["train_config"]["shuffle"] is False
    old = tmp_path / "old"
    assert main(["pipeline", "--smoke", "--device", "cpu", "--work", str(old), "--stages", "vanilla-no-pretraining",
                 "--decay", "linear", "--shuffle", "--no-checkpoints"]) == 0
    record = json.loads((old / "results" / "smoke-vanilla-no-pretraining-decay-linear-shuffle.json").read_text())
    assert record["train_config"]["decay"] == "linear" and record["train_config"]["shuffle"] is True
    assert "--shuffle" in record["command"] and "--decay linear" in record["command"]


def test_bench_compare_rows(corpus, vocab):
    from models.bench import compare_evaluation, compare_training, format_compare
    lines, _, dev = corpus
    config = GPTConfig(vocab_size=len(vocab), n_layer=2, n_head=2, n_embd=16)
    ds = D.PretrainDataset(lines[:64], vocab)
    r = compare_training(config, ds, 16, 6e-3, steps=1, warmup=1, device=torch.device("cpu"), epoch=True, bf16=True)
    assert r["ratio"] == pytest.approx(r["fast"] / r["baseline"]) and r["epoch_measured"]
    assert r["batch"] == "16x127" and int(r["fast_rows"].split("x")[0]) < 16
    assert r["first_loss"]["baseline"] == pytest.approx(r["first_loss"]["fast"], rel=0.05)
    # bf16 autocast: another rounding of the same step, so the same loss to a few per cent, not exactly
    assert r["ratio_bf16"] == pytest.approx(r["fast_bf16"] / r["baseline"])
    assert r["first_loss"]["fast_bf16"] == pytest.approx(r["first_loss"]["fast"], rel=0.02)
    assert r["first_loss"]["fast_bf16"] != r["first_loss"]["fast"]
    e = compare_evaluation(config, vocab, [q.question for q in dev[:12]], 4, 64, torch.device("cpu"), repeats=2)
    assert e["identical_predictions"] and e["identical_count"] == e["baseline_examples"] == 4 and e["examples"] == 12
    assert len(e["fast_seconds_runs"]) == 2 and e["model"] == "untrained (seed 0)"
    assert 1 <= e["fast_characters_per_question"] <= 32
    torch.manual_seed(3)
    given = compare_evaluation(config, vocab, [q.question for q in dev[:12]], 4, 64, torch.device("cpu"),
                               model=GPT(config), model_name="given")
    assert given["model"] == "given" and given["identical_predictions"]
    table = format_compare([{"stage": "pretrain", "variant": "vanilla", "unit": "useful tokens/s", **r},
                            {"stage": "evaluate", "variant": "vanilla", "unit": "questions/s", **e}])
    assert len(table.splitlines()) == 3 and "identical predictions: True" in table


def test_pipeline_smoke(tmp_path, capsys):
    """The whole pipeline at smoke size: five stages, three records (not faithful, in the work
    folder, never in report/results), stage times, and the copies under --out; a second run
    finds everything done."""
    before = set((REPO / "report" / "results").glob("*.json"))
    work, out = tmp_path / "work", tmp_path / "out"
    assert main(["pipeline", "--smoke", "--device", "cpu", "--work", str(work), "--out", str(out)]) == 0
    summary = json.loads((out / "pipeline.json").read_text())
    assert summary["status"] == "done" and summary["smoke"] and summary["device"] == "cpu"
    assert [s for s, v in summary["stages"].items() if v["status"] == "done"] == [
        "vanilla-no-pretraining", "vanilla-pretrain", "vanilla-pretrain-finetune", "perceiver-pretrain",
        "perceiver-m64-pretrain-finetune"]
    names = ["smoke-vanilla-no-pretraining", "smoke-vanilla-pretrain-finetune", "smoke-perceiver-m64-pretrain-finetune"]
    for name in names:
        record = json.loads((out / "results" / f"{name}.json").read_text())
        assert record["faithful"] is False and record["dev_total"] == 20 and record["device"] == "cpu"
        assert record["commit"] and record["command"].startswith("python -m models finetune")
        assert set(record["pipeline"]["stage_seconds"]) <= set(summary["stages"]) and record["train_speed"]["pack"]
        assert (work / "results" / f"{name}.json").exists()
    assert json.loads((out / "results" / f"{names[2]}.json").read_text())["variant"] == "perceiver"
    assert (out / "results" / "metrics" / f"{names[1]}-pretrain.jsonl").exists()
    assert (out / "checkpoints" / "perceiver-pretrain.safetensors").exists()
    assert set((REPO / "report" / "results").glob("*.json")) == before
    capsys.readouterr()
    assert main(["pipeline", "--smoke", "--device", "cpu", "--work", str(work)]) == 0
    assert "[pipeline] vanilla-pretrain:" not in capsys.readouterr().out  # nothing left to do
    assert main(["pipeline", "--smoke", "--work", str(work), "--results-dir", str(REPO / "report" / "results")]) == 2


@pytest.mark.slow
def test_bench_compare_command_quick(capsys):
    code = main(["bench", "--compare", "--quick", "--json", "--variants", "vanilla"])
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert code == 0 and [r["stage"] for r in rows] == ["pretrain", "finetune", "evaluate"]
    assert {"stage", "variant", "unit", "baseline", "fast", "ratio"} <= rows[0].keys()
    assert "epoch_seconds_fast" in rows[0] and rows[2]["identical_predictions"]
    assert "ratio_bf16" not in rows[0]  # bf16 is timed only when asked (--bf16)
