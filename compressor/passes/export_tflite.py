"""Export the torch model to a float `.tflite` with litert-torch.

The float file is what ai-edge-quantizer quantizes next (PITFALLS.md: converting the float
model and quantizing the `.tflite` gave a fully int8 graph, while the PT2E route silently
produced float models when misused).  The artifact keeps the model's own input layout
(NCHW for images, N×L for audio frames): litert-torch inserts the transposes itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..capture import captured_output
from ..config import ExportConfig
from ..artifact import Artifact, Context, PassBase, replace
from ..model.conversion_errors import describe_conversion_error

__all__ = ["ExportTflite", "export_tflite"]


def export_tflite(module: Any, example_inputs: tuple, path) -> None:
    """Write ``module`` as a float TFLite flatbuffer at ``path``."""
    with captured_output():
        import litert_torch
    try:
        with captured_output():
            litert_torch.convert(module, example_inputs).export(str(path))
    except Exception as error:  # the converter raises anything from AssertionError up
        raise describe_conversion_error(error, module, example_inputs, converter="litert-torch") from error


@dataclass(frozen=True)
class ExportTflite(PassBase):
    config: ExportConfig
    name: str = "export"
    requires: tuple[str, ...] = ("module",)

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        path = context.workdir / "model_float.tflite"
        from ..layout import exported_form

        export_tflite(*exported_form(artifact.module, artifact.example_inputs, self.config.layout), path)
        facts = {"format": "tflite", "converter": "litert-torch", "layout": self.config.layout,
                 "float_size_bytes": path.stat().st_size}
        return replace(artifact, path=path, float_path=path, layout=self.config.layout), facts
