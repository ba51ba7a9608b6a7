"""Rebuilds a PyTorch BartForConditionalGeneration from our Optimum-layout ONNX export.

The shipped world generator exists only as ONNX. A peer benchmark against transformers must run the
same weights in PyTorch, so they are read back from the graphs: named initializers map to parameters
directly (the exporter keeps module paths); the TorchScript exporter stores each Linear weight
transposed under an anonymous `onnx::MatMul_*` name, recovered from the bias added right after it.
The result is checked against ONNX Runtime on a sample input before it is returned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from modelkit.errors import ConformanceError, UsageError
from modelkit.seq2seq_layout import ONNX_SUBDIR


def _initializers(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def _param_name(onnx_name: str) -> str:
    # encoder graph: "encoder.layers.0...."; decoder graph: "model.model.decoder...." (wrapper prefix)
    if onnx_name.startswith("model.model.") or onnx_name.startswith("model.final_logits_bias") or onnx_name.startswith("model.lm_head"):
        return onnx_name[len("model.") :]
    if onnx_name.startswith("encoder."):
        return "model." + onnx_name
    return onnx_name


def _module_path(node_name: str) -> str:
    # "/model/model/decoder/layers.0/encoder_attn/q_proj/MatMul" -> "model.model.decoder.layers.0.encoder_attn.q_proj"
    return ".".join(node_name.strip("/").split("/")[:-1])


def _weights_of(path: Path) -> dict[str, np.ndarray]:
    """Parameters by the module path in each node's name (initializers may be shared or anonymous:
    the exporter dedups equal constants and stores Linear weights transposed as onnx::MatMul_*)."""
    import onnx

    graph = onnx.load(str(path))
    inits = _initializers(graph)
    out = {_param_name(n): a for n, a in inits.items() if not n.startswith("onnx::")}
    for node in graph.graph.node:
        # logits = lm_head(h) + final_logits_bias: the Add that writes the graph output.
        if node.op_type == "Add" and "logits" in node.output:
            bias = [i for i in node.input if i in inits]
            if bias:
                out["final_logits_bias"] = inits[bias[0]].reshape(1, -1)
        module = _module_path(node.name)
        consts = [i for i in node.input if i in inits]
        if not module or not consts:
            continue
        if node.op_type == "MatMul" and node.input[1] in inits and inits[node.input[1]].ndim == 2:
            out[_param_name(module + ".weight")] = inits[node.input[1]].T
        elif node.op_type == "Add" and (module.endswith("_proj") or module.rsplit(".", 1)[-1] in ("fc1", "fc2")):
            out[_param_name(module + ".bias")] = inits[consts[0]]
        elif node.op_type == "LayerNormalization":
            for i, kind in ((1, "weight"), (2, "bias")):
                if len(node.input) > i and node.input[i] in inits:
                    out[_param_name(f"{module}.{kind}")] = inits[node.input[i]]
    return out


def bart_from_onnx(model_dir: Path):
    """A BartForConditionalGeneration with the weights of `model_dir/onnx/*.onnx` (verified)."""
    from transformers import BartConfig, BartForConditionalGeneration

    model_dir = Path(model_dir)
    onnx_dir = model_dir / ONNX_SUBDIR
    if not (onnx_dir / "encoder_model.onnx").is_file() or not (onnx_dir / "decoder_model.onnx").is_file():
        raise UsageError(f"{onnx_dir} lacks encoder_model.onnx / decoder_model.onnx", hint="export the model with python -m modelkit export-seq2seq")
    config = BartConfig.from_pretrained(model_dir)
    model = BartForConditionalGeneration(config).eval()
    weights = {**_weights_of(onnx_dir / "encoder_model.onnx"), **_weights_of(onnx_dir / "decoder_model.onnx")}
    state = model.state_dict()
    loaded = {}
    for name, arr in weights.items():
        if name in state and tuple(state[name].shape) == arr.shape:
            loaded[name] = torch.from_numpy(np.array(arr))
    # Tied embeddings: one tensor under several names.
    shared = loaded.get("model.shared.weight", loaded.get("model.decoder.embed_tokens.weight", loaded.get("model.encoder.embed_tokens.weight")))
    for name in ("model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
        if name not in loaded and shared is not None:
            loaded[name] = shared
    # Constants equal to the init (zero biases, unit LayerNorm scales) may be folded into shared or
    # Constant nodes; the model's own init stands for them, and _verify below catches anything else.
    missing = [k for k in state if k not in loaded and k != "final_logits_bias" and not k.endswith(".bias") and "norm" not in k]
    if missing:
        raise ConformanceError(f"{model_dir}: no ONNX initializer for {missing[:5]} ({len(missing)} in all)", hint="the graphs were not written by modelkit export-seq2seq")
    model.load_state_dict(loaded, strict=False)
    _verify(model, onnx_dir)
    return model


def _verify(model, onnx_dir: Path, tol: float = 1e-4) -> None:
    import onnxruntime as ort

    cfg = model.config
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(4, cfg.vocab_size, (2, 9), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    dec = torch.randint(4, cfg.vocab_size, (2, 3), generator=gen)
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, use_cache=False).logits.numpy()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(onnx_dir / "encoder_model.onnx"), opts, providers=["CPUExecutionProvider"])
    decs = ort.InferenceSession(str(onnx_dir / "decoder_model.onnx"), opts, providers=["CPUExecutionProvider"])
    hidden = enc.run(["last_hidden_state"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    feeds = {"input_ids": dec.numpy(), "encoder_attention_mask": mask.numpy(), "encoder_hidden_states": hidden}
    logits = decs.run(["logits"], {k: v for k, v in feeds.items() if k in {i.name for i in decs.get_inputs()}})[0]
    diff = float(np.abs(logits - ref).max())
    if diff > tol:
        raise ConformanceError(f"PyTorch weights rebuilt from {onnx_dir} disagree with ONNX Runtime (max |logit diff| {diff:.2e})", hint="the export may use a layout this reader does not know")
