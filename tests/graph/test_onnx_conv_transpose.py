"""onnxruntime's ConvTranspose as the estimate reads and costs it: a GEMM over the input
positions and a col2im, its weight [Cin, Cout / group, kh, kw]."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target


def _head(tmp_path, cin: int, cout: int):
    """A DB head's x2 upsample: ConvTranspose k2 s2 over 80 x 80."""
    inits = [numpy_helper.from_array(np.ones((cin, cout, 2, 2), np.float32) / cin, "w"),
             numpy_helper.from_array(np.zeros(cout, np.float32), "b")]
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2])
    graph = helper.make_graph([node], "head", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, 80, 80])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / f"head{cout}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return read_graph(path, as_run=True)


def test_its_channels_are_read_from_its_own_weight_layout(tmp_path):
    (op,) = _head(tmp_path, 24, 1).ops
    assert (op.op_type, op.in_channels, op.out_channels) == ("ConvTranspose", 24, 1)
    assert op.macs == 24 * 80 * 80 * 1 * 2 * 2


def test_one_output_channel_is_not_costed_as_a_tile_of_sixteen(tmp_path):
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    one, sixteen = (check_kernels(_head(tmp_path, 24, c), target) for c in (1, 16))
    assert not [w for w in one.warnings if w.kind == "channel_multiple"]
    # sixteen channels compute 16x the MACs and write 16x the bytes: well over 4x the one
    assert sixteen.ops[0].latency_ms > 4 * one.ops[0].latency_ms
    terms = target.compute.runtime_cost("onnx").kernel_terms("float32", "ConvTranspose", "conv", 0, unaligned=True)
    assert terms is not None and terms.mac_ps == pytest.approx(20.64)
