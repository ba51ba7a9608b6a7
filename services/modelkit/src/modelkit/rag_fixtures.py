"""rag-fixtures: reference values from Hugging Face's RAG classes on tiny random models.

Everything is built from configs with fixed seeds (no hub, no retriever index): a 2-layer DPR
question encoder and context encoder, a 2+2-layer BART generator, a WordPiece and a byte-level BPE
tokenizer learned from the fixed corpus in fixture_corpus.py. Retrieval is exact inner product over
eight passages; RAG is then driven with `context_input_ids`, `context_attention_mask` and
`doc_scores` supplied by us. README.md (written next to fixtures.json) says how every value was made.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from modelkit.errors import ConformanceError
from modelkit.fixture_corpus import PASSAGES, QUESTIONS, WORDPIECE_SPLITS
from modelkit.fixture_dpr import export_dpr_onnx
from modelkit.fixture_json import dumps
from modelkit.fixture_rag_math import (
    fast_sequence_scores,
    rag_sequence_doc_loglik,
    rag_token_doc_posteriors,
    rag_token_step_logprobs,
    shifted_targets,
)
from modelkit.fixture_tokenizers import build_byte_bpe, build_wordpiece, wrap_bart, wrap_dpr
from modelkit.versions import toolchain_versions

log = logging.getLogger("modelkit.rag_fixtures")

FORMAT = "hf-rag-fixtures/1"
# DPR seeds picked (from a scan of 1..59) so retrieval varies across questions and reaches the two
# passages with string quirks (p5's quoted title, p7's double space); see fixture_corpus.py.
DPR_SEED = 27
GENERATOR_SEED = 20241127
N_DOCS = 4
MAX_COMBINED_LENGTH = 56
GENERATOR_VOCAB = 200
HIDDEN = 32
DPR_INIT_RANGE = 0.2
BART_INIT_STD = 0.2
# Added to the generator's EOS logit (BART's final_logits_bias) so that some hypotheses end early
# and others run to max_length: both paths (finished beams, pad after EOS) get exercised.
EOS_LOGIT_BIAS = 3.5
MAX_LENGTH = 10
# Values HF must reproduce from our own recomputation, fp32.
SELF_CHECK_TOL = 1e-5

DPR_DIR = "question_encoder"
CTX_DIR = "ctx_encoder"
GENERATOR_DIR = "generator"
FIXTURES_FILE = "fixtures.json"


@contextlib.contextmanager
def _deterministic_torch():
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic)


def _tokenizer_texts() -> tuple[list[str], list[str]]:
    base = [p.title for p in PASSAGES] + [p.text for p in PASSAGES] + [q.question for q in QUESTIONS]
    base += [q.answer for q in QUESTIONS]
    # The generator reads "title / text // question" with the question as DPR's uncased tokenizer
    # decodes it, so the BPE also learns from those strings.
    gen = base + [
        f"{p.title.strip(chr(34))} / {p.text.replace('  ', ' ')} // {q.question.lower()}" for p in PASSAGES for q in QUESTIONS
    ]
    return base, gen


def build_tokenizers():
    base, gen = _tokenizer_texts()
    wordpiece = build_wordpiece(base, WORDPIECE_SPLITS)
    bpe = build_byte_bpe(gen, GENERATOR_VOCAB)
    return wrap_dpr(wordpiece), wrap_bart(bpe)


def build_models(dpr_tok, bart_tok):
    from transformers import (
        BartConfig,
        BartForConditionalGeneration,
        DPRConfig,
        DPRContextEncoder,
        DPRQuestionEncoder,
        GenerationConfig,
    )

    dpr_config = DPRConfig(
        vocab_size=len(dpr_tok),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=64,
        initializer_range=DPR_INIT_RANGE,
        projection_dim=0,
        pad_token_id=dpr_tok.pad_token_id,
        attn_implementation="eager",
    )
    torch.manual_seed(DPR_SEED)
    question_encoder = DPRQuestionEncoder(dpr_config).eval()
    torch.manual_seed(DPR_SEED + 1)
    ctx_encoder = DPRContextEncoder(dpr_config).eval()

    bart_config = BartConfig(
        vocab_size=len(bart_tok),
        d_model=HIDDEN,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=2 * HIDDEN,
        decoder_ffn_dim=2 * HIDDEN,
        max_position_embeddings=64,
        init_std=BART_INIT_STD,
        pad_token_id=bart_tok.pad_token_id,
        bos_token_id=bart_tok.bos_token_id,
        eos_token_id=bart_tok.eos_token_id,
        decoder_start_token_id=bart_tok.eos_token_id,
        forced_eos_token_id=None,
        attn_implementation="eager",
    )
    torch.manual_seed(GENERATOR_SEED)
    generator = BartForConditionalGeneration(bart_config).eval()
    with torch.no_grad():
        generator.final_logits_bias[0, bart_tok.eos_token_id] = EOS_LOGIT_BIAS
    generator.generation_config = GenerationConfig(**generator_generation_kwargs(bart_config))
    return question_encoder, ctx_encoder, generator


def generator_generation_kwargs(bart_config) -> dict[str, Any]:
    """Everything that shapes decoding, explicit (BART-large style: decoder starts with </s>,
    then <s> is forced; no n-gram blocking, no minimum length, no forced EOS)."""
    return dict(
        decoder_start_token_id=int(bart_config.decoder_start_token_id),
        bos_token_id=int(bart_config.bos_token_id),
        eos_token_id=int(bart_config.eos_token_id),
        pad_token_id=int(bart_config.pad_token_id),
        forced_bos_token_id=int(bart_config.bos_token_id),
        max_length=MAX_LENGTH,
        min_length=0,
        no_repeat_ngram_size=0,
        repetition_penalty=1.0,
        length_penalty=1.0,
        early_stopping=False,
        do_sample=False,
    )


def _encode_dpr(model, enc) -> torch.Tensor:
    with torch.no_grad():
        return model(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            token_type_ids=enc["token_type_ids"],
        ).pooler_output


def _rag_config(question_encoder, generator):
    from transformers import RagConfig

    return RagConfig.from_question_encoder_generator_configs(
        question_encoder.config,
        generator.config,
        n_docs=N_DOCS,
        max_combined_length=MAX_COMBINED_LENGTH,
        title_sep=" / ",
        doc_sep=" // ",
        retrieval_vector_size=HIDDEN,
        label_smoothing=0.0,
        do_deduplication=True,
        exclude_bos_score=False,
        reduce_loss=False,
    )


def _context_inputs(rag_config, bart_tok, input_strings: list[str], docs: list[dict[str, list[str]]]):
    """HF's own RagRetriever.postprocess_docs (it only reads `config` and `generator_tokenizer`),
    so string building, quote stripping, double-space collapsing and padding are HF's."""
    from transformers.models.rag.retrieval_rag import RagRetriever

    shim = SimpleNamespace(config=rag_config, generator_tokenizer=bart_tok)
    ids, mask = RagRetriever.postprocess_docs(shim, docs, input_strings, None, N_DOCS, return_tensors="pt")
    strings = [
        (d["title"][j].removeprefix('"').removesuffix('"') + rag_config.title_sep + d["text"][j] + rag_config.doc_sep + q).replace(
            "  ", " "
        )
        for d, q in zip(docs, input_strings)
        for j in range(N_DOCS)
    ]
    return ids, mask, strings


