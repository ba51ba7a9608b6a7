"""torch.onnx export of a Hugging Face encoder in the Optimum feature-extraction layout."""

from __future__ import annotations

from pathlib import Path

import torch

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
DEFAULT_OPSET = 17


class _LastHiddenState(torch.nn.Module):
    """Fixes the positional argument order and returns only the token states."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: D401
        out = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            return_dict=True,
        )
        return out.last_hidden_state


def sample_inputs(vocab_size: int, batch: int = 2, seq: int = 11) -> tuple[torch.Tensor, ...]:
    """Trace inputs with padding in the second row, so no shape or mask value is baked in."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000 % vocab_size, vocab_size, (batch, seq), generator=generator, dtype=torch.long)
    mask = torch.ones(batch, seq, dtype=torch.long)
    mask[-1, seq // 2 :] = 0
    ids = ids * mask
    token_types = torch.zeros(batch, seq, dtype=torch.long)
    return ids, mask, token_types


def export_encoder_onnx(encoder: torch.nn.Module, out_path: Path, opset: int = DEFAULT_OPSET) -> Path:
    """Writes `out_path` with inputs input_ids/attention_mask/token_type_ids (int64,
    [batch, sequence]) and output last_hidden_state [batch, sequence, hidden]."""
    encoder = encoder.eval()
    wrapper = _LastHiddenState(encoder).eval()
    args = sample_inputs(int(encoder.config.vocab_size))
    dynamic_axes = {name: {0: "batch_size", 1: "sequence_length"} for name in INPUT_NAMES}
    dynamic_axes[OUTPUT_NAME] = {0: "batch_size", 1: "sequence_length"}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            args,
            str(out_path),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            # The TorchScript exporter: stable, byte-deterministic output, no onnxscript needed.
            dynamo=False,
        )
    return out_path
