"""Typed errors. Each carries a hint that tells the user what to do next."""

from __future__ import annotations


class ModelkitError(Exception):
    """Base error; `exit_code` is what the CLI returns for it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(ModelkitError):
    exit_code = 2


class SourcePackageError(ModelkitError):
    """The pip package that should carry the model weights is missing or incomplete."""

    exit_code = 3


class ConformanceError(ModelkitError):
    """An exported model disagrees with the reference implementation."""

    exit_code = 4
