"""Turn a converter's stack trace into one line naming the op and the layer.

torch.export and litert-torch fail with long messages ("Lowering not found:
aten.erfinv.default ... While executing %erfinv ...", "Could not guard on data-dependent
expression ... The following call raised this error: File ..., line N").  The user needs
the op, the layer it sits in and the source line; the full text stays available with
``--debug``.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ExportError, UnsupportedOpError

__all__ = ["describe_conversion_error", "layer_of_op"]

_LOWERING = re.compile(r"Lowering not found: (?P<op>[\w.:]+)")
_ONNX_OP = re.compile(r"(?:No decomposition|not supported|Unsupported)[^\n]*?(?P<op>aten[.:]{1,2}\w+(?:\.\w+)?)")
_SOURCE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\w+)\n\s*(?P<code>[^\n]+)')


def layer_of_op(module: Any, example_inputs: tuple, op: str) -> str | None:
    """The dotted name of the module whose forward calls ``op`` (an aten overload name)."""
    import torch

    try:
        graph = torch.export.export(module, example_inputs, strict=False).graph
    except Exception:  # the model may not export at all; then no layer can be named
        return None
    wanted = op.replace("::", ".")
    for node in graph.nodes:
        target = str(node.target).replace("::", ".")
        if node.op == "call_function" and (target == wanted or target.startswith(wanted + ".")
                                           or wanted.startswith(target)):
            stack = node.meta.get("nn_module_stack") or {}
            paths = [path for path, _ in stack.values() if path]
            return paths[-1] if paths else "(top-level forward)"
    return None


def describe_conversion_error(error: BaseException, module: Any, example_inputs: tuple,
                              *, converter: str) -> Exception:
    """An ``UnsupportedOpError`` or ``ExportError`` saying in one line what went wrong."""
    text = str(error)
    source = _SOURCE.search(text)
    where = f" at {source['file']}:{source['line']} ({source['code'].strip()})" if source else ""
    match = _LOWERING.search(text) or _ONNX_OP.search(text)
    if match:
        op = match["op"]
        layer = layer_of_op(module, example_inputs, op)
        return UnsupportedOpError(op, layer, f"{converter} has no conversion for it{where}")
    if "data-dependent" in text or "GuardOnDataDependent" in type(error).__name__:
        return ExportError(f"{converter}: the model has data-dependent control flow{where}; "
                           "torch.export needs a forward whose branches do not depend on tensor values")
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return ExportError(f"{converter} failed: {type(error).__name__}: {first[:200]}{where}")
