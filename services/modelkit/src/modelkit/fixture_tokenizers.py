"""Tiny deterministic tokenizers for the hf-rag fixtures, built with the `tokenizers` library.

- Question/context encoder (DPR, BERT-style): uncased WordPiece whose vocabulary is the sorted
  word list of the corpus, minus a few words that must split into "##" pieces.
- Generator (BART-style): byte-level BPE with BART's special-token ids (<s>=0, <pad>=1, </s>=2,
  <unk>=3, <mask> last) and RoBERTa post-processing. Merges are learned here by a small greedy
  BPE (most frequent pair, ties broken by the pair's strings) instead of `BpeTrainer`, whose ids
  for equally frequent characters depend on hash-map order; this keeps tokenizer.json
  byte-identical from run to run. Bytes never seen in the corpus are not in the vocabulary (a
  test tokenizer, not a general one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

WORDPIECE_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
BART_SPECIALS_HEAD = ("<s>", "<pad>", "</s>", "<unk>")
BART_MASK = "<mask>"


def build_wordpiece(texts: Iterable[str], splits: dict[str, tuple[str, ...]]) -> Tokenizer:
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    words: set[str] = set()
    for text in texts:
        words.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    pieces = {p for parts in splits.values() for p in parts}
    words = (words - set(splits)) | pieces
    vocab = {tok: i for i, tok in enumerate([*WORDPIECE_SPECIALS, *sorted(words)])}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def learn_bpe(texts: Iterable[str], vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Greedy BPE on byte-level pre-tokenized words; deterministic by construction."""
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    word_counts: Counter[str] = Counter()
    for text in texts:
        word_counts.update(w for w, _ in pre.pre_tokenize_str(text))
    words = {w: list(w) for w in sorted(word_counts)}
    alphabet = sorted({ch for w in words for ch in w})
    vocab_list = [*BART_SPECIALS_HEAD, *alphabet]
    merges: list[tuple[str, str]] = []
    budget = vocab_size - 1  # room for <mask> at the end
    while len(vocab_list) < budget:
        pairs: Counter[tuple[str, str]] = Counter()
        for w, syms in words.items():
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] += word_counts[w]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = best[0] + best[1]
        vocab_list.append(merged)
        for w, syms in words.items():
            out: list[str] = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == best[0] and syms[i + 1] == best[1]:
                    out.append(merged)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[w] = out
    vocab_list.append(BART_MASK)
    return {tok: i for i, tok in enumerate(vocab_list)}, merges


def build_byte_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    vocab, merges = learn_bpe(texts, vocab_size)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=None, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.post_processor = processors.RobertaProcessing(
        sep=("</s>", vocab["</s>"]), cls=("<s>", vocab["<s>"]), trim_offsets=True, add_prefix_space=False
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([*BART_SPECIALS_HEAD, BART_MASK])
    return tok


def wrap_dpr(tok: Tokenizer):
    """A transformers fast tokenizer around the WordPiece tokenizer, as DPR's (bert-base-uncased)."""
    from transformers import DPRQuestionEncoderTokenizerFast

    return DPRQuestionEncoderTokenizerFast(
        tokenizer_object=tok,
        do_lower_case=True,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        model_max_length=64,
        clean_up_tokenization_spaces=True,
    )


def wrap_bart(tok: Tokenizer):
    from transformers import BartTokenizerFast

    return BartTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        add_prefix_space=False,
        model_max_length=64,
        clean_up_tokenization_spaces=False,
    )
