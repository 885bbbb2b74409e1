"""Vocabulary, span corruption, finetuning examples and the TSV readers (MODEL.md)."""
from __future__ import annotations

import random
import statistics
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chisquare, kstest

from models.data import (BLOCK_SIZE, FinetuneDataset, PretrainDataset, QA, Vocab, batches, epoch_order,
                         finetune_string, read_tsv, read_wiki, span_corrupt)
from models.fileio import UserError

MASK, PAD = "\u2047", "\u25a1"


def test_vocabulary_is_pad_mask_then_sorted_wiki_characters(data_dir, vocab):
    text = (data_dir / "wiki.txt").read_text(encoding="utf-8")
    assert len(vocab) == 256
    assert vocab.itos[0] == PAD and vocab.itos[1] == MASK
    assert vocab.itos[2:] == sorted(set(text))
    assert vocab.decode(vocab.encode("Where was")) == "Where was"


def test_wiki_has_one_example_per_line(data_dir):
    assert len(read_wiki(data_dir / "wiki.txt")) == 2937


def test_special_characters_in_the_corpus_are_refused(tmp_path):
    with pytest.raises(UserError, match=r"wiki.txt:2: contains the MASK"):
        Vocab.from_text("abc\nde\u2047f\n", tmp_path / "wiki.txt")


def unpack(s: str):
    """prefix ⁇ suffix ⁇ span □... -> (prefix, span, suffix), checking the layout."""
    assert len(s) == BLOCK_SIZE
    body = s.rstrip(PAD)
    assert PAD not in body
    prefix, suffix, span = body.split(MASK)
    return prefix, span, suffix


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters=MASK + PAD + "\n"), max_size=300),
       st.integers(0, 2**32))
