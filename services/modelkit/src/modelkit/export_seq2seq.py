"""Seq2seq (BART, T5) -> ONNX in the Hugging Face Optimum layout, without optimum.

Layout written under `out_dir`:

    config.json, generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json
    onnx/encoder_model.onnx             input_ids, attention_mask -> last_hidden_state
    onnx/decoder_model.onnx             input_ids, encoder_attention_mask, encoder_hidden_states
                                        -> logits, present.{i}.decoder.key/value, present.{i}.encoder.key/value
    onnx/decoder_with_past_model.onnx   input_ids, encoder_attention_mask,
                                        past_key_values.{i}.decoder.key/value, past_key_values.{i}.encoder.key/value
                                        -> logits, present.{i}.decoder.key/value
    onnx/decoder_with_past_grouped_model.onnx   (BART only; not Optimum's) the same step with cross-attention
                                        caches once per encoder row, for beam search: see grouped_decoder.py

The names are Optimum's, so transformers.js and our TypeScript loader read either export. As in
Optimum, the with-past decoder has no `encoder_hidden_states` input: cross-attention reads the cached
encoder keys/values, so the tensor would be unused (ONNX drops unused graph inputs).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from modelkit.errors import ConformanceError, UsageError
from modelkit.onnx_copy_nodes import drop_copy_nodes
from modelkit.seq2seq_layout import DECODER_FILE, DECODER_WITH_PAST_FILE, ENCODER_FILE, GROUPED_DECODER_FILE, ONNX_SUBDIR

log = logging.getLogger("modelkit.export_seq2seq")

DEFAULT_OPSET = 17
# ORT vs PyTorch logits, fp32.
MAX_ABS_LOGIT_DIFF = 1e-4
SUPPORTED_MODEL_TYPES = ("bart", "t5")


@dataclass(frozen=True)
class Seq2SeqShape:
    decoder_layers: int
    num_heads: int
    head_dim: int
    vocab_size: int
    d_model: int


def model_shape(config) -> Seq2SeqShape:
    if config.model_type == "bart":
        heads = int(config.decoder_attention_heads)
        return Seq2SeqShape(
            int(config.decoder_layers), heads, int(config.d_model) // heads, int(config.vocab_size), int(config.d_model)
        )
    if config.model_type == "t5":
        return Seq2SeqShape(
            int(config.num_decoder_layers), int(config.num_heads), int(config.d_kv), int(config.vocab_size),
            int(config.d_model),
        )
    raise UsageError(
        f"model_type {config.model_type!r} is not supported by export-seq2seq",
        hint=f"export one of: {', '.join(SUPPORTED_MODEL_TYPES)}",
    )


def present_names(layers: int, *, with_encoder: bool, prefix: str = "present") -> list[str]:
    names: list[str] = []
    for i in range(layers):
        names += [f"{prefix}.{i}.decoder.key", f"{prefix}.{i}.decoder.value"]
        if with_encoder:
            names += [f"{prefix}.{i}.encoder.key", f"{prefix}.{i}.encoder.value"]
    return names


class _EncoderPart(torch.nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.encoder = model.get_encoder()

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state


def _flatten_cache(cache, *, with_encoder: bool) -> tuple[torch.Tensor, ...]:
    flat: list[torch.Tensor] = []
    for layer in cache.to_legacy_cache():
        self_k, self_v, cross_k, cross_v = layer
        flat += [self_k, self_v]
        if with_encoder:
            flat += [cross_k, cross_v]
    return tuple(flat)


class _DecoderPart(torch.nn.Module):
    """First decoding step(s): no cache in, self- and cross-attention cache out."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, encoder_attention_mask, encoder_hidden_states):
        out = self.model(
            encoder_outputs=(encoder_hidden_states,),
            attention_mask=encoder_attention_mask,
            decoder_input_ids=input_ids,
            use_cache=True,
            return_dict=True,
        )
        return (out.logits, *_flatten_cache(out.past_key_values, with_encoder=True))