def _trim(seq: list[int], pad_id: int) -> list[int]:
    while len(seq) > 1 and seq[-1] == pad_id:
        seq = seq[:-1]
    return seq


def _check(name: str, ours: torch.Tensor, theirs: torch.Tensor) -> float:
    diff = float((ours - theirs).abs().max())
    if diff > SELF_CHECK_TOL:
        raise ConformanceError(f"{name}: our recomputation differs from transformers by {diff:.3g}")
    return diff


def compute_fixtures() -> tuple[dict[str, Any], dict[str, Any]]:
    """Returns (fixtures, objects) where objects holds the models/tokenizers to export."""
    from transformers import GenerationConfig, RagSequenceForGeneration, RagTokenForGeneration

    dpr_tok, bart_tok = build_tokenizers()
    question_encoder, ctx_encoder, generator = build_models(dpr_tok, bart_tok)
    pad, bos = bart_tok.pad_token_id, bart_tok.bos_token_id
    checks: dict[str, float] = {}

    # --- retrieval: DPR vectors, exact inner-product search, HF's bmm for doc_scores
    q_enc = dpr_tok([q.question for q in QUESTIONS], padding=True, return_tensors="pt")
    p_enc = dpr_tok([p.title for p in PASSAGES], [p.text for p in PASSAGES], padding=True, return_tensors="pt")
    q_vecs = _encode_dpr(question_encoder, q_enc)
    p_vecs = _encode_dpr(ctx_encoder, p_enc)
    all_scores = q_vecs @ p_vecs.T
    top = torch.topk(all_scores, N_DOCS, dim=1)
    doc_idx = top.indices
    retrieved_embeds = p_vecs[doc_idx]  # [B, K, H]
    doc_scores = torch.bmm(q_vecs.unsqueeze(1), retrieved_embeds.transpose(1, 2)).squeeze(1)

    input_strings = dpr_tok.batch_decode(q_enc["input_ids"], skip_special_tokens=True)
    docs = [
        {"title": [PASSAGES[i].title for i in row], "text": [PASSAGES[i].text for i in row]} for row in doc_idx.tolist()
    ]
    rag_config = _rag_config(question_encoder, generator)
    ctx_ids, ctx_mask, ctx_strings = _context_inputs(rag_config, bart_tok, input_strings, docs)
    if int(ctx_mask.sum(1).max()) >= MAX_COMBINED_LENGTH:
        raise ConformanceError("a context was truncated; raise MAX_COMBINED_LENGTH")

    rag_token = RagTokenForGeneration(rag_config, question_encoder=question_encoder, generator=generator).eval()
    rag_seq = RagSequenceForGeneration(rag_config, question_encoder=question_encoder, generator=generator).eval()
    gen_kwargs = generator_generation_kwargs(generator.config)

    # --- labels: [decoder_start] + tokenizer(answer) (= "<s> answer </s>"), right-padded
    ans = bart_tok([q.answer for q in QUESTIONS], padding=True, return_tensors="pt")["input_ids"]
    labels = torch.cat([ans.new_full((ans.shape[0], 1), gen_kwargs["decoder_start_token_id"]), ans], dim=1)

    rag_inputs = dict(context_input_ids=ctx_ids, context_attention_mask=ctx_mask, doc_scores=doc_scores)
    with torch.no_grad():
        # RAG-Token forward with labels.
        tok_out = rag_token(**rag_inputs, labels=labels, reduce_loss=False)
        tok_sum = rag_token(**rag_inputs, labels=labels, reduce_loss=True).loss
        raw_logits = rag_token(**rag_inputs, decoder_input_ids=labels, do_marginalize=False, use_cache=False).logits
        tok_smooth = rag_token.get_nll(raw_logits, doc_scores, labels, reduce_loss=False, epsilon=0.1, n_docs=N_DOCS)
        # RAG-Sequence forward with labels.
        seq_out = rag_seq(**rag_inputs, labels=labels, reduce_loss=False, exclude_bos_score=False)
        seq_out_nobos = rag_seq(**rag_inputs, labels=labels, reduce_loss=False, exclude_bos_score=True)
        seq_sum = rag_seq(**rag_inputs, labels=labels, reduce_loss=True, exclude_bos_score=False).loss
        seq_smooth = rag_seq.get_nll(
            seq_out.logits, doc_scores, labels, reduce_loss=False, epsilon=0.1, exclude_bos_score=False, n_docs=N_DOCS
        )

    step_ll = rag_token_step_logprobs(raw_logits, doc_scores, labels, N_DOCS, pad)
    checks["rag_token.loss == -sum(step marginals)"] = _check("rag_token loss", -step_ll.sum(1), tok_out.loss)
    target = shifted_targets(labels, pad)
    per_doc_target = torch.log_softmax(raw_logits, -1).gather(
        -1, target.repeat_interleave(N_DOCS, 0).unsqueeze(-1)
    ).squeeze(-1).view(len(QUESTIONS), N_DOCS, -1)
    per_doc_target = per_doc_target.masked_fill(target.eq(pad)[:, None, :], 0.0)
    doc_ll = rag_sequence_doc_loglik(seq_out.logits, doc_scores, labels, N_DOCS, pad, bos, False)
    doc_ll_nobos = rag_sequence_doc_loglik(seq_out.logits, doc_scores, labels, N_DOCS, pad, bos, True)
    checks["rag_sequence.loss == -logsumexp(doc ll)"] = _check(
        "rag_sequence loss", -torch.logsumexp(doc_ll, 1), seq_out.loss
    )
    checks["rag_sequence.loss(exclude_bos) == -logsumexp(doc ll)"] = _check(
        "rag_sequence loss (exclude_bos)", -torch.logsumexp(doc_ll_nobos, 1), seq_out_nobos.loss
    )
    label_posteriors = rag_token_doc_posteriors(raw_logits, doc_scores, labels, N_DOCS, pad)

    # --- RAG-Token generation: beam search (2 returned) and greedy
    beam_cfg = GenerationConfig(**gen_kwargs, num_beams=3, num_return_sequences=2)
    with torch.no_grad():
        beam = rag_token.generate(
            **rag_inputs, generation_config=beam_cfg, return_dict_in_generate=True, output_scores=True, n_docs=N_DOCS
        )
        greedy = rag_token.generate(**rag_inputs, generation_config=GenerationConfig(**gen_kwargs, num_beams=1), n_docs=N_DOCS)
    beam_seqs = beam.sequences
    # Re-score every returned beam from the RAG-Token marginals (forced-BOS step counts 0, as in
    # the beam search, which log-softmaxes the processed scores).
    beam_ctx = dict(
        context_input_ids=ctx_ids.view(len(QUESTIONS), 1, N_DOCS, -1).expand(-1, 2, -1, -1).reshape(-1, ctx_ids.shape[1]),
        context_attention_mask=ctx_mask.view(len(QUESTIONS), 1, N_DOCS, -1).expand(-1, 2, -1, -1).reshape(-1, ctx_mask.shape[1]),
        doc_scores=doc_scores.repeat_interleave(2, 0),
    )
    with torch.no_grad():
        beam_logits = rag_token(**beam_ctx, decoder_input_ids=beam_seqs, do_marginalize=False, use_cache=False).logits
    beam_steps = rag_token_step_logprobs(beam_logits, beam_ctx["doc_scores"], beam_seqs, N_DOCS, pad)
    beam_steps = _zero_forced_step(beam_steps, beam_seqs, bos)
    gen_len = shifted_targets(beam_seqs, pad).ne(pad).sum(1)
    rescored = beam_steps.sum(1) / gen_len.to(beam_steps.dtype) ** beam_cfg.length_penalty
    checks["rag_token.beam sequences_scores == rescored"] = _check(
        "rag_token sequences_scores", rescored, beam.sequences_scores
    )
    beam_posteriors = rag_token_doc_posteriors(beam_logits, beam_ctx["doc_scores"], beam_seqs, N_DOCS, pad)
    greedy_margin = _greedy_margin(rag_token, rag_inputs, greedy, pad, bos)
    with torch.no_grad():
        greedy_logits = rag_token(**rag_inputs, decoder_input_ids=greedy, do_marginalize=False, use_cache=False).logits
    greedy_steps = _zero_forced_step(rag_token_step_logprobs(greedy_logits, doc_scores, greedy, N_DOCS, pad), greedy, bos)

    # --- K=1: RAG over the top document only must be the generator's greedy decode of that context
    k1 = _k1_greedy(rag_token, rag_seq, generator, ctx_ids, ctx_mask, doc_scores, gen_kwargs, pad)
    checks["k1: rag_token == rag_sequence == generator greedy on top-1 context"] = 0.0

    # --- no retrieval: the generator alone on the question
    checks["generator_only.beam sequences_scores == rescored"], generator_only = _generator_only(
        generator, bart_tok, gen_kwargs, pad, bos
    )

    # --- RAG-Sequence generation: thorough (HF) and fast (ours), each with dedup
    seq_gen = dict(gen_kwargs)
    seq_gen.pop("do_sample")
    seq_beams, seq_return = 2, 2
    with torch.no_grad():
        thorough = rag_seq.generate(
            **rag_inputs, do_deduplication=True, num_return_sequences=seq_return, num_beams=seq_beams, n_docs=N_DOCS, **seq_gen
        )
        thorough_nodedup = rag_seq.generate(
            **rag_inputs, do_deduplication=False, num_return_sequences=seq_return, num_beams=seq_beams, n_docs=N_DOCS, **seq_gen
        )
    seq_questions = []
    for qi in range(len(QUESTIONS)):
        rows = slice(qi * N_DOCS, (qi + 1) * N_DOCS)
        with torch.no_grad():
            # Exactly HF's candidate step: the generator's own beam search per context row.
            cand_out = generator.generate(
                ctx_ids[rows],
                num_beams=seq_beams,
                num_return_sequences=seq_beams,
                attention_mask=None,
                return_dict_in_generate=True,
                output_scores=True,
                **seq_gen,
            )
        cands = cand_out.sequences
        per_doc_scores = cand_out.sequences_scores.view(N_DOCS, seq_beams)
        per_doc = [[_trim(c, pad) for c in cands[z * seq_beams : (z + 1) * seq_beams].tolist()] for z in range(N_DOCS)]
        unique: list[list[int]] = []
        for c in cands.tolist():
            if c not in unique:
                unique.append(c)
        cand_t = torch.tensor(unique)
        generated_by = torch.tensor([[_trim(c, pad) in per_doc[z] for z in range(N_DOCS)] for c in unique])
        n = cand_t.shape[0]
        with torch.no_grad():
            out = rag_seq(
                context_input_ids=ctx_ids[rows].repeat(n, 1),
                context_attention_mask=ctx_mask[rows].repeat(n, 1),
                doc_scores=doc_scores[qi : qi + 1].repeat(n, 1),
                labels=cand_t,
                exclude_bos_score=True,
            )
        cand_ll = rag_sequence_doc_loglik(out.logits, doc_scores[qi : qi + 1].repeat(n, 1), cand_t, N_DOCS, pad, bos, True)
        thorough_scores = torch.logsumexp(cand_ll, 1)
        _check(f"rag_sequence thorough score q{qi}", thorough_scores, -out.loss)
        # Fast decoding needs no forward pass: for a doc that generated y, doc_loglik is that doc's
        # own beam score, un-normalised, plus the doc prior.
        prior = torch.log_softmax(doc_scores[qi], 0)
        beam_ll = torch.stack(
            [
                cand_ll[unique.index(cands[z * seq_beams + j].tolist()), z] - prior[z]
                for z in range(N_DOCS)
                for j in range(seq_beams)
            ]
        )
        beam_len = torch.tensor([len(r) - 1 for z in range(N_DOCS) for r in per_doc[z]], dtype=beam_ll.dtype)
        checks[f"rag_sequence q{qi}: doc_loglik - prior == per_doc_beam_scores * len"] = _check(
            f"rag_sequence per-doc beam scores q{qi}",
            beam_ll,
            per_doc_scores.reshape(-1) * beam_len ** seq_gen["length_penalty"],
        )
        fast_scores = fast_sequence_scores(cand_ll, generated_by)
        thorough_top = torch.topk(thorough_scores, seq_return).indices.tolist()
        fast_top = torch.topk(fast_scores, seq_return).indices.tolist()
        hf_rows = [_trim(r, pad) for r in thorough[qi * seq_return : (qi + 1) * seq_return].tolist()]
        if hf_rows != [_trim(unique[i], pad) for i in thorough_top]:
            raise ConformanceError(f"q{qi}: our thorough ranking {thorough_top} disagrees with RagSequence.generate")
        seq_questions.append(
            {
                "candidates": [_trim(c, pad) for c in unique],
                "candidates_padded": unique,
                "per_doc_beams": per_doc,
                "per_doc_beam_scores": per_doc_scores,
                "generated_by": generated_by.tolist(),
                "doc_loglik": cand_ll,
                "thorough_scores": thorough_scores,
                "fast_scores": fast_scores,
                "thorough_top": thorough_top,
                "fast_top": fast_top,
                "thorough_sequences": [_trim(unique[i], pad) for i in thorough_top],
                "fast_sequences": [_trim(unique[i], pad) for i in fast_top],
                "thorough_text": bart_tok.batch_decode([unique[i] for i in thorough_top], skip_special_tokens=True),
                "fast_text": bart_tok.batch_decode([unique[i] for i in fast_top], skip_special_tokens=True),
            }
        )
    checks["rag_sequence.thorough top == RagSequenceForGeneration.generate"] = 0.0

    fixtures = {
        "format": FORMAT,
        "seeds": {"question_encoder": DPR_SEED, "ctx_encoder": DPR_SEED + 1, "generator": GENERATOR_SEED},
        "versions": {k: v for k, v in toolchain_versions().items() if k in ("torch", "transformers", "tokenizers", "onnx")},
        "model": {
            "hidden": HIDDEN,
            "dpr_initializer_range": DPR_INIT_RANGE,
            "bart_init_std": BART_INIT_STD,
            "eos_logit_bias": EOS_LOGIT_BIAS,
        },
        "n_docs": N_DOCS,
        "self_checks_max_abs_diff": checks,
        "files": {
            "question_encoder": f"{DPR_DIR}/model.onnx",
            "ctx_encoder": f"{CTX_DIR}/model.onnx",
            "generator": f"{GENERATOR_DIR}/onnx/",
        },
        "special_tokens": {
            "generator": {"bos": bos, "pad": pad, "eos": bart_tok.eos_token_id, "decoder_start": gen_kwargs["decoder_start_token_id"]},
            "question_encoder": {"cls": dpr_tok.cls_token_id, "sep": dpr_tok.sep_token_id, "pad": dpr_tok.pad_token_id},
        },
        "rag_config": {
            "n_docs": N_DOCS,
            "title_sep": rag_config.title_sep,
            "doc_sep": rag_config.doc_sep,
            "max_combined_length": MAX_COMBINED_LENGTH,
            "prefix": None,
            "label_smoothing": 0.0,
        },
        "passages": [
            {
                "id": p.id,
                "title": p.title,
                "text": p.text,
                "input_ids": _unpad(p_enc["input_ids"][i], p_enc["attention_mask"][i]),
                "token_type_ids": _unpad(p_enc["token_type_ids"][i], p_enc["attention_mask"][i]),
                "vector": p_vecs[i],
            }
            for i, p in enumerate(PASSAGES)
        ],
        "questions": [
            {
                "id": q.id,
                "question": q.question,
                "answer": q.answer,
                "input_ids": _unpad(q_enc["input_ids"][i], q_enc["attention_mask"][i]),
                "decoded_for_generator": input_strings[i],
                "vector": q_vecs[i],
                "scores_all_passages": all_scores[i],
                "retrieved_passage_ids": [PASSAGES[j].id for j in doc_idx[i].tolist()],
                "retrieved_indices": doc_idx[i],
                "doc_scores": doc_scores[i],
                "context_strings": ctx_strings[i * N_DOCS : (i + 1) * N_DOCS],
                "context_input_ids": [
                    _unpad(ctx_ids[i * N_DOCS + j], ctx_mask[i * N_DOCS + j]) for j in range(N_DOCS)
                ],
                "labels": _trim(labels[i].tolist(), pad),
            }
            for i, q in enumerate(QUESTIONS)
        ],
        "batch": {
            "context_input_ids": ctx_ids,
            "context_attention_mask": ctx_mask,
            "doc_scores": doc_scores,
            "labels": labels,
        },
        "generation_kwargs": gen_kwargs,
        "rag_token": {
            "forward": {
                "loss_per_example": tok_out.loss,
                "loss_sum": tok_sum,
                "loss_mean": tok_out.loss.mean(),
                "loss_label_smoothing_0.1": tok_smooth,
                "doc_scores": tok_out.doc_scores,
                "step_marginal_logprobs": step_ll,
                "step_doc_logprobs": per_doc_target,
                "label_doc_posteriors": label_posteriors,
            },
            "beam": {
                "num_beams": 3,
                "num_return_sequences": 2,
                "sequences": beam_seqs,
                "sequences_scores": beam.sequences_scores,
                "text": bart_tok.batch_decode(beam_seqs, skip_special_tokens=True),
                "step_marginal_logprobs": beam_steps,
                "doc_posteriors": beam_posteriors,
            },
            "greedy": {
                "min_top2_logprob_gap": greedy_margin,
                "sequences": greedy,
                "text": bart_tok.batch_decode(greedy, skip_special_tokens=True),
                "step_marginal_logprobs": greedy_steps,
            },
        },
        "rag_sequence": {
            "forward": {
                "loss_per_example": seq_out.loss,
                "loss_per_example_exclude_bos": seq_out_nobos.loss,
                "loss_sum": seq_sum,
                "loss_mean": seq_out.loss.mean(),
                "loss_label_smoothing_0.1": seq_smooth,
                "doc_loglik": doc_ll,
                "doc_loglik_exclude_bos": doc_ll_nobos,
                "sequence_scores": -seq_out.loss,
            },
            "generate": {
                "num_beams": seq_beams,
                "num_return_sequences": seq_return,
                "thorough_sequences": thorough,
                "thorough_sequences_no_dedup": thorough_nodedup,
                "per_question": seq_questions,
            },
        },
        "k1": k1,
        "generator_only": generator_only,
    }
    objects = {
        "dpr_tok": dpr_tok,
        "bart_tok": bart_tok,
        "question_encoder": question_encoder,
        "ctx_encoder": ctx_encoder,
        "generator": generator,
    }
    return fixtures, objects


