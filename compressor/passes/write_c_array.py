"""``--format c``: the artifact as C source, for firmware that links the model in.

Writes ``model_data.cc`` / ``model_data.h`` (the `.tflite` bytes, 16-byte aligned, as
tflite-micro's examples do) and ``op_resolver.h`` with a ``MicroMutableOpResolver`` that
registers exactly the ops the model uses (c_array.py).  Runs last, on the final file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["WriteCArray"]


@dataclass(frozen=True)
class WriteCArray(PassBase):
    name: str = "c_array"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..tflite.c_array import used_ops, write_c_array

        files = write_c_array(artifact.path, context.workdir, name="model")
        facts = {"files": [f.name for f in files], "array_bytes": artifact.path.stat().st_size,
                 "ops": used_ops(artifact.path.read_bytes(), artifact.path)}
        return replace(artifact, extra_files=tuple(f.name for f in files)), facts
