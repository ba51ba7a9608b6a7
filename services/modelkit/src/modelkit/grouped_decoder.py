"""An optional extra decoder graph for beam search over RAG batches: cross-attention cache stored once
per encoder row instead of once per decoder row.

Under beam search every beam of one (question, document) pair reads the same cross-attention
keys/values. The Optimum with-past graph wants them repeated per decoder row, so a RAG-Token batch of
B questions · K documents · N beams feeds B·K·N copies of caches that hold B·K distinct rows, and each
step streams all of them from memory. This graph takes them once per encoder row ("group") and lets
the N beams of a group attend to them as N queries of one attention call:

    onnx/decoder_with_past_grouped_model.onnx
      input_ids                          [G·N, 1]          one new token per decoder row, group-major
      encoder_attention_mask             [G, S]            one row per group
      past_key_values.{i}.decoder.key/value  [G·N, H, P, d]  per decoder row
      past_key_values.{i}.encoder.key/value  [G, H, S, d]    per group
      -> logits [G·N, 1, V], present.{i}.decoder.key/value [G·N, H, P+1, d]

Decoder row r belongs to group r // N. The arithmetic is the with-past decoder's (BartDecoderLayer, eager
attention: softmax(q·kᵀ·scale + mask)·v), so logits agree with it to float rounding; `verify_grouped`
checks that against the Optimum graph with expanded caches. BART only (the model RAG uses); T5 exports
simply have no grouped graph and the loader falls back to the Optimum one.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from modelkit.errors import ConformanceError, UsageError
from modelkit.file_hash import sha256_file
from modelkit.seq2seq_layout import DECODER_WITH_PAST_FILE, GROUPED_DECODER_FILE, ONNX_SUBDIR

log = logging.getLogger("modelkit.grouped_decoder")

MAX_ABS_DIFF = 1e-4


def _mask_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[G, S] 0/1 -> [G, 1, 1, S] additive bias, as transformers' _prepare_4d_attention_mask: 0 or finfo.min."""
    inverted = 1.0 - mask[:, None, None, :].to(dtype)
    return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


