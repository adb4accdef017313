"""onnxruntime's element-indexed ops: a ScatterND copies a slice per index tuple, a ScatterElements or
GatherElements walks its indices element by element (ort_kernels.kernel_walk counts them); on the AVX2
CPU a ScatterND costs by its tuples (its own terms), not by its bytes at the reach of ops of no kind.
Each able to fail."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from microbench_kernels import build_onnx


def _op(tmp_path, params):
    path = tmp_path / f"{params['op']}.onnx"
    build_onnx("scatter", params, path)
    (op,) = [op for op in read_graph(path).ops if op.op_type == params["op"]]
    return op


def test_the_reader_counts_index_tuples_and_index_elements(tmp_path):
    nd = _op(tmp_path, {"op": "ScatterND", "data": (1000, 64), "indices": (500, 1)})
    assert nd.kernel_calls == 500  # a row of 64 copied per tuple
    nd2 = _op(tmp_path, {"op": "ScatterND", "data": (8, 64, 64), "indices": (8, 64, 64, 3)})
    assert nd2.kernel_calls == 8 * 64 * 64
    elements = _op(tmp_path, {"op": "ScatterElements", "data": (100, 16), "indices": (2000, 16), "axis": 0,
                              "reduction": "add"})
    assert elements.kernel_calls == 2000 * 16
    gather = _op(tmp_path, {"op": "GatherElements", "data": (100, 16), "indices": (2000, 16), "axis": 0})
    assert gather.kernel_calls == 2000 * 16


def test_a_scatter_nd_costs_by_its_tuples_on_the_avx2_cpu(tmp_path):
    """16 rows of 4,096 floats written into a 256 KiB tensor: 16-20 us timed on Zen 1 (family scatter),
    where its bytes at the reach of an op of no kind (0.03 there) said ~400 us."""
    from compressor.cost.latency import estimate_op_latency

    op = _op(tmp_path, {"op": "ScatterND", "data": (16, 4096), "indices": (16, 1)})
    zen1 = load_target("host-x86", cpu_identity="AuthenticAMD family 23 model 1", cpu_flags=frozenset({"avx2", "fma"}))
    one = dataclasses.replace(zen1, compute=dataclasses.replace(zen1.compute, threads=1))
    costs = one.compute.runtime_cost("onnx")
    assert costs.kernel_terms("float32", "ScatterND", op.kind).call_ns > 0
    us = estimate_op_latency(op, one, runtime="onnx").latency_s * 1e6
    assert 8 < us < 40
    many = _op(tmp_path, {"op": "ScatterND", "data": (1000, 64), "indices": (1000, 64, 2)})  # 64 K one-element tuples
    assert estimate_op_latency(many, one, runtime="onnx").latency_s * 1e6 > 20 * us
    bare = dataclasses.replace(costs, kernels={**costs.kernels, "float32": {
        k: v for k, v in costs.kernels["float32"].items() if k != "ScatterND"}})
    runtimes = {**one.compute.runtimes, "onnx": bare}
    without = dataclasses.replace(one, compute=dataclasses.replace(one.compute, runtimes=runtimes))
    assert estimate_op_latency(op, without, runtime="onnx").latency_s * 1e6 > 5 * us  # its bytes alone: far over
