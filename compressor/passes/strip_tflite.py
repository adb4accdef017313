"""Drop from the `.tflite` what LiteRT never reads: tensor names, debug data, converter metadata.

In one ~50k-parameter model 51 kB of weights sat beside 28 kB of names and 34 kB of
quantization parameters (PITFALLS.md).  ``tflite_size.strip_tflite`` renames inner tensors,
drops converter metadata and redundant min/max arrays, shares identical quantization vectors
and removes unused buffers; signature and I/O names stay, so the model is called as before.
The stripped file is kept only when LiteRT gives identical outputs on evaluation samples;
so that
per-op reports can still be read against the model: the pass keeps the original names on
the artifact and the estimate puts them back (``graph_ir.restore_names``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data import as_inputs, head
from ..artifact import Artifact, Context, PassBase, replace

__all__ = ["StripTflite"]

# Samples both files run on before the stripped one replaces the original.
CHECK_SAMPLES = 8


@dataclass(frozen=True)
class StripTflite(PassBase):
    name: str = "strip"
    requires: tuple[str, ...] = ("path",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..errors import CompressorError
        from ..measure.runtime import outputs_identical
        from ..tflite.size import size_breakdown
        from ..tflite.strip import strip_tflite

        out_path = artifact.path.with_name(artifact.path.stem + "_stripped.tflite")
        try:
            result = strip_tflite(artifact.path, out_path)
        except CompressorError as error:  # a layout strip does not handle: ship the file as it is
            return artifact, {"kept": False, "note": str(error)}
        x = as_inputs(head(context.eval_x, CHECK_SAMPLES))
        same = outputs_identical(artifact.path, out_path, x, layout=artifact.layout)
        facts = {"size_before_bytes": result["before"], "size_after_bytes": result["after"],
                 "dropped": result["dropped"], "outputs_identical": same,
                 "breakdown_before": size_breakdown(artifact.path)}
        if not same or result["after"] >= result["before"]:
            out_path.unlink(missing_ok=True)
            facts["kept"] = False
            facts["note"] = "outputs changed; kept the unstripped file" if not same else "no smaller"
            return artifact, facts
        names = _tensor_names(artifact.path)
        final = artifact.path.with_name("model.tflite")
        out_path.replace(final)
        facts["kept"] = True
        return replace(artifact, path=final, tensor_names=names), facts


def _tensor_names(path) -> tuple[str, ...]:
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=str(path)).get_tensor_details()
    names = [""] * (max((d["index"] for d in details), default=-1) + 1)
    for detail in details:
        names[detail["index"]] = detail["name"]
    return tuple(names)
