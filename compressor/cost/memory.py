"""Peak RAM and flash of an artifact on a target.

Peak RAM is the size of the activation arena a TFLite-style planner would lay out
(TFLite's ``ArenaPlanner`` with its greedy-by-size strategy; TFLite Micro's
``GreedyMemoryPlanner`` works the same way):

* every non-constant tensor lives from the op that produces it to the last op that reads
  it; graph inputs live from the start, graph outputs to the end;
* tensors are placed largest first, each at the lowest offset, rounded up to
  ``arena_alignment_bytes``, where it overlaps no tensor already placed whose lifetime
  overlaps its own;
* the arena is the highest end offset.

The two runtimes break ties between equal sizes differently, and on a graph with many
equal tensors (a ResNet's residual blocks) that changes the arena by a quarter, so
``plan_arena(order=...)`` follows either:

* ``"tflite"`` (``ArenaPlanner``): ties by earlier first use;
* ``"tflm"`` (``GreedyMemoryPlanner::CalculateOffsetsIfNeeded``): sizes rounded up to the
  alignment first, then a stable sort of the buffers in *reverse* order of addition (it
  fills its array from the tail), so among equal sizes the highest tensor index goes first.
  Measured: equal to the "Arena allocation head" of the tflite-micro Python interpreter,
  byte for byte, on the zoo's int8 VGG, MobileNetV2 and ResNet (40,960 / 55,680 / 51,264 B;
  the "tflite" order gives 65,536 B on the ResNet).

``estimate_memory`` uses "tflm" for profiles with an ``[mcu]`` table (they run tflite-micro).

With "tflm" the kernels' scratch buffers that tflite-micro's kernels request in the arena
(``RequestScratchBufferInArena``, live during their op only, planned with the tensors) are
counted too: TRANSPOSE_CONV keeps one 32-bit accumulator per int8 output element (64-bit per
int16 one; tflite-micro ``kernels/transpose_conv.cc``).  Measured: the corpus's int8 UNet
(four transposed convs) planned 1,703,936 B in tflite-micro, 1,048,576 B without this term,
1,703,936 B with it (scripts/tflm_arena_check.py).

``peak_ram_bytes`` is the arena, plus the constant tensors when the profile says weights
live in RAM (``weights_in_ram``: a CPU runtime that repacks weights, as XNNPACK does, holds
them in RAM; an MCU reading weights from flash does not).  Kernel scratch buffers (im2col)
and the runtime's own code and data are not counted.  ``flash_bytes`` is the artifact's
size: what the device stores.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..graph.ir import Graph
from ..targets.load import TargetProfile

__all__ = ["PLAN_ORDERS", "ArenaPlan", "MemoryCost", "estimate_memory", "plan_arena", "tensor_lifetimes"]


@dataclass(frozen=True)
class ArenaPlan:
    size_bytes: int
    # (tensor index, byte offset), in placement order; an index past the graph's tensors is a
    # kernel's scratch buffer (order "tflm")
    offsets: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class MemoryCost:
    peak_ram_bytes: int
    arena_bytes: int
    weights_in_ram_bytes: int
    flash_bytes: int


def tensor_lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """First and last op index (inclusive) during which each non-constant tensor must exist."""
    last_step = max(len(graph.ops) - 1, 0)
    first: dict[int, int] = {i: 0 for i in graph.inputs}
    last: dict[int, int] = {i: 0 for i in graph.inputs}
    for step, op in enumerate(graph.ops):
        for i in (*op.inputs, *op.outputs):
            if graph.tensors[i].is_constant:
                continue
            first.setdefault(i, step)
            last[i] = max(last.get(i, step), step)
    for i in graph.outputs:
        if not graph.tensors[i].is_constant:
            first.setdefault(i, last_step)
            last[i] = last_step
    return {i: (first[i], last[i]) for i in first}


PLAN_ORDERS = ("tflite", "tflm")


def plan_arena(graph: Graph, *, alignment_bytes: int, order: str = "tflite") -> ArenaPlan:
    """Greedy-by-size placement of the non-constant tensors (see the module docstring)."""
    if order not in PLAN_ORDERS:
        raise ValueError(f"order must be one of {PLAN_ORDERS}, got {order!r}")
    lifetimes = tensor_lifetimes(graph)
    live = [i for i in lifetimes if graph.tensors[i].size_bytes > 0]
    scratch = _tflm_scratch(graph) if order == "tflm" else {}
    for index, (step, _) in scratch.items():
        lifetimes[index] = (step, step)
        live.append(index)
    if order == "tflm":
        size_of = lambda i: scratch[i][1] if i in scratch else graph.tensors[i].size_bytes  # noqa: E731
        sizes = {i: _align(size_of(i), alignment_bytes) for i in live}
        sequence = sorted(live, key=lambda i: (-sizes[i], -i))
    else:
        sizes = {i: graph.tensors[i].size_bytes for i in live}
        sequence = sorted(live, key=lambda i: (-sizes[i], lifetimes[i][0], i))
    placed: list[tuple[int, int, int]] = []  # (offset, end, tensor index), kept sorted by offset
    offsets = []
    for index in sequence:
        size = sizes[index]
        start, stop = lifetimes[index]
        offset = 0
        for other_offset, other_end, other in placed:
            other_start, other_stop = lifetimes[other]
            if other_stop < start or other_start > stop:
                continue  # never alive at the same time: may share bytes
            if other_offset >= offset + size:
                break  # the gap below this neighbour holds the tensor
            offset = max(offset, _align(other_end, alignment_bytes))
        placed.append((offset, offset + size, index))
        placed.sort()
        offsets.append((index, offset))
    return ArenaPlan(size_bytes=max((end for _, end, _ in placed), default=0), offsets=tuple(offsets))


def estimate_memory(graph: Graph, profile: TargetProfile, *, artifact_size_bytes: int) -> MemoryCost:
    order = "tflm" if profile.mcu is not None else "tflite"
    arena = plan_arena(graph, alignment_bytes=profile.memory.arena_alignment_bytes, order=order).size_bytes
    weights = 0
    if profile.memory.weights_in_ram:
        used = {i for op in graph.ops for i in op.inputs if graph.tensors[i].is_constant}
        weights = sum(graph.tensors[i].size_bytes for i in used)
    return MemoryCost(peak_ram_bytes=arena + weights, arena_bytes=arena, weights_in_ram_bytes=weights,
                      flash_bytes=int(artifact_size_bytes))


# Bytes of kernel scratch per output element that tflite-micro's kernel keeps in the arena, by
# (op type, compute dtype): TRANSPOSE_CONV accumulates in int32 (int8) / int64 (int16).
_TFLM_SCRATCH_PER_OUTPUT = {("TRANSPOSE_CONV", "int8"): 4, ("TRANSPOSE_CONV", "int16"): 8}


def _tflm_scratch(graph: Graph) -> dict[int, tuple[int, int]]:
    """Pseudo tensor index (past the graph's tensors, in op order, as tflite-micro appends its
    scratch requests after the tensors) -> (op index, bytes)."""
    from ..graph.ir import elements

    scratch = {}
    for step, op in enumerate(graph.ops):
        per_element = _TFLM_SCRATCH_PER_OUTPUT.get((op.op_type, op.compute_dtype))
        if per_element and op.outputs:
            scratch[len(graph.tensors) + len(scratch)] = (step, elements(graph.tensors[op.outputs[0]].shape) * per_element)
    return scratch


def _align(offset: int, alignment: int) -> int:
    return -(-offset // alignment) * alignment
