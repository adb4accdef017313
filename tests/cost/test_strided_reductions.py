"""onnxruntime reduces [1, C, H, W] over its leading channels by walking each output's C reads a plane
apart (ort_kernels.strided_reduction, variant "strided"), and reads past the L1's ways in one set miss it
(cost.tiles.strided_conflicts): priced per read, per output and per miss on the Zen 4 (family
reduce_strided), where the pool rate said 0.03-0.7x of their time.  Each able to fail."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from compressor.cost.latency import estimate_op_latency
from compressor.cost.tiles import strided_conflicts
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


def _reduction(tmp_path, op, shape, axes):
    path = tmp_path / f"{op}-{'x'.join(map(str, shape))}-{len(axes)}.onnx"
    mk.build_onnx("reduce_strided", {"op": op, "shape": shape, "axes": axes}, path)
    (node,) = read_graph(path, as_run=True).ops
    return node


def test_a_reduction_over_leading_channels_walks_a_plane_apart_per_output(tmp_path):
    mean = _reduction(tmp_path, "ReduceMean", (1, 32, 64, 64), [1])
    assert (mean.variant, mean.kernel_calls) == ("strided", 64 * 64)
    total = _reduction(tmp_path, "ReduceSum", (1, 16, 30, 30), [1])  # its axes an input (opset 13 on)
    assert (total.variant, total.kernel_calls) == ("strided", 900)
    assert _reduction(tmp_path, "ReduceMean", (1, 4, 8, 1000), [1, 2]).kernel_calls == 1000
    assert _reduction(tmp_path, "ReduceMean", (4, 32, 64, 64), [1]).variant == ""  # [N > 1, C, K]: another loop
    assert _reduction(tmp_path, "ReduceMean", (1, 32, 64, 64), [3]).variant == ""  # the innermost axis: streamed


def test_reads_sharing_an_l1_set_past_its_ways_miss(tmp_path):
    costs = load_target("host-x86", cpu_identity=ZEN4).compute.runtime_cost("onnx")
    assert costs.l1_ways == 8
    aliased = _reduction(tmp_path, "ReduceMean", (1, 32, 64, 64), [1])  # 16 KiB planes: all 32 reads in one set
    assert strided_conflicts(aliased, costs) == 64 * 64 * (32 - 8)
    assert strided_conflicts(_reduction(tmp_path, "ReduceMean", (1, 32, 250, 262), [1]), costs) == 0
    assert strided_conflicts(aliased, replace(costs, l1_ways=0.0)) == 0.0  # an L1 not given: not priced


def test_the_zen4_prices_leaders_layer_norm_mean_near_its_time(tmp_path):
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    op = _reduction(tmp_path, "ReduceMean", (1, 32, 384, 416), [1])
    assert zen4.compute.runtime_cost("onnx").kernel_terms("float32", op.op_type, op.kind, variant=op.variant).miss_ns > 0
    seconds = estimate_op_latency(op, zen4, runtime="onnx").latency_s
    assert 5e-3 < seconds < 15e-3  # 9.4-10 ms by onnxruntime's profiler; 0.55 by the pool rate
