"""Sentence-transformers pooling (mean over real tokens, then L2) in numpy."""

from __future__ import annotations

import numpy as np


def mean_pool(last_hidden_state: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    mask = attention_mask.astype(np.float32)[..., None]
    summed = (last_hidden_state.astype(np.float32) * mask).sum(axis=1)
    # Same clamp as sentence-transformers so an all-padding row cannot divide by zero.
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    return summed / counts


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two equally shaped matrices."""
    return (l2_normalize(a) * l2_normalize(b)).sum(axis=1)
