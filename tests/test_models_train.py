"""Training: the course's schedule, weight decay, exact resume, and batched greedy decoding."""
from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from models.cli import main
from models.data import read_tsv
from models.evaluate import extract_prediction, predict
from models.model import GPT, GPTConfig
from models.train import COURSE_SCHEDULES, TrainConfig, step_lr

torch.set_num_threads(1)
TINY = ["--n-layer", "2", "--n-embd", "32", "--n-head", "2", "--no-progress"]


def course_trainer_lrs(batch_sizes, base, warmup_tokens=512 * 20, final_tokens=200 * 2937 * 128):
    """The minGPT/course Trainer's rate per step, replayed: AdamW starts at the base rate; after
    each optimizer step the tokens of the batch (all positions, y >= 0) are added and the rate
    for the *next* step is set."""
    lr, tokens, used = base, 0, []
    for b in batch_sizes:
        used.append(lr)
        tokens += b * 127
        if tokens < warmup_tokens:
            mult = tokens / max(1, warmup_tokens)
        else:
            progress = (tokens - warmup_tokens) / max(1, final_tokens - warmup_tokens)
            mult = max(0.1, 0.5 * (1.0 + math.cos(math.pi * progress)))
        lr = base * mult
    return used


def test_schedule_matches_the_course_trainer_over_a_whole_pretraining():
    """14,950 steps of batch 128 (the last of each epoch 121): rates as the course sets them,
    and the shape MODEL.md describes: floor near epoch 200, back to 6e-3 near 400, end near 7.2e-4."""
    cfg = TrainConfig(**COURSE_SCHEDULES["pretrain"])
    per_epoch = math.ceil(2937 / 128)
    assert per_epoch == 23 and cfg.epochs * per_epoch == 14_950
    sizes = ([128] * 22 + [2937 - 22 * 128]) * cfg.epochs
    expected = course_trainer_lrs(sizes, cfg.lr)
    tokens, ours = 0, []
    for b in sizes:
        ours.append(step_lr(tokens, cfg))
        tokens += b * 127
    assert ours == pytest.approx(expected, rel=1e-12, abs=0)
    epoch_of = lambda step: step // per_epoch
    floor = [i for i, lr in enumerate(ours[:300 * per_epoch]) if lr == pytest.approx(0.1 * cfg.lr)]
    assert floor == list(range(floor[0], floor[-1] + 1))  # one stretch at the floor, centred near 200
    assert 195 <= epoch_of((floor[0] + floor[-1]) // 2) <= 205
    peak_again = max(range(floor[-1], 450 * per_epoch), key=lambda i: ours[i])
    assert 395 <= epoch_of(peak_again) <= 405 and ours[peak_again] == pytest.approx(6e-3, rel=1e-3)
    assert ours[-1] == pytest.approx(7.2e-4, rel=0.01)


def course_decay_names(model) -> set[str]:
    """The course's trainer.py, as written there: no_decay = ["bias", "LayerNorm.weight"] matched
    against the parameter names; every other parameter decays."""
    no_decay = ["bias", "LayerNorm.weight"]
    return {n for n, _ in model.named_parameters() if not any(nd in n for nd in no_decay)}


def decay_groups(opt, model):
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for g in opt.param_groups if g["weight_decay"] == 0.1 for p in g["params"]}
    plain = {names[id(p)] for g in opt.param_groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert decayed | plain == set(names.values()) and not decayed & plain
    return decayed, plain


@pytest.mark.parametrize("variant", ["vanilla", "perceiver"])
def test_default_weight_decay_is_the_course_trainers_rule(variant):
    """MODEL.md (corrected): decay on every parameter whose name has neither "bias" nor
    "LayerNorm.weight"; with ln1/ln2/ln_f that is everything but the biases."""
    model = GPT(GPTConfig(variant=variant))  # MODEL.md's sizes, the course's parameter names
    decayed, plain = decay_groups(model.configure_optimizer(lr=1e-3), model)
    assert decayed == course_decay_names(model)
    assert plain == {n for n, _ in model.named_parameters() if n.endswith(".bias")}
    assert {"tok_emb.weight", "pos_emb", "ln_f.weight", "blocks.0.ln1.weight", "head.weight"} <= decayed
    # the biases of MODEL.md's model: per ordinary block ln1, ln2 (256 each), key/query/value/proj
    # (256 each), mlp.0 (1024), mlp.2 (256) = 2,816; plus ln_f's 256
    spared = sum(p.numel() for n, p in model.named_parameters() if n in plain)
    if variant == "vanilla":
        assert spared == 4 * 2816 + 256 and len(plain) == 4 * 8 + 1
    else:
        assert "down_block.C" in decayed and "up_block.ln1.weight" in decayed
        assert spared == 4 * 2816 + 256  # down block, 2 latent blocks, up block: the same sub-blocks


def test_minGPT_decay_rule_stays_a_named_option():
    """--decay linear: the weights of Linear layers only (MODEL.md before its correction)."""
    model = GPT(GPTConfig(variant="perceiver", n_layer=3, n_embd=32, n_head=2, bottleneck_dim=8))
    decayed, plain = decay_groups(model.configure_optimizer(lr=1e-3, decay="linear"), model)
    assert decayed == {n + ".weight" for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert {"tok_emb.weight", "pos_emb", "down_block.C", "ln_f.weight"} <= plain and "head.weight" in decayed
    with pytest.raises(ValueError):
        model.configure_optimizer(lr=1e-3, decay="everything")


def test_an_epoch_visits_the_lines_in_file_order_with_fresh_span_corruption(data_dir, vocab):
    """The course's DataLoader has no shuffle: the first pretraining batch is lines 0..127 of
    wiki.txt in every epoch, each with the span corruption of that epoch."""
    from models import data as D
    lines = D.read_wiki(data_dir / D.WIKI)
    ds = D.PretrainDataset(lines, vocab, seed=0)
    cfg = TrainConfig(**COURSE_SCHEDULES["pretrain"])
    assert cfg.shuffle is False and cfg.decay == "all-but-bias"
    first = {epoch: x for epoch, x, _ in D.step_batches(ds, 0, 128, [0, 23], shuffle=cfg.shuffle)}
    for epoch in (0, 1):
        expected = torch.stack([ds.get(i, epoch)[0] for i in range(128)])
        assert torch.equal(first[epoch], expected)
    # each row is its line (the prefix before the first mask is the line's own start) ...
    text0 = ds.strings(5, 0)[0]
    assert lines[5].startswith(text0.split(D.MASK_CHAR)[0])
    # ... and the corruption is drawn anew: the same lines, other examples
    assert (first[0] != first[1]).any(dim=1).float().mean() > 0.9
    shuffled = next(D.step_batches(ds, 0, 128, [0], shuffle=True))[1]
    assert not torch.equal(shuffled, first[0])


def test_faithful_means_the_course_trainer_and_the_old_rules_are_options(tmp_path, capsys):
    from models.commands.training import faithful_training
    for recipe in COURSE_SCHEDULES:
        assert faithful_training(TrainConfig(**COURSE_SCHEDULES[recipe]), recipe, None)
        assert not faithful_training(TrainConfig(**COURSE_SCHEDULES[recipe], decay="linear"), recipe, None)
        assert not faithful_training(TrainConfig(**COURSE_SCHEDULES[recipe], shuffle=True), recipe, None)
    out = tmp_path / "run"
    common = ["pretrain", *TINY, "--limit", "16", "--batch-size", "8", "--max-steps", "2"]
    assert main([*common, "--out", str(out), "--shuffle", "--decay", "linear"]) == 0
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["train_config"]["shuffle"] is True and state["train_config"]["decay"] == "linear"
    assert state["info"]["faithful_config"] is False
    capsys.readouterr()
    # a resumed run keeps its own order and rule, whatever today's defaults are
    assert main([*common[:-2], "--max-steps", "3", "--out", str(out), "--resume"]) == 0
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["step"] == 3 and state["train_config"]["shuffle"] is True
    assert main([*common[:-2], "--max-steps", "4", "--out", str(out), "--resume", "--decay", "all-but-bias"]) == 2
    assert "decay linear" in capsys.readouterr().err


def test_a_training_state_from_before_the_settings_resumes_as_it_ran():
    """A state.pt written before decay/shuffle existed ran minGPT's rule, shuffled: it must not
    pick up today's defaults on resume."""
    from dataclasses import asdict
    from models.train import train_config_from_dict
    stored = asdict(TrainConfig(**COURSE_SCHEDULES["pretrain"]))
    del stored["decay"], stored["shuffle"]
    cfg = train_config_from_dict(stored)
    assert cfg.decay == "linear" and cfg.shuffle is True


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_resume_reaches_the_weights_of_an_uninterrupted_run(tmp_path, data_dir):
    """Perceiver, dropout on: 15 steps straight vs 7 steps, stop, resume to 15 (mid-epoch)."""
    common = ["pretrain", *TINY, "--variant", "perceiver", "--n-layer", "3", "--bottleneck-dim", "16",
              "--limit", "40", "--batch-size", "8", "--epochs", "3", "--seed", "5"]
    assert main([*common, "--out", str(tmp_path / "straight")]) == 0
    assert main([*common, "--out", str(tmp_path / "split"), "--max-steps", "7"]) == 0
    assert len(read_log(tmp_path / "split" / "metrics.jsonl")) == 7
    assert main([*common, "--out", str(tmp_path / "split"), "--resume"]) == 0

    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "split" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log_a, log_b = read_log(tmp_path / "straight" / "metrics.jsonl"), read_log(tmp_path / "split" / "metrics.jsonl")
    assert [r["step"] for r in log_b] == list(range(1, 16))
    assert [(r["loss"], r["lr"], r["tokens"]) for r in log_a] == [(r["loss"], r["lr"], r["tokens"]) for r in log_b]
    # the logged rates are the course's, warm-up included (8 × 127 tokens a step, 10,240 to warm up)
    assert [r["lr"] for r in log_a] == pytest.approx(course_trainer_lrs([8] * 15, 6e-3), rel=1e-12)
    # and a different seed really trains differently (the comparison above can fail)
    assert main([*common[:-1], "6", "--out", str(tmp_path / "other"), "--max-steps", "2"]) == 0
    assert read_log(tmp_path / "other" / "metrics.jsonl")[1]["loss"] != log_a[1]["loss"]


def test_resume_refuses_another_variant(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["pretrain", *TINY, "--limit", "16", "--batch-size", "8", "--max-steps", "1", "--out", out]) == 0
    capsys.readouterr()
    assert main(["pretrain", *TINY, "--variant", "perceiver", "--resume", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("models: error: ") and "vanilla run" in err


def hand_written_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MODEL.md's loss written out: −log softmax(logits)[target], averaged over the positions whose
    target is not PAD (id 0), in float64."""
    z = logits.double().reshape(-1, logits.shape[-1])
    t = targets.reshape(-1)
    nll = torch.logsumexp(z, dim=-1) - z[torch.arange(len(t)), t]
    keep = t != 0
    return nll[keep].sum() / keep.sum()


@pytest.mark.parametrize("variant", ["vanilla", "perceiver"])
def test_loss_is_the_mean_cross_entropy_over_the_non_pad_targets(variant, vocab, data_dir):
    """The loss GPT.forward returns, and the packed rows' loss that training uses (models.fast),
    equal the hand-written mean cross-entropy over the non-PAD targets (1e-5 relative), for
    finetuning batches (mostly PAD) and pretraining batches; the PAD share differs between rows,
    so counting PAD targets, or averaging per row, would show."""
    from models import data as D
    from models.fast import pack_batch
    torch.manual_seed(3)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, variant=variant, bottleneck_dim=8, dropout=0.0)).eval()
    with torch.no_grad():
        model.head.weight.mul_(20)  # logits far from uniform, so each target's share matters
    rows = read_tsv(data_dir / "birth_places_train.tsv", vocab, answers=True)[:12]
    lines = D.read_wiki(data_dir / D.WIKI)[:12]
    for ds in (D.FinetuneDataset(rows, vocab), D.PretrainDataset(lines, vocab, seed=4)):
        x, y = ds.batch(list(range(12)), 0)
        share = (y == 0).float().mean(dim=1)
        assert share.max() - share.min() > 0.05  # rows differ in how much is PAD
        with torch.no_grad():
            logits, loss = model(x, y)
            expected = hand_written_loss(logits, y)
            assert (y == 0).any() and logits.shape == (*y.shape, len(vocab))
            assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
            _, packed_loss = pack_batch(x, y, model).forward(model)
            assert packed_loss.item() == pytest.approx(expected.item(), rel=1e-5)
            all_positions = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(),
                                                              y.reshape(-1))
            assert abs(all_positions.item() - expected.item()) > 1e-3  # PAD targets would change it


@pytest.mark.parametrize("completion,direct,recall", [
    ("Where was Ada born?\u2047Paris\u2047\u25a1\u25a1", "Paris", "\u25a1\u25a1"),
    ("\u2047New York City\u2047Paris\u2047", "New York City", "Paris"),
    ("\u2047Paris", "Paris", ""),  # no closing ⁇ within the 32 characters: the rest
    ("\u2047\u2047Rome\u2047", "", "Rome"),  # an empty answer stays empty
    ("\u2047She was born in Oslo\u2047Oslo", "She was born in Oslo", "Oslo"),
    ("no mask at all", "", ""),
    ("\u2047Lyon \u25a1\u2047x", "Lyon \u25a1", "x"),  # what lies between is kept as it is
])
def test_the_prediction_is_the_text_between_the_first_two_masks(completion, direct, recall):
    """MODEL.md: the prediction is the text after the first ⁇ up to the next ⁇ (or the end); in
    recall form (recipes only) the text after the second ⁇ up to the third."""
    assert extract_prediction(completion) == direct
    assert extract_prediction(completion, "recall") == recall


def quick_model(variant):
    torch.manual_seed(0)
    return GPT(GPTConfig(n_layer=3, n_head=2, n_embd=32, variant=variant, bottleneck_dim=8)).eval()


@pytest.mark.parametrize("variant", ["vanilla", "perceiver"])
def test_batched_greedy_decoding_equals_one_at_a_time(variant, vocab, data_dir):
    """Batched, right-padded, early-stopping decoding gives what a plain loop gives: one
    question at a time, a full forward per character, 32 characters, the course's extraction.
    The model is trained for a few steps so that it emits ⁇ and some predictions stop early."""
    model = quick_model(variant)
    rows = read_tsv(data_dir / "birth_places_train.tsv", vocab, answers=True)[:64]
    from models.data import FinetuneDataset, batches
    opt = model.configure_optimizer(3e-3)
    model.train()
    for epoch in range(6):
        for x, y in batches(FinetuneDataset(rows, vocab), 0, epoch, 32):
            _, loss = model(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    dev = read_tsv(data_dir / "birth_dev.tsv", vocab, answers=True)[:24]
    questions = [r.question for r in dev] + ["Where was " + "Xy " * 34 + "born?"]  # crosses the block
    singles = []
    for q in questions:
        out = model.generate(torch.tensor([vocab.encode(q + "\u2047")]), 32)[0]
        singles.append(vocab.decode(out).split("\u2047")[1])  # the course: completion.split('⁇')[1]
    assert any(len(s) < 32 for s in singles)  # some stopped at a ⁇: early stopping is exercised
    for batch_size in (1, 5, 64):
        assert predict(model, vocab, questions, batch_size=batch_size) == singles
    assert len(predict(model, vocab, questions[:3], dtype="bf16")) == 3  # the opt-in reduced precision runs


def test_every_committed_faithful_training_record_ran_the_course_trainer():
    """report/results: a record called faithful that trained anything ran the course's rule and
    file order; one made before MODEL.md's correction says so and is not called faithful."""
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1] / "report" / "results"
    trained = {"no-pretraining", "pretrain-finetune", "pretrain-only"}
    checked = 0
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["recipe"] not in trained:
            continue
        tc = record.get("train_config") or {}
        if record["faithful"]:
            assert (tc.get("decay"), tc.get("shuffle")) == ("all-but-bias", False), path.name
            checked += 1
        elif record.get("faithful_before_correction"):
            assert (tc.get("decay", "linear"), tc.get("shuffle", True)) == ("linear", True), path.name
            assert "before its correction" in record["label_note"], path.name
    assert checked >= 1, "no faithful training record with the course's trainer is committed"