def _zero_forced_step(steps: torch.Tensor, sequences: torch.Tensor, bos: int) -> torch.Tensor:
    """The forced-BOS step scores 0 in HF's processed scores (every other token is -inf)."""
    forced = (sequences[:, 1] == bos).to(steps.dtype)
    steps = steps.clone()
    steps[:, 0] = steps[:, 0] * (1 - forced)
    return steps


def _k1_greedy(rag_token, rag_seq, generator, ctx_ids, ctx_mask, doc_scores, gen_kwargs, pad) -> dict[str, Any]:
    """Greedy RAG with n_docs=1 (top document only): the doc prior is log_softmax of one score = 0,
    so RAG-Token, RAG-Sequence and the plain generator on that context must agree."""
    import copy

    from transformers import GenerationConfig, RagSequenceForGeneration, RagTokenForGeneration

    # RagSequenceForGeneration.generate does not pass its n_docs argument on to the scoring
    # forward pass, so K=1 needs models whose config says n_docs=1 (same modules).
    config1 = copy.deepcopy(rag_token.config)
    config1.n_docs = 1
    rag_token = RagTokenForGeneration(config1, question_encoder=rag_token.question_encoder, generator=generator).eval()
    rag_seq = RagSequenceForGeneration(config1, question_encoder=rag_seq.question_encoder, generator=generator).eval()
    b = doc_scores.shape[0]
    ids1 = ctx_ids.view(b, N_DOCS, -1)[:, 0]
    mask1 = ctx_mask.view(b, N_DOCS, -1)[:, 0]
    scores1 = doc_scores[:, :1]
    greedy_cfg = GenerationConfig(**gen_kwargs, num_beams=1)
    seq_gen = {k: v for k, v in gen_kwargs.items() if k != "do_sample"}
    with torch.no_grad():
        tok = rag_token.generate(
            context_input_ids=ids1, context_attention_mask=mask1, doc_scores=scores1, n_docs=1, generation_config=greedy_cfg
        )
        seq = rag_seq.generate(
            context_input_ids=ids1,
            context_attention_mask=mask1,
            doc_scores=scores1,
            n_docs=1,
            num_beams=1,
            num_return_sequences=1,
            do_deduplication=True,
            **seq_gen,
        )
        plain = generator.generate(input_ids=ids1, attention_mask=mask1, generation_config=greedy_cfg)
    rows = {"rag_token": tok, "rag_sequence": seq, "generator": plain}
    trimmed = {name: [_trim(r, pad) for r in t.tolist()] for name, t in rows.items()}
    if not trimmed["rag_token"] == trimmed["rag_sequence"] == trimmed["generator"]:
        raise ConformanceError(f"K=1 greedy decodes disagree: {trimmed}")
    return {
        "n_docs": 1,
        "num_beams": 1,
        "context_rows": [i * N_DOCS for i in range(b)],
        "rag_token_sequences": tok,
        "rag_sequence_sequences": seq,
        "generator_sequences": plain,
        "sequences": trimmed["generator"],
    }


