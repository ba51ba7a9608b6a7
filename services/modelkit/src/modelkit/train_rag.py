"""Joint fine-tuning of question encoder + generator with the RAG-Token marginal likelihood.

Retrieval is ours (exact inner product over the snapshot's frozen passage vectors); the
retrieved passages, their token ids and the differentiable doc scores are handed to
transformers' RagTokenForGeneration, which marginalises the generator's token
distributions over the top-K documents. Gradients reach the question encoder through
doc_scores only, as in the RAG paper (passage tower frozen).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field

import numpy as np

from modelkit.train_generator import EOS_ID, PAD_ID, GeneratorConfig, fresh_answer, pad_rows, target_ids
from modelkit.train_question_encoder import SCORE_SCALE, QuestionEncoder, top_k
from modelkit.training_loop import Every, TrainingLoop
from modelkit.world_data import DOC_SEP, TITLE_SEP, Example, Snapshot, WorldSplit, generator_input

log = logging.getLogger("modelkit.train.rag")


@dataclass
class RagTrainConfig:
    n_docs: int = 4
    batch_size: int = 8
    epochs: float = 1.0
    lr_generator: float = 3e-4
    lr_question_encoder: float = 1e-5
    rename: float = 0.0
    seed: int = 23
    max_steps: int | None = None
    checkpoint: object = field(default=None, repr=False)


def build_rag(qenc: QuestionEncoder, generator, gcfg: GeneratorConfig, n_docs: int):
    from transformers import RagConfig, RagTokenForGeneration

    config = RagConfig.from_question_encoder_generator_configs(
        qenc.model.config,
        generator.config,
        n_docs=n_docs,
        title_sep=TITLE_SEP,
        doc_sep=DOC_SEP,
        max_combined_length=gcfg.max_source_length,
        retrieval_vector_size=int(qenc.model.config.hidden_size),
        do_marginalize=False,
        label_smoothing=0.0,
    )
    config.generator.decoder_start_token_id = EOS_ID
    return RagTokenForGeneration(config=config, question_encoder=qenc.model, generator=generator)


def build_rag_sequence(qenc: QuestionEncoder, generator, gcfg: GeneratorConfig, n_docs: int):
    """The same two trained towers under RAG-Sequence marginalisation (HF's
    RagSequenceForGeneration): one passage explains the whole answer. Shares the modules."""
    from transformers import RagSequenceForGeneration

    config = build_rag(qenc, generator, gcfg, n_docs).config
    return RagSequenceForGeneration(config=config, question_encoder=qenc.model, generator=generator)


def retrieve(qenc: QuestionEncoder, questions: list[str], snap: Snapshot, n_docs: int):
    """Differentiable doc scores [B, K] for the top-K passages under the current encoder."""
    import torch

    q = qenc.embed(questions)
    idx = top_k(q.detach().numpy(), snap.vectors, n_docs)
    docs = torch.from_numpy(snap.vectors[idx])  # [B, K, dim]
    scores = SCORE_SCALE * torch.bmm(docs, q.unsqueeze(-1)).squeeze(-1)
    return idx, scores


def context_batch(tokenizer, snap: Snapshot, idx: np.ndarray, questions: list[str], gcfg: GeneratorConfig, renames=None):
    """Token ids of `title / text // question` for each question's K passages; `renames[b]`
    (old, new) replaces an answer in question b's passages (training augmentation)."""
    texts = []
    for b, (q, row) in enumerate(zip(questions, idx)):
        old_new = renames[b] if renames else None
        for i in row:
            title, text = snap.titles[i], snap.texts[i]
            if old_new:
                title, text = title.replace(*old_new), text.replace(*old_new)
            texts.append(generator_input(title, text, q))
    enc = tokenizer(texts, padding=True, truncation=True, max_length=gcfg.max_source_length, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def rag_loss(rag, qenc: QuestionEncoder, tokenizer, snap: Snapshot, exs: list[Example], n_docs: int, gcfg: GeneratorConfig,
             rng: random.Random | None = None, rename_share: float = 0.0):
    """RAG-Token negative marginal log-likelihood of each example's answer, mean over the batch.
    With `rename_share`, that share of answers is replaced by made-up names in the retrieved
    passages and the target alike (keeps the generator copying rather than recalling names)."""
    questions = [e.question.question for e in exs]
    idx, scores = retrieve(qenc, questions, snap, n_docs)
    answers = [e.answer for e in exs]
    renames: list[tuple[str, str] | None] = [None] * len(exs)
    if rng is not None and rename_share > 0:
        for b, e in enumerate(exs):
            new = fresh_answer(rng, e.answer) if rng.random() < rename_share and e.answer not in e.question.question else None
            if new is not None:
                renames[b] = (e.answer, new)
                answers[b] = new
    ctx_ids, ctx_mask = context_batch(tokenizer, snap, idx, questions, gcfg, renames)
    labels = pad_rows([target_ids(tokenizer, a, gcfg.max_target_length) for a in answers], PAD_ID)
    out = rag(
        context_input_ids=ctx_ids,
        context_attention_mask=ctx_mask,
        doc_scores=scores,
        labels=labels,
        n_docs=n_docs,
        reduce_loss=False,
        use_cache=False,
    )
    return out.loss.mean()


def train_rag(rag, qenc: QuestionEncoder, tokenizer, worlds: list[WorldSplit], config: RagTrainConfig, gcfg: GeneratorConfig) -> list[float]:
    """Every (question, year) example of the training worlds, retrieving from that year's snapshot."""
    import torch

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    # Group by snapshot so a batch retrieves from one index.
    groups: list[tuple[Snapshot, list[Example]]] = []
    for world in worlds:
        for year, snap in world.snapshots.items():
            groups.append((snap, [e for e in world.examples if e.year == year]))
    batches: list[tuple[Snapshot, list[Example]]] = []
    for snap, exs in groups:
        order = list(exs)
        rng.shuffle(order)
        for start in range(0, len(order) - config.batch_size + 1, config.batch_size):
            batches.append((snap, order[start : start + config.batch_size]))
    total = config.max_steps if config.max_steps is not None else int(len(batches) * config.epochs)

    def epoch() -> list[tuple[Snapshot, list[Example]]]:
        rng.shuffle(batches)
        return batches

    loop = TrainingLoop(
        name="rag", modules=[rag, qenc.model],
        param_groups=[
            {"params": list(rag.generator.parameters()), "lr": config.lr_generator},
            {"params": list(qenc.model.parameters()), "lr": config.lr_question_encoder},
        ],
        total=total, warmup=max(1, total // 20), clip=list(rag.parameters()), logger=log,
        callbacks=[Every(50, config.checkpoint)] if config.checkpoint is not None else [],
    )
    return loop.run(epoch, lambda batch, _step: rag_loss(rag, qenc, tokenizer, batch[0], batch[1], config.n_docs, gcfg, rng, config.rename))


def rag_answers(rag, qenc: QuestionEncoder, tokenizer, snap: Snapshot, questions: list[str], gcfg: GeneratorConfig, n_docs: int,
                batch_size: int = 16, num_beams: int = 1) -> list[str]:
    """Top answer per question: RAG-Token (greedy unless `num_beams`) or, for a
    RagSequenceForGeneration, thorough decoding: each passage's beam candidates rescored
    under every passage and marginalised (HF's generate; `num_beams` per passage)."""
    import torch
    from transformers import RagSequenceForGeneration

    # RagSequenceForGeneration.generate also dedups each passage's beams and returns the top marginal.
    extra = {"do_deduplication": True, "num_return_sequences": 1} if isinstance(rag, RagSequenceForGeneration) else {}

    rag.eval()
    qenc.model.eval()
    out: list[str] = []
    with torch.no_grad():
        for start in range(0, len(questions), batch_size):
            qs = questions[start : start + batch_size]
            idx, scores = retrieve(qenc, qs, snap, n_docs)
            ctx_ids, ctx_mask = context_batch(tokenizer, snap, idx, qs, gcfg)
            seqs = rag.generate(
                context_input_ids=ctx_ids,
                context_attention_mask=ctx_mask,
                doc_scores=scores,
                n_docs=n_docs,
                max_length=gcfg.max_target_length + 2,
                num_beams=num_beams,
                do_sample=False,
                decoder_start_token_id=EOS_ID,
                eos_token_id=EOS_ID,
                pad_token_id=PAD_ID,
                bos_token_id=None,
                forced_bos_token_id=None,
                **extra,
            )
            out.extend(s.strip() for s in tokenizer.batch_decode(seqs, skip_special_tokens=True))
    return out


def rag_em(rag, qenc: QuestionEncoder, tokenizer, world: WorldSplit, gcfg: GeneratorConfig, n_docs: int, num_beams: int = 1,
           changed_only: bool = False) -> dict:
    """EM of RAG answers from each snapshot year against each year's gold, per question type
    (`changed_only`: questions whose gold answer differs between the years, the paper's experiment)."""
    from modelkit.world_metrics import EmTable, exact_match

    questions = []
    seen = set()
    for e in world.examples:
        if changed_only and not e.question.changed:
            continue
        if e.question.qid not in seen:
            seen.add(e.question.qid)
            questions.append(e.question)
    result: dict = {}
    for snap_year, snap in world.snapshots.items():
        preds = rag_answers(rag, qenc, tokenizer, snap, [q.question for q in questions], gcfg, n_docs, num_beams=num_beams)
        for gold_year in world.snapshots:
            table = EmTable()
            for q, p in zip(questions, preds):
                table.add(q.qtype, exact_match(p, q.answers[gold_year]), changed=q.changed)
            result[f"snapshot{snap_year}-gold{gold_year}"] = table.as_dict()
    return result
