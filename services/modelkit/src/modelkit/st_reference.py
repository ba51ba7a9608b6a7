"""The reference implementation: sentence-transformers loaded from the source package."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelkit.offline import force_offline


def load_sentence_transformer(model_dir: Path):
    force_offline()
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # Overlong inputs are expected (truncation is under test); skip the length warning.
    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def st_encode(model, texts: list[str], batch_size: int = 8) -> np.ndarray:
    return model.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    ).astype(np.float32)