def _generator_only(generator, bart_tok, gen_kwargs, pad: int, bos: int) -> tuple[float, dict[str, Any]]:
    """No-retrieval baseline: BART on the raw question string, greedy and beam."""
    from transformers import GenerationConfig

    strings = [q.question for q in QUESTIONS]
    enc = bart_tok(strings, padding=True, return_tensors="pt")
    beams, ret = 3, 2
    with torch.no_grad():
        greedy = generator.generate(
            input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], generation_config=GenerationConfig(**gen_kwargs, num_beams=1)
        )
        beam = generator.generate(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            generation_config=GenerationConfig(**gen_kwargs, num_beams=beams, num_return_sequences=ret),
            return_dict_in_generate=True,
            output_scores=True,
        )
        logits = generator(
            input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], decoder_input_ids=greedy, use_cache=False
        ).logits
    steps = _zero_forced_step(_step_logprobs(logits, greedy, pad), greedy, bos)
    # Re-score the returned beams the way HF's beam search does (sum of processed log-probs over
    # the tokens after the decoder start, divided by that count ** length_penalty).
    rows = enc["input_ids"].repeat_interleave(ret, 0), enc["attention_mask"].repeat_interleave(ret, 0)
    with torch.no_grad():
        beam_logits = generator(input_ids=rows[0], attention_mask=rows[1], decoder_input_ids=beam.sequences, use_cache=False).logits
    beam_steps = _zero_forced_step(_step_logprobs(beam_logits, beam.sequences, pad), beam.sequences, bos)
    gen_len = shifted_targets(beam.sequences, pad).ne(pad).sum(1).to(beam_steps.dtype)
    check = _check("generator beam sequences_scores", beam_steps.sum(1) / gen_len ** gen_kwargs["length_penalty"], beam.sequences_scores)
    return check, {
        "input_strings": strings,
        "input_ids": [_unpad(enc["input_ids"][i], enc["attention_mask"][i]) for i in range(len(strings))],
        "greedy": {
            "sequences": greedy,
            "text": bart_tok.batch_decode(greedy, skip_special_tokens=True),
            "step_logprobs": steps,
        },
        "beam": {
            "num_beams": beams,
            "num_return_sequences": ret,
            "sequences": beam.sequences,
            "sequences_scores": beam.sequences_scores,
            "text": bart_tok.batch_decode(beam.sequences, skip_special_tokens=True),
            "step_logprobs": beam_steps,
        },
    }


