"""DPR encoder -> ONNX in the feature-extraction layout our TypeScript encoder loads.

Inputs input_ids / attention_mask / token_type_ids (int64 [batch, sequence]); outputs
last_hidden_state [batch, sequence, hidden] and pooler_output [batch, hidden]. With
projection_dim 0, DPR's pooler_output is the [CLS] row of last_hidden_state (what HF RAG uses as
the question vector), so a CLS-pooling consumer and a pooler_output consumer agree.
"""

from __future__ import annotations

from pathlib import Path

import torch

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES = ("last_hidden_state", "pooler_output")


class _DprOutputs(torch.nn.Module):
    def __init__(self, dpr_model) -> None:
        super().__init__()
        self.dpr = dpr_model

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.dpr(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_hidden_states=True,
            return_dict=True,
        )
        return out.hidden_states[-1], out.pooler_output


def export_dpr_onnx(dpr_model, out_path: Path, opset: int = 17) -> Path:
    """dpr_model: a DPRQuestionEncoder or DPRContextEncoder."""
    dpr_model = dpr_model.eval()
    gen = torch.Generator().manual_seed(0)
    vocab = int(dpr_model.config.vocab_size)
    ids = torch.randint(5, vocab, (2, 9), generator=gen, dtype=torch.long)
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 6:] = 0
    ids = ids.masked_fill(mask == 0, int(dpr_model.config.pad_token_id or 0))
    types = torch.zeros(2, 9, dtype=torch.long)
    types[0, 4:] = 1
    batch_seq = {0: "batch_size", 1: "sequence_length"}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            _DprOutputs(dpr_model).eval(),
            (ids, mask, types),
            str(out_path),
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={
                **{name: batch_seq for name in INPUT_NAMES},
                "last_hidden_state": batch_seq,
                "pooler_output": {0: "batch_size"},
            },
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return out_path