class _DecoderWithPastPart(torch.nn.Module):
    """Later steps: cached keys/values in, the grown self-attention cache out."""

    def __init__(self, model, layers: int) -> None:
        super().__init__()
        self.model = model
        self.layers = layers

    def forward(self, input_ids, encoder_attention_mask, *past):
        from transformers.cache_utils import EncoderDecoderCache

        legacy = tuple(tuple(past[4 * i : 4 * i + 4]) for i in range(self.layers))
        cache = EncoderDecoderCache.from_legacy_cache(legacy)
        # The model API wants encoder states, but with a filled cross-attention cache they are
        # never read; a view of the cached encoder keys keeps the graph free of that input.
        cross_key = past[2]
        placeholder = cross_key.transpose(1, 2).flatten(2)
        out = self.model(
            encoder_outputs=(placeholder,),
            attention_mask=encoder_attention_mask,
            decoder_input_ids=input_ids,
            past_key_values=cache,
            use_cache=True,
            return_dict=True,
        )
        return (out.logits, *_flatten_cache(out.past_key_values, with_encoder=False))


def _sample_inputs(shape: Seq2SeqShape, pad_id: int, batch: int = 2, enc_len: int = 7, dec_len: int = 3):
    """Trace inputs with padding in the second row and lengths that differ everywhere, so no
    shape is baked into the graph."""
    gen = torch.Generator().manual_seed(0)
    low = min(5, shape.vocab_size - 1)
    ids = torch.randint(low, shape.vocab_size, (batch, enc_len), generator=gen, dtype=torch.long)
    mask = torch.ones(batch, enc_len, dtype=torch.long)
    mask[-1, enc_len - 2 :] = 0
    ids = ids.masked_fill(mask == 0, pad_id)
    dec = torch.randint(low, shape.vocab_size, (batch, dec_len), generator=gen, dtype=torch.long)
    return ids, mask, dec


def _export(module, args, path: Path, input_names, output_names, dynamic_axes, opset: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Tracer warnings flag Python-side branches on shapes; verify_export runs the graphs on other
    # shapes, which is the real check.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            # TorchScript exporter: byte-deterministic output and no onnxscript dependency.
            dynamo=False,
        )


def _kv_axes(names: list[str], past_axis: str) -> dict[str, dict[int, str]]:
    axes: dict[str, dict[int, str]] = {}
    for name in names:
        seq = "encoder_sequence_length" if ".encoder." in name else past_axis
        axes[name] = {0: "batch_size", 2: seq}
    return axes


