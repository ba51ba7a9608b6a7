"""A few training steps of each world-model stage reduce its loss, on a tiny generated world.

The world and its snapshots are built by the real CLI (`rag world generate`, `rag snapshot build`
with the committed passage encoder), exactly as train-world-models builds them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from conftest import COMMITTED_MODEL_DIR, PACKAGE

pytestmark = pytest.mark.slow

TINY_COUNTRIES = 4


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    from modelkit.world_build import prepare_world
    from modelkit.world_data import load_world

    work = tmp_path_factory.mktemp("world-models")
    # A relative --work (docs/models.md shows one) means relative to our working directory, although
    # the `rag` subprocesses run from the repository root.
    cwd = os.getcwd()
    os.chdir(work.parent)
    try:
        world_dir = prepare_world(Path(work.name), seed=1, countries=TINY_COUNTRIES, questions=200)
    finally:
        os.chdir(cwd)
    assert world_dir == work.resolve() / "world-1"
    assert (world_dir / "storage" / "snapshots" / "world-2018" / "manifest.json").is_file()
    return load_world(world_dir, 1)


@pytest.fixture(scope="module")
def question_encoder():
    from modelkit.source_package import locate_model
    from modelkit.train_question_encoder import QuestionEncoder

    torch.set_num_threads(1)
    return QuestionEncoder.from_dir(locate_model(PACKAGE).model_dir)


def _tiny_generator(tiny_world, d_model: int = 64):
    from modelkit.train_generator import GeneratorConfig, build_bart, tokenizer_corpus, train_tokenizer

    gcfg = GeneratorConfig(vocab_size=600, d_model=d_model, layers=1, heads=2, ffn=4 * d_model, max_source_length=192, dropout=0.0)
    tokenizer = train_tokenizer(tokenizer_corpus([tiny_world]), gcfg.vocab_size, gcfg.max_source_length)
    return gcfg, tokenizer, build_bart(gcfg, len(tokenizer), seed=3)


def test_snapshot_vectors_come_from_the_committed_passage_encoder(tiny_world):
    """Training reads the published vectors; they must be the ones deployment retrieves over."""
    digest = hashlib.sha256((COMMITTED_MODEL_DIR / "model.onnx").read_bytes()).hexdigest()
    for year, snap in tiny_world.snapshots.items():
        manifest = json.loads((snap.storage / "snapshots" / snap.snapshot_id / "manifest.json").read_text())
        assert manifest["encoder"]["sha256"] == digest, year
        assert snap.vectors.shape == (len(snap), 384)
        norms = (snap.vectors**2).sum(axis=1) ** 0.5
        assert abs(float(norms.min()) - 1) < 1e-3 and abs(float(norms.max()) - 1) < 1e-3
    with_positive = [e for e in tiny_world.examples if e.positives]
    assert len(with_positive) > 0.8 * len(tiny_world.examples)
    for e in with_positive:
        text = tiny_world.snapshots[e.year].texts[e.positives[0]]
        assert any(a in text for a in e.question.answers[e.year])


def test_question_encoder_steps_reduce_dpr_loss(tiny_world, question_encoder):
    from modelkit.train_question_encoder import QencConfig, dpr_loss, mine_items, train_question_encoder

    items = mine_items(question_encoder, [tiny_world], hard_negatives=2)
    probe = items[:: max(1, len(items) // 24)][:24]
    question_encoder.model.eval()
    with torch.no_grad():
        before = float(dpr_loss(question_encoder, probe))
    losses = train_question_encoder(
        question_encoder, [tiny_world], QencConfig(batch_size=16, lr=5e-5, warmup_ratio=0.0, seed=1), max_steps=8
    )
    with torch.no_grad():
        after = float(dpr_loss(question_encoder, probe))
    assert len(losses) == 8
    assert after < before * 0.9, (before, after)


def test_generator_steps_reduce_gold_passage_loss(tiny_world):
    from modelkit.train_generator import GenTrainConfig, gold_pairs, seq2seq_loss, train_generator

    gcfg, tokenizer, model = _tiny_generator(tiny_world)
    pairs = gold_pairs([tiny_world])
    probe = pairs[:: max(1, len(pairs) // 32)][:32]

    def probe_loss() -> float:
        model.eval()
        with torch.no_grad():
            return float(seq2seq_loss(model, tokenizer, [p.source() for p in probe], [p.answer for p in probe], gcfg))

    before = probe_loss()
    losses = train_generator(
        model, tokenizer, pairs, GenTrainConfig(batch_size=16, lr=2e-3, warmup_steps=5, window_share=0.5, max_steps=30, seed=1), gcfg
    )
    after = probe_loss()
    assert len(losses) == 30
    assert after < before * 0.8, (before, after)


def test_window_and_rename_keep_the_answer_and_the_rag_input_format(tiny_world):
    import random

    from modelkit.train_generator import gold_pairs
    from modelkit.world_data import DOC_SEP, TITLE_SEP

    rng = random.Random(0)
    for pair in gold_pairs([tiny_world])[:50]:
        window = pair.window(rng, 24)
        assert window.startswith(pair.title + TITLE_SEP) and window.endswith(DOC_SEP + pair.question)
        assert any(g in window for g in pair.golds)
        assert pair.source() == f"{pair.title} / {pair.text} // {pair.question}"
        renamed = pair.renamed(rng)
        if renamed is not pair:  # names are replaced everywhere; numbers are left alone
            assert not any(ch.isdigit() for ch in pair.answer)
            assert renamed.answer != pair.answer and renamed.answer in renamed.text and pair.answer not in renamed.text
            assert renamed.golds[0] == renamed.answer and renamed.question == pair.question


def test_rag_token_steps_reduce_marginal_nll(tiny_world, question_encoder):
    from modelkit.train_rag import RagTrainConfig, build_rag, rag_loss, train_rag

    gcfg, tokenizer, model = _tiny_generator(tiny_world)
    rag = build_rag(question_encoder, model, gcfg, n_docs=2)
    snap = tiny_world.snapshots["2016"]
    probe = [e for e in tiny_world.examples if e.year == "2016"][:12]

    def probe_loss() -> float:
        rag.eval()
        with torch.no_grad():
            return float(rag_loss(rag, question_encoder, tokenizer, snap, probe, 2, gcfg))

    before = probe_loss()
    qenc_before = [p.detach().clone() for p in question_encoder.model.parameters()][:4]
    losses = train_rag(
        rag, question_encoder, tokenizer, [tiny_world],
        RagTrainConfig(n_docs=2, batch_size=8, lr_generator=3e-3, lr_question_encoder=1e-5, max_steps=12, seed=1), gcfg,
    )
    after = probe_loss()
    assert len(losses) == 12
    assert after < before * 0.9, (before, after)
    # The question tower is trained through the doc scores, not frozen.
    moved = [not torch.equal(a, b.detach()) for a, b in zip(qenc_before, list(question_encoder.model.parameters())[:4])]
    assert any(moved)


def test_rag_sequence_metric_decodes_thoroughly_over_the_retrieved_passages(tiny_world, question_encoder):
    """The end-of-training RAG-Sequence metric picks each answer among the retrieved passages' own
    beam candidates: with K=1 the top passage's, with K=2 the pool of both."""
    from modelkit.train_generator import EOS_ID, PAD_ID, GenTrainConfig, gold_pairs, train_generator
    from modelkit.train_rag import build_rag_sequence, context_batch, rag_answers, rag_em, retrieve

    gcfg, tokenizer, model = _tiny_generator(tiny_world)
    train_generator(model, tokenizer, gold_pairs([tiny_world]), GenTrainConfig(batch_size=16, lr=2e-3, warmup_steps=5, max_steps=20, seed=1), gcfg)
    snap = tiny_world.snapshots["2016"]
    questions = [e.question.question for e in tiny_world.examples if e.year == "2016"][:6]
    gen_kwargs = dict(max_length=gcfg.max_target_length + 2, do_sample=False, decoder_start_token_id=EOS_ID,
                      eos_token_id=EOS_ID, pad_token_id=PAD_ID, bos_token_id=None, forced_bos_token_id=None)

    def candidates(n_docs: int) -> list[set[str]]:
        with torch.no_grad():
            idx, _ = retrieve(question_encoder, questions, snap, n_docs)
            ids, _mask = context_batch(tokenizer, snap, idx, questions, gcfg)
            seqs = model.generate(ids, num_beams=2, num_return_sequences=2, **gen_kwargs)
        texts = [s.strip() for s in tokenizer.batch_decode(seqs, skip_special_tokens=True)]
        per_doc = 2 * n_docs
        return [set(texts[q * per_doc : (q + 1) * per_doc]) for q in range(len(questions))], texts

    one = rag_answers(build_rag_sequence(question_encoder, model, gcfg, 1), question_encoder, tokenizer, snap, questions, gcfg, 1, num_beams=2)
    pools, _ = candidates(1)
    assert len(one) == len(questions) and all(a in pool for a, pool in zip(one, pools))
    two = rag_answers(build_rag_sequence(question_encoder, model, gcfg, 2), question_encoder, tokenizer, snap, questions, gcfg, 2, num_beams=2)
    pools, _ = candidates(2)
    assert len(two) == len(questions) and all(a in pool for a, pool in zip(two, pools))
    # The metric as train-world-models records it: only questions whose answer changed, both years.
    table = rag_em(build_rag_sequence(question_encoder, model, gcfg, 2), question_encoder, tokenizer, tiny_world, gcfg, 2,
                   num_beams=1, changed_only=True)
    changed = {e.question.qid for e in tiny_world.examples if e.question.changed}
    assert changed and set(table) == {f"snapshot{s}-gold{g}" for s in ("2016", "2018") for g in ("2016", "2018")}
    assert all(t["all"]["n"] == len(changed) and t["changed"]["n"] == len(changed) for t in table.values())
