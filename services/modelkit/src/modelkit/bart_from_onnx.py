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

ONNX_SUBDIR = "onnx"


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


def _weights_of(path: Path) -> dict[str, np.ndarray]:
    import onnx

    graph = onnx.load(str(path))
    inits = _initializers(graph)
    out = {_param_name(n): a for n, a in inits.items() if not n.startswith("onnx::")}
    consumers: dict[str, list] = {}
    for node in graph.graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    for node in graph.graph.node:
        if node.op_type != "MatMul" or node.input[1] not in inits or not node.input[1].startswith("onnx::"):
            continue
        biases = [i for c in consumers.get(node.output[0], []) if c.op_type == "Add" for i in c.input if i in inits and i.endswith(".bias")]
        if len(biases) != 1:
            continue
        out[_param_name(biases[0])[: -len("bias")] + "weight"] = inits[node.input[1]].T
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
    missing = [k for k in state if k not in loaded and k != "final_logits_bias"]
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
