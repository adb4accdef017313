"""onnxruntime's transformer fusions are costed by their own measured terms, not the element-wise
kind's (MiniLM's BiasGelu read 0.12x of onnxruntime's profiler, a T5's RMSNorm 4.1x): able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk


@pytest.mark.parametrize("op", ["BiasGelu", "FastGelu", "SkipLayerNormalization", "SimplifiedLayerNormalization",
                                "SkipSimplifiedLayerNormalization"])
def test_each_fusion_is_costed_by_its_own_terms(tmp_path, op):
    path = tmp_path / f"{op}.onnx"
    mk.build_onnx("fused_more", {"op": op, "shape": (1, 128, 384)}, path)
    graph = read_graph(path, as_run=True)
    (node,) = [o for o in graph.ops if o.op_type == op]
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    costs = zen4.compute.runtime_cost("onnx")
    own = costs.kernel_terms("float32", op, node.kind)
    assert own is not None and own is not costs.kernel_terms("float32", "", node.kind)
    kernel_ms = sum(own.seconds(0, node.input_bytes, node.weight_bytes, node.output_bytes)) * 1e3
    placed = next(p for p in check_kernels(graph, zen4).ops if p.op_type == op)
    assert placed.latency_ms == pytest.approx(kernel_ms + costs.dispatch_overhead_us * 1e-3, rel=0.02)
