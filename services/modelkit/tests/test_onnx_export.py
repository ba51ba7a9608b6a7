from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch

from modelkit.onnx_export import INPUT_NAMES, OUTPUT_NAME, export_encoder_onnx
from modelkit.quantize import QUANT_CANDIDATES, quantize_int8


def _batch(rng: np.random.Generator, vocab: int, lengths: list[int]) -> dict[str, np.ndarray]:
    width = max(lengths)
    ids = np.zeros((len(lengths), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(5, vocab, n)
        mask[row, :n] = 1
    types = np.zeros_like(ids)
    types[:, width // 2 :] = mask[:, width // 2 :]  # some segment-B tokens, as a pair input would have
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def test_export_matches_pytorch_on_shapes_unlike_the_trace(tiny_bert, tmp_path):
    path = export_encoder_onnx(tiny_bert, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    # The trace used batch 2 x 11; these use other batch sizes, lengths and padding patterns.
    for lengths in ([3], [17, 4, 9], [40, 40], [1, 25, 2, 13, 8]):
        batch = _batch(rng, tiny_bert.config.vocab_size, lengths)
        got = session.run([OUTPUT_NAME], batch)[0]
        with torch.no_grad():
            want = tiny_bert(**{k: torch.from_numpy(v) for k, v in batch.items()}).last_hidden_state.numpy()
        assert got.shape == (len(lengths), max(lengths), tiny_bert.config.hidden_size)
        mask = batch["attention_mask"].astype(bool)
        np.testing.assert_allclose(got[mask], want[mask], atol=1e-4, rtol=0)


def test_export_declares_feature_extraction_interface(tiny_bert, tmp_path):
    path = export_encoder_onnx(tiny_bert, tmp_path / "model.onnx", opset=17)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == list(INPUT_NAMES)
    assert [o.name for o in model.graph.output] == [OUTPUT_NAME]
    for tensor in model.graph.input:
        dims = tensor.type.tensor_type.shape.dim
        assert tensor.type.tensor_type.elem_type == onnx.TensorProto.INT64
        assert [d.dim_param for d in dims] == ["batch_size", "sequence_length"]
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in out_dims[:2]] == ["batch_size", "sequence_length"]
    assert out_dims[2].dim_value == tiny_bert.config.hidden_size
    assert {o.domain: o.version for o in model.opset_import}[""] == 17


def test_export_is_byte_deterministic(tiny_bert, tmp_path):
    a = export_encoder_onnx(tiny_bert, tmp_path / "a.onnx").read_bytes()
    b = export_encoder_onnx(tiny_bert, tmp_path / "b.onnx").read_bytes()
    assert a == b


def test_int8_candidates_keep_selected_matmuls_in_fp32(tiny_bert, tmp_path):
    fp32 = export_encoder_onnx(tiny_bert, tmp_path / "model.onnx")
    batch = _batch(np.random.default_rng(3), tiny_bert.config.vocab_size, [12, 5])
    ref = ort.InferenceSession(str(fp32)).run([OUTPUT_NAME], batch)[0]
    float_matmuls = []
    for candidate in QUANT_CANDIDATES:
        out = quantize_int8(fp32, tmp_path / f"{candidate.name}.onnx", candidate)
        nodes = onnx.load(str(out)).graph.node
        float_matmuls.append(sum(n.op_type == "MatMul" and "/dense/" in n.name for n in nodes))
        got = ort.InferenceSession(str(out)).run([OUTPUT_NAME], batch)[0]
        assert got.shape == ref.shape
        # Random weights make int8 error large in absolute terms; direction must survive.
        flat_got, flat_ref = got.reshape(-1), ref.reshape(-1)
        cos = float(flat_got @ flat_ref / (np.linalg.norm(flat_got) * np.linalg.norm(flat_ref)))
        assert cos > 0.95, (candidate.name, cos)
    layers = tiny_bert.config.num_hidden_layers
    # int8-all quantises every dense MatMul; the ladder then keeps 1 and 2 per layer in fp32.
    assert float_matmuls == [0, layers, 2 * layers]
