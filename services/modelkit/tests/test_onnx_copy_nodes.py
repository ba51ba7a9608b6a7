"""One-input Concat nodes become Identity; outputs are unchanged bit for bit."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from modelkit.onnx_copy_nodes import drop_copy_nodes, single_input_concats_to_identity


def _graph() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 4])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["b", 8])
    nodes = [
        helper.make_node("Concat", ["x"], ["c"], axis=-2, name="copy"),
        helper.make_node("Add", ["c", "x"], ["y"]),
        helper.make_node("Concat", ["x", "c"], ["z"], axis=-1, name="real"),
    ]
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y, z]), opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})


def test_only_one_input_concats_are_rewritten_and_outputs_are_identical(tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    before = _run(_graph(), x)
    model = _graph()
    assert single_input_concats_to_identity(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Identity", "Add", "Concat"]
    after = _run(model, x)
    for a, b in zip(before, after):
        assert np.array_equal(a, b)
    path = tmp_path / "m.onnx"
    onnx.save(_graph(), str(path))
    assert drop_copy_nodes(path) == 1
    assert drop_copy_nodes(path) == 0
