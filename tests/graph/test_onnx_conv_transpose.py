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


def test_a_depthwise_conv_transpose_pays_a_call_per_group(tmp_path):
    # DeepFilterNet3's decoders (held-out set 10): 64 channels of [1, 8], depthwise (1, 3), stride (1, 2)
    inits = [numpy_helper.from_array(np.ones((64, 1, 1, 3), np.float32), "w")]
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[1, 2], group=64, pads=[0, 1, 0, 1])
    graph = helper.make_graph([node], "up", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / "up.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    (op,) = read_graph(path, as_run=True).ops
    assert (op.groups, op.kernel_calls) == (64, 64)
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    us = check_kernels(read_graph(path, as_run=True), target).ops[0].latency_ms * 1e3
    assert 3 < us < 15  # timed at ~7 us (scripts/data/host-x86-kernels-transposed-grouped-zen4.json)
