"""DPR-style fine-tuning of the question tower only.

The passage tower stays frozen: positives and negatives are the published snapshot's own
vectors, so a snapshot built with the default passage encoder stays valid for the new
question encoder. Loss: softmax cross-entropy of each question over its positive, the other
questions' positives (in-batch negatives) and mined hard negatives, at a fixed temperature.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelkit.training_loop import TrainingLoop, shuffled_batches
from modelkit.world_data import Example, WorldSplit

log = logging.getLogger("modelkit.train.qenc")

# Scores are cosine * SCORE_SCALE; the RAG runtime uses the same scale for doc_scores.
SCORE_SCALE = 20.0
MAX_QUESTION_LENGTH = 64


class QuestionEncoder:
    """A sentence-transformers style tower (mean pooling + L2) over a Hugging Face encoder."""

    def __init__(self, model, tokenizer, max_length: int = MAX_QUESTION_LENGTH) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_dir(cls, model_dir: Path) -> "QuestionEncoder":
        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        return cls(model, tokenizer)

    def tokenize(self, texts: list[str]):
        return self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )

    def embed(self, texts: list[str]):
        """Differentiable [len(texts), dim] normalised embeddings."""
        import torch

        batch = self.tokenize(texts)
        hidden = self.model(**batch, return_dict=True).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        import torch

        was_training = self.model.training
        self.model.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                out.append(self.embed(texts[start : start + batch_size]).numpy())
        self.model.train(was_training)
        return np.concatenate(out, axis=0).astype(np.float32)


@dataclass
class QencConfig:
    epochs: int = 2
    batch_size: int = 32
    lr: float = 3e-5
    warmup_ratio: float = 0.1
    hard_negatives: int = 2
    seed: int = 13


def top_k(query_vectors: np.ndarray, passage_vectors: np.ndarray, k: int) -> np.ndarray:
    scores = query_vectors @ passage_vectors.T
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


@dataclass
class _Item:
    example: Example
    world: int
    positive: np.ndarray
    hard: list[np.ndarray]


def _mine(encoder: QuestionEncoder, worlds: list[WorldSplit], hard_negatives: int) -> list[_Item]:
    items: list[_Item] = []
    for world in worlds:
        for year, snap in world.snapshots.items():
            exs = [e for e in world.examples if e.year == year and e.positives]
            if not exs:
                continue
            qv = encoder.encode([e.question.question for e in exs])
            ranked = top_k(qv, snap.vectors, hard_negatives + 8)
            for e, row in zip(exs, ranked):
                pos = set(e.positives)
                hard = [snap.vectors[i] for i in row if i not in pos][:hard_negatives]
                items.append(_Item(e, world.seed, snap.vectors[e.positives[0]], hard))
    return items


def mine_items(encoder: QuestionEncoder, worlds: list[WorldSplit], hard_negatives: int) -> list[_Item]:
    """Training items: each example with a positive, plus its top-ranked non-positive passages."""
    return _mine(encoder, worlds, hard_negatives)


def dpr_loss(encoder: QuestionEncoder, batch: list[_Item]):
    """Cross-entropy of each question over the batch's positives (in-batch negatives) and hard negatives."""
    import torch

    q = encoder.embed([b.example.question.question for b in batch])
    cand = [b.positive for b in batch] + [h for b in batch for h in b.hard]
    scores = SCORE_SCALE * q @ torch.from_numpy(np.stack(cand)).T
    # The same question asked of the other year (or its world twin) is not a negative.
    n = len(batch)
    keys = [(b.world, b.example.question.qid) for b in batch]
    mask = torch.zeros_like(scores, dtype=torch.bool)
    for r in range(n):
        for c in range(n):
            if c != r and keys[c] == keys[r]:
                mask[r, c] = True
    return torch.nn.functional.cross_entropy(scores.masked_fill(mask, -1e4), torch.arange(n))


def train_question_encoder(
    encoder: QuestionEncoder,
    worlds: list[WorldSplit],
    config: QencConfig,
    max_steps: int | None = None,
) -> list[float]:
    """Trains `encoder.model` in place; returns the loss of every step."""
    import torch

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    items = _mine(encoder, worlds, config.hard_negatives)
    if not items:
        raise ValueError("no training example has a positive passage")
    steps_per_epoch = max(1, len(items) // config.batch_size)
    total = steps_per_epoch * config.epochs if max_steps is None else max_steps
    loop = TrainingLoop(
        name="qenc", modules=[encoder.model], param_groups=[{"params": list(encoder.model.parameters()), "lr": config.lr}],
        total=total, warmup=max(1, int(total * config.warmup_ratio)), logger=log,
    )
    return loop.run(lambda: shuffled_batches(rng, items, config.batch_size), lambda batch, _step: dpr_loss(encoder, batch))


def retrieval_recall(encoder: QuestionEncoder, world: WorldSplit, k: int = 5) -> dict:
    """recall@k per question type: a top-k passage is a positive (examples with one), and a
    top-k passage contains a gold answer of the year (all examples)."""
    from modelkit.world_metrics import EmTable

    positive = EmTable()
    answer = EmTable()
    for year, snap in world.snapshots.items():
        exs = [e for e in world.examples if e.year == year]
        qv = encoder.encode([e.question.question for e in exs])
        ranked = top_k(qv, snap.vectors, k)
        for e, row in zip(exs, ranked):
            answer.add(e.question.qtype, any(any(a in snap.texts[i] for a in e.question.answers[year]) for i in row), changed=e.question.changed)
            if e.positives:
                positive.add(e.question.qtype, bool(set(e.positives) & set(int(i) for i in row)), changed=e.question.changed)
    return {"positive": positive.as_dict(), "answer": answer.as_dict()}
