"""Batched products of two activations (BATCH_MATMUL, an ONNX MatMul of no weight): a product of
few rows pays per byte of the right-hand matrix it packs per batch value, and more so past the
cache (``batched_set_factor``, fitted from the bmm_rows points); a MatMul by a weight does not.
Each able to fail."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compressor.cost.latency import estimate_op_latency
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
ZEN4 = "AuthenticAMD family 25 model 17"


def _products(path, batch: int):
    """x [batch, 1, 128] times y [batch, 128, 128] (two activations), and x times a weight."""
    w = numpy_helper.from_array(np.ones((128, 64), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "y"], ["xy"], name="batched"),
             helper.make_node("MatMul", ["x", "w"], ["xw"], name="by_weight")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 1, 128]),
                                           helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 128, 128])],
                              [helper.make_tensor_value_info("xy", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("xw", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return {op.name: op for op in read_graph(path).ops}


def test_a_product_past_the_cache_pays_its_byte_terms_times_the_curve(tmp_path):
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    costs = zen4.compute.runtime_cost("onnx")
    assert costs.batched_set_factor.get("float32")
    small, big = _products(tmp_path / "s.onnx", 4)["batched"], _products(tmp_path / "b.onnx", 312)["batched"]
    assert costs.batched_factor("float32", small.input_bytes) == 1.0  # 264 KB: in the cache
    factor = costs.batched_factor("float32", big.input_bytes)  # 20 MB
    assert factor > 2
    flat = replace(zen4, compute=replace(zen4.compute, runtimes={
        **zen4.compute.runtimes, "onnx": replace(zen4.compute.runtimes["onnx"], batched_set_factor={})}))
    with_curve = estimate_op_latency(big, zen4, runtime="onnx")
    without = estimate_op_latency(big, flat, runtime="onnx")
    terms = costs.kernels["float32"]["MatMul"]
    per_byte = (terms.in_byte_ps * big.input_bytes + terms.out_byte_ps * big.output_bytes) * 1e-12
    assert with_curve.latency_s - without.latency_s == pytest.approx(per_byte * (factor - 1), rel=0.05)
    # a MatMul by a weight is a Gemm: no curve, whatever its size
    by_weight = _products(tmp_path / "b.onnx", 312)["by_weight"]
    assert estimate_op_latency(by_weight, zen4, runtime="onnx").latency_s == pytest.approx(
        estimate_op_latency(by_weight, flat, runtime="onnx").latency_s)


def test_the_fit_prints_the_factor_each_point_past_the_cache_needs():
    sys.path.insert(0, str(SCRIPTS))
    import fit_kernel_rates

    target = load_target("host-x86", cpu_identity=ZEN4)
    cache = target.memory.private_cache_bytes
    terms = {"BATCH_MATMUL": {"mac_ps": 10.0, "in_byte_ps": 50.0, "weight_byte_ps": 0.0, "out_byte_ps": 0.0,
                              "fixed_us": 0.0, "call_ns": 0.0, "tap_ns": 0.0, "pass_ps": 0.0, "miss_ns": 0.0,
                              "step_ns": 0.0}}
    rows = []
    for b, factor in ((16, 1.0), (64, 2.0), (256, 3.0), (512, 2.5)):  # [b, 1, 128] x [b, 128, 128]
        macs, in_bytes = b * 128 * 128, b * (128 + 128 * 128) * 4
        ms = (10e-12 * macs + 50e-12 * in_bytes * factor) * 1e3
        rows.append({"format": "tflite", "family": "bmm_rows", "op_type": "BATCH_MATMUL", "kind": "fully_connected",
                     "dtype": "float32", "macs": macs, "out_channels": 128, "input_bytes": in_bytes, "weight_bytes": 0,
                     "output_bytes": b * 128 * 4, "bytes": 0, "ms": ms, "params": {}})
    curve = fit_kernel_rates.batched_set_curve(rows, terms, target, "tflite")
    past = [r["input_bytes"] for r in rows if r["input_bytes"] > cache]
    assert curve[0] == (float(cache), 1.0) and [size for size, _ in curve[1:]] == past
    factors = [f for _, f in curve[1:]]
    assert factors[-3:] == pytest.approx([2.0, 3.0, 3.0], rel=0.01)  # never falling as the set grows
