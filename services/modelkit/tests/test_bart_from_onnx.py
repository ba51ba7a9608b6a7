"""PyTorch weights read back from our ONNX exports reproduce ONNX Runtime's logits."""

from pathlib import Path

import pytest
import torch

from modelkit.bart_from_onnx import bart_from_onnx
from modelkit.errors import ModelkitError

REPO_ROOT = Path(__file__).resolve().parents[3]

FIXTURE_GENERATOR = REPO_ROOT / "test" / "fixtures" / "hf-rag" / "generator"
WORLD_GENERATOR = REPO_ROOT / "models" / "world-generator"


@pytest.mark.parametrize("model_dir", [FIXTURE_GENERATOR, WORLD_GENERATOR], ids=["hf-rag-fixture", "world-generator"])
def test_rebuilt_weights_generate_like_the_export(model_dir):
    if not (model_dir / "onnx" / "decoder_model.onnx").is_file():
        pytest.skip(f"{model_dir} not present")
    # bart_from_onnx itself compares full-sequence logits with ONNX Runtime (1e-4) before returning.
    model = bart_from_onnx(model_dir)
    assert model.config.vocab_size == model.lm_head.weight.shape[0]
    # Tied embeddings stay tied: the head is the shared table.
    assert torch.equal(model.lm_head.weight, model.model.shared.weight)


def test_a_directory_without_graphs_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelkitError, match="encoder_model.onnx"):
        bart_from_onnx(tmp_path)
