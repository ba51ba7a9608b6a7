"""File names of a seq2seq export in the Hugging Face Optimum layout (plus our grouped graph).

Kept apart from the exporters so that every module that reads or writes an export names the
files the same way without importing another exporter (which would make import cycles)."""

ONNX_SUBDIR = "onnx"
ENCODER_FILE = "encoder_model.onnx"
DECODER_FILE = "decoder_model.onnx"
DECODER_WITH_PAST_FILE = "decoder_with_past_model.onnx"
# Cross-attention caches once per encoder row, for beam search: see grouped_decoder.py.
GROUPED_DECODER_FILE = "decoder_with_past_grouped_model.onnx"