def export_onnx_parts(model, onnx_dir: Path, opset: int = DEFAULT_OPSET) -> dict[str, Path]:
    """Writes the three graphs into `onnx_dir` and returns their paths by role."""
    model = model.eval()
    shape = model_shape(model.config)
    pad_id = int(model.config.pad_token_id)
    ids, mask, dec = _sample_inputs(shape, pad_id)
    batch_seq_enc = {0: "batch_size", 1: "encoder_sequence_length"}
    paths = {
        "encoder": onnx_dir / ENCODER_FILE,
        "decoder": onnx_dir / DECODER_FILE,
        "decoder_with_past": onnx_dir / DECODER_WITH_PAST_FILE,
    }

    _export(
        _EncoderPart(model).eval(),
        (ids, mask),
        paths["encoder"],
        ["input_ids", "attention_mask"],
        ["last_hidden_state"],
        {"input_ids": batch_seq_enc, "attention_mask": batch_seq_enc, "last_hidden_state": batch_seq_enc},
        opset,
    )

    with torch.no_grad():
        enc_states = model.get_encoder()(input_ids=ids, attention_mask=mask, return_dict=True).last_hidden_state
    dec_present = present_names(shape.decoder_layers, with_encoder=True)
    axes = {
        "input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
        "encoder_attention_mask": batch_seq_enc,
        "encoder_hidden_states": batch_seq_enc,
        "logits": {0: "batch_size", 1: "decoder_sequence_length"},
        **_kv_axes(dec_present, "decoder_sequence_length"),
    }
    _export(
        _DecoderPart(model).eval(),
        (dec, mask, enc_states),
        paths["decoder"],
        ["input_ids", "encoder_attention_mask", "encoder_hidden_states"],
        ["logits", *dec_present],
        axes,
        opset,
    )

    with torch.no_grad():
        first = _DecoderPart(model).eval()(dec, mask, enc_states)
    past = tuple(first[1:])
    past_in = present_names(shape.decoder_layers, with_encoder=True, prefix="past_key_values")
    past_out = present_names(shape.decoder_layers, with_encoder=False)
    # Two new tokens, not one: BART's mask code only builds the causal triangle when the step
    # is longer than one token, and the traced graph must handle both.
    step = dec[:, -2:].flip(0)
    axes = {
        "input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
        "encoder_attention_mask": batch_seq_enc,
        "logits": {0: "batch_size", 1: "decoder_sequence_length"},
        **_kv_axes(past_in, "past_decoder_sequence_length"),
        **_kv_axes(past_out, "past_decoder_sequence_length + decoder_sequence_length"),
    }
    _export(
        _DecoderWithPastPart(model, shape.decoder_layers).eval(),
        (step, mask, *past),
        paths["decoder_with_past"],
        ["input_ids", "encoder_attention_mask", *past_in],
        ["logits", *past_out],
        axes,
        opset,
    )
    for role in ("decoder", "decoder_with_past"):
        drop_copy_nodes(paths[role])
    if model.config.model_type == "bart":
        from modelkit.grouped_decoder import export_grouped_decoder

        paths["decoder_with_past_grouped"] = export_grouped_decoder(model, onnx_dir, opset=opset)
    return paths


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class OrtSeq2Seq:
    """Runs an exported directory with onnxruntime: what a consumer of the layout does."""

    def __init__(self, out_dir: Path) -> None:
        onnx_dir = out_dir / ONNX_SUBDIR
        self.encoder = _session(onnx_dir / ENCODER_FILE)
        self.decoder = _session(onnx_dir / DECODER_FILE)
        self.decoder_with_past = _session(onnx_dir / DECODER_WITH_PAST_FILE)
        self.past_names = [i.name for i in self.decoder_with_past.get_inputs() if i.name.startswith("past_key_values.")]
        self.present_names = [o.name for o in self.decoder.get_outputs()][1:]
        self.step_present_names = [o.name for o in self.decoder_with_past.get_outputs()][1:]

    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        return self.encoder.run(None, feeds)[0]

    def first_step(self, decoder_ids: np.ndarray, attention_mask: np.ndarray, enc: np.ndarray):
        feeds = {
            "input_ids": decoder_ids.astype(np.int64),
            "encoder_attention_mask": attention_mask.astype(np.int64),
            "encoder_hidden_states": enc,
        }
        logits, *presents = self.decoder.run(None, feeds)
        past = {name.replace("present.", "past_key_values.", 1): t for name, t in zip(self.present_names, presents)}
        return logits, past

    def next_step(self, decoder_ids: np.ndarray, attention_mask: np.ndarray, past: dict[str, np.ndarray]):
        feeds = {
            "input_ids": decoder_ids.astype(np.int64),
            "encoder_attention_mask": attention_mask.astype(np.int64),
            **{name: past[name] for name in self.past_names},
        }
        logits, *presents = self.decoder_with_past.run(None, feeds)
        grown = dict(past)
        for name, t in zip(self.step_present_names, presents):
            grown[name.replace("present.", "past_key_values.", 1)] = t
        return logits, grown

    def greedy(
        self,
        input_ids: np.ndarray,
        attention_mask: np.ndarray,
        *,
        decoder_start_token_id: int,
        eos_token_id: int,
        pad_token_id: int,
        max_length: int,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Plain greedy decoding with the KV cache (no logits processors), HF's padding after EOS.
        Returns the sequences and each step's logits [batch, vocab]."""
        enc = self.encode(input_ids, attention_mask)
        batch = input_ids.shape[0]
        seq = np.full((batch, 1), decoder_start_token_id, dtype=np.int64)
        done = np.zeros(batch, dtype=bool)
        logits, past = self.first_step(seq, attention_mask, enc)
        step_logits: list[np.ndarray] = []
        while True:
            last = logits[:, -1, :]
            step_logits.append(last)
            nxt = np.where(done, pad_token_id, last.argmax(-1)).astype(np.int64)
            seq = np.concatenate([seq, nxt[:, None]], axis=1)
            done |= nxt == eos_token_id
            if done.all() or seq.shape[1] >= max_length:
                return seq, step_logits
            logits, past = self.next_step(nxt[:, None], attention_mask, past)


def _verification_inputs(config, batch: int = 3, length: int = 9) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(20240601)
    vocab = int(config.vocab_size)
    ids = gen.integers(min(5, vocab - 1), vocab, size=(batch, length), dtype=np.int64)
    mask = np.ones((batch, length), dtype=np.int64)
    for row in range(1, batch):
        mask[row, length - 2 * row :] = 0
    ids[mask == 0] = int(config.pad_token_id)
    return ids, mask


def _forced_decoder_ids(config, batch: int, length: int) -> np.ndarray:
    gen = np.random.default_rng(7)
    vocab = int(config.vocab_size)
    ids = gen.integers(min(5, vocab - 1), vocab, size=(batch, length), dtype=np.int64)
    ids[:, 0] = int(config.decoder_start_token_id)
    return ids


def _greedy_generate_kwargs(config, max_length: int) -> dict[str, Any]:
    # Switch off every logits processor a model config can carry, so generate() is plain argmax.
    return dict(
        do_sample=False,
        num_beams=1,
        max_length=max_length,
        min_length=0,
        no_repeat_ngram_size=0,
        repetition_penalty=1.0,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        bad_words_ids=None,
        suppress_tokens=None,
        begin_suppress_tokens=None,
        decoder_start_token_id=int(config.decoder_start_token_id),
        eos_token_id=int(config.eos_token_id),
        pad_token_id=int(config.pad_token_id),
    )


def verify_export(model, out_dir: Path, *, max_length: int = 10, tolerance: float = MAX_ABS_LOGIT_DIFF) -> dict[str, Any]:
    """ORT vs PyTorch: encoder states, full-sequence decoder logits, a two-token with-past step,
    and a cached greedy decode that must equal `model.generate()` token for token."""
    model = model.eval()
    config = model.config
    ort_model = OrtSeq2Seq(out_dir)
    ids, mask = _verification_inputs(config)
    t_ids, t_mask = torch.from_numpy(ids), torch.from_numpy(mask)
    diffs: dict[str, float] = {}

    with torch.no_grad():
        ref_enc = model.get_encoder()(input_ids=t_ids, attention_mask=t_mask, return_dict=True).last_hidden_state
        expected = model.generate(
            input_ids=t_ids, attention_mask=t_mask, **_greedy_generate_kwargs(config, max_length)
        ).numpy()
    enc = ort_model.encode(ids, mask)
    diffs["encoder_last_hidden_state"] = float(np.abs(enc - ref_enc.numpy()).max())

    seq, step_logits = ort_model.greedy(
        ids,
        mask,
        decoder_start_token_id=int(config.decoder_start_token_id),
        eos_token_id=int(config.eos_token_id),
        pad_token_id=int(config.pad_token_id),
        max_length=max_length,
    )
    with torch.no_grad():
        ref_logits = model(
            input_ids=t_ids, attention_mask=t_mask, decoder_input_ids=torch.from_numpy(seq), use_cache=False
        ).logits.numpy()
    # Step t of the cached decode predicts token t+1: row t of the full-sequence logits.
    cached = np.stack(step_logits, axis=1)
    live = _unfinished_mask(seq, int(config.eos_token_id))[:, : cached.shape[1]]
    diffs["cached_step_logits"] = float(np.abs(cached - ref_logits[:, : cached.shape[1]])[live].max())

    full_logits, _ = ort_model.first_step(seq, mask, enc)
    diffs["decoder_full_sequence_logits"] = float(np.abs(full_logits - ref_logits).max())

    # Teacher-forced chain independent of where greedy stopped: 3 tokens without past, then a
    # two-token with-past step (exercises the causal mask inside a step), then a one-token step.
    forced = _forced_decoder_ids(config, ids.shape[0], 6)
    with torch.no_grad():
        ref_forced = model(
            input_ids=t_ids, attention_mask=t_mask, decoder_input_ids=torch.from_numpy(forced), use_cache=False
        ).logits.numpy()
    l0, past = ort_model.first_step(forced[:, :3], mask, enc)
    l1, past = ort_model.next_step(forced[:, 3:5], mask, past)
    l2, _ = ort_model.next_step(forced[:, 5:6], mask, past)
    chained = np.concatenate([l0, l1, l2], axis=1)
    diffs["with_past_chain_logits"] = float(np.abs(chained - ref_forced).max())

    from modelkit.grouped_decoder import verify_grouped

    if (Path(out_dir) / ONNX_SUBDIR / GROUPED_DECODER_FILE).is_file():
        grouped = verify_grouped(Path(out_dir) / ONNX_SUBDIR, tolerance=tolerance)["max_abs_diff"]
        diffs["grouped_vs_with_past_logits"] = grouped["logits"]
        diffs["grouped_vs_with_past_present"] = grouped["present"]

    report = {
        "max_abs_diff": diffs,
        "tolerance": tolerance,
        "greedy_ids_equal_generate": bool(seq.shape == expected.shape and (seq == expected).all()),
        "greedy_ids": seq.tolist(),
        "generate_ids": expected.tolist(),
    }
    worst = max(diffs.values())
    if worst > tolerance:
        raise ConformanceError(
            f"ONNX export disagrees with PyTorch: max |diff| {worst:.3g} > {tolerance:g} ({diffs})",
            hint="re-export with attn_implementation='eager' and check the model type is supported",
        )
    if not report["greedy_ids_equal_generate"]:
        raise ConformanceError(
            f"cached ONNX greedy decode {seq.tolist()} != PyTorch generate() {expected.tolist()}",
            hint="the with-past graph mis-handles the cache; re-export and compare step logits",
        )
    return report


def _unfinished_mask(seq: np.ndarray, eos: int) -> np.ndarray:
    """[batch, len-1]: True where step t was taken while the row was still unfinished."""
    steps = seq.shape[1] - 1
    live = np.ones((seq.shape[0], steps), dtype=bool)
    for row in range(seq.shape[0]):
        hits = np.nonzero(seq[row, 1:] == eos)[0]
        if hits.size:
            live[row, hits[0] + 1 :] = False
    return live


def _use_eager_attention(model) -> None:
    # Eager attention traces to plain MatMul/Softmax; numerically the same as SDPA.
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    else:  # pragma: no cover - older transformers
        model.config._attn_implementation = "eager"


def export_seq2seq(
    model, tokenizer, out_dir: Path, opset: int = DEFAULT_OPSET, *, tolerance: float = MAX_ABS_LOGIT_DIFF
) -> Path:
    """Writes the Optimum layout into `out_dir` (created if missing), verifies it against PyTorch
    with onnxruntime and returns `out_dir`. Raises ConformanceError if the graphs disagree.
    Switches `model` to eager attention (numerically the same; traces to plain ops)."""
    return _export_and_verify(model, tokenizer, Path(out_dir), opset, tolerance)[0]


def _export_and_verify(model, tokenizer, out_dir: Path, opset: int, tolerance: float) -> tuple[Path, dict[str, Any]]:
    from transformers import PreTrainedTokenizerFast

    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise UsageError(
            f"export-seq2seq needs a fast tokenizer (tokenizer.json), got {type(tokenizer).__name__}",
            hint="load it with AutoTokenizer.from_pretrained(..., use_fast=True)",
        )
    model_shape(model.config)
    out_dir.mkdir(parents=True, exist_ok=True)
    _use_eager_attention(model)
    model = model.eval()
    export_onnx_parts(model, out_dir / ONNX_SUBDIR, opset=opset)
    model.config.save_pretrained(out_dir)
    model.generation_config.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    report = verify_export(model, out_dir, tolerance=tolerance)
    log.info(
        "seq2seq export verified: max |diff| %s, cached greedy == generate()",
        {k: f"{v:.2e}" for k, v in report["max_abs_diff"].items()},
    )
    return out_dir, report


def export_seq2seq_dir(
    model_dir: Path, out_dir: Path, opset: int = DEFAULT_OPSET, *, tolerance: float = MAX_ABS_LOGIT_DIFF
) -> dict[str, Any]:
    """CLI path: load a transformers directory, export into a staging directory beside `out_dir`,
    swap it in only after verification passed. Returns paths, byte sizes and the verification."""
    import shutil
    import tempfile

    from modelkit.offline import force_offline

    force_offline()
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").is_file():
        raise UsageError(
            f"{model_dir} has no config.json",
            hint="pass a directory written by model.save_pretrained() (config.json, weights, tokenizer files)",
        )
    try:
        model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, attn_implementation="eager")
        tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True)
    except (OSError, ValueError) as err:
        raise UsageError(
            f"cannot load a seq2seq model and tokenizer from {model_dir}: {err}",
            hint="the directory needs config.json, model weights and tokenizer.json",
        ) from err
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _, report = _export_and_verify(model, tokenizer, staging, opset, tolerance)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = {str(p.relative_to(out_dir)): p.stat().st_size for p in sorted(out_dir.rglob("*")) if p.is_file()}
    return {"out": str(out_dir), "bytes": files, "verification": {k: report[k] for k in ("max_abs_diff", "tolerance", "greedy_ids_equal_generate")}}
