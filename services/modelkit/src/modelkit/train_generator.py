"""A small BART trained from scratch on world text: tokenizer, config, gold-passage training.

No pretrained seq2seq weights are available offline, so the generator is built from a
config and first taught to copy the answer out of the gold passage (input built exactly as
RAG builds it), before the joint RAG fine-tuning (train_rag.py).
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field

from modelkit.training_loop import Every, TrainingLoop, shuffled_batches
from modelkit.world_data import Example, WorldSplit, generator_input
from modelkit.world_names import fresh_name_like

log = logging.getLogger("modelkit.train.gen")

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # BART's ids 0..4
BOS_ID, PAD_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


@dataclass
class GeneratorConfig:
    vocab_size: int = 6000
    d_model: int = 256
    layers: int = 3
    heads: int = 4
    ffn: int = 1024
    max_source_length: int = 192
    max_target_length: int = 16
    dropout: float = 0.1
    # Size of the sinusoids the position embeddings start from (see _sinusoidal_positions).
    pos_scale: float = 1.0


def train_tokenizer(texts, vocab_size: int, max_length: int):
    """Byte-level BPE on world text, wrapped as a BART-style fast tokenizer
    (`<s> text </s>` for single inputs)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", EOS_ID), ("<s>", BOS_ID), add_prefix_space=False, trim_offsets=True)
    for name, expected in zip(SPECIAL_TOKENS, range(5)):
        assert tok.token_to_id(name) == expected, name
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=max_length,
        clean_up_tokenization_spaces=False,
    )


_CAPITALISED_WORD = re.compile(r"\b[A-Z][\w'\u2019-]*")


def tokenizer_corpus(worlds: list[WorldSplit], blank_names: bool = False):
    """Passages of every training snapshot, then questions and answers.

    With `blank_names`, capitalised words are blanked out so merges come from ordinary words
    only and every name splits into short pieces (tried: far slower to learn in our budget)."""
    for world in worlds:
        for snap in world.snapshots.values():
            for title, text in zip(snap.titles, snap.texts):
                yield _CAPITALISED_WORD.sub(" ", text) if blank_names else f"{title} {text}"
        for e in world.examples:
            if blank_names:
                yield _CAPITALISED_WORD.sub(" ", e.question.question)
            else:
                yield e.question.question
                yield " ".join(e.question.answers[e.year])


def build_bart(config: GeneratorConfig, vocab_size: int, seed: int):
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(seed)
    cfg = BartConfig(
        vocab_size=vocab_size,
        d_model=config.d_model,
        encoder_layers=config.layers,
        decoder_layers=config.layers,
        encoder_attention_heads=config.heads,
        decoder_attention_heads=config.heads,
        encoder_ffn_dim=config.ffn,
        decoder_ffn_dim=config.ffn,
        max_position_embeddings=max(256, config.max_source_length),
        dropout=config.dropout,
        attention_dropout=0.0,
        activation_dropout=0.0,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        decoder_start_token_id=EOS_ID,
        forced_bos_token_id=None,
        forced_eos_token_id=EOS_ID,
        scale_embedding=True,
        tie_word_embeddings=True,
        attn_implementation="eager",
    )
    model = BartForConditionalGeneration(cfg)
    _sinusoidal_positions(model, scale=config.pos_scale)
    gen = model.generation_config
    gen.max_length = config.max_target_length + 2
    gen.num_beams = 1
    gen.do_sample = False
    gen.decoder_start_token_id = EOS_ID
    gen.bos_token_id = BOS_ID
    gen.eos_token_id = EOS_ID
    gen.pad_token_id = PAD_ID
    gen.forced_bos_token_id = None
    gen.forced_eos_token_id = EOS_ID
    # BartConfig sets these for summarisation; short answers want none of them.
    gen.no_repeat_ngram_size = 0
    gen.early_stopping = False
    gen.length_penalty = 1.0
    gen.min_length = 0
    return model


