"""How onnxruntime interpolates a Resize (``Op.variant``), and what each way costs."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from compressor.graph.ort_kernels import resize_interpolation
from compressor.targets.kernel_terms import kernel_term_keys

NCHW = (1, 64, 56, 56)
DOUBLED = (1, 64, 112, 112)


@pytest.mark.parametrize(("attrs", "opset", "out", "expected"), [
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, 17, DOUBLED,
     "nearest2x"),                                                       # torch's nn.Upsample export
    ({"mode": "nearest"}, 17, DOUBLED, "nearest"),                       # half_pixel, round_prefer_floor
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, 17,
     (1, 64, 224, 224), "nearest"),                                      # x4: the general path
    ({}, 10, DOUBLED, "nearest2x"),                                      # opset 10: always its copy path
    ({"mode": "linear"}, 17, DOUBLED, "linear"),
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, 17,
     (1, 112, 112, 64), "nearest"),                                      # NHWC (an int8 graph): scales not {1,1,2,2}
])
def test_the_path_is_the_one_onnxruntime_takes(attrs, opset, out, expected):
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], **attrs)
    shape = NCHW if out != (1, 112, 112, 64) else (1, 56, 56, 64)
    assert resize_interpolation(node, opset, shape, out) == expected


def test_a_nearest_resize_is_looked_up_by_its_path_then_as_a_resize():
    assert kernel_term_keys("Resize", "other", variant="nearest2x")[:2] == ("Resize_nearest2x", "Resize")
    assert kernel_term_keys("Resize", "other", variant="linear")[0] == "Resize"  # the terms timed bilinear
    assert kernel_term_keys("Add", "elementwise")[0] == "Add"


def test_an_exported_upsample_is_read_and_costed_as_the_copy_it_runs(tmp_path):
    """A x2 nearest upsample as torch writes it, beside the same resize with the default
    half_pixel transform: on the EPYC Zen 4 entry (its own measured terms) the copy-only path
    costs several times less, as onnxruntime runs it (17 vs 139 ps per output byte)."""
    pytest.importorskip("onnxruntime")
    import onnx

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    target = load_target("host-x86", cpu_flags=frozenset({"avx2", "avx512f", "avx512_vnni"}),
                         cpu_identity="AuthenticAMD family 25 model 17")
    cost = {}
    for name, attrs in (("torch", {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
                        ("default", {})):
        scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
        node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest", **attrs)
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(NCHW))],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[scales])
        path = tmp_path / f"{name}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
        (op,) = read_graph(path, as_run=True).ops
        cost[name] = (op.variant, estimate_op_latency(op, target, runtime="onnx").latency_s)
    assert cost["torch"][0] == "nearest2x" and cost["default"][0] == "nearest"
    assert cost["default"][1] > 4 * cost["torch"][1]


def test_a_depthwise_conv_off_the_nchwc_block_is_read_and_costed_as_mlas_nchw_conv(tmp_path):
    """onnxruntime leaves a depthwise conv whose channels miss its NCHWc rule (58: ShuffleNetV2's
    branch) in NCHW, one im2col + GEMM per channel: read with a call per channel and costed by the
    Zen 4's own ``depthwise_unaligned`` terms, several times the NCHWc kernel's per MAC."""
    pytest.importorskip("onnxruntime")
    import onnx

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    target = load_target("host-x86", cpu_flags=frozenset({"avx2", "avx512f", "avx512_vnni"}),
                         cpu_identity="AuthenticAMD family 25 model 17")
    per_mac = {}
    for channels in (58, 64):
        weight = numpy_helper.from_array(np.ones((channels, 1, 3, 3), np.float32), "w")
        node = helper.make_node("Conv", ["x", "w"], ["y"], group=channels, pads=[1, 1, 1, 1])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 28, 28])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[weight])
        path = tmp_path / f"dw{channels}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
        (op,) = [o for o in read_graph(path, as_run=True).ops if o.kind == "depthwise"]
        assert (op.nchwc_rows == 0, op.kernel_calls) == ((True, 58) if channels == 58 else (False, 0))
        per_mac[channels] = estimate_op_latency(op, target, runtime="onnx").latency_s / op.macs
    assert per_mac[58] > 2 * per_mac[64]


def test_a_resize_behind_an_nchwc_conv_is_costed_as_the_nchwc_upsample_it_becomes(tmp_path):
    """onnxruntime's layout rewrite turns it into its own Upsample (a blocked copy), which has
    measured terms of its own per mode; before, it took the "other" roofline, ~7x over."""
    import onnx

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    c = 128
    inits = [numpy_helper.from_array(np.ones((c, c, 1, 1), np.float32) / c, "w"),
             numpy_helper.from_array(np.zeros(c, np.float32), "b"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["t"]),
             helper.make_node("Resize", ["t", "", "scales"], ["y"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor")]
    graph = helper.make_graph(nodes, "up", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 20, 20])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / "up.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    (up,) = [op for op in read_graph(path, as_run=True).ops if op.op_type == "Upsample"]
    for cpu in ("AuthenticAMD family 25 model 17", None):
        target = load_target("host-x86", cpu_identity=cpu) if cpu else load_target("host-x86")
        costs = target.compute.runtime_cost("onnx")
        assert costs.kernel_terms("float32", up.op_type, up.kind, 0, variant=up.variant) is not None
        ps_per_byte = estimate_op_latency(up, target, runtime="onnx").latency_s * 1e12 / up.output_bytes
        assert ps_per_byte < 50  # nearest: 15-43 ps per output byte by the profiler; bilinear ~90


def test_a_1d_depthwise_conv_calls_mlas_per_channel_of_each_image(tmp_path):
    """A 1-D depthwise conv runs MLAS's NCHW conv per channel of each image (trueocr's recognizer,
    held-out set 11: 64 text lines at once): read as variant "1d" with batch x channels calls, and
    priced by the Zen 4's own 1-D terms, so 64 lines cost about 64 times one."""
    pytest.importorskip("onnxruntime")
    import onnx

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    cost = {}
    for batch in (1, 64):
        weight = numpy_helper.from_array(np.ones((128, 1, 9), np.float32), "w")
        node = helper.make_node("Conv", ["x", "w"], ["y"], group=128, pads=[4, 4])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 128, 82])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[weight])
        path = tmp_path / f"dw1d{batch}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
        (op,) = [o for o in read_graph(path, as_run=True).ops if o.kind == "depthwise"]
        assert (op.variant, op.kernel_calls) == ("1d", batch * 128)
        cost[batch] = estimate_op_latency(op, target, runtime="onnx").latency_s
    assert "depthwise_unaligned_1d" in target.compute.runtime_cost("onnx").kernels["float32"]
    assert 40 * cost[1] < cost[64] < 90 * cost[1]  # timed: 29 us and 1.93 ms (66x)
