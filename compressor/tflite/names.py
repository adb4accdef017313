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

__all__ = ["layer_path", "layer_paths", "ops_by_layer"]


def layer_paths(tensor_name: str) -> list[str]:
    """The dotted module paths a tensor name records, in order, without repeats.

    A fused op's name lists several scopes joined by ``;;`` (a conv with its ReLU:
    ``...Sequential_0/...ReLU_2;;...Sequential_0/...Conv2d_0;1``); the op's own module comes
    last.  A class named ``_Net`` has no attribute part; the root module adds nothing.
    """
    paths: list[str] = []
    for scope in tensor_name.split(";"):
        if "." not in scope:
            continue
        path = _scope_path(scope)
        if path and path not in paths:
            paths.append(path)
    return paths


def layer_path(tensor_name: str) -> str:
    """The op's own module path (the last scope); "" for an op of the root module's forward;
    the name up to its ``;`` when it names no module at all."""
    if not any("." in scope for scope in tensor_name.split(";")):
        return tensor_name.split(";", 1)[0]
    paths = layer_paths(tensor_name)
    return paths[-1] if paths else ""


def _scope_path(scope: str) -> str:
    attributes = []
    for part in scope.split("/"):
        if "." not in part:
            return ""  # not a module scope (e.g. "serving_default_output_0_output")
        class_and_attribute = part.rsplit(".", 1)[-1].lstrip("_")
        if "_" in class_and_attribute:  # the root module ("m.VGG") has no attribute name
            attributes.append(class_and_attribute.split("_", 1)[1])
    return ".".join(attributes)


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