def _sinusoidal_positions(model, scale: float) -> None:
    """Initialises BART's learned position embeddings with sinusoids (still trained).

    Copying a span needs "the token after the one just copied"; sinusoids give every position
    a fixed linear relation to its neighbour from step one, which random embeddings take
    thousands of steps to learn. At scale 1.0 copying unseen names is learnt about a third
    faster than at 0.3 (loss 0.25 vs 0.33 after 2,500 window steps).
    """
    import math

    import torch

    for emb in (model.model.encoder.embed_positions, model.model.decoder.embed_positions):
        rows, dim = emb.weight.shape
        offset = getattr(emb, "offset", 0)
        pos = torch.arange(rows - offset, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(rows - offset, dim)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq)
        with torch.no_grad():
            emb.weight[offset:] = scale * table


def target_ids(tokenizer, answer: str, max_target_length: int) -> list[int]:
    """`</s> answer </s>`: decoder start, answer pieces, end; RAG uses these as decoder inputs.

    The answer is tokenised with a leading space, as it appears inside a passage: byte-level BPE
    gives "Fonela" and " Fonela" different first pieces, and an unseen name can only be copied
    if its pieces are the passage's pieces. Decoded answers therefore start with a space (strip)."""
    ids = tokenizer(" " + answer.strip(), add_special_tokens=False)["input_ids"][: max_target_length - 1]
    return [EOS_ID] + ids + [EOS_ID]


def pad_rows(rows: list[list[int]], pad: int = PAD_ID):
    import torch

    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def encode_sources(tokenizer, texts: list[str], max_source_length: int):
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_source_length, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


@dataclass
class GenTrainConfig:
    epochs: float = 12
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 200
    seed: int = 17
    # Curriculum: this share of the first steps sees a short window of the passage around the
    # answer (same `title / text // question` format). Copying is learnt there at a third of the
    # cost of a full passage; the remaining steps see whole passages.
    window_share: float = 0.0
    window_words: int = 24
    # Share of pairs whose answer is replaced by a made-up name (see GoldPair.renamed).
    rename: float = 0.0
    max_steps: int | None = None
    # Called as monitor(step) every `monitor_every` steps (logging held-out progress, saving).
    monitor: object = field(default=None, repr=False)
    monitor_every: int = 250


@dataclass(frozen=True)
class GoldPair:
    title: str
    text: str
    question: str
    answer: str
    golds: tuple[str, ...]

    def source(self) -> str:
        return generator_input(self.title, self.text, self.question)

    def window(self, rng: random.Random, words: int) -> str:
        """The passage cut to about `words` words holding the gold answer, at a random offset."""
        at = next((self.text.find(g) for g in self.golds if g in self.text), -1)
        if at < 0:
            return self.source()
        tokens = self.text.split(" ")
        # Word index of the answer's first character.
        first = self.text[:at].count(" ")
        span = len(self.answer.split(" "))
        lo = max(0, min(first - rng.randint(0, max(0, words - span)), len(tokens) - words))
        return generator_input(self.title, " ".join(tokens[lo : lo + words]), self.question)

    def renamed(self, rng: random.Random) -> "GoldPair":
        """The same pair with the answer replaced by a made-up one everywhere in the passage.

        Names in the training worlds repeat across many examples, so a from-scratch model can
        memorise them instead of learning to copy; a fresh name every time leaves copying as the
        only way to the answer, which is what unseen held-out names need."""
        new = fresh_answer(rng, self.answer)
        if new is None or self.answer not in self.text or self.answer in self.question:
            return self
        title, text = rename([self.title, self.text], self.answer, new)
        golds = (new, *(g.replace(self.answer, new) for g in self.golds if g != self.answer))
        return GoldPair(title, text, self.question, new, golds)


def fresh_answer(rng: random.Random, answer: str) -> str | None:
    """A made-up replacement for a name-like answer, drawn like the world draws names;
    None for numbers and dates."""
    return fresh_name_like(rng, answer)


