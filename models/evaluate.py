"""Greedy decoding (batched, identical to one-at-a-time) and accuracy."""

from __future__ import annotations

import re
import sys

import torch
from tqdm import tqdm

from .data import ANSWER_FORMS, LINE_FORMS, MASK_CHAR, MASK_ID, PAD_ID, QUESTION, Vocab, recall_answer, titles
from .decode import greedy_cached
from .model import GPT, autocast

DECODE_STEPS = 32


def extract_prediction(completion: str, answer_form: str = "direct") -> str:
    """The text after the first ⁇ up to the next ⁇ (or the end), as the course reads it; in recall
    forms (data.recall_answer) the text after the second ⁇, the first closing the recalled sentence."""
    parts = completion.split(MASK_CHAR)
    at = 1 if answer_form == "direct" else 2
    return parts[at] if len(parts) > at else ""


@torch.no_grad()
def predict(model: GPT, vocab: Vocab, questions: list[str], *, batch_size: int = 64,
            steps: int | None = None, device: torch.device | str = "cpu", dtype: str = "fp32",
            progress: bool = False, cache: bool = True, answer_form: str = "direct") -> list[str]:
    """Predictions for `question ⁇`, decoding greedily up to `steps` characters (default: 32 in
    direct form, a block in recall form, where the sentence is written before the answer).

    Sequences of a batch are right-padded; the model is causal (vanilla and perceiver alike:
    position j never depends on inputs after j), so every sequence's next-token logits are
    those it would get alone. A sequence stops once it emits ⁇, which ends its prediction;
    a sequence longer than the block sees its last block_size tokens, as the course crops.
    cache: decode with keys/values cached (models.decode, the default); False: run the whole
    model on every prefix (the plain loop, batched). The predictions are the same (tested).
    """
    if answer_form not in ANSWER_FORMS:
        raise ValueError(f"answer_form must be one of {', '.join(ANSWER_FORMS)}, not {answer_form!r}")
    stops = 1 if answer_form == "direct" else 2  # the ⁇ that end a prediction
    device = torch.device(device)
    model.eval().to(device)
    block = model.config.block_size
    steps = steps or (DECODE_STEPS if stops == 1 else block)
    preds: list[str | None] = [None] * len(questions)
    order = sorted(range(len(questions)), key=lambda i: len(questions[i]))  # similar lengths together
    bar = tqdm(total=len(questions), file=sys.stderr, disable=not progress, desc="decoding")
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        seqs = [vocab.encode(questions[i] + MASK_CHAR) for i in chunk]
        if cache:
            with autocast(device, dtype):
                generated = greedy_cached(model, seqs, steps, device, stops=stops)
            for r, i in enumerate(chunk):
                preds[i] = extract_prediction(MASK_CHAR + vocab.decode(generated[r]), answer_form)
            bar.update(len(chunk))
            continue
        generated: list[list[int]] = [[] for _ in chunk]
        active = list(range(len(chunk)))
        for _ in range(steps):
            windows = [(seqs[r] + generated[r])[-block:] for r in active]
            lengths = torch.tensor([len(w) for w in windows], device=device)
            x = torch.full((len(windows), int(lengths.max())), PAD_ID, dtype=torch.long)
            for row, w in enumerate(windows):
                x[row, :len(w)] = torch.tensor(w)
            with autocast(device, dtype):
                logits, _ = model(x.to(device))
            rows = torch.arange(len(windows), device=device)
            nxt = logits[rows, lengths - 1].float().argmax(-1).tolist()
            for r, token in zip(active, nxt):
                generated[r].append(token)
            active = [r for r in active if generated[r].count(MASK_ID) < stops]
            if not active:
                break
        for r, i in enumerate(chunk):
            preds[i] = extract_prediction(MASK_CHAR + vocab.decode(generated[r]), answer_form)
        bar.update(len(chunk))
    bar.close()
    return preds


@torch.no_grad()
def bio_completion(model: GPT, vocab: Vocab, lines: list[str], rows, *, device: torch.device | str = "cpu",
                   window: int = 112, line_form: str = "wiki") -> dict:
    """Does the model know the birthplace where it learned it? For each question about a person
    whose wiki.txt line starts with the person's name and shows the answer within its first
    `window` characters (all that a pretraining example shows), feed the line up to the answer
    and decode greedily: correct when the continuation starts with the answer. Beside the dev
    accuracy this separates memorising (this probe) from answering the question (the accuracy).
    Evaluation only: the answers are never trained on. `line_form` (a data.LINE_FORMS name)
    rewrites each line as the model was trained on it before the answer is looked for."""
    form = LINE_FORMS[line_form]
    prompts, answers = [], []
    for r in rows:
        m = QUESTION.match(r.question)
        name = m and m["name"]
        line = name and next((l for l in lines if l.startswith(name) and not l[len(name):len(name) + 1].isalnum()),
                             None)
        line = form(line) if line and form else line
        at = line[:window].find(r.answer) if line else -1
        if at > 0:
            prompts.append(vocab.encode(line[:at]))
            answers.append(r.answer)
    correct = 0
    if prompts:
        device = torch.device(device)
        model.eval().to(device)
        steps = max(len(a) for a in answers)
        generated = greedy_cached(model, prompts, steps, device, stop=-1)
        correct = sum(vocab.decode(g[:len(a)]) == a for g, a in zip(generated, answers))
    return {"correct": correct, "probed": len(prompts), "questions": len(rows), "window": window,
            "line_form": line_form}


