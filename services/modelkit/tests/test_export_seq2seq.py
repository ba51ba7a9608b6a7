"""Seq2seq exporter: Optimum layout, ORT == PyTorch, cached greedy decode == generate()."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from modelkit.cli import main
from modelkit.errors import ConformanceError, UsageError
from modelkit.export_seq2seq import (
    DECODER_FILE,
    DECODER_WITH_PAST_FILE,
    ENCODER_FILE,
    MAX_ABS_LOGIT_DIFF,
    OrtSeq2Seq,
    export_seq2seq,
    verify_export,
)
from modelkit.fixture_tokenizers import build_byte_bpe, wrap_bart

TEXTS = [
    "The river flows through the old city.",
    "A tower stands in the capital.",
    "Which river flows into the sea?",
]


@pytest.fixture(scope="module")
def bart_tokenizer():
    return wrap_bart(build_byte_bpe(TEXTS, 90))


def _tiny_bart(tokenizer, seed: int = 11):
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(seed)
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        init_std=0.2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=None,
        attn_implementation="eager",
    )
    return BartForConditionalGeneration(config).eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, bart_tokenizer):
    model = _tiny_bart(bart_tokenizer)
    out = export_seq2seq(model, bart_tokenizer, tmp_path_factory.mktemp("s2s") / "bart")
    return model, out


def _io(path):
    graph = onnx.load(str(path)).graph
    dims = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in [*graph.input, *graph.output]
    }
    return [i.name for i in graph.input], [o.name for o in graph.output], dims


def test_layout_and_optimum_names(exported):
    _, out = exported
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (out / name).is_file(), name
    enc_in, enc_out, enc_dims = _io(out / "onnx" / ENCODER_FILE)
    assert enc_in == ["input_ids", "attention_mask"] and enc_out == ["last_hidden_state"]
    assert enc_dims["input_ids"] == ["batch_size", "encoder_sequence_length"]

    dec_in, dec_out, dec_dims = _io(out / "onnx" / DECODER_FILE)
    assert dec_in == ["input_ids", "encoder_attention_mask", "encoder_hidden_states"]
    kv = [f"present.{i}.{part}.{kind}" for i in range(2) for part in ("decoder", "encoder") for kind in ("key", "value")]
    assert dec_out == ["logits", *kv]
    assert dec_dims["logits"][:2] == ["batch_size", "decoder_sequence_length"]

    past_in, past_out, past_dims = _io(out / "onnx" / DECODER_WITH_PAST_FILE)
    assert past_in == ["input_ids", "encoder_attention_mask", *[k.replace("present", "past_key_values") for k in kv]]
    assert past_out == ["logits", *[f"present.{i}.decoder.{kind}" for i in range(2) for kind in ("key", "value")]]
    # batch, heads, past length, head dim: past length symbolic, heads/head_dim concrete.
    assert past_dims["past_key_values.0.decoder.key"] == ["batch_size", 4, "past_decoder_sequence_length", 8]
    assert past_dims["past_key_values.1.encoder.value"][2] == "encoder_sequence_length"


def test_onnx_matches_pytorch_and_cached_greedy_equals_generate(exported):
    model, out = exported
    report = verify_export(model, out, max_length=12)
    assert report["greedy_ids_equal_generate"]
    assert max(report["max_abs_diff"].values()) < MAX_ABS_LOGIT_DIFF
    # The chain covers a 2-token with-past step, so the causal mask inside a step is checked too.
    assert "with_past_chain_logits" in report["max_abs_diff"]
    # A decode long enough to use the cache for several steps.
    assert max(len(r) for r in report["greedy_ids"]) >= 4


def test_bart_export_has_the_grouped_decoder_checked_against_the_with_past_graph(exported):
    from modelkit.grouped_decoder import GROUPED_DECODER_FILE, verify_grouped

    model, out = exported
    g_in, g_out, g_dims = _io(out / "onnx" / GROUPED_DECODER_FILE)
    past_in, past_out, _ = _io(out / "onnx" / DECODER_WITH_PAST_FILE)
    assert g_in == past_in and g_out == past_out
    # cross-attention caches and the encoder mask have one row per group, decoder rows per beam
    assert g_dims["past_key_values.0.encoder.key"][0] == "groups"
    assert g_dims["encoder_attention_mask"][0] == "groups"
    assert g_dims["past_key_values.0.decoder.key"][0] == "batch_size"
    report = verify_grouped(out / "onnx")
    assert max(report["max_abs_diff"].values()) < 1e-5
    assert "grouped_vs_with_past_logits" in verify_export(model, out)["max_abs_diff"]


def test_grouped_decoder_that_disagrees_is_rejected(exported, bart_tokenizer, tmp_path):
    import shutil

    from modelkit.errors import ConformanceError
    from modelkit.grouped_decoder import GROUPED_DECODER_FILE, verify_grouped

    _, out = exported
    bad = tmp_path / "onnx"
    shutil.copytree(out / "onnx", bad)
    # the grouped graph of another model (other weights) must not pass for this one's
    other = _tiny_bart(bart_tokenizer, seed=12)
    from modelkit.grouped_decoder import export_grouped_decoder

    export_grouped_decoder(other, tmp_path / "other")
    shutil.copy(tmp_path / "other" / GROUPED_DECODER_FILE, bad / GROUPED_DECODER_FILE)
    with pytest.raises(ConformanceError, match="grouped decoder disagrees"):
        verify_grouped(bad)


def test_add_grouped_decoder_to_an_export_without_one(exported, tmp_path, capsys):
    import json
    import shutil

    from modelkit.cli import main
    from modelkit.grouped_decoder import GROUPED_DECODER_FILE

    _, out = exported
    old = tmp_path / "old-export"
    shutil.copytree(out, old)
    (old / "onnx" / GROUPED_DECODER_FILE).unlink()
    (old / "PROVENANCE.json").write_text(json.dumps({"files": {}}))
    assert main(["add-grouped-decoder", "--dir", str(old)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (old / "onnx" / GROUPED_DECODER_FILE).is_file() and result["bytes"] > 0
    prov = json.loads((old / "PROVENANCE.json").read_text())
    assert prov["files"][f"onnx/{GROUPED_DECODER_FILE}"]["bytes"] == result["bytes"]
    assert prov["export"]["groupedDecoder"]["vsWithPastGraph"]["max_abs_diff"]["logits"] < 1e-5
    assert main(["add-grouped-decoder", "--dir", str(tmp_path / "nothing")]) != 0


def test_real_text_decode_with_dynamic_shapes(exported, bart_tokenizer):
    """Batch size and lengths differ from the trace; padded rows decode like unpadded ones."""
    model, out = exported
    ort_model = OrtSeq2Seq(out)
    enc = bart_tokenizer(TEXTS + TEXTS[:1], padding=True, return_tensors="np")
    seq, _ = ort_model.greedy(
        enc["input_ids"], enc["attention_mask"], decoder_start_token_id=2, eos_token_id=2, pad_token_id=1, max_length=8
    )
    with torch.no_grad():
        ref = model.generate(
            input_ids=torch.from_numpy(enc["input_ids"]),
            attention_mask=torch.from_numpy(enc["attention_mask"]),
            do_sample=False,
            num_beams=1,
            max_length=8,
            min_length=0,
            forced_bos_token_id=None,
            forced_eos_token_id=None,
            decoder_start_token_id=2,
            eos_token_id=2,
            pad_token_id=1,
        )
    np.testing.assert_array_equal(seq, ref.numpy())
    # Row 3 repeats row 0 with more padding only where the batch is longer: same decode.
    np.testing.assert_array_equal(seq[3], seq[0])


def test_tampered_model_is_rejected(exported):
    model, out = exported
    import copy

    other = copy.deepcopy(model)
    with torch.no_grad():
        # (A uniform shift of the tied lm_head would cancel out after LayerNorm; bias one token.)
        other.final_logits_bias[0, 7] += 0.01
    with pytest.raises(ConformanceError):
        verify_export(other, out)


def test_t5_export(tmp_path):
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tok = wrap_bart(build_byte_bpe(TEXTS, 90))
    torch.manual_seed(5)
    config = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        decoder_start_token_id=1,
        pad_token_id=1,
        eos_token_id=2,
        attn_implementation="eager",
    )
    model = T5ForConditionalGeneration(config).eval()
    assert isinstance(tok, PreTrainedTokenizerFast)
    out = export_seq2seq(model, tok, tmp_path / "t5")
    report = verify_export(model, out)
    assert report["greedy_ids_equal_generate"]


def test_rejects_unsupported_model_and_slow_tokenizer(tmp_path, bart_tokenizer):
    from transformers import BertConfig, BertModel

    bert = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32))
    with pytest.raises(UsageError):
        export_seq2seq(bert, bart_tokenizer, tmp_path / "x")
    with pytest.raises(UsageError):
        export_seq2seq(_tiny_bart(bart_tokenizer), object(), tmp_path / "y")


def test_cli_exports_a_saved_model(tmp_path, bart_tokenizer, capsys):
    model = _tiny_bart(bart_tokenizer, seed=3)
    src = tmp_path / "src"
    model.save_pretrained(src)
    bart_tokenizer.save_pretrained(src)
    out = tmp_path / "out"
    assert main(["export-seq2seq", "--model", str(src), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["verification"]["greedy_ids_equal_generate"] is True
    assert (out / "onnx" / DECODER_WITH_PAST_FILE).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")], "staging directory left behind"


def test_cli_missing_model_dir_is_a_usage_error(tmp_path, capsys):
    assert main(["export-seq2seq", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == UsageError.exit_code
    assert "config.json" in capsys.readouterr().err
