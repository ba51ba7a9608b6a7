"""distill-static: model2vec distillation -> ONNX static encoder; its output equals StaticModel.encode,
and a rebuild reproduces the committed models/minilm-static-256 byte for byte."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import PACKAGE, REPO_ROOT
from modelkit.cli import main
from modelkit.file_hash import sha256_file
from modelkit.pooling import cosine_rows

pytestmark = pytest.mark.slow

STATIC_DIR = REPO_ROOT / "models" / "minilm-static-256"
STATIC_FIXTURE = REPO_ROOT / "test" / "fixtures" / "static-encoder-reference.json"


@pytest.fixture(scope="module")
def static_export(tmp_path_factory):
    """One distillation + export with the committed settings (about 20 s on 2 cores)."""
    from modelkit.distill_static import distill_static

    prov = json.loads((STATIC_DIR / "PROVENANCE.json").read_text())["distillation"]
    out = tmp_path_factory.mktemp("static") / "minilm-static-256"
    return distill_static(out, package=PACKAGE, pca_dims=prov["pcaDims"], dtype=prov["dtype"])


def _passage_texts() -> list[str]:
    """Real enwiki passages (title + ". " + text), as committed in the TypeScript fixture."""
    records = json.loads(STATIC_FIXTURE.read_text())["texts"]
    return [r["text"] for r in records if r["id"].startswith("passage-")]


def test_onnx_graph_is_a_lookup_with_the_encoder_layout(static_export):
    import onnx

    model = onnx.load(str(static_export.out_dir / "model.onnx"))
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in model.graph.input)
    hidden, pooled = model.graph.output
    shape = lambda o: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]  # noqa: E731
    assert hidden.name == "last_hidden_state" and hidden.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert shape(hidden) == ["batch_size", "sequence_length", 256]
    assert pooled.name == "mean_pooled" and shape(pooled) == ["batch_size", 256]
    assert [n.op_type for n in model.graph.node] == ["Gather", "Cast", "Cast", "Unsqueeze", "Mul", "ReduceSum", "ReduceSum", "Max", "Div"]
    tok = json.loads((static_export.out_dir / "tokenizer.json").read_text())
    # No [CLS]/[SEP] (model2vec tokenizes without special tokens), no fixed padding or truncation.
    assert tok["post_processor"] is None and tok["padding"] is None and tok["truncation"] is None
    rag = json.loads((static_export.out_dir / "rag_encoder.json").read_text())
    assert rag == {**rag, "pooling": "mean", "normalize": True, "maxLength": 512, "passageFormat": "concat", "outputName": "mean_pooled"}


def test_onnx_output_equals_model2vec_encode(static_export):
    from modelkit.distill_static import StaticOnnxEncoder, model2vec_encode, without_unk
    from modelkit.sentences import reference_texts

    static = static_export.model
    texts = reference_texts() + _passage_texts()
    ours = StaticOnnxEncoder(static_export.out_dir)
    theirs = model2vec_encode(static, texts)
    for output in ("mean_pooled", "last_hidden_state"):  # the graph's mean, or the encoder's over token states
        cos = cosine_rows(ours.encode(texts, output=output).astype(np.float64), theirs.astype(np.float64))
        assert cos.min() >= 0.9999, (output, cos.min())
    assert without_unk(ours.token_ids(texts), static.unk_token_id) == static.tokenize(texts, max_length=512)
    # Not a vacuous match: model2vec's vectors separate different texts.
    assert float(theirs[0] @ theirs[-1]) < 0.9
    conf = static_export.provenance["conformance"]
    assert conf["onnxVsModel2vec"]["min"] >= 0.9999 and conf["lastHiddenStateMeanPooledVsModel2vec"]["min"] >= 0.9999
    assert conf["tokenIdsEqual"] is True


def test_unknown_tokens_are_ignored_like_model2vec(static_export):
    """model2vec drops [UNK]; the exported table's [UNK] row is zero, which is the same after L2."""
    from modelkit.distill_static import StaticOnnxEncoder, model2vec_encode

    texts = ["the castle 𓀀 on the hill", "the castle on the hill"]
    ours = StaticOnnxEncoder(static_export.out_dir)
    assert static_export.model.unk_token_id in ours.token_ids(texts)[0]
    v = ours.encode(texts)
    assert float(v[0] @ v[1]) > 0.99999
    empty = ours.encode([""])
    assert np.all(empty == 0), "no token: zeros, as model2vec"
    cos = cosine_rows(v.astype(np.float64), model2vec_encode(static_export.model, texts).astype(np.float64))
    assert cos.min() >= 0.9999


def _table(path):
    import onnx
    from onnx import numpy_helper

    init = {i.name: i for i in onnx.load(str(path)).graph.initializer}
    return numpy_helper.to_array(init["embeddings"]).astype(np.float64)


def test_rebuild_reproduces_the_committed_model(static_export):
    """Same files; the token table to fp16 rounding. A re-run on one machine writes the same bytes, but
    PCA's SVD runs on the CPU's BLAS kernels, so another CPU model may round ~15% of the float16 entries
    the other way (seen between an Intel Xeon with AVX-512 and an AMD EPYC): rows then agree to a
    cosine of 1 - 1e-7, and model.onnx with PROVENANCE.json (which records its sha256) differ in bytes."""
    out = static_export.out_dir
    committed = sorted(str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*") if p.is_file())
    rebuilt = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert rebuilt == committed
    for name in committed:
        if name in ("model.onnx", "PROVENANCE.json"):
            continue
        assert sha256_file(out / name) == sha256_file(STATIC_DIR / name), f"{name} differs from the committed model"
    if sha256_file(out / "model.onnx") != sha256_file(STATIC_DIR / "model.onnx"):
        a, b = _table(out / "model.onnx"), _table(STATIC_DIR / "model.onnx")
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 2 ** -9 * max(1.0, np.abs(b).max()), "more than fp16 rounding apart"
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        live = norms > 0
        assert ((a * b).sum(axis=1)[live] / norms[live]).min() >= 0.99999
    prov = static_export.provenance
    committed_prov = json.loads((STATIC_DIR / "PROVENANCE.json").read_text())
    strip = lambda p: {**p, "files": {k: v for k, v in p["files"].items() if k != "model.onnx"}}  # noqa: E731
    assert strip(json.loads((out / "PROVENANCE.json").read_text())) == strip(committed_prov)
    assert sum(f["bytes"] for f in prov["files"].values()) <= 20_000_000
    # The TypeScript fixture was made from the committed model.
    assert committed_prov["files"]["model.onnx"]["sha256"] == json.loads(STATIC_FIXTURE.read_text())["modelSha256"]


def test_cli_rejects_half_a_reference_request(tmp_path, capsys):
    code = main(["distill-static", "--out", str(tmp_path / "m"), "--reference-out", str(tmp_path / "r.json")])
    assert code == 2
    assert "hint:" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
