"""Deterministic, diff-friendly JSON for fixtures: objects indented, lists of scalars on one line,
floats rounded to a fixed number of decimals (stable bytes, far below any test tolerance)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

FLOAT_DECIMALS = 7


def to_plain(value: Any) -> Any:
    """torch / numpy values -> JSON-able Python values, floats rounded."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"non-finite float {f} cannot go into a fixture")
        return round(f, FLOAT_DECIMALS) + 0.0
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    raise TypeError(f"cannot serialise {type(value).__name__} into a fixture")


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _dump(value: Any, indent: int) -> str:
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(_scalar(v) for v in value):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
        items = [inner + _dump(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps(value: Any) -> str:
    return _dump(to_plain(value), 0) + "\n"
