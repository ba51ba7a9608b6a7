"""Deterministic JSON writing: stable key order, fixed float rounding, one vector per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FLOAT_DECIMALS = 7


def round_vector(values) -> list[float]:
    # Rounding makes the bytes stable across BLAS thread counts; 1e-7 is far below what
    # any cosine threshold can notice.
    return [round(float(v), FLOAT_DECIMALS) + 0.0 for v in values]


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def dumps_records(header: dict[str, Any], records_key: str, records: list[dict[str, Any]]) -> str:
    """Pretty header, then each record on a single line (keeps 384-float vectors diffable)."""
    head = json.dumps({**header, records_key: []}, ensure_ascii=False, indent=2)
    marker = f'"{records_key}": []'
    body = ",\n".join("    " + _compact(r) for r in records)
    return head.replace(marker, f'"{records_key}": [\n{body}\n  ]') + "\n"


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
