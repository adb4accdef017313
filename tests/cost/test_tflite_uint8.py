"""A TFLite conv or FC of uint8 weights (TF1-style uint8, or dynamic-range with float activations)
runs LiteRT's own kernels, not XNNPACK's int8 ones: read as such (``Op.int8_pair``), priced by the
profile's measured factor on its compute part, and said.  Each able to fail."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.cost.latency import estimate_op_latency
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from microbench_probes import build_uint8_op

ZEN4 = "AuthenticAMD family 25 model 17"


@pytest.mark.parametrize("pair", ["uint8", "hybrid_u8"])
def test_a_conv_of_uint8_weights_is_read_priced_and_said(tmp_path, pair):
    path = build_uint8_op(tmp_path / f"{pair}.tflite", "conv", 28, 64, 64, 3, pair)
    graph = read_graph(path)
    (conv,) = [op for op in graph.ops if op.macs]
    assert conv.int8_pair == pair
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    factor = zen4.compute.runtime_cost("tflite").int8_pair_factors[pair]["conv"]
    assert factor > 2
    priced = estimate_op_latency(conv, zen4, runtime="tflite")
    plain = estimate_op_latency(replace(conv, int8_pair=""), zen4, runtime="tflite")
    assert priced.compute_s == pytest.approx(plain.compute_s * factor)
    assert priced.latency_s - plain.latency_s == pytest.approx(plain.compute_s * (factor - 1), rel=1e-6)
    report = check_kernels(graph, zen4)
    assert any(w.kind == "int8_pair" and "quantize to int8" in w.reason for w in report.warnings)


def test_an_int8_conv_is_not_one(tmp_path):
    import microbench_kernels as mk

    fp32 = tmp_path / "conv.tflite"
    mk.build_tflite("conv", {"h": 16, "w": 16, "cin": 16, "cout": 16, "kh": 3, "kw": 3, "s": 1}, fp32)
    int8 = tmp_path / "conv_int8.tflite"
    mk.build_tflite_int8("conv", {"h": 16, "w": 16, "cin": 16, "cout": 16, "kh": 3, "kw": 3, "s": 1}, int8)
    for path in (fp32, int8):
        assert all(op.int8_pair == "" for op in read_graph(path).ops)


def test_a_dynamic_range_pointwise_conv_splits_at_its_pairs_own_efficiency(tmp_path):
    """LiteRT's own dynamic-range kernels gain little on two threads (the profile's ``pairs``), where
    an int8 conv XNNPACK runs splits at the dtype's efficiency."""
    path = build_uint8_op(tmp_path / "hybrid.tflite", "pointwise", 28, 128, 128, 1, "hybrid_u8")
    (conv,) = [op for op in read_graph(path).ops if op.macs]
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    two = replace(zen4, compute=replace(zen4.compute, threads=2))
    parallel = two.compute.runtime_cost("tflite").parallel["int8"]
    own = dict(dict(parallel["pairs"])["hybrid_u8"])["pointwise"]
    assert own < parallel["efficiency"]

    def gain(op):
        return (estimate_op_latency(op, zen4, runtime="tflite").latency_s
                / estimate_op_latency(op, two, runtime="tflite").latency_s)

    assert gain(conv) < 1 + own + 0.05 < gain(replace(conv, int8_pair=""))


def test_the_pool_probe_chains_alternate_xnnpacks_ops_and_litert_kernels(tmp_path):
    """``microbench_probes.py --probe tflite-pools``: its mixed chain is 16 pointwise convs whose
    every other one has uint8 weights on float activations (LiteRT's own kernel), read as such."""
    from microbench_probes import POOL_CHAINS, build_pool_chain

    graph = read_graph(build_pool_chain(tmp_path / "mixed.tflite", POOL_CHAINS["mixed"]))
    convs = [op for op in graph.ops if op.macs]
    assert len(convs) == 16 and all(op.kind == "pointwise" for op in convs)
    assert [op.int8_pair for op in convs] == ["", "hybrid_u8"] * 8


def test_the_dequantized_depthwise_probe_feeds_uint8_weights_through_a_dequantize(tmp_path):
    """``--probe dequantized-depthwise`` (facex's depthwise convs): the same conv with float weights and
    with uint8 ones through a DEQUANTIZE, which the reader folds into the conv's weights."""
    from microbench_probes import build_depthwise

    plain = read_graph(build_depthwise(tmp_path / "f.tflite", 14, 32, dequantized=False))
    folded = read_graph(build_depthwise(tmp_path / "q.tflite", 14, 32, dequantized=True))
    (a,), (b,) = ([op for op in g.ops if op.op_type == "DEPTHWISE_CONV_2D"] for g in (plain, folded))
    assert a.macs == b.macs and a.int8_pair == "" and b.int8_pair == "hybrid_u8"
    assert not any(op.op_type == "DEQUANTIZE" for op in folded.ops)
