"""The .onnx estimate costs the graph onnxruntime runs (graph/ort_optimized.py), not the file as written."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from compressor.graph.ort_optimized import optimized_onnx  # noqa: E402
from compressor.graph.read import read_graph  # noqa: E402


def _conv_bn_relu(path, *, custom: bool = False):
    rng = np.random.default_rng(0)
    c = 16
    inits = [numpy_helper.from_array(rng.standard_normal((c, 8, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal(c).astype(np.float32), "b")]
    for name, value in (("scale", 1.5), ("bias", 0.1), ("mean", 0.2), ("var", 2.0)):
        inits.append(numpy_helper.from_array(np.full(c, value, np.float32), name))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    opsets = [helper.make_opsetid("", 17)]
    if custom:  # an op onnxruntime has no kernel for: it cannot build a session
        nodes.append(helper.make_node("NoSuchOp", ["y"], ["z"], domain="example.custom"))
        opsets.append(helper.make_opsetid("example.custom", 1))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 32, 32])],
                              [helper.make_tensor_value_info("z" if custom else "y", TensorProto.FLOAT, None)],
                              initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path


def test_conv_bn_relu_is_costed_as_one_fused_conv(tmp_path):
    path = _conv_bn_relu(tmp_path / "cbr.onnx")
    written = read_graph(path)
    as_run = read_graph(path, as_run=True)
    # As written: the conv, then BatchNormalization and Relu as element-wise passes over the map.
    assert [op.kind for op in written.ops] == ["conv", "elementwise", "elementwise"]
    # As onnxruntime runs it: BN folded into the weights, Relu fused into the conv; nothing else
    # costs compute or element-wise traffic.
    compute = [op for op in as_run.ops if op.macs]
    assert len(compute) == 1 and compute[0].kind == "conv"
    assert compute[0].macs >= written.ops[0].macs  # NCHWc may pad channels, never drops work
    assert not [op for op in as_run.ops if op.kind == "elementwise"]
    assert as_run.notes == ()


def test_estimate_of_an_onnx_has_no_separate_elementwise_costs(tmp_path):
    from compressor.measure.estimate import estimate_artifact

    path = _conv_bn_relu(tmp_path / "cbr.onnx")
    estimate = estimate_artifact(path, "host-x86")
    assert [op.kind for op in estimate.kernels.ops if op.kind == "elementwise"] == []
    assert sum(op.kind == "conv" for op in estimate.kernels.ops) == 1


def test_optimized_graph_is_cached_by_file_hash(tmp_path):
    path = _conv_bn_relu(tmp_path / "cbr.onnx")
    first, why = optimized_onnx(path, cache_dir=tmp_path / "cache")
    assert first is not None and why == ""
    stamp = first.stat().st_mtime_ns
    copy = tmp_path / "same-bytes.onnx"
    copy.write_bytes(path.read_bytes())
    second, _ = optimized_onnx(copy, cache_dir=tmp_path / "cache")
    assert second == first and second.stat().st_mtime_ns == stamp  # same bytes: no new session
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no partial file left


def test_falls_back_to_the_written_graph_with_a_note(tmp_path):
    path = _conv_bn_relu(tmp_path / "custom.onnx", custom=True)
    optimized, why = optimized_onnx(path, cache_dir=tmp_path / "cache")
    assert optimized is None and why
    graph = read_graph(path, as_run=True)
    assert any("could not write its optimized graph" in note for note in graph.notes)
    assert [op.kind for op in graph.ops][:3] == ["conv", "elementwise", "elementwise"]


def test_a_float_op_left_between_dequantize_and_quantize_is_costed_as_onnxruntime_runs_it(tmp_path):
    # onnxruntime has no int8 HardSigmoid: its optimized graph keeps DQ -> HardSigmoid -> Q as three
    # nodes (MobileNetV3's gates).  As written, the unit reads as one int8 op; as run, as the three.
    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(0, np.int8), "z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q0"]),
             helper.make_node("DequantizeLinear", ["q0", "s", "z"], ["d0"]),
             helper.make_node("HardSigmoid", ["d0"], ["h"]),
             helper.make_node("QuantizeLinear", ["h", "s", "z"], ["q1"]),
             helper.make_node("DequantizeLinear", ["q1", "s", "z"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 32, 32])],
                              initializer=inits)
    path = tmp_path / "qdq_hardsigmoid.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    written = read_graph(path)
    assert [(op.op_type, op.compute_dtype) for op in written.ops if op.op_type == "HardSigmoid"] == [("HardSigmoid", "int8")]
    run = read_graph(path, as_run=True)
    types = [op.op_type for op in run.ops]
    assert ("HardSigmoid", "float32") in [(op.op_type, op.compute_dtype) for op in run.ops]
    assert types.count("DequantizeLinear") >= 1 and types.count("QuantizeLinear") >= 1


def test_a_convs_input_channels_come_from_its_weight(tmp_path):
    path = _conv_bn_relu(tmp_path / "cbr.onnx")
    for graph in (read_graph(path), read_graph(path, as_run=True)):
        conv = next(op for op in graph.ops if op.kind == "conv")
        assert conv.in_channels == 8  # weight [16, 8, 3, 3]
        assert all(op.in_channels == 0 for op in graph.ops if op.kind not in ("conv", "pointwise"))


def test_a_grouped_conv_reads_its_groups_and_per_group_channels(tmp_path):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((64, 16, 3, 3)).astype(np.float32), "w")]
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], group=4, pads=[1, 1, 1, 1])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 28, 28])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / "grouped.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    for as_run in (False, True):
        conv = next(op for op in read_graph(path, as_run=as_run).ops if op.kind == "conv")
        assert (conv.groups, conv.in_channels, conv.macs) == (4, 16, 64 * 16 * 9 * 28 * 28)


def test_onnxruntime_nchwc_pools_are_read_apart_from_the_nchw_ones(tmp_path):
    """A MaxPool right after a conv runs as onnxruntime's NCHWc pooling kernel, ~3x faster per
    byte than the NCHW one the kernel grid times (microbench_probes.py --probe nchwc-pool): the
    graph onnxruntime runs names it NchwcMaxPool, the file as written MaxPool."""

    nodes = [helper.make_node("Conv", ["x", "w"], ["t"]),
             helper.make_node("MaxPool", ["t"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    graph = helper.make_graph(nodes, "p", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(np.full((32, 32, 1, 1), 0.1, np.float32), "w")])
    path = tmp_path / "p.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert "NchwcMaxPool" in {op.op_type for op in read_graph(path, as_run=True).ops}
    assert "MaxPool" in {op.op_type for op in read_graph(path).ops}


def test_a_model_with_external_data_is_read_as_run_and_keyed_by_its_weights_file(tmp_path):
    """Weights in a file beside the .onnx (torch's dynamo exporter's default): onnxruntime's
    optimized copy in the cache named the source's data file, which does not resolve there, and
    the estimate failed; it now gets a data file of its own, and new weights under the same graph
    file are optimized again."""
    import os

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((32, 16, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["t"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["t"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    inline, external = tmp_path / "inline.onnx", tmp_path / "ext" / "model.onnx"
    external.parent.mkdir()
    onnx.save(model, str(inline))
    onnx.save(model, str(external), save_as_external_data=True, location="model.onnx.data", size_threshold=0)
    cache = tmp_path / "cache"
    first, why = optimized_onnx(external, cache_dir=cache)
    assert first is not None, why
    assert read_graph(external, as_run=True).macs == read_graph(inline, as_run=True).macs > 0
    data = external.parent / "model.onnx.data"
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 10**9))
    second, _ = optimized_onnx(external, cache_dir=cache)
    assert second is not None and second != first


def test_a_model_without_external_data_is_not_parsed_to_learn_so(tmp_path, monkeypatch):
    """The cache key reads the file once (its hash); a file whose bytes never say "location" keeps
    no weights outside and is not parsed again (a 114 MB model took 0.7 s more per estimate)."""
    weight = numpy_helper.from_array(np.ones((8, 4, 1, 1), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[weight])
    path = tmp_path / "inline.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    from onnx import external_data_helper

    monkeypatch.setattr(external_data_helper, "uses_external_data", lambda t: pytest.fail("parsed an inline model"))
    found, why = optimized_onnx(path, cache_dir=tmp_path / "cache")
    assert found is not None, why
