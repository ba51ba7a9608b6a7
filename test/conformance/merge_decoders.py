"""Merges decoder_model.onnx + decoder_with_past_model.onnx into decoder_model_merged.onnx (Optimum's
layout: one graph, an If on `use_cache_branch`), so the conformance tests can load the fixture generator in
both layouts and hand it to transformers.js, which only reads merged decoders.

Usage: python merge_decoders.py <dir with the two decoders> <out.onnx>

Each branch keeps its own weights (prefixed names; fine for a tiny test model). As in Optimum, the
with-past branch echoes the cached cross-attention keys/values as present.*.encoder.* so both branches
have the same outputs.
"""

import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper


def _prefixed(graph: onnx.GraphProto, prefix: str, outer: set[str]) -> onnx.GraphProto:
    """A branch body: the graph without inputs (they come from the outer scope), internal names prefixed."""

    def rn(name: str) -> str:
        return name if (not name or name in outer) else prefix + name

    g = onnx.GraphProto()
    g.name = prefix + graph.name
    for init in graph.initializer:
        t = onnx.TensorProto()
        t.CopyFrom(init)
        t.name = rn(init.name)
        g.initializer.append(t)
    for node in graph.node:
        n = onnx.NodeProto()
        n.CopyFrom(node)
        n.name = prefix + node.name
        del n.input[:]
        n.input.extend(rn(i) for i in node.input)
        del n.output[:]
        n.output.extend(rn(o) for o in node.output)
        g.node.append(n)
    for out in graph.output:
        o = onnx.ValueInfoProto()
        o.CopyFrom(out)
        o.name = rn(out.name)
        g.output.append(o)
    return g


def merge(src: Path, out: Path) -> None:
    no_past = onnx.load(str(src / "decoder_model.onnx"))
    with_past = onnx.load(str(src / "decoder_with_past_model.onnx"))
    past_inputs = [i for i in with_past.graph.input if i.name.startswith("past_key_values.")]
    outer_inputs = {i.name: i for i in no_past.graph.input}
    for i in past_inputs:
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(i)
        # Cross-attention past is empty on the first step: make its length symbolic too.
        dims = vi.type.tensor_type.shape.dim
        dims[2].dim_param = "past_sequence_length" if ".decoder." in i.name else "encoder_sequence_length_out"
        outer_inputs[vi.name] = vi
    use_cache = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    outer = set(outer_inputs) | {"use_cache_branch"}

    then_g = _prefixed(with_past.graph, "with_past/", outer)
    for i in past_inputs:
        if ".encoder." in i.name:
            present = i.name.replace("past_key_values.", "present.")
            then_g.node.append(helper.make_node("Identity", [i.name], ["with_past/" + present], name="echo_" + present))
            vi = onnx.ValueInfoProto()
            vi.CopyFrom(i)
            vi.name = "with_past/" + present
            then_g.output.append(vi)
    else_g = _prefixed(no_past.graph, "no_past/", outer)
    # Both branches must list outputs in the same order: the no-past graph's.
    order = [o.name for o in no_past.graph.output]
    by_name = {o.name.split("/", 1)[1]: o for o in then_g.output}
    then_outputs = [by_name[n] for n in order]
    del then_g.output[:]
    then_g.output.extend(then_outputs)

    outputs = []
    for o in no_past.graph.output:
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(o)
        outputs.append(vi)
    if_node = helper.make_node(
        "If", ["use_cache_branch"], [o.name for o in outputs], name="optimum::if", then_branch=then_g, else_branch=else_g
    )
    graph = helper.make_graph([if_node], "merged_decoder", [*outer_inputs.values(), use_cache], outputs)
    model = helper.make_model(graph, opset_imports=no_past.opset_import, ir_version=no_past.ir_version)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


if __name__ == "__main__":
    merge(Path(sys.argv[1]), Path(sys.argv[2]))
