"""onnxruntime shuffles a DepthToSpace / SpaceToDepth as a 6-D tensor, a run of blocksize elements at
a time: the reader counts the runs (``Op.kernel_calls``) and the Zen 4 prices a DepthToSpace per run,
well above what its bytes as a plain copy say."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from compressor.cost.latency import estimate_op_latency
from compressor.graph.read import read_graph
from compressor.targets.load import load_target


def _op(tmp_path, op_type: str, shape: tuple[int, ...], block: int):
    out = ((shape[0], shape[1] // block ** 2, shape[2] * block, shape[3] * block) if op_type == "DepthToSpace"
           else (shape[0], shape[1] * block ** 2, shape[2] // block, shape[3] // block))
    node = helper.make_node(op_type, ["x"], ["y"], blocksize=block)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out))])
    path = tmp_path / f"{op_type}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    (op,) = read_graph(path).ops
    return op


def test_a_depth_to_space_runs_blocksize_elements_a_call(tmp_path):
    op = _op(tmp_path, "DepthToSpace", (1, 16, 96, 104), 4)
    assert op.kernel_calls == 16 * 96 * 104 // 4
    assert _op(tmp_path, "SpaceToDepth", (1, 4, 64, 64), 2).kernel_calls == 4 * 64 * 64 // 2
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    terms = zen4.compute.runtime_cost("onnx").kernel_terms("float32", "DepthToSpace", op.kind)
    assert terms is not None and terms.call_ns > 1.0
    us = estimate_op_latency(op, zen4, runtime="onnx").latency_s * 1e6
    assert us == pytest.approx(op.kernel_calls * terms.call_ns * 1e-3, rel=0.2)  # 3.6 ns a run: ~0.14 ms
    reshape = zen4.compute.runtime_cost("onnx").kernel_terms("float32", "Reshape", op.kind)
    assert us > 3 * sum(reshape.seconds(0, op.input_bytes, 0, op.output_bytes)) * 1e6
