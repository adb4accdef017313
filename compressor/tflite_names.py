"""Torch layer names from a `.tflite` made by litert-torch.

litert-torch names each tensor after the torch modules that produced it, one location per
fused op, joined by ``;``: ``torch.nn.modules.container.Sequential_features/
torch.nn.modules.conv.Conv2d_0;1`` is ``features.0`` (each ``/`` part is the module's class,
``_``, and its attribute name in the parent).  ``layer_paths`` turns a tensor name back into
the dotted module paths a user knows from ``model.named_modules()``, so ``--float-ops`` and the
per-layer sensitivity table speak the model's language.  Graph outputs are renamed by the
converter (``serving_default_output_0``) and keep only that name.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["layer_paths", "ops_by_layer"]


def layer_paths(tensor_name: str) -> list[str]:
    """The dotted module paths a tensor name records, in order, without repeats."""
    paths: list[str] = []
    for chunk in tensor_name.split(";"):
        parts = [part.rsplit(".", 1)[-1] for part in chunk.split("/")]
        if not all("." in part and "_" in part.rsplit(".", 1)[-1] for part in chunk.split("/")):
            continue
        path = ".".join(part.split("_", 1)[1] for part in parts)
        if path and path not in paths:
            paths.append(path)
    return paths


def ops_by_layer(path: Path) -> list[tuple[str, str, list[str]]]:
    """(op type, first output tensor name, module paths) for every op of a `.tflite`."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():  # the only op listing the Python API has
        outputs = [int(i) for i in op["outputs"] if i >= 0]
        if outputs:
            name = names[outputs[0]]
            found.append((op["op_name"], name, layer_paths(name)))
    return found
