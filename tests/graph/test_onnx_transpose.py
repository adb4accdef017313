"""Which ONNX Transposes onnxruntime copies element by element (``Op.elementwise_copies``)."""

from __future__ import annotations

import pytest
from onnx import helper

from compressor.graph.ort_kernels import transpose_elementwise


@pytest.mark.parametrize(("shape", "perm", "elementwise"), [
    ((1, 28, 28, 2, 58), (0, 4, 3, 1, 2), True),    # ShuffleNetV2's shuffle after the NHWC rewrite
    ((1, 58, 28, 28), (0, 2, 3, 1), False),         # NCHW -> NHWC: one axis moves (SingleAxisTranspose)
    ((1, 2, 58, 28, 28), (0, 2, 1, 3, 4), False),   # the innermost axes stay: block copies
    ((1, 1, 64, 1), (2, 0, 1, 3), False),           # only size-1 axes move: a reshape
    ((4, 8, 16), None, True),                       # no perm: all axes reversed
    ((8, 16), None, False),                         # a 2-D reversal moves one axis
])
def test_the_element_wise_path_is_the_one_onnxruntime_takes(shape, perm, elementwise):
    node = helper.make_node("Transpose", ["x"], ["y"], **({"perm": list(perm)} if perm else {}))
    expected = 1
    for d in shape:
        expected *= d
    assert transpose_elementwise(node, shape) == (expected if elementwise else 0)


def test_a_shuffled_int8_graph_is_read_with_its_element_wise_transposes(tmp_path):
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnx
    from onnx import TensorProto

    from compressor.graph.read import read_graph

    node = helper.make_node("Transpose", ["x"], ["y"], perm=[0, 4, 3, 1, 2])
    graph = helper.make_graph([node], "t", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 28, 28, 2, 58])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 58, 2, 28, 28])])
    path = tmp_path / "shuffle.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    (op,) = read_graph(path, as_run=True).ops
    assert op.op_type == "Transpose" and op.elementwise_copies == int(np.prod([1, 28, 28, 2, 58]))


@pytest.mark.parametrize(("shape", "axis", "opset", "copies", "rows"), [
    ((1, 16, 4, 2100), 1, 17, 2 * 16 * 4 * 2100, 4 * 2100),  # YOLOv8's DFL: swapped with the last, and back
    ((1, 16, 4, 2100), -1, 17, 0, 16 * 4),                   # over the last axis: its rows as they lie
    ((1, 16, 4, 2100), 1, 11, 0, 1),                         # before opset 13: [N, D] from the axis on, no transpose
    ((1, 16, 2100), 1, 17, 0, 2100),                         # the swap moves one axis: block copies
    ((1, 139, 187, 2), 3, 12, 0, 139 * 187),                 # MTCNN's P-Net: 2-class scores at every position
    ((8, None), -1, 17, 0, 0),                               # a shape not known
])
def test_a_softmax_normalizes_row_by_row_and_over_an_inner_axis_copies_its_tensor_twice(shape, axis, opset, copies,
                                                                                         rows):
    from compressor.graph.ort_kernels import elementwise_copies, softmax_rows

    node = helper.make_node("Softmax", ["x"], ["y"], axis=axis)
    assert elementwise_copies(node, opset, shape) == copies
    assert softmax_rows(node, opset, shape) == rows


def test_a_softmax_pays_per_row_and_per_element_copied():
    from dataclasses import replace

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.ir import Op
    from compressor.targets.load import load_target

    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    size = 4 * 16 * 4 * 2100
    rows = Op("dfl", "Softmax", "other", (0,), (1,), 0, "float32", 0, size, size)
    swapped = replace(rows, elementwise_copies=2 * 16 * 4 * 2100)
    plain, with_copies = (estimate_op_latency(o, target, runtime="onnx").latency_s for o in (rows, swapped))
    ns = target.compute.runtime_cost("onnx").transpose_element_ns
    assert with_copies - plain == pytest.approx(2 * 16 * 4 * 2100 * ns * 1e-9, rel=0.01)
    assert with_copies > 10 * plain
    size = 4 * 139 * 187 * 2  # MTCNN's P-Net scores: timed at 333 us (scripts/data/host-x86-kernels-softmax-zen4.json)
    scores = Op("scores", "Softmax", "other", (0,), (1,), 0, "float32", 0, size, size)
    per_row = estimate_op_latency(replace(scores, kernel_calls=139 * 187), target, runtime="onnx").latency_s
    assert 200e-6 < per_row < 500e-6


