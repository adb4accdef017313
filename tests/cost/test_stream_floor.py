"""A memory-bound op past the private cache costs at least its traffic at the CPU's measured
element-wise stream rate for its working set (cost/caches.py), where that curve was measured:
in place of the copy rate and of DRAM's rate scaled by the kind's reach.  Each able to fail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from compressor.cost.caches import stream_floor_s
from compressor.cost.latency import estimate_op_latency
from compressor.graph.ir import Op
from compressor.targets.load import load_target

MIB = 2 ** 20


def _zen4():
    return load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")


def _add(tensor: int) -> Op:  # two full inputs, one output
    return Op("y", "Add", "elementwise", (0, 1), (2,), 0, "float32", 0, 2 * tensor, tensor)


def test_the_floor_is_the_traffic_at_the_sets_rate():
    zen4 = _zen4()
    assert zen4.memory.stream_curve  # --probe stream's, in its [[memory.cpus]] entry
    add = _add(32 * MIB)  # 96 MiB working set, 128 MiB of traffic (the output read for ownership)
    assert stream_floor_s(add, zen4) == pytest.approx(128 * MIB / zen4.memory.stream_rate(96 * MIB))
    assert stream_floor_s(_add(64 * 1024), zen4) == 0.0  # within the L2: the terms alone
    conv = replace(add, macs=1000, kind="conv")
    assert stream_floor_s(conv, zen4) is None  # ops with MACs keep their own floors
    # but a depthwise conv streams as an element-wise op does (trueocr's detector, held-out set 11:
    # 48 channels of 512 x 368, 36 MB a side, 1.5 ms by the profiler where its terms said 0.56)
    depthwise = replace(add, macs=9 * 32 * MIB // 4, kind="depthwise", input_bytes=32 * MIB)
    assert stream_floor_s(depthwise, zen4) == pytest.approx(
        (32 * MIB + 2 * 32 * MIB) / zen4.memory.stream_rate(64 * MIB), rel=0.01)


def test_a_big_element_wise_op_is_priced_at_the_stream_rate_not_dram_times_reach():
    """96 MiB moved: past the 32 MiB L3, where DRAM's rate times the element-wise kind's reach
    (~10 GB/s) said 2.8x of what onnxruntime takes; the stream curve says ~34 GB/s of traffic."""
    zen4 = _zen4()
    without = replace(zen4, memory=replace(zen4.memory, stream_curve=()))
    add = _add(32 * MIB)
    streamed = estimate_op_latency(add, zen4, runtime="onnx").latency_s
    old = estimate_op_latency(add, without, runtime="onnx").latency_s
    assert streamed == pytest.approx(stream_floor_s(add, zen4) + zen4.compute.runtime_cost("onnx").dispatch_overhead_us * 1e-6,
                                     rel=0.05)
    assert old > 2 * streamed
    # and within the L3 (24 MiB moved), dearer than the copy rate made it
    mid = _add(8 * MIB)
    assert (estimate_op_latency(mid, zen4, runtime="onnx").latency_s
            > 1.2 * estimate_op_latency(mid, without, runtime="onnx").latency_s)
