"""Export the torch model to a float, self-contained `.onnx` with torch.onnx (dynamo exporter).

``external_data=False`` keeps the weights inside the one file (PITFALLS.md: the dynamo
exporter otherwise writes ``model.onnx.data`` beside it).  Inputs are named ``input`` /
``input_1`` ..., outputs ``output`` / ``output_1`` ..., with a static batch of 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..capture import captured_output
from ..config import ExportConfig
from ..artifact import Artifact, Context, PassBase, replace
from ..model.conversion_errors import describe_conversion_error

__all__ = ["ExportOnnx", "export_onnx", "flush_subnormal_weights"]


def _names(prefix: str, count: int) -> list[str]:
    return [prefix if i == 0 else f"{prefix}_{i}" for i in range(count)]


def export_onnx(module: Any, example_inputs: tuple, path, *, opset: int, output_count: int) -> None:
    import torch

    try:
        with captured_output():
            program = torch.onnx.export(
                module, example_inputs, dynamo=True, external_data=False, opset_version=opset,
                input_names=_names("input", len(example_inputs)),
                output_names=_names("output", output_count), verbose=False)
            program.save(str(path), external_data=False)
    except Exception as error:
        raise describe_conversion_error(error, module, example_inputs, converter="torch.onnx") from error


def flush_subnormal_weights(path) -> int:
    """Set the file's subnormal fp32 weights (0 < |w| < 1.18e-38) to zero, in place; how many.
    onnxruntime's MLAS takes a microcode assist on x86 for every multiply by one (~37 ns per
    16-wide FMA: one conv of PP-OCRv6's detector ran 140x its clean time); no output can tell a
    product below 1e-38 from zero."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from ..graph.subnormals import subnormal_mask

    model = onnx.load(str(path))
    flushed = 0
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        tiny = subnormal_mask(values)
        if tiny.any():
            flushed += int(tiny.sum())
            init.CopyFrom(numpy_helper.from_array(np.where(tiny, np.float32(0), values).astype(np.float32), init.name))
    if flushed:
        onnx.save(model, str(path))
    return flushed


@dataclass(frozen=True)
class ExportOnnx(PassBase):
    config: ExportConfig
    name: str = "export"
    requires: tuple[str, ...] = ("module",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        import torch

        from ..model.outputs import flatten_outputs

        from ..layout import exported_form

        module, example = exported_form(artifact.module, artifact.example_inputs, self.config.layout)
        with torch.no_grad():
            output_count = len(flatten_outputs(module(*example)))
        path = context.workdir / "model_float.onnx"
        export_onnx(module, example, path, opset=self.config.opset, output_count=output_count)
        flushed = flush_subnormal_weights(path)
        facts = {"format": "onnx", "converter": "torch.onnx (dynamo)", "opset": self.config.opset,
                 "layout": self.config.layout, "float_size_bytes": path.stat().st_size,
                 **({"subnormal_weights_flushed": flushed} if flushed else {})}
        return replace(artifact, path=path, float_path=path, layout=self.config.layout), facts
