"""The one error tree of edge-compressor.

Every error a user can cause is a ``CompressorError``; the CLI maps each class to an
exit code (bad input -> 2) and prints ``str(error)``, one line naming the file or field
and the problem.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "CompressorError",
    "ConfigError",
    "DataError",
    "ExportError",
    "ModelLoadError",
    "TargetError",
    "UnsupportedOpError",
    "VerificationError",
]


class CompressorError(Exception):
    """Base of every error caused by the user's input; exit code 2 on the CLI."""

    exit_code = 2


class ConfigError(CompressorError):
    """A flag, recipe or config field has a bad value."""

    def __init__(self, field: str, value: object, expected: str):
        self.field, self.value, self.expected = field, value, expected
        super().__init__(f"{field}: {self.given}, expected {expected}")

    @property
    def given(self) -> str:
        """What the user gave, in words: a value left out reads as that, not as Python's None."""
        return "not given" if self.value is None else f"got {self.value!r}"


class ModelLoadError(CompressorError):
    """The model file cannot be read as a model we can run."""

    def __init__(self, path: object, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class DataError(CompressorError):
    """A data file (.npz) is missing, malformed or does not fit the model."""

    def __init__(self, path: object, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class TargetError(CompressorError):
    """A target profile is unknown or malformed."""


class UnsupportedOpError(CompressorError):
    """An exporter or target cannot take an op; names the op and the layer."""

    def __init__(self, op: str, layer: str | None, detail: str):
        self.op, self.layer, self.detail = op, layer, detail
        where = f" in layer {layer!r}" if layer else ""
        super().__init__(f"cannot convert op {op!r}{where}: {detail}")


class ExportError(CompressorError):
    """Export or quantization failed for a reason other than one unsupported op."""


class VerificationError(CompressorError):
    """The artifact could not be run in its runtime at all."""
