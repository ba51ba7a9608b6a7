"""Batched-generation reference fixtures: Hugging Face's RAG `generate` on a batch of questions whose
generator inputs have very different lengths, next to each question generated alone.

Reuses the hf-rag fixture generator (its weights read back from the ONNX files, so both sides run the
very same numbers) and tokenizer; the questions, passages and scores are fixed here. Written to
`test/fixtures/hf-rag-batch/fixtures.json` by `python -m modelkit rag-batch-fixtures`.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from modelkit.fixture_corpus import PASSAGES
from modelkit.json_io import write_json

FORMAT = "hf-rag-batch-fixtures/1"
N_DOCS = 3
MAX_COMBINED_LENGTH = 64
MAX_LENGTH = 12
# (question, passage indices, doc scores): one-word to long questions over short and long passages, so the
# real lengths of a batch's context rows range from about a third of MAX_COMBINED_LENGTH to all of it.
QUESTIONS: tuple[tuple[str, tuple[int, ...], tuple[float, ...]], ...] = (
    ("Paris?", (0, 7, 4), (31.5, 30.25, 28.0)),
    ("What is the capital of France?", (0, 3, 1), (40.0, 39.5, 35.0)),
    ("Which river flows through the city of Berlin, the capital of Germany, and where does the river flow into?", (1, 4, 5), (22.0, 21.75, 21.5)),
    ("When was the tower in Paris built?", (7, 0, 6), (18.0, 12.0, 11.0)),
    ("Which mountain is the highest in the Alps, between France and Italy, and how high is it?", (6, 2, 3), (25.0, 24.0, 20.0)),
)


def _rag_models(generator, n_docs: int):
    from transformers import DPRConfig, DPRQuestionEncoder, RagConfig, RagSequenceForGeneration, RagTokenForGeneration

    # Never run (doc_scores are given); RagModel needs one to exist.
    torch.manual_seed(0)
    qe = DPRQuestionEncoder(DPRConfig(vocab_size=100, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)).eval()
    config = RagConfig.from_question_encoder_generator_configs(
        qe.config, generator.config, n_docs=n_docs, max_combined_length=MAX_COMBINED_LENGTH, title_sep=" / ", doc_sep=" // "
    )
    return (
        config,
        RagTokenForGeneration(config, question_encoder=qe, generator=generator).eval(),
        RagSequenceForGeneration(config, question_encoder=qe, generator=generator).eval(),
    )


def _trim(row: list[int], pad: int) -> list[int]:
    while len(row) > 1 and row[-1] == pad:
        row = row[:-1]
    return row


def compute_batch_fixtures(generator_dir: Path) -> dict[str, Any]:
    from transformers import AutoTokenizer, GenerationConfig
    from transformers.models.rag.retrieval_rag import RagRetriever

    from modelkit.bart_from_onnx import bart_from_onnx

    torch.set_num_threads(1)
    generator = bart_from_onnx(generator_dir)
    tok = AutoTokenizer.from_pretrained(generator_dir, use_fast=True)
    config, rag_token, rag_seq = _rag_models(generator, N_DOCS)
    pad = int(generator.config.pad_token_id)
    g = GenerationConfig.from_pretrained(generator_dir)
    kwargs = dict(
        decoder_start_token_id=int(generator.config.decoder_start_token_id),
        bos_token_id=int(generator.config.bos_token_id),
        eos_token_id=int(generator.config.eos_token_id),
        pad_token_id=pad,
        forced_bos_token_id=g.forced_bos_token_id,
        max_length=MAX_LENGTH,
        min_length=0,
        no_repeat_ngram_size=0,
        length_penalty=1.0,
        early_stopping=False,
    )
    questions = [q for q, _, _ in QUESTIONS]
    docs = [{"title": [PASSAGES[i].title for i in idx], "text": [PASSAGES[i].text for i in idx]} for _, idx, _ in QUESTIONS]
    shim = SimpleNamespace(config=config, generator_tokenizer=tok)
    ctx_ids, ctx_mask = RagRetriever.postprocess_docs(shim, docs, questions, None, N_DOCS, return_tensors="pt")
    doc_scores = torch.tensor([list(s) for _, _, s in QUESTIONS], dtype=torch.float32)

    def inputs(rows: slice) -> dict[str, torch.Tensor]:
        q = range(len(QUESTIONS))[rows]
        ctx = slice(q.start * N_DOCS, q.stop * N_DOCS)
        return dict(context_input_ids=ctx_ids[ctx], context_attention_mask=ctx_mask[ctx], doc_scores=doc_scores[rows])

    beams = 3
    beam_cfg = GenerationConfig(**kwargs, num_beams=beams, num_return_sequences=1)
    greedy_cfg = GenerationConfig(**kwargs, num_beams=1)
    seq_kwargs = {k: v for k, v in kwargs.items()}
    everyone = slice(0, len(QUESTIONS))
    with torch.no_grad():
        tok_beam = rag_token.generate(**inputs(everyone), generation_config=beam_cfg, n_docs=N_DOCS, return_dict_in_generate=True, output_scores=True)
        tok_greedy = rag_token.generate(**inputs(everyone), generation_config=greedy_cfg, n_docs=N_DOCS)
        tok_alone = [rag_token.generate(**inputs(slice(i, i + 1)), generation_config=beam_cfg, n_docs=N_DOCS)[0].tolist() for i in range(len(QUESTIONS))]
        seq_batch = rag_seq.generate(**inputs(everyone), do_deduplication=True, num_return_sequences=1, num_beams=2, n_docs=N_DOCS, **seq_kwargs)
        seq_alone = [
            rag_seq.generate(**inputs(slice(i, i + 1)), do_deduplication=True, num_return_sequences=1, num_beams=2, n_docs=N_DOCS, **seq_kwargs)[0].tolist()
            for i in range(len(QUESTIONS))
        ]
    lengths = ctx_mask.sum(1).tolist()
    return {
        "format": FORMAT,
        "generator": "../hf-rag/generator",
        "n_docs": N_DOCS,
        "max_combined_length": MAX_COMBINED_LENGTH,
        "max_length": MAX_LENGTH,
        "context_lengths": lengths,
        "items": [
            {
                "question": q,
                "docs": [{"id": PASSAGES[i].id, "title": PASSAGES[i].title, "text": PASSAGES[i].text, "score": s} for i, s in zip(idx, scores)],
            }
            for q, idx, scores in QUESTIONS
        ],
        "batch": {"context_input_ids": ctx_ids.tolist(), "context_attention_mask": ctx_mask.tolist(), "doc_scores": doc_scores.tolist()},
        "rag_token": {
            "num_beams": beams,
            "beam_sequences": [_trim(r, pad) for r in tok_beam.sequences.tolist()],
            "beam_sequences_scores": [round(float(x), 7) for x in tok_beam.sequences_scores.tolist()],
            "beam_sequences_alone": [_trim(r, pad) for r in tok_alone],
            "greedy_sequences": [_trim(r, pad) for r in tok_greedy.tolist()],
        },
        "rag_sequence": {
            "num_beams": 2,
            "thorough_sequences": [_trim(r, pad) for r in seq_batch.tolist()],
            "thorough_sequences_alone": [_trim(r, pad) for r in seq_alone],
        },
    }


def write_rag_batch_fixtures(out_dir: Path, generator_dir: Path) -> dict[str, Any]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fx = compute_batch_fixtures(Path(generator_dir))
    write_json(out_dir / "fixtures.json", fx)
    return {"out": str(out_dir / "fixtures.json"), "context_lengths": fx["context_lengths"]}
