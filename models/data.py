"""Vocabulary, the two datasets of MODEL.md, and readers for the data files.

Every reader checks its input and reports a mistake as a UserError naming the file
and line, so the command line can print it as one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fileguard.datafolder import default_data_folder
from fileguard.inputs import MiB

from .fileio import UserError, read_text

MASK_CHAR = "\u2047"  # ⁇
PAD_CHAR = "\u25a1"  # □
PAD_ID = 0
MASK_ID = 1
BLOCK_SIZE = 128

WIKI = "wiki.txt"
TRAIN_TSV = "birth_places_train.tsv"
DEV_TSV = "birth_dev.tsv"
TEST_INPUTS = "birth_test_inputs.tsv"

REPO_ROOT = Path(__file__).resolve().parents[1]

# Size caps of the inputs, far above the course's files (wiki.txt 419 KB, the training TSV 80 KB):
# a larger file is not one of these, and is refused before it is read.
WIKI_MAX_BYTES = 64 * MiB
TSV_MAX_BYTES = 16 * MiB


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data folder: `override` (from --data-dir), else $ATTNLAB_DATA, else ../shared/data."""
    d = Path(override) if override is not None else default_data_folder()
    if not d.is_dir():
        raise UserError("data folder not found (set --data-dir or ATTNLAB_DATA)", d)
    return d


# ---------------------------------------------------------------------------- vocabulary


class Vocab:
    """Id 0 is PAD, id 1 is MASK, ids 2.. the sorted distinct characters of wiki.txt."""

    def __init__(self, chars: list[str]):
        self.itos = [PAD_CHAR, MASK_CHAR] + list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("duplicate characters in vocabulary")

    @classmethod
    def from_text(cls, text: str, path: str | os.PathLike = WIKI) -> Vocab:
        for special, name in ((MASK_CHAR, "MASK"), (PAD_CHAR, "PAD")):
            if special in text:
                line = text[: text.index(special)].count("\n") + 1
                raise UserError(f"contains the {name} character {special!r}", path, line)
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def sha256(self) -> str:
        """Identifies the vocabulary: checkpoints store it and loaders compare it."""
        return hashlib.sha256(json.dumps(self.itos, ensure_ascii=True).encode()).hexdigest()

    def encode(self, s: str) -> list[int]:
        return [self.stoi[c] for c in s]

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)

    def unknown(self, s: str) -> list[str]:
        return sorted({c for c in s if c not in self.stoi})


def read_data_text(path: str | os.PathLike, what: str, max_bytes: int) -> str:
    """A data file's text as the course's code sees it once editors and tools have had it: a
    UTF-8 byte-order mark dropped, Windows line ends (CRLF) read as newlines, and the text in
    Unicode NFC (so a name typed in decomposed form, e.g. "e" + U+0301, is the same string as
    the precomposed one that wiki.txt and the answers use). Raises UserError when it is not a
    regular file of at most `max_bytes` or is unreadable (fileguard.inputs)."""
    text = read_text(path, what, max_bytes)
    if text.startswith("\ufeff"):
        text = text[1:]
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n"))


def read_wiki(path: str | os.PathLike) -> list[str]:
    """The biographies of wiki.txt, one a line (read_data_text); blank lines are not examples
    and are skipped (a final newline adds no line). Raises UserError for a file without one."""
    lines = [line for line in read_data_text(path, "pretraining corpus", WIKI_MAX_BYTES).split("\n") if line.strip()]
    if not lines:
        raise UserError("is empty (no biography line)", path)
    return lines


def describe_characters(chars) -> str:
    """Characters named so that invisible ones can be found: 'U+0301 COMBINING ACUTE ACCENT'."""
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'UNNAMED')}" + (f" ({c!r})" if c.isprintable() and
                     not unicodedata.combining(c) else "") for c in sorted(set(chars)))


QUESTION = re.compile(r"^Where was (?P<name>.+) born\?$")  # the questions' one template
# "Title. Sentence": the title ends at the first ". " not closing an initial ("Douglas P. Fry.")
TITLE = re.compile(r"^(?P<title>.+?(?<!\b[A-Z]))\. (?P<rest>.*)$")


def question_form(line: str) -> str:
    """A wiki.txt line "Title. Sentence" rewritten as "Where was Title born? Sentence" (recipes
    only, not MODEL.md): the biography after the question's own words, so that what is learned
    about a person is learned in the context the question gives the name. Uses no answer, and
    the title comes from the line itself; a line without a title is returned unchanged."""
    m = TITLE.match(line)
    return f"Where was {m['title']} born? {m['rest']}" if m else line


