"""Keeps Hugging Face libraries off the network: everything comes from installed packages."""

from __future__ import annotations

import os


def force_offline() -> None:
    # Must run before transformers / sentence-transformers / huggingface_hub are imported.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
