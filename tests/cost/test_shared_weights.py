"""onnxruntime reads one copy of a weight its nodes share (an unrolled LSTM's steps): the weight
set an .onnx streams counts it once, where XNNPACK packs it once per node.  Each able to fail."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compressor.cost.kernels import packed_weight_bytes
from compressor.graph.read import read_graph


def _gemms(path, shared: bool, n: int = 4, k: int = 256, m: int = 64):
    inputs = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [1, k]) for i in range(n)]
    inits = [numpy_helper.from_array(np.ones((m, k), np.float32), f"w{i}") for i in range(1 if shared else n)]
    nodes = [helper.make_node("Gemm", [f"x{i}", "w0" if shared else f"w{i}"], [f"y{i}"], transB=1) for i in range(n)]
    nodes.append(helper.make_node("Sum", [f"y{i}" for i in range(n)], ["y"]))
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, m])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return read_graph(path)


def test_an_onnx_weight_shared_by_four_gemms_is_read_as_one(tmp_path):
    one = 64 * 256 * 4
    assert packed_weight_bytes(_gemms(tmp_path / "shared.onnx", shared=True)) == one
    assert packed_weight_bytes(_gemms(tmp_path / "distinct.onnx", shared=False)) == 4 * one


def test_a_shared_weight_set_prices_each_gemm_at_its_cache_rate(tmp_path):
    """Twenty 6.5 MB Gemms sharing one weight (the captcha CRNN's unrolled LSTM) are costed as a
    13 MB set, read from the L3, not a 131 MB one from DRAM (on the AVX-512 EPYC, whatever this
    machine is: its 32 MB L3; the AVX2 EPYC's 8 MB holds neither, both stream at 12-14 GB/s)."""
    from compressor.measure.estimate import estimate_artifact
    from compressor.targets.load import load_target

    zen5 = load_target("host-x86", cpu_identity="AuthenticAMD family 26 model 2")
    shared = _gemms(tmp_path / "big_shared.onnx", shared=True, n=20, k=4096, m=400)
    distinct = _gemms(tmp_path / "big_distinct.onnx", shared=False, n=20, k=4096, m=400)
    fast = estimate_artifact(tmp_path / "big_shared.onnx", zen5, graph=shared).latency_ms
    slow = estimate_artifact(tmp_path / "big_distinct.onnx", zen5, graph=distinct).latency_ms
    assert fast < 0.6 * slow
