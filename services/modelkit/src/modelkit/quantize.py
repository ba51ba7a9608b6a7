"""Dynamic int8 quantisation through onnxruntime.quantization.

Quantising every MatMul of MiniLM loses too much (min cosine ~0.98 on the reference
sentences): the feed-forward output projections see GELU outliers that int8 clips.
Candidates go from smallest/fastest to most conservative; the exporter ships the first
that clears the bar.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class QuantCandidate:
    name: str
    # MatMul node-name fragments kept in fp32.
    keep_fp32: tuple[str, ...]

    def describe(self) -> str:
        kept = ", ".join(self.keep_fp32) if self.keep_fp32 else "none"
        return (
            "onnxruntime.quantization.quantize_dynamic(weight_type=QInt8, per_channel=True, "
            f"all default op types incl. Gather); MatMuls kept fp32: {kept}"
        )


_FFN_OUT = "/output/dense/MatMul"  # also matches attention/output; filtered below
QUANT_CANDIDATES = (
    QuantCandidate("int8-all", ()),
    QuantCandidate("int8-ffn-output-fp32", ("ffn output dense",)),
    QuantCandidate("int8-ffn-fp32", ("ffn output dense", "ffn intermediate dense")),
)


def _excluded_nodes(model_path: Path, candidate: QuantCandidate) -> list[str]:
    import onnx

    names = [n.name for n in onnx.load(str(model_path), load_external_data=False).graph.node if n.op_type == "MatMul"]
    out: list[str] = []
    for name in names:
        is_ffn_out = _FFN_OUT in name and "/attention/" not in name
        is_ffn_in = "/intermediate/dense/MatMul" in name
        if ("ffn output dense" in candidate.keep_fp32 and is_ffn_out) or (
            "ffn intermediate dense" in candidate.keep_fp32 and is_ffn_in
        ):
            out.append(name)
    return out


def quantize_int8(src: Path, dst: Path, candidate: QuantCandidate = QUANT_CANDIDATES[0]) -> Path:
    # Imported here so fp32-only use does not pay for the quantisation tooling.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst.parent.mkdir(parents=True, exist_ok=True)
    excluded = _excluded_nodes(src, candidate)
    if candidate.keep_fp32 and not excluded:
        raise ValueError(f"quantisation candidate {candidate.name} matched no MatMul node in {src}")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs every tensor at INFO/WARNING on the root logger
    try:
        quantize_dynamic(
            model_input=str(src),
            model_output=str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=excluded,
        )
    finally:
        root.setLevel(level)
    return dst