RECALL_STEPS = 100


def name_recall(model: GPT, vocab: Vocab, rows, *, predictions: list[str] | None = None, line_form: str = "wiki",
                device: torch.device | str = "cpu", steps: int = RECALL_STEPS) -> dict:
    """Does the model know the birthplace from the name alone? For each question, feed the start a
    person's pretraining line would have before its sentence ("Where was Name born? " in question
    form, "Name. " in wiki form) and let the model write `steps` characters: recalled when the
    answer appears in them as a whole word or phrase. Unlike bio_completion no words of the
    biography are given, so this is the memory the question can reach; with `predictions` it
    also counts the recalled answers that the question got right. Evaluation only."""
    head = {"question": "Where was {} born? ", "wiki": "{}. "}[line_form]
    prompts, answers, which = [], [], []
    for k, r in enumerate(rows):
        m = QUESTION.match(r.question)
        if m and r.answer:
            prompts.append(vocab.encode(head.format(m["name"])))
            answers.append(r.answer)
            which.append(k)
    recalled = []
    if prompts:
        device = torch.device(device)
        model.eval().to(device)
        generated = greedy_cached(model, prompts, steps, device)
        for g, a, k in zip(generated, answers, which):
            text = vocab.decode(g)
            if re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text):
                recalled.append(k)
    out = {"recalled": len(recalled), "probed": len(prompts), "questions": len(rows), "steps": steps,
           "line_form": line_form}
    if predictions is not None:
        out["recalled_and_answered"] = sum(predictions[k] == rows[k].answer for k in recalled)
    return out


@torch.no_grad()
def recital(model: GPT, vocab: Vocab, lines: list[str], rows, answer_form: str, *,
            device: torch.device | str = "cpu") -> dict:
    """Where a recall-form answer goes wrong (data.recall_answer): for each question whose person's
    sentence holds the answer, decode as `predict` does and compare what the model wrote before its
    first ⁇ with the sentence it was taught to write: `recited` counts the exact recitals,
    `recited_and_answered` those followed by the right answer. Evaluation only."""
    if answer_form == "direct":
        raise ValueError("the recital probe is for the recall answer forms")
    by_title = titles(lines)
    prompts, targets = [], []
    for r in rows:
        target = r.answer and recall_answer(r.question, r.answer, by_title, answer_form == "recall-through")
        if target:
            prompts.append(vocab.encode(r.question + MASK_CHAR))
            targets.append((target.split(MASK_CHAR)[0], r.answer))
    recited = answered = 0
    if prompts:
        device = torch.device(device)
        model.eval().to(device)
        for g, (sentence, answer) in zip(greedy_cached(model, prompts, model.config.block_size, device, stops=2),
                                         targets):
            written = vocab.decode(g).split(MASK_CHAR)
            if written[0] == sentence:
                recited += 1
                answered += len(written) > 1 and written[1] == answer
    return {"recited": recited, "recited_and_answered": answered, "probed": len(prompts), "questions": len(rows),
            "answer_form": answer_form}


def recital_line(probe: dict) -> str:
    return (f"recital: the sentence written exactly for {probe['recited']} of {probe['probed']} probed "
            f"({probe['answer_form']} form); {probe['recited_and_answered']} of them then answered")


def name_recall_line(probe: dict) -> str:
    both = (f"; {probe['recalled_and_answered']} of them answered by the question"
            if "recalled_and_answered" in probe else "")
    return (f"name recall: the answer in {probe['recalled']} of {probe['probed']} free continuations of the name "
            f"alone ({probe['steps']} characters, {probe['line_form']} form){both}")


def bio_completion_line(probe: dict) -> str:
    return (f"bio completion: {probe['correct']} of {probe['probed']} probed ({probe['questions']} questions; the "
            f"answer within the first {probe['window']} characters of the person's line"
            f"{', in ' + probe['line_form'] + ' form' if probe.get('line_form', 'wiki') != 'wiki' else ''})")


def accuracy(predictions: list[str], answers: list[str]) -> tuple[int, int]:
    """(correct, total) by exact string match."""
    if len(predictions) != len(answers):
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} answers")
    return sum(p == a for p, a in zip(predictions, answers)), len(answers)


def correct_line(correct: int, total: int) -> str:
    return f"Correct: {correct} out of {total}: {100 * correct / total:.1f}%"