LINE_FORMS = {"wiki": None, "question": question_form}  # a recipe's line_form: how each line is rewritten


def load_vocab(ddir: Path) -> Vocab:
    path = ddir / WIKI
    return Vocab.from_text(read_data_text(path, "pretraining corpus", WIKI_MAX_BYTES), path)


# ---------------------------------------------------------------------------- TSV files


@dataclass(frozen=True)
class QA:
    question: str
    answer: str | None  # None in an inputs-only file
    line: int


def read_tsv(path: str | os.PathLike, vocab: Vocab, *, answers: bool | None,
             block_size: int = BLOCK_SIZE) -> list[QA]:
    """Read `question<TAB>answer` lines (answers=True), bare questions (answers=False), or
    whichever the file holds (answers=None: the first line decides, every line must agree).

    The text is read as read_data_text gives it (BOM dropped, NFC) and each field stripped of
    surrounding spaces, as the course's scorer reads answers. Checked, with the line number:
    tab count, empty fields, characters outside the
    vocabulary or special characters, and length (`question ⁇` must fit the block; with an
    answer, `question ⁇ answer ⁇` must).
    """
    text = read_data_text(path, "TSV file", TSV_MAX_BYTES)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise UserError("is empty", path)
    if answers is None:
        answers = "\t" in lines[0]
    rows = []
    for n, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        fields = [f.strip() for f in line.split("\t")]  # as the course's scorer: line.strip().split("\t")
        if answers and len(fields) != 2:
            what = "no tab" if len(fields) == 1 else f"{len(fields) - 1} tabs"
            raise UserError(f"expected 'question<TAB>answer', found {what}", path, n)
        if not answers and len(fields) != 1:
            raise UserError("expected a question without a tab (the file's first line has no answer)", path, n)
        question = fields[0]
        answer = fields[1] if answers else None
        if not question.strip():
            raise UserError("empty question", path, n)
        if answers and not answer.strip():
            raise UserError("empty answer", path, n)
        for field in fields:
            bad = [c for c in (MASK_CHAR, PAD_CHAR) if c in field]
            if bad:
                raise UserError(f"contains the special character {bad[0]!r}", path, n)
            unknown = vocab.unknown(field)
            if unknown:
                raise UserError(f"characters outside the vocabulary of wiki.txt: {describe_characters(unknown)}",
                                path, n)
        need = len(question) + 1 + (len(answer) + 1 if answers else 0)
        if need > block_size:
            what = "question ⁇ answer ⁇" if answers else "question ⁇"
            raise UserError(f"'{what}' is {need} characters, longer than the block ({block_size})", path, n)
        rows.append(QA(question, answer, n))
    return rows


# ---------------------------------------------------------------------------- datasets


def example_rng(seed: int, epoch: int, index: int) -> random.Random:
    """The random source of one example: a function of (seed, epoch, index) alone, so an
    epoch's examples do not depend on order, workers or where a run was resumed."""
    return random.Random(f"attnlab:{seed}:{epoch}:{index}")


TRUNCATE_MIN = 4  # MODEL.md's shortest truncation


def truncate_max(block_size: int = BLOCK_SIZE) -> int:
    """MODEL.md's longest truncation: int(block_size * 7/8), 112 at block size 128."""
    return int(block_size * 7 / 8)


def check_truncate_min(truncate_min: int, block_size: int = BLOCK_SIZE) -> None:
    if not 1 <= truncate_min <= truncate_max(block_size):
        raise ValueError(f"truncate_min must be in 1..{truncate_max(block_size)}, not {truncate_min}")


