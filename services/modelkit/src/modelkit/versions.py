"""Versions of the toolchain, recorded in provenance and fixtures."""

from __future__ import annotations

import importlib.metadata as md
import platform

TOOLCHAIN_PACKAGES = (
    "torch",
    "transformers",
    "sentence-transformers",
    "tokenizers",
    "onnx",
    "onnxruntime",
    "safetensors",
    "numpy",
)


def toolchain_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in TOOLCHAIN_PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "absent"
    return out
