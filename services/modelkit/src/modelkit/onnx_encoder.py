"""Sentence encoder over an exported directory: tokenizer.json + model.onnx + mean/L2.

This mirrors what the TypeScript encoder does, so conformance measured here is the
conformance that side should see.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from modelkit.pooling import l2_normalize, mean_pool


class OnnxSentenceEncoder:
    def __init__(self, model_dir: Path, model_file: str = "model.onnx", threads: int = 1, tokenizer_dir: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        config_dir = Path(tokenizer_dir) if tokenizer_dir is not None else self.model_dir
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.model_dir / model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(config_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        st_config = json.loads((config_dir / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(st_config["max_seq_length"])
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.input_names = {i.name for i in self.session.get_inputs()}

    def tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        batch = {
            name: np.zeros((len(texts), width), dtype=np.int64)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        }
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            batch["input_ids"][row, :n] = enc.ids
            batch["attention_mask"][row, :n] = enc.attention_mask
            batch["token_type_ids"][row, :n] = enc.type_ids
        return batch

    def last_hidden_state(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {k: v for k, v in batch.items() if k in self.input_names}
        return self.session.run(["last_hidden_state"], feeds)[0]

    def encode(self, texts: list[str], batch_size: int = 8) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenize(texts[start : start + batch_size])
            hidden = self.last_hidden_state(batch)
            out.append(l2_normalize(mean_pool(hidden, batch["attention_mask"])))
        return np.concatenate(out, axis=0)
