"""Layers the user asks int16x8 for (``int8.int16_ops`` / ``--int16-ops``): int16 activations, int8 weights.

The 16x8 scheme keeps a layer's activations at 16 bits (symmetric) while its weights stay int8:
~48 dB more activation resolution for that layer at about twice its MAC cost on kernels that have
it (CMSIS-NN, Ethos-U, TFLite's reference kernels; XNNPACK has none, so on a CPU those ops run
outside the delegate).  The quantizer (quant/tflite_int8.py, ``Int8Tweaks.int16_layers``) already
applies it per op; this module turns module paths into those ops and checks them:

- only on targets whose profile lists ``int16`` in its ``dtypes`` (``int16_allowed``);
- each name must be a layer of the float file (the rule ``--float-ops`` follows);
- each of its ops must be one the quantizer can give int16 activations (``supports_int16``).

``int16_ops(path)`` lists the ops of a `.tflite` whose outputs are int16: what the report says
was shipped, and what a test reads back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..targets.types import TargetProfile
from ..tflite.names import layer_paths, ops_by_layer
from .tflite_int8 import layers_by_name, supports_int16

__all__ = ["check_int16_target", "int16_allowed", "int16_ops", "resolve_int16_layers"]

FIELD = "int8.int16_ops"


def int16_allowed(target: TargetProfile) -> bool:
    """Whether the target has int16x8 kernels: ``int16`` in its profile's ``dtypes``."""
    return "int16" in target.dtypes


def check_int16_target(names: tuple[str, ...], target: TargetProfile) -> None:
    """``ConfigError`` naming ``int8.int16_ops`` when layers are asked int16 on a target without int16."""
    if names and not int16_allowed(target):
        raise ConfigError(FIELD, ",".join(names), f"no int16 layers on {target.name}: its dtypes are "
                          f"{', '.join(target.dtypes)} (int16 activations need int16 among them)")


def resolve_int16_layers(float_path: Path, names: tuple[str, ...], target: TargetProfile) -> dict[str, list[str]]:
    """``names`` (module paths or tensor names) -> the first output tensors of their ops in ``float_path``;
    ``ConfigError`` naming ``int8.int16_ops`` when the target has no int16 or a layer cannot take it."""
    if not names:
        return {}
    check_int16_target(names, target)
    try:
        found = layers_by_name(float_path, names)
    except ConfigError as error:  # the lookup is shared with --float-ops and names that field
        raise ConfigError(FIELD, error.value, error.expected) from None
    op_types = {tensor: op_type for op_type, tensor, _ in ops_by_layer(float_path)}
    for name, tensors in found.items():
        refused = sorted({op_types[t] for t in tensors if not supports_int16(op_types[t])})
        if refused:
            raise ConfigError(FIELD, name, f"layers whose ops take int16 activations ({name} computes "
                              f"{', '.join(refused)}, which the quantizer has no int16 rule for)")
    return found


def int16_ops(path: Path) -> list[dict[str, Any]]:
    """Ops of a `.tflite` whose first output is int16: op type, tensor name, layer paths."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():  # the only op listing the Python API has (as float_ops)
        outputs = [int(i) for i in op["outputs"] if i >= 0]
        if outputs and np.dtype(tensors[outputs[0]]["dtype"]).name == "int16":
            name = tensors[outputs[0]]["name"]
            found.append({"op": op["op_name"], "name": name, "layers": layer_paths(name)})
    return found
