"""Baselines that need no model: "London" for everyone (MODEL.md), and the answer sheet's
strategy for unseen names (claim Q3c): answer with the birthplace of the most similar
training name."""

from __future__ import annotations

from collections import Counter

import numpy as np

from .data import QA, QUESTION


def london(rows: list[QA]) -> list[str]:
    return ["London"] * len(rows)


def name_of(question: str) -> str:
    """The person's name in `Where was <name> born?` (the whole question otherwise)."""
    m = QUESTION.match(question)
    return m.group(1) if m else question


def trigrams(name: str) -> Counter:
    s = f"  {name.lower()} "
    return Counter(s[i:i + 3] for i in range(len(s) - 2))


def nearest_names(queries: list[str], names: list[str]) -> list[int]:
    """For each query, the index of the most similar name: the cosine similarity of
    lower-cased character-trigram counts (word starts padded, so first letters count).
    Ties go to the earliest name, so the result is deterministic."""
    vocab: dict[str, int] = {}
    def matrix(items):
        grams = [trigrams(x) for x in items]
        for g in grams:
            for t in g:
                vocab.setdefault(t, len(vocab))
        return grams
    q_grams, n_grams = matrix(queries), matrix(names)
    def dense(grams):
        a = np.zeros((len(grams), len(vocab)))
        for i, g in enumerate(grams):
            for t, c in g.items():
                a[i, vocab[t]] = c
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    sim = dense(q_grams) @ dense(n_grams).T
    return sim.argmax(axis=1).tolist()  # argmax returns the first maximum


def nearest_name(train: list[QA], rows: list[QA]) -> tuple[list[str], list[int]]:
    """(predictions, index of the training row used for each)."""
    train_names = [name_of(r.question) for r in train]
    idx = nearest_names([name_of(r.question) for r in rows], train_names)
    return [train[i].answer for i in idx], idx
