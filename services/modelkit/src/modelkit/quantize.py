"""Dynamic int8 quantisation through onnxruntime.quantization."""

from __future__ import annotations

from pathlib import Path

QUANTISATION_METHOD = "onnxruntime.quantization.quantize_dynamic(weight_type=QInt8, per_channel=False, op_types=MatMul)"


def quantize_int8(src: Path, dst: Path) -> Path:
    # Imported here so fp32-only use does not pay for the quantisation tooling.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(
        model_input=str(src),
        model_output=str(dst),
        weight_type=QuantType.QInt8,
        per_channel=False,
        # MatMul carries nearly all weights; leaving the embedding Gather in fp32 keeps
        # token vectors exact, which is where most of the cosine loss comes from.
        op_types_to_quantize=["MatMul"],
    )
    return dst
