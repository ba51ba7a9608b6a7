"""Exact match with SQuAD answer normalisation, best over the gold answers."""

from __future__ import annotations

import re
import string
from collections import defaultdict

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: list[str]) -> bool:
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(g) for g in golds)


class EmTable:
    """EM accumulated per question type and overall."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = defaultdict(int)
        self.total: dict[str, int] = defaultdict(int)

    def add(self, qtype: str, hit: bool, changed: bool = False) -> None:
        """`changed`: the gold answer differs between the years; those questions are also
        counted under "changed" (the subset the paper's 2016-vs-2018 table is about)."""
        for key in ("all", qtype, *(("changed",) if changed else ())):
            self.total[key] += 1
            self.hits[key] += int(hit)

    def as_dict(self) -> dict[str, dict[str, float | int]]:
        return {
            key: {"em": round(self.hits[key] / self.total[key], 4), "n": self.total[key]}
            for key in sorted(self.total)
        }
