"""The Hugging Face side of `npm run bench:generate-vs-hf`.

Reads a request (JSON file) naming a generator directory and batches of RAG inputs exactly as our
TypeScript side feeds them (context_input_ids / context_attention_mask padded to max_combined_length,
doc_scores), runs `RagTokenForGeneration.generate` and `RagSequenceForGeneration.generate` on them with
the same thread count, and prints one JSON object: per mode, the best wall time over `reps` and the
generated rows (for the identical-output check on the TypeScript side).

Weights: a directory with PyTorch weights (`torch/` beside `onnx/`, as `build_random_bart` writes)
is loaded with from_pretrained; otherwise they are read back from the ONNX graphs (bart_from_onnx),
as for the shipped world generator, which exists only as ONNX.

`build_random_bart` makes the FLOP-bound peer: a BART with bart-base's shape (6+6 layers, d_model
768, 12 heads, FFN 3072, vocabulary 50265) and random weights from a seed, exported by our exporter.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from modelkit.errors import UsageError

TORCH_SUBDIR = "torch"

BART_BASE_SHAPE = dict(
    d_model=768,
    encoder_layers=6,
    decoder_layers=6,
    encoder_attention_heads=12,
    decoder_attention_heads=12,
    encoder_ffn_dim=3072,
    decoder_ffn_dim=3072,
    vocab_size=50265,
    max_position_embeddings=1024,
)


def build_random_bart(out_dir: Path, tokenizer_dir: Path, seed: int = 0) -> dict[str, Any]:
    """bart-base's shape, random weights (seeded), special ids of `tokenizer_dir`'s tokenizer; writes
    `out_dir/torch` (PyTorch) and the Optimum ONNX layout in `out_dir` (verified against PyTorch)."""
    from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration, GenerationConfig

    from modelkit.export_seq2seq import export_seq2seq

    out_dir = Path(out_dir)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir, use_fast=True)
    config = BartConfig(
        **BART_BASE_SHAPE,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
        scale_embedding=False,
    )
    torch.manual_seed(seed)
    model = BartForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=0, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=2, max_length=20)
    model.save_pretrained(out_dir / TORCH_SUBDIR)
    tok.save_pretrained(out_dir / TORCH_SUBDIR)
    export_seq2seq(model, tok, out_dir)
    return {"out": str(out_dir), "parameters": sum(p.numel() for p in model.parameters())}


def _load_generator(model_dir: Path):
    from transformers import BartForConditionalGeneration

    if (model_dir / TORCH_SUBDIR / "config.json").is_file():
        return BartForConditionalGeneration.from_pretrained(model_dir / TORCH_SUBDIR, attn_implementation="eager").eval()
    from modelkit.bart_from_onnx import bart_from_onnx

    return bart_from_onnx(model_dir)


def _rag_models(generator, n_docs: int, max_combined_length: int):
    from transformers import DPRConfig, DPRQuestionEncoder, RagConfig, RagSequenceForGeneration, RagTokenForGeneration

    # The question encoder is never run (doc_scores are given); RagModel only needs one to exist.
    qe = DPRQuestionEncoder(DPRConfig(vocab_size=100, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)).eval()
    config = RagConfig.from_question_encoder_generator_configs(qe.config, generator.config, n_docs=n_docs, max_combined_length=max_combined_length)
    return (
        RagTokenForGeneration(config, question_encoder=qe, generator=generator).eval(),
        RagSequenceForGeneration(config, question_encoder=qe, generator=generator).eval(),
    )


def run_request(request_path: Path) -> dict[str, Any]:
    req = json.loads(Path(request_path).read_text())
    threads = int(req["threads"])
    torch.set_num_threads(threads)
    model_dir = Path(req["model_dir"])
    if not (model_dir / "config.json").is_file():
        raise UsageError(f"{model_dir} has no config.json", hint="pass a generator directory (config.json, onnx/)")
    generator = _load_generator(model_dir)
    n_docs = int(req["n_docs"])
    rag_token, rag_seq = _rag_models(generator, n_docs, int(req["max_combined_length"]))
    g = generator.generation_config
    common = dict(
        max_length=int(req["max_length"]),
        min_length=0,
        decoder_start_token_id=generator.config.decoder_start_token_id,
        bos_token_id=generator.config.bos_token_id,
        eos_token_id=generator.config.eos_token_id,
        pad_token_id=generator.config.pad_token_id,
        forced_bos_token_id=g.forced_bos_token_id,
        forced_eos_token_id=g.forced_eos_token_id,
    )
    batches = [
        dict(
            context_input_ids=torch.tensor(b["context_input_ids"], dtype=torch.long),
            context_attention_mask=torch.tensor(b["context_attention_mask"], dtype=torch.long),
            doc_scores=torch.tensor(b["doc_scores"], dtype=torch.float32),
        )
        for b in req["batches"]
    ]
    beams = int(req["beams"])

    def rag_token_run(b):
        from transformers import GenerationConfig

        cfg = GenerationConfig(**common, num_beams=beams, num_return_sequences=1, early_stopping=False, length_penalty=1.0)
        return rag_token.generate(**b, generation_config=cfg, n_docs=n_docs)

    def rag_sequence_run(b):
        return rag_seq.generate(**b, do_deduplication=True, num_return_sequences=1, num_beams=beams, n_docs=n_docs, **common)

    runners = {"rag-token": rag_token_run, "rag-sequence": rag_sequence_run}
    out: dict[str, Any] = {"threads": torch.get_num_threads(), "torch": torch.__version__, "modes": {}}
    for mode in req["modes"]:
        run = runners[mode]
        best = float("inf")
        rows: list[list[int]] = []
        with torch.no_grad():
            run(batches[0])  # warm-up
            for _ in range(int(req["reps"])):
                t0 = time.perf_counter()
                rows = [r for b in batches for r in run(b).tolist()]
                best = min(best, time.perf_counter() - t0)
        out["modes"][mode] = {"seconds": best, "sequences": rows}
    return out
