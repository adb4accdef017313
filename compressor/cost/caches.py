"""What an op pays beyond its kernel terms when its bytes overflow the core's private cache.

The kernel terms were measured with an op's tensors in the private cache (the single-op grid's
shapes); in a graph an op's bytes may come from the shared cache or DRAM instead.  A memory-bound
op (no MACs) streams them (``spill_s``: at the shared cache's copy rate; ``stream_floor_s``: at the
rate an element-wise kernel reaches for a working set its size, where the CPU's ``stream_curve``
was measured), and a recurrent op re-reads its per-step weights every step (``step_spill_s``).
cost/latency.py takes them as floors under the terms.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph.ir import Graph, Op
from ..graph.onnx_loops import loop_node_name
from ..targets.load import TargetProfile


def moved_bytes(op: Op) -> int:
    """Bytes an op reads and writes once: activations in, weights, activations out."""
    return op.input_bytes + op.weight_bytes + op.output_bytes


def spill_s(op: Op, profile: TargetProfile) -> float:
    """A memory-bound op (no MACs) whose tensors overflow the core's private cache streams them
    through the shared cache: at least ``moved bytes / cache bandwidth``.  The single-op
    microbenchmarks behind the kernel terms mostly ran from the private cache; on a CPU whose
    shared cache is slow per core this floor is what an element-wise op costs in a graph
    (an Intel Xeon VM: ~28 GB/s beyond its 2 MiB L2 where the EPYC gives ~111; a 640x640 text
    detector's Adds and Muls 40 ms in onnxruntime's profiler, 11 ms by the kernel terms)."""
    return 0.0 if op.macs else shared_cache_s(moved_bytes(op), profile)


def shared_cache_s(nbytes: float, profile: TargetProfile) -> float:
    """Seconds to read ``nbytes`` overflowing the private cache from the shared one, at its rate for
    a set that size (``MemoryProfile.shared_cache_rate``); 0 when they fit / unknown."""
    memory = profile.memory
    if (memory.private_cache_bytes is None or not memory.cache_bandwidth_bytes_per_s
            or nbytes <= memory.private_cache_bytes):
        return 0.0
    return nbytes / memory.shared_cache_rate(nbytes)


def step_spill_s(op: Op, profile: TargetProfile, threads: int = 1) -> float:
    """A recurrent op reads its per-step weights (``Op.step_weight_bytes``) at every time step;
    when one thread's share of them overflows the core's private cache they come from the shared
    cache every step: at least ``steps x share / cache bandwidth``.  (An LSTM of width 512 holds
    a 4 MiB R: on a Xeon with 2 MiB L2 and ~28 GB/s from its L3, 50 steps take 7.4 ms where the
    kernel's in-cache rate says 2.5; on two threads each core's half fits its L2.)"""
    if not op.recurrent_steps or not op.step_weight_bytes:
        return 0.0
    return op.recurrent_steps * shared_cache_s(op.step_weight_bytes / max(threads, 1), profile)


def stream_floor_s(op: Op, profile: TargetProfile, reach: float = 0.0) -> float | None:
    """A memory-bound op's time streaming its bytes where its working set (``moved_bytes``)
    overflows the private cache, on a CPU whose ``[[memory.cpus]] stream_curve`` was measured
    (``scripts/microbench_probes.py --probe stream``: element-wise ADDs and RELUs of 2-64 MiB a
    tensor in both runtimes): its traffic -- what it reads, and its output read for ownership and
    written back -- at the curve's rate for that set.  On the EPYC Zen 4 that rate falls from
    ~120 GB/s at 16 MiB to 57 at 32 and ~32 past 100: the copy rate (``spill_s``) put a 24 MiB ADD
    at 0.69x of its time, and DRAM's rate scaled by the element-wise kind's reach one of 96 MiB at
    2.8x.  A depthwise conv streams so too (a few taps an element): trueocr's text detector runs 48
    channels of 512 x 368 3x3 in 1.5 ms by onnxruntime's profiler, where its kernel terms, timed from
    the L2, said 0.56.  None for other ops with MACs, or where no curve was measured (``spill_s``
    and the DRAM floor then, as before)."""
    memory = profile.memory
    if (op.macs and op.kind != "depthwise") or not memory.stream_curve:  # a depthwise conv: a few taps an element
        return None
    moved = moved_bytes(op)
    if memory.private_cache_bytes is None or moved <= memory.private_cache_bytes:
        return 0.0
    return (moved + op.output_bytes) / (memory.stream_rate(moved) * (reach or 1.0))


def packed_weight_bytes(graph: Graph) -> int:
    """The weight bytes the runtime holds packed, what an inference reads (``latency.weight_stream_s``).
    LiteRT's XNNPACK packs every node's own (a tensor shared by several nodes is packed once per
    node: 20 FULLY_CONNECTEDs sharing one 6.5 MB weight ran 362 us each, as with 20 weights, 337);
    onnxruntime reads one copy of a weight several nodes share (20 Gemms sharing one: 83 us each
    against 362 with 20 weights; an unrolled LSTM's steps share theirs), so an .onnx counts each
    distinct weight set once (``microbench_probes.py --probe shared-weights``,
    scripts/data/host-x86-probes-shared-weights-zen4.json).  The iterations of an unrolled ONNX Loop
    (graph/onnx_loops.py) are one node's, their weights once."""
    seen: set[tuple[str, tuple[int, ...]]] = set()
    total = 0
    for op in graph.ops:
        key = ("", op.weights) if graph.format == "onnx" else (loop_node_name(op.name), op.weights)
        if not op.weights or key not in seen:
            total += op.weight_bytes
            seen.add(key)
    return total


def weight_sets(graph: Graph) -> list[int]:
    """Per op, the packed weight bytes read between two runs of it (``latency.weight_stream_s``):
    the graph's, but for an op a loop runs many times in a row (``Op.repeats``: a kept ONNX Loop
    body, a TFLite WHILE's) its loop body's own, the run of ops around it of as many repeats.
    piper-tts's diacritizer runs 4 LSTM Loops of 47 steps, each over 5.1 MB of weights of its own:
    from the L3, where the graph's 21 MB priced each step's at the rate of a 21 MB stream."""
    sets, start = [packed_weight_bytes(graph)] * len(graph.ops), 0
    for end in range(1, len(graph.ops) + 1):
        if end == len(graph.ops) or graph.ops[end].repeats != graph.ops[start].repeats:
            if graph.ops[start].repeats > 1:
                sets[start:end] = [packed_weight_bytes(replace(graph, ops=graph.ops[start:end]))] * (end - start)
            start = end
    return sets