def _step_logprobs(logits: torch.Tensor, sequences: torch.Tensor, pad: int) -> torch.Tensor:
    """Plain generator: log_softmax(logits[t])[sequences[t+1]], 0 where that target is pad. [B, T]"""
    target = shifted_targets(sequences, pad)
    steps = torch.log_softmax(logits, -1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return steps.masked_fill(target.eq(pad), 0.0)


def _unpad(ids: torch.Tensor, mask: torch.Tensor) -> list[int]:
    return ids[mask.bool()].tolist()


def _greedy_margin(rag_token, rag_inputs, greedy: torch.Tensor, pad: int, bos: int) -> float:
    """Smallest gap between the best and second-best RAG-Token marginal log-prob over the greedy
    decisions (forced-BOS step and post-EOS padding skipped): how far the fixture is from a tie."""
    with torch.no_grad():
        logits = rag_token(**rag_inputs, decoder_input_ids=greedy, do_marginalize=True, use_cache=False).logits
    top2 = torch.topk(logits, 2, dim=-1).values  # [B, T, 2]
    gaps = top2[..., 0] - top2[..., 1]
    target = shifted_targets(greedy, pad)
    live = target.ne(pad)
    live[:, 0] = live[:, 0] & target[:, 0].ne(bos)
    return float(gaps[live].min())


def _save_dpr(model, tok, out: Path, architecture: str) -> None:
    export_dpr_onnx(model, out / "model.onnx")
    model.config.architectures = [architecture]
    model.config.save_pretrained(out)
    tok.save_pretrained(out)


def write_rag_fixtures(out_dir: Path) -> dict[str, Any]:
    """Builds everything into a staging directory beside `out_dir`, then swaps it in. Returns a
    summary (paths and byte sizes)."""
    from modelkit.export_seq2seq import export_seq2seq
    from transformers import DPRContextEncoderTokenizerFast

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        with _deterministic_torch():
            fixtures, objs = compute_fixtures()
            _save_dpr(objs["question_encoder"], objs["dpr_tok"], staging / DPR_DIR, "DPRQuestionEncoder")
            ctx_tok = DPRContextEncoderTokenizerFast(
                tokenizer_object=objs["dpr_tok"].backend_tokenizer,
                **{k: v for k, v in objs["dpr_tok"].init_kwargs.items() if k.endswith("_token")},
                do_lower_case=True,
                model_max_length=objs["dpr_tok"].model_max_length,
                clean_up_tokenization_spaces=True,
            )
            _save_dpr(objs["ctx_encoder"], ctx_tok, staging / CTX_DIR, "DPRContextEncoder")
            export_seq2seq(objs["generator"], objs["bart_tok"], staging / GENERATOR_DIR)
        (staging / FIXTURES_FILE).write_text(dumps(fixtures), encoding="utf-8")
        from modelkit.fixture_readme import render_readme

        (staging / "README.md").write_text(render_readme(fixtures), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = {str(p.relative_to(out_dir)): p.stat().st_size for p in sorted(out_dir.rglob("*")) if p.is_file()}
    return {"out": str(out_dir), "bytes": files, "total_bytes": sum(files.values())}