def _attend(attn, hidden: torch.Tensor, key: torch.Tensor, value: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """BartAttention's eager path on given keys/values. hidden [N, T, D]; key/value [N, H, L, d] -> [N, T, D]."""
    n, t, _ = hidden.shape
    q = attn.q_proj(hidden).view(n, t, -1, attn.head_dim).transpose(1, 2)
    w = torch.matmul(q, key.transpose(2, 3)) * attn.scaling
    if bias is not None:
        w = w + bias
    w = torch.nn.functional.softmax(w, dim=-1)
    out = torch.matmul(w, value).transpose(1, 2).reshape(n, t, -1).contiguous()
    return attn.out_proj(out)


class GroupedBartDecoderStep(torch.nn.Module):
    """One cached decoding step of a BartForConditionalGeneration with grouped cross-attention caches."""

    def __init__(self, model) -> None:
        super().__init__()
        if model.config.model_type != "bart":
            raise UsageError(f"grouped decoder: only BART is supported, got {model.config.model_type}", hint="T5 exports use the Optimum graphs alone")
        self.model = model
        self.decoder = model.model.decoder
        self.d_model = int(model.config.d_model)

    def forward(self, input_ids, encoder_attention_mask, *past):
        dec = self.decoder
        groups = encoder_attention_mask.shape[0]
        past_len = past[0].shape[2]
        h = dec.embed_tokens(input_ids) + dec.embed_positions(input_ids, past_len)
        h = dec.layernorm_embedding(h)
        bias = _mask_bias(encoder_attention_mask, h.dtype)
        presents: list[torch.Tensor] = []
        for i, layer in enumerate(dec.layers):
            self_k, self_v, cross_k, cross_v = past[4 * i : 4 * i + 4]
            sa = layer.self_attn
            rows = h.shape[0]
            k_new = sa.k_proj(h).view(rows, 1, -1, sa.head_dim).transpose(1, 2)
            v_new = sa.v_proj(h).view(rows, 1, -1, sa.head_dim).transpose(1, 2)
            key = torch.cat([self_k, k_new], dim=2)
            value = torch.cat([self_v, v_new], dim=2)
            presents += [key, value]
            # one new token attends to every cached position: no causal mask needed
            h = layer.self_attn_layer_norm(h + _attend(sa, h, key, value, None))
            # the beams of a group are the queries of one cross-attention call over the group's cache
            grouped = h.reshape(groups, -1, self.d_model)
            cross = _attend(layer.encoder_attn, grouped, cross_k, cross_v, bias).reshape(-1, 1, self.d_model)
            h = layer.encoder_attn_layer_norm(h + cross)
            h = layer.final_layer_norm(h + layer.fc2(layer.activation_fn(layer.fc1(h))))
        logits = self.model.lm_head(h) + self.model.final_logits_bias
        return (logits, *presents)


def _names(layers: int) -> tuple[list[str], list[str]]:
    past_in, past_out = [], []
    for i in range(layers):
        past_in += [f"past_key_values.{i}.{part}.{kv}" for part in ("decoder", "encoder") for kv in ("key", "value")]
        past_out += [f"present.{i}.decoder.{kv}" for kv in ("key", "value")]
    return past_in, past_out


def _sample(model, groups: int, beams: int, past_len: int, enc_len: int, seed: int = 0):
    cfg = model.config
    heads = int(cfg.decoder_attention_heads)
    head_dim = int(cfg.d_model) // heads
    gen = torch.Generator().manual_seed(seed)
    rows = groups * beams
    ids = torch.randint(4, int(cfg.vocab_size), (rows, 1), generator=gen, dtype=torch.long)
    mask = torch.ones(groups, enc_len, dtype=torch.long)
    mask[-1, enc_len - 2 :] = 0
    past: list[torch.Tensor] = []
    for _ in range(int(cfg.decoder_layers)):
        past += [torch.randn(rows, heads, past_len, head_dim, generator=gen) for _ in range(2)]
        past += [torch.randn(groups, heads, enc_len, head_dim, generator=gen) for _ in range(2)]
    return ids, mask, past


def export_grouped_decoder(model, onnx_dir: Path, opset: int = 17) -> Path:
    """Writes onnx/decoder_with_past_grouped_model.onnx for a BART model (eager attention)."""
    from modelkit.onnx_copy_nodes import drop_copy_nodes

    model = model.eval()
    layers = int(model.config.decoder_layers)
    past_in, past_out = _names(layers)
    ids, mask, past = _sample(model, groups=2, beams=3, past_len=3, enc_len=7)
    axes: dict[str, dict[int, str]] = {
        "input_ids": {0: "batch_size"},
        "encoder_attention_mask": {0: "groups", 1: "encoder_sequence_length"},
        "logits": {0: "batch_size"},
    }
    for name in past_in:
        axes[name] = {0: "groups", 2: "encoder_sequence_length"} if ".encoder." in name else {0: "batch_size", 2: "past_decoder_sequence_length"}
    for name in past_out:
        axes[name] = {0: "batch_size", 2: "past_decoder_sequence_length + 1"}
    path = Path(onnx_dir) / GROUPED_DECODER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            GroupedBartDecoderStep(model).eval(),
            (ids, mask, *past),
            str(path),
            input_names=["input_ids", "encoder_attention_mask", *past_in],
            output_names=["logits", *past_out],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    drop_copy_nodes(path)
    return path


def verify_grouped(onnx_dir: Path, *, tolerance: float = MAX_ABS_DIFF) -> dict[str, Any]:
    """Runs the grouped graph and the Optimum with-past graph (caches repeated per beam) on random
    caches of other shapes than the trace's; raises ConformanceError if logits or caches differ."""
    import onnxruntime as ort

    onnx_dir = Path(onnx_dir)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    grouped = ort.InferenceSession(str(onnx_dir / GROUPED_DECODER_FILE), opts, providers=["CPUExecutionProvider"])
    plain = ort.InferenceSession(str(onnx_dir / DECODER_WITH_PAST_FILE), opts, providers=["CPUExecutionProvider"])
    shapes = {i.name: i.shape for i in plain.get_inputs()}
    heads, head_dim = shapes["past_key_values.0.decoder.key"][1], shapes["past_key_values.0.decoder.key"][3]
    layers = sum(1 for n in shapes if n.startswith("past_key_values.") and n.endswith(".decoder.key"))
    vocab = plain.get_outputs()[0].shape[2]
    worst = {"logits": 0.0, "present": 0.0}
    for groups, beams, past_len, enc_len in ((3, 4, 5, 11), (1, 1, 1, 4), (5, 2, 2, 9)):
        rng = np.random.default_rng(groups * 100 + beams)
        rows = groups * beams
        ids = rng.integers(4, vocab if isinstance(vocab, int) else 50, size=(rows, 1), dtype=np.int64)
        mask = np.ones((groups, enc_len), dtype=np.int64)
        mask[0, enc_len - 3 :] = 0
        feeds_g: dict[str, np.ndarray] = {"input_ids": ids, "encoder_attention_mask": mask}
        feeds_p: dict[str, np.ndarray] = {"input_ids": ids, "encoder_attention_mask": np.repeat(mask, beams, axis=0)}
        for i in range(layers):
            for kv in ("key", "value"):
                s = rng.standard_normal((rows, heads, past_len, head_dim), dtype=np.float32)
                c = rng.standard_normal((groups, heads, enc_len, head_dim), dtype=np.float32)
                feeds_g[f"past_key_values.{i}.decoder.{kv}"] = feeds_p[f"past_key_values.{i}.decoder.{kv}"] = s
                feeds_g[f"past_key_values.{i}.encoder.{kv}"] = c
                feeds_p[f"past_key_values.{i}.encoder.{kv}"] = np.repeat(c, beams, axis=0)
        names = [o.name for o in grouped.get_outputs()]
        out_g = dict(zip(names, grouped.run(names, feeds_g)))
        out_p = dict(zip(names, plain.run(names, feeds_p)))
        for name in names:
            if out_g[name].shape != out_p[name].shape:
                raise ConformanceError(f"grouped decoder output {name} has shape {out_g[name].shape}, the with-past graph {out_p[name].shape}")
            key = "logits" if name == "logits" else "present"
            worst[key] = max(worst[key], float(np.max(np.abs(out_g[name] - out_p[name]))))
    if max(worst.values()) > tolerance:
        raise ConformanceError(f"grouped decoder disagrees with the with-past graph: max |diff| {worst} > {tolerance}")
    return {"max_abs_diff": worst, "tolerance": tolerance}


def add_grouped_decoder(model_dir: Path) -> dict[str, Any]:
    """CLI path: rebuild the PyTorch BART from an exported directory's ONNX graphs and add the grouped graph."""
    from modelkit.bart_from_onnx import bart_from_onnx

    model_dir = Path(model_dir)
    onnx_dir = model_dir / ONNX_SUBDIR
    if not (onnx_dir / DECODER_WITH_PAST_FILE).is_file():
        raise UsageError(f"{onnx_dir} has no {DECODER_WITH_PAST_FILE}", hint="export the model first (python -m modelkit export-seq2seq)")
    model = bart_from_onnx(model_dir)
    path = export_grouped_decoder(model, onnx_dir)
    try:
        report = verify_grouped(onnx_dir)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    log.info("grouped decoder verified: %s", report)
    _record_in_provenance(model_dir, path, report)
    return {"out": str(path), "bytes": path.stat().st_size, "verification": report}


def _record_in_provenance(model_dir: Path, path: Path, report: dict[str, Any]) -> None:
    """A directory with a PROVENANCE.json lists its files: add the new graph and how it was checked."""
    import json

    from modelkit.json_io import write_json

    prov_path = model_dir / "PROVENANCE.json"
    if not prov_path.is_file():
        return
    prov = json.loads(prov_path.read_text())
    rel = str(path.relative_to(model_dir))
    prov.setdefault("files", {})[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    prov["files"] = dict(sorted(prov["files"].items()))
    prov.setdefault("export", {})["groupedDecoder"] = {
        "file": rel,
        "command": f"python -m modelkit add-grouped-decoder --dir {model_dir.name} (weights read back from the ONNX graphs)",
        "vsWithPastGraph": report,
    }
    write_json(prov_path, prov)