@pytest.mark.parametrize(("shape", "perm", "variant", "calls"), [
    ((128, 6, 32), (1, 0, 2), "strided", 768),          # [S, H, D] -> [H, S, D]: StridedCopy, a run of 32 each
    ((1, 128, 6, 32), (0, 2, 1, 3), "strided", 768),    # the same with a batch axis
    ((1, 128, 192), (1, 0, 2), "", 0),                  # only a size-1 axis moves: one copy
    ((3, 128, 6, 32), (1, 2, 0, 3), "inwards", 2304),   # one axis moved inwards: a memcpy per block of 32
    ((1, 128, 3, 6, 32), (3, 1, 2, 0, 4), "blocks", 2304),  # no single move (size-1 axes count): blocks
    ((1, 4, 1024, 2), (0, 2, 1, 3), "", 0),             # 8-byte blocks: a plain loop, at its bytes
    ((1, 64, 56, 56), (0, 2, 3, 1), "", 0),             # NCHW -> NHWC: MLAS's transpose, at its bytes
    ((1, 28, 28, 2, 58), (0, 4, 3, 1, 2), "", 0),       # element by element (transpose_elementwise)
])
def test_the_blocks_onnxruntime_copies_a_transpose_in(shape, perm, variant, calls):
    from compressor.graph.ort_kernels import transpose_blocks

    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    assert transpose_blocks(node, shape, 4) == (variant, calls)


def test_runs_merge_where_both_sides_hold_them_contiguous():
    from compressor.graph.ort_kernels import transpose_blocks

    # [2, 50, 12, 64] -> [2, 12, 50, 64]: runs of 64; with 12 of size 1 the whole is one run
    node = helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1, 3])
    assert transpose_blocks(node, (2, 50, 12, 64), 4) == ("strided", 2 * 50 * 12)
    assert transpose_blocks(node, (2, 50, 1, 64), 4) == ("", 0)
    # uint8 blocks of 4 bytes take MLAS's path, as fp32 elements do; of 16, StridedCopy's
    assert transpose_blocks(node, (1, 64, 8, 4), 1) == ("", 0)
    assert transpose_blocks(node, (1, 64, 8, 16), 1) == ("strided", 512)


def _transpose_file(tmp_path, shape, perm):
    import onnx
    from onnx import TensorProto

    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    graph = helper.make_graph([node], "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "t.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_a_strided_transpose_is_read_and_costed_by_its_runs(tmp_path):
    pytest.importorskip("onnxruntime")
    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    (op,) = read_graph(_transpose_file(tmp_path, (128, 6, 32), (1, 0, 2)), as_run=True).ops
    assert (op.variant, op.kernel_calls) == ("strided", 768)
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    terms = target.compute.runtime_cost("onnx").kernels["float32"]["Transpose_strided"]
    cost = estimate_op_latency(op, target, runtime="onnx")
    runs_s = 768 * terms.call_ns * 1e-9
    assert runs_s > 0 and cost.latency_s > runs_s + op.input_bytes * terms.in_byte_ps * 1e-12 * 0.99


def test_a_transpose_copied_block_by_block_in_a_loop_stays_on_one_thread(tmp_path):
    pytest.importorskip("onnxruntime")
    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target, with_threads

    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    (blocks,) = read_graph(_transpose_file(tmp_path, (32, 32, 8, 4), (2, 1, 0, 3)), as_run=True).ops
    assert blocks.variant == "blocks"
    one, two = (estimate_op_latency(blocks, with_threads(target, t), runtime="onnx").latency_s for t in (1, 2))
    assert two == pytest.approx(one)
    (strided,) = read_graph(_transpose_file(tmp_path, (1, 1024, 4, 4), (0, 2, 1, 3)), as_run=True).ops
    one, two = (estimate_op_latency(strided, with_threads(target, t), runtime="onnx").latency_s for t in (1, 2))
    assert two < one
