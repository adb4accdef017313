"""scripts/microbench_weight_stream.py: its conv chains (what conv_weight_stream is fitted on)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import microbench_weight_stream as ws


def test_a_conv_chain_is_distinct_pointwise_convs_over_many_rows(tmp_path):
    from compressor.cost.latency import gemm_over_rows
    from compressor.graph.read import read_graph

    path = tmp_path / "chain.tflite"
    ws.build("tflite", 32, 3, path, np.random.default_rng(0), conv_h=7)
    graph = read_graph(path, as_run=True)
    assert [op.kind for op in graph.ops] == ["pointwise"] * 3
    assert all(op.weight_bytes >= 4 * 32 * 32 and gemm_over_rows(op) for op in graph.ops)  # + its bias
    assert len({op.weights[0] for op in graph.ops}) == 3  # each its own weights, as a graph's layers
    ws._alone_ms(path, 3)  # runs in LiteRT


def test_an_onnx_conv_chain_is_timed_by_its_convs_alone(tmp_path):
    """onnxruntime's chain: three distinct 1x1 Convs over 7x7; what is timed is its conv nodes'
    kernel time by the profiler, not the NCHWc reorders around them."""
    from ort_op_profile import profile_nodes

    path = tmp_path / "chain.onnx"
    ws.build("onnx", 32, 3, path, np.random.default_rng(0), conv_h=7)
    nodes = profile_nodes(path, runs=3)
    assert sorted(t for t, _ in nodes.values() if "Conv" in t) == ["Conv"] * 3
    assert any("Reorder" in t for t, _ in nodes.values())  # the glue is there, and left out
    convs = sum(ms for t, ms in nodes.values() if "Conv" in t)
    assert 0 < ws._chain_ms(path, "onnx", 3) < convs * 5


def test_the_curve_is_the_median_by_set_size_and_a_chain_of_one_is_not_a_point():
    rows = [{"format": "tflite", "n": 1, "set_bytes": 1 << 20, "bytes_per_s": 1e15},
            *({"format": "tflite", "n": n, "set_bytes": 4 << 20, "bytes_per_s": r} for n, r in ((4, 30e9), (16, 14e9),
                                                                                                  (64, 4e9))),
            {"format": "tflite", "n": 16, "set_bytes": 16 << 20, "bytes_per_s": 7e9}]
    assert ws.fit(rows) == {"tflite": [(float(4 << 20), 14e9), (float(16 << 20), 7e9)]}
