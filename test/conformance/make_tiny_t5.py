"""A tiny random T5 in the Optimum layout plus transformers' own generate() outputs on it, for the T5
conformance test (T5 conventions: decoder start = pad = 0, eos = 1, no forced BOS, relative position
bias instead of position embeddings, and beam rows filled with eos because pad is 0).

Usage: python make_tiny_t5.py <out_dir> <tokenizer_dir>

The tokenizer is borrowed from the BART fixture (ids are fed directly; only the files must exist).
The export goes through modelkit.export_seq2seq, which verifies ONNX against PyTorch.
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "services" / "modelkit" / "src"))

import torch  # noqa: E402
from transformers import GenerationConfig, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration  # noqa: E402

from modelkit.export_seq2seq import export_seq2seq  # noqa: E402

MAX_LENGTH = 8
LOGIT_SCALE = 10.0


def main(out: Path, tokenizer_dir: Path) -> None:
    torch.manual_seed(11)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    cfg = T5Config(
        vocab_size=200, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=16, dropout_rate=0.0,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, feed_forward_proj="relu", tie_word_embeddings=False,
    )
    model = T5ForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        # Larger logits: peaked next-token distributions, so decoding decisions are far from ties.
        model.lm_head.weight.mul_(LOGIT_SCALE)
    model.generation_config = GenerationConfig(decoder_start_token_id=0, eos_token_id=1, pad_token_id=0, max_length=MAX_LENGTH)
    g = torch.Generator().manual_seed(3)
    lengths = [9, 6, 11, 4]
    width = max(lengths)
    ids = torch.zeros((len(lengths), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, n in enumerate(lengths):
        ids[r, : n - 1] = torch.randint(2, 200, (n - 1,), generator=g)
        ids[r, n - 1] = 1
        mask[r, :n] = 1
    with torch.no_grad():
        # Make EOS the favourite wherever the most frequent greedy token was, so that some hypotheses
        # end early (T5 beam rows are then filled with eos, because pad is 0) and others run to max_length.
        first = model.generate(input_ids=ids, attention_mask=mask, num_beams=1, max_length=MAX_LENGTH)
        common = int(torch.mode(first[:, 1:].flatten()).values)
        model.lm_head.weight[1] = model.lm_head.weight[common] * 1.05
    tok = PreTrainedTokenizerFast.from_pretrained(str(tokenizer_dir))
    # Logits are LOGIT_SCALE times larger than the exporter's default tolerance assumes.
    export_seq2seq(model, tok, out, tolerance=1e-4 * LOGIT_SCALE)

    with torch.no_grad():
        greedy = model.generate(input_ids=ids, attention_mask=mask, num_beams=1, max_length=MAX_LENGTH)
        beam = model.generate(
            input_ids=ids, attention_mask=mask, num_beams=3, num_return_sequences=2, max_length=MAX_LENGTH,
            return_dict_in_generate=True, output_scores=True,
        )
    ref = {
        "max_length": MAX_LENGTH,
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "greedy": greedy.tolist(),
        "beam": {"num_beams": 3, "num_return_sequences": 2, "sequences": beam.sequences.tolist(), "sequences_scores": beam.sequences_scores.tolist()},
    }
    (out / "reference.json").write_text(json.dumps(ref))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
