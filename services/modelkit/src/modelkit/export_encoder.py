"""export-encoder: source package -> ONNX feature-extraction directory + PROVENANCE.json."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelkit.errors import ConformanceError, UsageError
from modelkit.file_hash import sha256_file
from modelkit.json_io import write_json
from modelkit.offline import force_offline
from modelkit.onnx_encoder import OnnxSentenceEncoder
from modelkit.onnx_export import DEFAULT_OPSET, INPUT_NAMES, OUTPUT_NAME, export_encoder_onnx
from modelkit.pooling import cosine_rows
from modelkit.quantize import QUANT_CANDIDATES, quantize_int8
from modelkit.reference import COSINE_THRESHOLDS, UPSTREAM_MODEL
from modelkit.sentences import reference_texts
from modelkit.source_package import SourceModel, locate_model
from modelkit.st_reference import load_sentence_transformer, st_encode
from modelkit.versions import toolchain_versions

log = logging.getLogger("modelkit.export")

# Copied verbatim from the source package (sentence-transformers + HF layout).
VERBATIM_FILES = (
    "config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)
MODEL_LICENCE = "Apache-2.0"
# ORT vs PyTorch on last_hidden_state for the fp32 graph.
FP32_MAX_ABS_DIFF = 1e-4
# Unpinned, an int8 variant ships only if it clears this plus the margin on the exporting machine;
# the portable floor every CPU must clear afterwards is COSINE_THRESHOLDS["int8"] (reference.py).
INT8_SELECT_MIN_COSINE = 0.99
INT8_SAFETY_MARGIN = 0.003


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    provenance: dict[str, Any]


def _write_tokenizer_files(source: Path, dest: Path, max_seq_length: int) -> dict[str, Any]:
    """tokenizer.json as shipped pads every input to 128 and truncates at 128, which would
    silently disagree with sentence-transformers (256). Set truncation to max_seq_length and
    drop fixed padding so callers pad per batch."""
    tok = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    original = {"truncation": tok.get("truncation"), "padding": tok.get("padding")}
    tok["truncation"] = {"direction": "Right", "max_length": max_seq_length, "strategy": "LongestFirst", "stride": 0}
    tok["padding"] = None
    (dest / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    cfg = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    cfg["model_max_length"] = max_seq_length
    write_json(dest / "tokenizer_config.json", cfg)
    return {
        "tokenizer.json": {"was": original, "now": {"truncation": tok["truncation"], "padding": None}},
        "tokenizer_config.json": {"model_max_length": max_seq_length},
    }


def _cosine_stats(candidate: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    cos = cosine_rows(candidate, reference)
    return {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6), "sentences": int(cos.size)}


def _torch_vs_ort(torch_model, encoder: OnnxSentenceEncoder, texts: list[str]) -> float:
    import torch

    batch = encoder.tokenize(texts)
    ort_out = encoder.last_hidden_state(batch)
    with torch.no_grad():
        ref = torch_model(**{k: torch.from_numpy(v) for k, v in batch.items()}).last_hidden_state.numpy()
    mask = batch["attention_mask"].astype(bool)
    return float(np.abs(ort_out[mask] - ref[mask]).max())


def export_encoder(
    package: str,
    out_dir: Path,
    int8: bool = False,
    opset: int = DEFAULT_OPSET,
    int8_candidate: str | None = None,
) -> ExportResult:
    """`int8_candidate` pins the int8 variant (see quantize.QUANT_CANDIDATES) instead of taking the
    first that clears INT8_SELECT_MIN_COSINE on this CPU: int8 kernels differ between CPUs, so only a
    pinned variant rebuilds the same bytes everywhere. A pinned variant must clear the portable floor
    COSINE_THRESHOLDS["int8"] or the export fails."""
    names = [c.name for c in QUANT_CANDIDATES]
    if int8_candidate is not None and int8_candidate not in names:
        raise UsageError(f"unknown int8 candidate {int8_candidate!r}", hint=f"one of: {', '.join(names)}")
    force_offline()
    import torch
    from transformers import AutoModel

    torch.set_num_threads(2)
    source: SourceModel = locate_model(package)
    log.info("source %s %s at %s", source.package, source.version, source.model_dir)
    st_config = json.loads((source.model_dir / "sentence_bert_config.json").read_text())
    max_seq_length = int(st_config["max_seq_length"])

    # Eager attention traces to plain MatMul/Softmax; the SDPA path adds mask shortcuts
    # that a tracer can freeze to the sample input.
    model = AutoModel.from_pretrained(str(source.model_dir), attn_implementation="eager", local_files_only=True)
    model.eval()

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        stage = Path(tmp) / "stage"
        work = Path(tmp) / "work"
        stage.mkdir()
        work.mkdir()
        for rel in VERBATIM_FILES:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.model_dir / rel, stage / rel)
        tokenizer_changes = _write_tokenizer_files(source.model_dir, stage, max_seq_length)

        fp32_path = export_encoder_onnx(model, work / "model_fp32.onnx", opset=opset)
        shutil.copyfile(fp32_path, stage / "model.onnx")

        texts = reference_texts()
        reference = st_encode(load_sentence_transformer(source.model_dir), texts)
        fp32_encoder = OnnxSentenceEncoder(stage)
        fp32_stats = _cosine_stats(fp32_encoder.encode(texts), reference)
        fp32_stats["maxAbsDiffVsTorch"] = _torch_vs_ort(model, fp32_encoder, texts[:8])
        log.info("fp32 conformance %s", fp32_stats)
        if fp32_stats["min"] < COSINE_THRESHOLDS["fp32"] or fp32_stats["maxAbsDiffVsTorch"] > FP32_MAX_ABS_DIFF:
            raise ConformanceError(
                f"fp32 ONNX export disagrees with sentence-transformers: {fp32_stats}",
                hint="check the torch/transformers versions against requirements.lock; rerun infra/setup-python.sh --force",
            )

        quant: dict[str, Any] = {"requested": int8, "applied": False, "method": None, "bar": None, "tried": []}
        int8_size = None
        def measure(candidate) -> tuple[Path, dict[str, float]]:
            path = quantize_int8(fp32_path, work / f"{candidate.name}.onnx", candidate)
            stats = _cosine_stats(OnnxSentenceEncoder(work, model_file=path.name, tokenizer_dir=stage).encode(texts), reference)
            quant["tried"].append({"name": candidate.name, "bytes": path.stat().st_size, **stats})
            log.info("int8 candidate %s: %s", candidate.name, stats)
            return path, stats

        def ship(candidate, path: Path, stats: dict[str, float]) -> int:
            shutil.copyfile(path, stage / "model.onnx")
            quant.update(applied=True, candidate=candidate.name, method=candidate.describe(), cosineVsSentenceTransformers=stats)
            return path.stat().st_size

        if int8_candidate is not None:
            candidate = QUANT_CANDIDATES[names.index(int8_candidate)]
            quant.update(requested=True, bar={"minCosine": COSINE_THRESHOLDS["int8"], "pinned": candidate.name})
            path, stats = measure(candidate)
            if stats["min"] < COSINE_THRESHOLDS["int8"]:
                raise ConformanceError(
                    f"pinned int8 variant {candidate.name} scores min cosine {stats['min']} < {COSINE_THRESHOLDS['int8']} on this CPU",
                    hint="drop --int8-candidate to let the exporter choose (it may ship fp32), or check the onnxruntime version",
                )
            int8_size = ship(candidate, path, stats)
        elif int8:
            quant["bar"] = {"minCosine": INT8_SELECT_MIN_COSINE, "safetyMargin": INT8_SAFETY_MARGIN}
            for candidate in QUANT_CANDIDATES:
                path, stats = measure(candidate)
                if stats["min"] >= INT8_SELECT_MIN_COSINE + INT8_SAFETY_MARGIN:
                    int8_size = ship(candidate, path, stats)
                    break
            else:
                quant["rejectedBecause"] = "no int8 candidate reached the cosine bar; shipped fp32"

        files = {
            str(p.relative_to(stage)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(stage.rglob("*"))
            if p.is_file()
        }
        provenance = {
            "model": UPSTREAM_MODEL,
            "licence": MODEL_LICENCE,
            "source": {
                "package": source.package,
                "version": source.version,
                "packageLicence": source.licence,
                "weights": "model.safetensors from the package (HF_HUB_OFFLINE=1)",
            },
            "toolchain": toolchain_versions(),
            "command": f"python -m modelkit export-encoder --package {package} --out <dir>" + (" --int8" if int8 else ""),
            "export": {
                "exporter": "torch.onnx.export (TorchScript, dynamo=False)",
                "opset": opset,
                "attnImplementation": "eager",
                "inputs": {name: {"dtype": "int64", "shape": ["batch_size", "sequence_length"]} for name in INPUT_NAMES},
                "outputs": {OUTPUT_NAME: {"dtype": "float32", "shape": ["batch_size", "sequence_length", int(model.config.hidden_size)]}},
                "fp32Bytes": fp32_path.stat().st_size,
                "int8Bytes": int8_size,
            },
            "sentenceTransformers": {"maxSeqLength": max_seq_length, "pooling": "mean", "normalize": True},
            "tokenizerChanges": tokenizer_changes,
            "precision": "int8" if quant["applied"] else "fp32",
            "quantisation": quant,
            "conformance": {
                "reference": "SentenceTransformer(package model dir).encode(normalize_embeddings=True) on modelkit.sentences",
                "fp32": fp32_stats,
            },
            "files": files,
        }
        write_json(stage / "PROVENANCE.json", provenance)

        # Replace the output directory only once everything passed.
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.move(str(stage), str(out_dir))
    return ExportResult(out_dir=out_dir, provenance=provenance)