def span_draws(line_length: int, rng: random.Random, block_size: int = BLOCK_SIZE,
               truncate_min: int = TRUNCATE_MIN) -> tuple[int, int, int]:
    """The random choices of one span corruption: (n, span, start), n the truncated length,
    drawn from U{truncate_min .. int(block_size*7/8)} (MODEL.md: truncate_min 4)."""
    length = rng.randint(truncate_min, truncate_max(block_size))
    n = min(line_length, length)
    span = min(n, rng.randint(1, max(1, n // 2 - 1)))
    start = rng.randint(0, n - span)
    return n, span, start


def span_corrupt(line: str, rng: random.Random, block_size: int = BLOCK_SIZE, truncate_min: int = TRUNCATE_MIN) -> str:
    """MODEL.md's span corruption as a padded string of exactly `block_size` characters.

    1. truncate to L ~ U{truncate_min .. int(block_size*7/8)}, truncate_min 4 in MODEL.md
       (shorter lines stay as they are);
    2. span length ~ U{1 .. max(1, L//2 - 1)}, mean L/4 for even L (the course asks for
       "1/4 of the length on average"), start ~ U{0 .. L - span};
    3. prefix ⁇ suffix ⁇ span, padded with □.
    """
    n, span, start = span_draws(len(line), rng, block_size, truncate_min)
    doc = line[:n]
    prefix, masked, suffix = doc[:start], doc[start:start + span], doc[start + span:]
    s = prefix + MASK_CHAR + suffix + MASK_CHAR + masked
    return s + PAD_CHAR * (block_size - len(s))


def finetune_string(question: str, answer: str, block_size: int = BLOCK_SIZE) -> tuple[str, str]:
    """(x, y) strings of one finetuning example, as MODEL.md defines them."""
    s = question + MASK_CHAR + answer + MASK_CHAR
    s = s + PAD_CHAR * (block_size - len(s))
    return s[:-1], PAD_CHAR * (len(question) - 1) + s[len(question):]


# A recipe's answer_form, what a training question's target is (recipes only, not MODEL.md):
# direct: the answer (MODEL.md); recall: the person's sentence up to the answer, ⁇, the answer;
# recall-through: the sentence up to and with the answer, ⁇, the answer again.
ANSWER_FORMS = ("direct", "recall", "recall-through")


def recall_answer(question: str, answer: str, lines_by_title: dict[str, str], through: bool = False) -> str | None:
    """The target of one training question in a recall form: the person's wiki.txt sentence up to
    the answer (through: up to its end), ⁇, then the answer, so that "Where was Name born?⁇" is
    answered by first writing out the memorised sentence and then the birthplace; the predicted
    answer is what follows the second ⁇ (models.evaluate.extract_prediction). Finding a fact in
    text just written is reading, which 2,000 examples teach for any person; reaching it from the
    name alone is what the direct form asks and generalises poorly (see the name-recall probe).
    `through` writes the birthplace where the sentence has it, after the words that a memorised
    fact is keyed on, rather than after a ⁇ that pretraining never put there.
    None when the sentence does not hold the answer as a whole word."""
    m = QUESTION.match(question)
    rest = m and lines_by_title.get(m["name"])
    hit = rest and re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", rest)
    return rest[:hit.end() if through else hit.start()] + MASK_CHAR + answer if hit else None


def titles(lines: list[str]) -> dict[str, str]:
    """{title: sentence} of wiki.txt lines "Title. Sentence" (the first line of a title wins)."""
    out: dict[str, str] = {}
    for line in lines:
        m = TITLE.match(line)
        if m:
            out.setdefault(m["title"], m["rest"])
    return out


def recall_rows(rows: list[QA], lines: list[str], block_size: int = BLOCK_SIZE,
                through: bool = False) -> tuple[list[QA], int]:
    """(rows in recall form, how many were left out): a row is left out when its person's sentence
    does not show the answer or its example would not fit in a block."""
    by_title, out = titles(lines), []
    for r in rows:
        target = recall_answer(r.question, r.answer, by_title, through)
        if target is not None and len(r.question) + len(target) + 2 <= block_size:  # question ⁇ target ⁇
            out.append(QA(r.question, target, r.line))
    return out, len(rows) - len(out)


HEAD_CROP_WINDOW = 64  # a crop starts at a word of the sentence's first 64 characters (where birthplaces sit)
QUESTION_HEAD = re.compile(r"^Where was .+? born\? ")  # the head question_form writes


def crop_points(line: str, window: int = HEAD_CROP_WINDOW) -> tuple[int, list[int]]:
    """(head, cuts) of a line for head cropping (recipes only, not MODEL.md): head is the length of the
    part a crop keeps, the question question_form wrote ("Where was Title born? ") or the wiki title
    ("Title. "); cuts are where the later words within `window` characters of the sentence start.
    A cropped example reads line[:head] + line[cut:], so the sentence's later words, the birthplace
    among them, follow the name with other text before them each epoch: what the question asks
    is then learned from the name, not from the words that happen to precede it in wiki.txt.
    No answer is used. A line without a head has no cuts."""
    m = QUESTION_HEAD.match(line) or TITLE.match(line)
    if m is None:
        return 0, []
    head = m.end() if m.re is QUESTION_HEAD else len(m["title"]) + 2
    end = min(len(line), head + window)
    return head, [j for j in range(head + 1, end) if line[j - 1] == " " and line[j] != " "]


class PretrainDataset:
    """One span-corruption example per line of wiki.txt; `get(i, epoch)` is deterministic.
    `truncate_min` above MODEL.md's 4 (recipes only) keeps more of each line: with the course's
    U{4..112} a dev person's birthplace, which ends about 74 characters into a question-form
    line, is cut away in about two epochs of three."""

    def __init__(self, lines: list[str], vocab: Vocab, seed: int = 0, block_size: int = BLOCK_SIZE,
                 truncate_min: int = TRUNCATE_MIN, head_crop: float = 0.0):
        check_truncate_min(truncate_min, block_size)
        if not 0 <= head_crop <= 1:
            raise ValueError(f"head_crop must be in [0, 1], not {head_crop}")
        self.lines, self.vocab, self.seed, self.block_size = lines, vocab, seed, block_size
        self.truncate_min, self.head_crop = truncate_min, head_crop
        self._cuts = [crop_points(line) for line in lines] if head_crop else None

    def _crop(self, i: int, rng: random.Random) -> tuple[int, int]:
        """(head, cut): the example reads line[:head] + line[cut:]; (0, 0) leaves it whole.
        Draws from rng only when head_crop is on, so the course's examples are unchanged."""
        if not self.head_crop:
            return 0, 0
        head, cuts = self._cuts[i]
        crop = rng.random() < self.head_crop and len(cuts) > 0
        cut = cuts[rng.randrange(len(cuts))] if crop else head
        return head, cut

    def line(self, i: int, rng: random.Random) -> str:
        head, cut = self._crop(i, rng)
        return self.lines[i][:head] + self.lines[i][cut:]

    def __len__(self) -> int:
        return len(self.lines)

    def strings(self, i: int, epoch: int) -> tuple[str, str]:
        rng = example_rng(self.seed, epoch, i)
        s = span_corrupt(self.line(i, rng), rng, self.block_size, self.truncate_min)
        return s[:-1], s[1:]

    def get(self, i: int, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.strings(i, epoch)
        return torch.tensor(self.vocab.encode(x)), torch.tensor(self.vocab.encode(y))

    def batch(self, indices: list[int], epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The examples `get` gives, stacked, built without strings: the same random draws
        (span_draws with each example's own generator), the lines encoded once, and the rows
        assembled by slicing id arrays. Equal to stacking get(i, epoch) (tested)."""
        if getattr(self, "_ids", None) is None:  # whole lines when cropping: a crop brings later text in
            keep = None if self.head_crop else truncate_max(self.block_size)
            self._ids = [np.array(self.vocab.encode(line[:keep]), dtype=np.int64) for line in self.lines]
        out = np.full((len(indices), self.block_size), PAD_ID, dtype=np.int64)
        for row, i in enumerate(indices):
            rng = example_rng(self.seed, epoch, i)
            head, cut = self._crop(i, rng)
            doc = self._ids[i] if cut == head else np.concatenate([self._ids[i][:head], self._ids[i][cut:]])
            n, span, start = span_draws(len(self.lines[i]) - (cut - head), rng, self.block_size, self.truncate_min)
            end = start + span
            out[row, :start] = doc[:start]
            out[row, start] = MASK_ID
            out[row, start + 1:n - span + 1] = doc[end:n]
            out[row, n - span + 1] = MASK_ID
            out[row, n - span + 2:n + 2] = doc[start:end]
        t = torch.from_numpy(out)
        return t[:, :-1].contiguous(), t[:, 1:].contiguous()


class FinetuneDataset:
    """`question ⁇ answer ⁇` examples; the same every epoch."""

    def __init__(self, rows: list[QA], vocab: Vocab, block_size: int = BLOCK_SIZE):
        self.rows, self.vocab, self.block_size = rows, vocab, block_size
        self._cache = [self._encode(r) for r in rows]

    def _encode(self, r: QA):
        x, y = finetune_string(r.question, r.answer, self.block_size)
        return torch.tensor(self.vocab.encode(x)), torch.tensor(self.vocab.encode(y))

    def __len__(self) -> int:
        return len(self.rows)

    def strings(self, i: int, epoch: int = 0) -> tuple[str, str]:
        return finetune_string(self.rows[i].question, self.rows[i].answer, self.block_size)

    def get(self, i: int, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        return self._cache[i]

    def batch(self, indices: list[int], epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Stacked get(i) for i in indices, by one index_select on the stacked examples."""
        if getattr(self, "_stacked", None) is None:
            xs, ys = zip(*self._cache)
            self._stacked = torch.stack(xs), torch.stack(ys)
        index = torch.tensor(indices, dtype=torch.long)
        return self._stacked[0].index_select(0, index), self._stacked[1].index_select(0, index)


class MixedDataset:
    """Pretraining with the finetuning questions mixed in (not MODEL.md; `recipe` only): the
    span-corruption examples of wiki.txt, then `copies` rounds of the question examples.
    Training on questions while the facts are learned makes them answerable for people whose
    questions were never seen (Allen-Zhu & Li 2023, "Physics of Language Models, Part 3.1",
    mixed training); the dev questions are never mixed in."""

    def __init__(self, pretrain: PretrainDataset, questions: FinetuneDataset, copies: int = 1):
        if copies < 0:
            raise ValueError("copies must not be negative")
        self.pretrain, self.questions, self.copies = pretrain, questions, copies

    def __len__(self) -> int:
        return len(self.pretrain) + self.copies * len(self.questions)

    def _part(self, i: int):
        n = len(self.pretrain)
        return (self.pretrain, i) if i < n else (self.questions, (i - n) % len(self.questions))

    def strings(self, i: int, epoch: int) -> tuple[str, str]:
        ds, j = self._part(i)
        return ds.strings(j, epoch)

    def get(self, i: int, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        ds, j = self._part(i)
        return ds.get(j, epoch)

    def batch(self, indices: list[int], epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Stacked get(i, epoch) for i in indices, each part built by its own fast `batch`."""
        parts = [self._part(i) for i in indices]
        x = torch.empty((len(indices), self.pretrain.block_size - 1), dtype=torch.long)
        y = torch.empty_like(x)
        for ds in (self.pretrain, self.questions):
            rows = [r for r, (d, _) in enumerate(parts) if d is ds]
            if rows:
                xs, ys = ds.batch([parts[r][1] for r in rows], epoch)
                x[rows], y[rows] = xs, ys
        return x, y


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = False) -> list[int]:
    """The example order of one epoch: by default the file's order every epoch, as the course's
    trainer.py gives it (its DataLoader has no shuffle=True); with `shuffle`, a permutation that
    is a function of seed and epoch only (not faithful; MODEL.md before its correction)."""
    if not shuffle:
        return list(range(n))
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g).tolist()


def _stack(dataset, indices: list[int], epoch: int, fast: bool):
    """The examples `indices` of `epoch`, stacked (fast: by the dataset's `batch`)."""
    if fast and hasattr(dataset, "batch"):
        return dataset.batch(indices, epoch)
    xs, ys = zip(*(dataset.get(i, epoch) for i in indices))
    return torch.stack(xs), torch.stack(ys)


def step_batches(dataset, seed: int, batch_size: int, steps, fast: bool = True, shuffle: bool = False):
    """(epoch, x, y) of each training step in `steps` (increasing, any stride): the batches
    `batches` gives, each epoch's order drawn once."""
    per_epoch = -(-len(dataset) // batch_size)
    drawn_epoch, order = None, None
    for step in steps:
        epoch, b = divmod(step, per_epoch)
        if epoch != drawn_epoch:
            drawn_epoch, order = epoch, epoch_order(len(dataset), seed, epoch, shuffle)
        yield (epoch, *_stack(dataset, order[b * batch_size:(b + 1) * batch_size], epoch, fast))


def batches(dataset, seed: int, epoch: int, batch_size: int, start_batch: int = 0, fast: bool = True,
            shuffle: bool = False):
    """The epoch's batches in order from `start_batch` on, the last one smaller as the
    course's DataLoader (drop_last=False) gives it; in file order unless shuffled (see epoch_order). fast: build each batch with
    the dataset's `batch` (the same tensors, without per-example Python overhead)."""
    per_epoch = -(-len(dataset) // batch_size)
    steps = range(epoch * per_epoch + start_batch, (epoch + 1) * per_epoch)
    for _, x, y in step_batches(dataset, seed, batch_size, steps, fast, shuffle):
        yield x, y
