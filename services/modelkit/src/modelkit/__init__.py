"""modelkit: builds the pipeline's ONNX sentence encoder and its reference fixtures."""

__version__ = "0.1.0"
