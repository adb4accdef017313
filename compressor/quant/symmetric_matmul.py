"""Int8 BATCH_MATMULs XNNPACK can take: their right-hand operands quantized symmetric.

XNNPACK's delegate takes an int8 BATCH_MATMUL only when its right-hand operand's zero point is 0
(graph/tflite_kernels.batch_matmul_variant); ai-edge-quantizer gives an activation the zero point
its calibrated range makes, so attention's Q x K^T and P x V run LiteRT's reference kernel, 14-18x
slower per MAC on an EPYC Zen 4 (``scripts/microbench_probes.py --probe bmm-zero-point``), and an
int8 transformer runs slower than its float model.  Widening that operand's calibrated range to
[-m * 128/127, m] (m its largest magnitude) makes the quantizer's asymmetric int8 parameters those
of a symmetric one (zero point exactly 0, one bit of range at most given up); the range is set
back along the ops that pass their input's parameters through (a RESHAPE, TRANSPOSE, SLICE... of a
FULLY_CONNECTED's output), so the producer writes it so and no requantizing op is added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PASS_THROUGH", "matmul_operand_tensors", "symmetric_ranges"]

# Ops whose int8 output takes its input's quantization parameters (ai-edge-quantizer propagates
# them): the range to widen is their input's.
PASS_THROUGH = frozenset({"RESHAPE", "TRANSPOSE", "SLICE", "STRIDED_SLICE", "SQUEEZE", "EXPAND_DIMS", "GATHER",
                          "SPLIT", "SPLIT_V", "UNPACK"})


def _ops(path: Path) -> tuple[list[dict], dict[int, str]]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    return interpreter._get_ops_details(), details  # the only op listing the Python API has


def matmul_operand_tensors(float_path: Path) -> list[str]:
    """Names of the float model's tensors whose ranges make its BATCH_MATMULs' right-hand
    operands: each operand, and back through ``PASS_THROUGH`` ops to the op that writes it."""
    ops, details = _ops(float_path)
    producer = {int(o): op for op in ops for o in op["outputs"] if o >= 0}
    names: list[str] = []
    for op in ops:
        if op["op_name"] != "BATCH_MATMUL" or len(op["inputs"]) < 2:
            continue
        tensor = int(op["inputs"][1])
        while tensor >= 0 and details[tensor]["name"] not in names:
            names.append(details[tensor]["name"])
            writer = producer.get(tensor)
            if writer is None or writer["op_name"] not in PASS_THROUGH:
                break
            tensor = int(writer["inputs"][0])
    return names


def symmetric_ranges(qsvs: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """``qsvs`` (tensor name -> calibrated {"min", "max"}) with the ranges of ``names`` widened to
    [-m * 128/127, m]: int8 scale m / 127 and zero point 0 under the asymmetric rule."""
    result = dict(qsvs)
    for name in names:
        if name in result and "min" in result[name]:
            low, high = np.asarray(result[name]["min"]), np.asarray(result[name]["max"])
            m = np.maximum(np.abs(low), np.abs(high)).astype(np.float32)
            result[name] = {**result[name], "min": (-m * np.float32(128 / 127)).astype(np.float32), "max": m}
    return result
