"""int8 islands that cost more than they save, by the target's cost model.

An int8 op between float ops pays a QUANTIZE before it and a DEQUANTIZE after it.  For a
large layer the int8 kernel wins that back many times; for a small one (a 16×32 attention
projection, whose neighbours stay float because XNNPACK has no int8 kernel for them) the
conversions and their dispatch cost more than float would: measured, such an attention block
ran at 1.02–1.03× its fp32 file.  ``costly_islands`` finds each int8 compute op whose every
activation input comes from a QUANTIZE and whose every output goes to DEQUANTIZE ops, and
compares, on the target profile (cost/latency.py), the island (its share of each QUANTIZE,
the op in int8, its DEQUANTIZEs) with the same op in the float file.  Islands that are not
cheaper in int8 are returned, to be kept in float.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any
from ..targets.types import TargetProfile

__all__ = ["costly_islands"]

_CONVERSIONS = ("QUANTIZE", "DEQUANTIZE")


def costly_islands(float_path: Path, int8_path: Path, target: TargetProfile) -> list[dict[str, Any]]:
    """Int8 islands of ``int8_path`` no cheaper on ``target`` than their float ops in ``float_path``."""
    from ..cost.latency import estimate_op_latency
    from ..errors import TargetError
    from ..graph.read import read_graph

    def seconds(op) -> float:
        try:
            return estimate_op_latency(op, target).latency_s
        except TargetError:  # a dtype the target has no rate for: no basis to judge
            return float("nan")

    quantized, original = read_graph(int8_path), read_graph(float_path)
    float_cost = {op.name: seconds(op) for op in original.ops}
    producer = {t: op for op in quantized.ops for t in op.outputs}
    consumers: dict[int, list] = defaultdict(list)
    for op in quantized.ops:
        for t in op.inputs:
            consumers[t].append(op)
    found = []
    for op in quantized.ops:
        if op.op_type in _CONVERSIONS or op.compute_dtype not in ("int8", "int16") or op.name not in float_cost:
            continue
        activations = [t for t in op.inputs if not quantized.tensors[t].is_constant]
        feeders = [producer.get(t) for t in activations]
        readers = [reader for t in op.outputs for reader in consumers[t]]
        if not activations or not readers or any(f is None or f.op_type != "QUANTIZE" for f in feeders) \
                or any(r.op_type != "DEQUANTIZE" for r in readers):
            continue
        int8_s = seconds(op) + sum(seconds(r) for r in readers) + sum(
            seconds(f) / max(len(consumers[t]), 1) for f, t in zip(feeders, activations))
        if int8_s >= float_cost[op.name]:  # nan compares False: kept int8
            found.append({"op": op.op_type, "name": op.name, "int8_ms": round(int8_s * 1e3, 6),
                          "float_ms": round(float_cost[op.name] * 1e3, 6)})
    return found