def rename(texts: list[str], answer: str, new: str) -> list[str]:
    return [t.replace(answer, new) for t in texts]


def gold_pairs(worlds: list[WorldSplit], per_example: int = 2) -> list[GoldPair]:
    """(gold passage, question, canonical answer) for every example with a positive passage."""
    pairs: list[GoldPair] = []
    for world in worlds:
        for e in world.examples:
            snap = world.snapshots[e.year]
            for p in e.positives[:per_example]:
                golds = tuple(e.question.answers[e.year])
                pairs.append(GoldPair(snap.titles[p], snap.texts[p], e.question.question, e.answer, golds))
    return pairs


def seq2seq_loss(model, tokenizer, sources: list[str], answers: list[str], gcfg: GeneratorConfig):
    """Mean token cross-entropy of `</s> answer </s>` given each source."""
    ids, mask = encode_sources(tokenizer, sources, gcfg.max_source_length)
    tgt = pad_rows([target_ids(tokenizer, a, gcfg.max_target_length) for a in answers])
    labels = tgt[:, 1:].clone()
    labels[labels == PAD_ID] = -100
    return model(input_ids=ids, attention_mask=mask, decoder_input_ids=tgt[:, :-1], labels=labels).loss


def train_generator(model, tokenizer, pairs: list[GoldPair], config: GenTrainConfig, gcfg: GeneratorConfig) -> list[float]:
    import torch

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    steps_per_epoch = max(1, len(pairs) // config.batch_size)
    total = config.max_steps if config.max_steps is not None else int(steps_per_epoch * config.epochs)
    window_steps = int(total * config.window_share)

    def loss_of(batch: list[GoldPair], step: int):
        batch = [b.renamed(rng) if config.rename and rng.random() < config.rename else b for b in batch]
        sources = [b.window(rng, config.window_words) if step < window_steps else b.source() for b in batch]
        return seq2seq_loss(model, tokenizer, sources, [b.answer for b in batch], gcfg)

    loop = TrainingLoop(
        name="gen", modules=[model], param_groups=[{"params": list(model.parameters()), "lr": config.lr}],
        total=total, warmup=min(config.warmup_steps, max(1, total // 10)), floor=0.02, betas=(0.9, 0.98),
        log_every=100, logger=log, note=lambda step: " (windows)" if step < window_steps else "",
        callbacks=[Every(config.monitor_every, config.monitor)] if config.monitor is not None else [],
    )
    return loop.run(lambda: shuffled_batches(rng, pairs, config.batch_size), loss_of)


def generate_answers(model, tokenizer, sources: list[str], gcfg: GeneratorConfig, batch_size: int = 64) -> list[str]:
    import torch

    out: list[str] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(sources), batch_size):
            ids, mask = encode_sources(tokenizer, sources[start : start + batch_size], gcfg.max_source_length)
            seqs = model.generate(input_ids=ids, attention_mask=mask, max_length=gcfg.max_target_length + 2, num_beams=1, do_sample=False)
            out.extend(tokenizer.batch_decode(seqs, skip_special_tokens=True))
    return [s.strip() for s in out]


def gold_passage_em(model, tokenizer, world: WorldSplit, gcfg: GeneratorConfig) -> dict:
    """EM given the first positive passage, per question type (examples with a positive)."""
    from modelkit.world_metrics import EmTable, exact_match

    exs: list[Example] = [e for e in world.examples if e.positives]
    sources = [
        generator_input(world.snapshots[e.year].titles[e.positives[0]], world.snapshots[e.year].texts[e.positives[0]], e.question.question)
        for e in exs
    ]
    preds = generate_answers(model, tokenizer, sources, gcfg)
    table = EmTable()
    for e, p in zip(exs, preds):
        table.add(e.question.qtype, exact_match(p, e.question.answers[e.year]), changed=e.question.changed)
    return table.as_dict()
