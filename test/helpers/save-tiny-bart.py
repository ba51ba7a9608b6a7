"""A tiny random BART checkpoint as a user's Hugging Face directory (save_pretrained), built from a config, offline:
the input of docs/models.md's one-command conversion in test/real-questions.test.ts. Usage: python save-tiny-bart.py OUT"""

import sys
import torch
from transformers import BartConfig, BartForConditionalGeneration
from modelkit.fixture_tokenizers import build_byte_bpe, wrap_bart

out = sys.argv[1]
texts = ["The last person on the Moon was Eugene Cernan in 1972.", "Who was the last person on the Moon?", "A river flows through the old city."]
tok = wrap_bart(build_byte_bpe(texts, 120))
tok.model_max_length = 512
torch.manual_seed(3)
cfg = BartConfig(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                 encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=512, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                 eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.eos_token_id, forced_eos_token_id=tok.eos_token_id)
BartForConditionalGeneration(cfg).eval().save_pretrained(out)
tok.save_pretrained(out)