def test_span_corruption_layout(line, seed):
    """The example is a rearranged prefix of the line: truncated to 4..112 characters (or the
    whole line when shorter), a non-empty span (when there is text), at most half of it."""
    prefix, span, suffix = unpack(span_corrupt(line, random.Random(seed)))
    doc = prefix + span + suffix
    assert line.startswith(doc)
    assert len(doc) <= int(BLOCK_SIZE * 7 / 8) == 112
    assert len(doc) >= 4 or doc == line
    if doc:
        assert 1 <= len(span) <= max(1, len(doc) // 2)


def test_span_corruption_lengths_have_the_specified_means():
    """L uniform on 4..112 (mean 58) for long lines; span length with mean L/4.
    Two z-tests at |z| <= Φ⁻¹(1 − 0.001/2) ≈ 3.29 (family-wise error 0.001)."""
    line = "x" * 200
    rng = random.Random(12345)
    lengths, ratios = [], []
    for _ in range(4000):
        prefix, span, suffix = unpack(span_corrupt(line, rng))
        n = len(prefix + span + suffix)
        lengths.append(n)
        ratios.append(len(span) - n / 4)
    assert min(lengths) >= 4 and max(lengths) <= 112
    for values, mean in ((lengths, 58.0), (ratios, 0.0)):
        se = statistics.stdev(values) / len(values) ** 0.5
        assert abs(statistics.fmean(values) - mean) <= 3.29 * se + 0.25  # + odd-L rounding of L/4


# ---------------------------------------------------------------------------- span corruption's distribution

SPAN_DRAWS = 40_000
SPAN_ALPHA = 0.001  # family-wise false-alarm rate of the three distribution tests below (Bonferroni, 3 tests)


@pytest.fixture(scope="module")
def span_draws_observed():
    """(L, span, start) of SPAN_DRAWS span corruptions of a 200-character line (longer than any
    truncation, so L is the drawn length itself), read back from the examples: L = len(prefix +
    span + suffix), span = len(span), start = len(prefix). One fixed seed."""
    rng = random.Random(20271)
    line = "".join(chr(0x4E00 + i) for i in range(200))  # distinct characters: the pieces are unambiguous
    out = []
    for _ in range(SPAN_DRAWS):
        prefix, span, suffix = unpack(span_corrupt(line, rng))
        doc = prefix + span + suffix
        assert line.startswith(doc)
        out.append((len(doc), len(span), len(prefix)))
    return np.array(out)


def span_max(length: int) -> int:
    """MODEL.md: span length with mean L/4, i.e. uniform on 1..L//2 - 1 (1 for L < 4)."""
    return max(1, length // 2 - 1)


def uniform_pit(x: np.ndarray, size: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(x + V) / size with V ~ U(0, 1): exactly U(0, 1) when x is uniform on 0..size-1."""
    return (x + rng.random(len(x))) / size


def test_truncation_length_is_uniform_on_4_to_112(span_draws_observed):
    """L ~ U{4..112} (MODEL.md step 1): both ends reached, and a chi-square goodness-of-fit test
    over the 109 values at level 0.001/3.

    Power: the test statistic is noncentral chi-square with 108 df and noncentrality
    λ = N·Σ(p_i − 1/109)²·109; it rejects with probability ≥ 0.95 once λ ≥ 96, i.e. once
    Σ(p_i − 1/109)²·109 ≥ 0.0024 at N = 40,000. Examples: a top of 111 instead of 112 gives
    λ ≈ 370; U{4..106} (mean 5% low) gives λ ≈ 2,300. An end never reached (off by one) also
    fails the exact-range check: P(112 never in 40,000 draws) = (108/109)^40000 ≈ e^-367."""
    lengths = span_draws_observed[:, 0]
    assert lengths.min() == 4 and lengths.max() == 112
    counts = np.bincount(lengths - 4, minlength=109)
    assert len(counts) == 109
    stat, p = chisquare(counts)
    assert p >= SPAN_ALPHA / 3, f"chi-square {stat:.1f} (108 df), p = {p:.2e}"


def test_span_length_is_uniform_on_1_to_half_the_length_minus_one(span_draws_observed):
    """Given L, span ~ U{1..max(1, L//2 − 1)}, whose mean is L/4 (MODEL.md step 2): every span in
    that range, both ends reached, and the randomised probability-integral transform
    U = (span − 1 + V)/max(1, L//2 − 1), exactly U(0, 1) under the specification, passes a
    one-sample Kolmogorov-Smirnov test at level 0.001/3.

    Power: the KS critical distance at N = 40,000 is 0.0104 and the empirical CDF's sd at most
    0.0025, so a CDF of U off by 0.0146 anywhere is detected with probability ≥ 0.95. Spans on
    1..L//2 (one too long) move the CDF by 0.066, spans on 1..L//2 − 2 by 0.051, spans with mean
    L/6 by 0.29; a span that never reaches its top fails the range check outright."""
    lengths, spans = span_draws_observed[:, 0], span_draws_observed[:, 1]
    top = np.array([span_max(n) for n in lengths])
    assert np.all((spans >= 1) & (spans <= top))
    assert np.any(spans == top) and np.any((spans == 1) & (top > 1))
    u = uniform_pit(spans - 1, top, np.random.default_rng(1))
    result = kstest(u, "uniform")
    assert result.pvalue >= SPAN_ALPHA / 3, f"D = {result.statistic:.4f}, p = {result.pvalue:.2e}"


def test_span_start_is_uniform_over_every_position(span_draws_observed):
    """Given L and the span, start ~ U{0..L − span} (MODEL.md step 2, "its start random"): every
    start in range, both ends reached, and U = (start + V)/(L − span + 1) passes a one-sample KS
    test at level 0.001/3.

    Power (as above, N = 40,000): a CDF of U off by 0.0146 anywhere is detected with
    probability ≥ 0.95; a span that always starts at 0 gives U ≤ 1/(L − span + 1), a distance
    above 0.9; a span never at the very end (or never at 0) moves the CDF by about 0.02 and
    fails the range check outright."""
    lengths, spans, starts = span_draws_observed.T
    room = lengths - spans + 1
    assert np.all((starts >= 0) & (starts < room))
    assert np.any(starts == 0) and np.any((starts == room - 1) & (room > 1))
    u = uniform_pit(starts, room, np.random.default_rng(2))
    result = kstest(u, "uniform")
    assert result.pvalue >= SPAN_ALPHA / 3, f"D = {result.statistic:.4f}, p = {result.pvalue:.2e}"


def test_short_lines_are_kept_whole_when_the_draw_is_longer():
    """A 30-character line is kept whole exactly when the drawn L is ≥ 30: probability 83/109.
    Binomial two-sided test at level 0.001 on 5,000 draws (sd of the share 0.006; a rule that
    truncated short lines anyway, or never, moves it by 0.76 or 0.24)."""
    rng = random.Random(7)
    line = "abcdefghijklmnopqrstuvwxyz0123"
    whole = 0
    for _ in range(5000):
        prefix, span, suffix = unpack(span_corrupt(line, rng))
        doc = prefix + span + suffix
        assert line.startswith(doc) and 4 <= len(doc) <= 30
        whole += doc == line
    assert binomtest(whole, 5000, 83 / 109).pvalue >= 0.001


def test_pretraining_example_is_shifted_by_one(vocab, data_dir):
    ds = PretrainDataset(read_wiki(data_dir / "wiki.txt")[:5], vocab, seed=3)
    x, y = ds.get(2, epoch=1)
    xs, ys = ds.strings(2, epoch=1)
    assert len(xs) == len(ys) == BLOCK_SIZE - 1 and xs[1:] == ys[:-1]
    assert vocab.decode(x) == xs and vocab.decode(y) == ys
    assert ds.strings(2, epoch=1) == (xs, ys)  # deterministic in (seed, epoch, index)
    assert any(ds.strings(2, epoch=e) != (xs, ys) for e in range(2, 6))  # fresh corruption each epoch


def test_finetuning_example_trains_on_the_answer_only():
    q, a = "Where was Ada born?", "London"
    x, y = finetune_string(q, a)
    full = q + MASK + a + MASK
    assert x == (full + PAD * (BLOCK_SIZE - len(full)))[:-1]
    assert len(y) == BLOCK_SIZE - 1
    assert y.rstrip(PAD) == PAD * (len(q) - 1) + MASK + a + MASK
    # position i of y is the target after x[:i+1]: the first target is ⁇ after the question
    assert x[len(q) - 1] == "?" and y[len(q) - 1] == MASK


def test_batches_cover_each_epoch_once_with_a_smaller_last_batch(vocab):
    rows = [QA(f"Where was P{i} born?", "Paris", i + 1) for i in range(10)]
    ds = FinetuneDataset(rows, vocab)
    sizes = [x.shape[0] for x, _ in batches(ds, seed=0, epoch=0, batch_size=4)]
    assert sizes == [4, 4, 2]
    assert all(epoch_order(10, 0, e) == list(range(10)) for e in range(3))  # the course's file order
    orders = [epoch_order(10, 0, e, shuffle=True) for e in range(3)]
    assert all(sorted(o) == list(range(10)) for o in orders) and orders[0] != orders[1]
    later = list(batches(ds, 0, 0, 4, start_batch=1))
    assert [x.shape[0] for x, _ in later] == [4, 2]


@pytest.mark.parametrize("content,line,message", [
    ("Where was A born?\tParis\nWhere was B born? Rome\n", 2, "no tab"),
    ("Where was A born?\tParis\n\tRome\n", 2, "empty question"),
    ("Where was A born?\t\n", 1, "empty answer"),
    ("Where was A born?\tParis\tFrance\n", 1, "2 tabs"),
    ("Where was A born?\tPar\u2047is\n", 1, "special character"),
    ("Where was " + "A" * 120 + " born?\tParis\n", 1, "longer than the block"),
])
def test_malformed_tsv_lines_name_file_and_line(tmp_path, vocab, content, line, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as e:
        read_tsv(path, vocab, answers=True)
    assert str(e.value).startswith(f"{path}:{line}: ") and message in str(e.value)


def test_characters_outside_the_vocabulary_are_refused(tmp_path, vocab):
    outside = next(chr(c) for c in range(0x2600, 0x2700) if chr(c) not in vocab.stoi)
    path = tmp_path / "bad.tsv"
    path.write_text(f"Where was A born?\tParis\nWhere was {outside} born?\tRome\n", encoding="utf-8")
    with pytest.raises(UserError, match=rf"bad.tsv:2: characters outside the vocabulary of wiki.txt: "
                                        rf"U\+{ord(outside):04X} {unicodedata.name(outside)} \('{outside}'\)"):
        read_tsv(path, vocab, answers=True)


def test_question_files_with_and_without_answers(tmp_path, vocab, data_dir):
    inputs = read_tsv(data_dir / "birth_test_inputs.tsv", vocab, answers=None)
    assert len(inputs) == 437 and all(r.answer is None for r in inputs)
    dev = read_tsv(data_dir / "birth_dev.tsv", vocab, answers=None)
    assert len(dev) == 500 and all(r.answer for r in dev)
    mixed = tmp_path / "mixed.tsv"
    mixed.write_text("Where was A born?\nWhere was B born?\tRome\n", encoding="utf-8")
    with pytest.raises(UserError, match="mixed.tsv:2:"):
        read_tsv(mixed, vocab, answers=None)


def test_unreadable_files(tmp_path, vocab):
    with pytest.raises(UserError, match="is a directory"):
        read_tsv(tmp_path, vocab, answers=True)
    with pytest.raises(UserError, match="no such"):
        read_tsv(tmp_path / "missing.tsv", vocab, answers=True)
    bad = tmp_path / "latin1.tsv"
    bad.write_bytes(b"Where was A born?\tParis\nWhere was Z\xfcrich born?\tRome\n")
    with pytest.raises(UserError, match="latin1.tsv:2: not valid UTF-8"):
        read_tsv(bad, vocab, answers=True)
