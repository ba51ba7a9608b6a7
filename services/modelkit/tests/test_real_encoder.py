"""The packaged all-MiniLM-L6-v2: export conformance and the committed artefacts' integrity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import COMMITTED_FIXTURE, COMMITTED_MODEL_DIR, PACKAGE
from modelkit.cli import main
from modelkit.errors import SourcePackageError
from modelkit.file_hash import sha256_file
from modelkit.onnx_encoder import OnnxSentenceEncoder
from modelkit.pooling import cosine_rows
from modelkit.reference import COSINE_THRESHOLDS
from modelkit.source_package import locate_model


def test_locate_model_finds_the_bundled_weights():
    source = locate_model(PACKAGE)
    assert source.version == "0.1.0"
    assert (source.model_dir / "model.safetensors").stat().st_size > 80_000_000


def test_unknown_package_is_a_typed_error_with_a_hint():
    with pytest.raises(SourcePackageError) as info:
        locate_model("no-such-model-package-xyz")
    assert "setup-python.sh" in info.value.hint


def test_cli_exit_codes(tmp_path, capsys):
    assert main(["export-encoder", "--package", "no-such-model-package-xyz", "--out", str(tmp_path / "m")]) == 3
    assert "hint:" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    with pytest.raises(SystemExit) as info:
        main(["export-encoder"])  # --out is required
    assert info.value.code == 2


def test_export_conforms_and_records_provenance(real_export):
    prov = real_export.provenance
    out = real_export.out_dir
    fp32 = prov["conformance"]["fp32"]
    assert fp32["min"] >= 0.9999 and fp32["maxAbsDiffVsTorch"] <= 1e-4
    assert prov["licence"] == "Apache-2.0"
    assert prov["source"] == {**prov["source"], "package": PACKAGE, "version": "0.1.0"}
    # Whatever precision was chosen, the shipped file is what the provenance describes.
    if prov["precision"] == "int8":
        assert prov["quantisation"]["cosineVsSentenceTransformers"]["min"] >= COSINE_THRESHOLDS["int8"]
        assert prov["files"]["model.onnx"]["bytes"] == prov["export"]["int8Bytes"]
    else:
        assert prov["files"]["model.onnx"]["bytes"] == prov["export"]["fp32Bytes"]
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert on_disk == sorted([*prov["files"], "PROVENANCE.json"])
    for name, entry in prov["files"].items():
        assert sha256_file(out / name) == entry["sha256"], name


def test_exported_tokenizer_truncates_at_max_seq_length_without_fixed_padding(real_export):
    tok = json.loads((real_export.out_dir / "tokenizer.json").read_text())
    assert tok["truncation"]["max_length"] == 256
    assert tok["padding"] is None
    st = json.loads((real_export.out_dir / "sentence_bert_config.json").read_text())
    pooling = json.loads((real_export.out_dir / "1_Pooling/config.json").read_text())
    modules = json.loads((real_export.out_dir / "modules.json").read_text())
    assert st["max_seq_length"] == 256
    assert pooling["pooling_mode_mean_tokens"] is True
    assert modules[-1]["type"].endswith("Normalize")


def test_export_is_reproducible(real_export):
    """Same toolchain and package -> same bytes as the committed directory."""
    committed = json.loads((COMMITTED_MODEL_DIR / "PROVENANCE.json").read_text())
    if committed["toolchain"] != real_export.provenance["toolchain"]:
        pytest.skip("committed model was built with another toolchain")
    assert committed["files"] == real_export.provenance["files"]


def test_committed_model_matches_its_provenance_and_the_reference():
    prov = json.loads((COMMITTED_MODEL_DIR / "PROVENANCE.json").read_text())
    for name, entry in prov["files"].items():
        assert sha256_file(COMMITTED_MODEL_DIR / name) == entry["sha256"], name
    fixture = json.loads(COMMITTED_FIXTURE.read_text())
    texts = [s["text"] for s in fixture["sentences"]]
    want = np.array([s["embedding"] for s in fixture["sentences"]], dtype=np.float32)
    encoder = OnnxSentenceEncoder(COMMITTED_MODEL_DIR)
    # Our tokenizer.json must produce exactly the ids sentence-transformers used.
    for sentence in fixture["sentences"]:
        assert encoder.tokenizer.encode(sentence["text"]).ids == sentence["inputIds"], sentence["id"]
    cos = cosine_rows(encoder.encode(texts), want)
    bar = fixture["cosineThresholds"][prov["precision"]]
    assert cos.min() >= bar, (prov["precision"], float(cos.min()))


def test_an_unknown_pinned_int8_variant_fails_before_any_work(tmp_path):
    from modelkit.errors import UsageError
    from modelkit.export_encoder import export_encoder

    with pytest.raises(UsageError, match="int4-everything"):
        export_encoder(PACKAGE, tmp_path / "out", int8=True, int8_candidate="int4-everything")
    assert not (tmp_path / "out").exists()
