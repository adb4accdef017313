"""onnxruntime's QLinearConv by the operand pair it runs: its QDQ S8S8 graphs are rewritten to
u8s8 (the kernel the int8 terms were fitted on); QOperator files keep u8u8 or s8s8, whose MLAS
kernels are several times slower (microbench_probes.py --probe int8-pairs)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from compressor.graph.read import read_graph

pytest.importorskip("onnxruntime")


def _quantized(tmp_path, fmt: str, activations: str, weights: str, per_channel: bool):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array((rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "c",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 14, 14])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 14, 14])], initializer=[w])
    source = tmp_path / "conv.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(source))
    samples = iter([{"x": rng.standard_normal((1, 16, 14, 14)).astype(np.float32)} for _ in range(2)])
    reader = type("Samples", (CalibrationDataReader,), {"get_next": lambda self: next(samples, None)})()
    path = tmp_path / f"conv-{fmt}-{activations}-{weights}.onnx"
    quantize_static(str(source), str(path), reader, quant_format=getattr(QuantFormat, fmt),
                    activation_type=getattr(QuantType, activations), weight_type=getattr(QuantType, weights),
                    per_channel=per_channel)
    return path


@pytest.mark.parametrize("fmt,activations,weights,per_channel,pair", [
    ("QDQ", "QInt8", "QInt8", True, "u8s8"),  # rewritten by onnxruntime
    ("QOperator", "QUInt8", "QUInt8", False, "u8u8"),
    ("QOperator", "QInt8", "QInt8", False, "s8s8")])
def test_the_pair_is_read_as_onnxruntime_runs_it_and_priced(tmp_path, fmt, activations, weights, per_channel, pair):
    from compressor.cost.latency import estimate_op_latency
    from compressor.targets.load import load_target

    graph = read_graph(_quantized(tmp_path, fmt, activations, weights, per_channel), as_run=True)
    (conv,) = [op for op in graph.ops if op.op_type == "QLinearConv"]
    assert conv.int8_pair == pair
    profile = load_target("host-x86")
    onnx = profile.compute.runtimes["onnx"]
    plain = replace(profile, compute=replace(profile.compute, runtimes={
        **profile.compute.runtimes, "onnx": replace(onnx, int8_pair_factors={})}))
    slow = replace(profile, compute=replace(profile.compute, runtimes={
        **profile.compute.runtimes, "onnx": replace(onnx, int8_pair_factors={"u8u8": {"conv": 4.0}, "s8s8": {"conv": 20.0}})}))
    base, priced = (estimate_op_latency(conv, p, runtime="onnx") for p in (plain, slow))
    factor = {"u8s8": 1.0, "u8u8": 4.0, "s8s8": 20.0}[pair]
    assert priced.compute_s == pytest.approx(base.compute_s * factor)
    from compressor.cost.kernels import check_kernels

    said = [w for w in check_kernels(graph, profile).warnings if w.kind == "int8_pair"]
    assert len(said) == (pair != "u8s8") and all(pair in w.reason and "QDQ" in w.reason for w in said)


def test_pair_factor_tables_are_validated(tmp_path):
    from compressor.errors import TargetError
    from compressor.targets.load import load_target

    def _host_plus(tmp_path, extra: str) -> str:  # host-x86 renamed, with ``extra`` appended
        path = tmp_path / "bad.toml"
        path.write_text(load_target("host-x86").path.read_text().replace('name = "host-x86"', 'name = "bad"', 1) + extra)
        return str(path)

    good = ('\n[compute.runtimes.onnx]\ndispatch_overhead_us = 0.1\n'
            'int8_pair_factors.u8u8 = { conv = 4, depthwise = 2.2 }\n')
    runtime = load_target(_host_plus(tmp_path, good), cpu_flags=frozenset()).compute.runtimes["onnx"]
    assert runtime.int8_pair_factors == {"u8u8": {"conv": 4, "depthwise": 2.2}}
    for text, match in [(good.replace("u8u8", "u4u4"), "u4u4"), (good.replace("conv = 4", "convolution = 4"), "convolution"),
                        (good.replace("conv = 4", "conv = 0"), "conv")]:
        with pytest.raises(TargetError, match=match):
            load_target(_host_plus(tmp_path, text), cpu_flags=frozenset())


def test_a_dynamically_quantized_conv_is_priced_by_its_own_pair(tmp_path):
    """quantize_dynamic writes ConvInteger (im2col + MLAS's QGEMM): "integer_u8u8" with uint8
    weights, priced by that pair's factors alone where the CPU has no ConvInteger terms of its own
    (tests/cost/test_conv_integer.py; a CPU that measured neither keeps the int8 terms), and said
    once with the remedy."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from compressor.cost.kernels import check_kernels
    from compressor.cost.latency import estimate_op_latency
    from compressor.targets.load import load_target

    w = numpy_helper.from_array((np.random.default_rng(0).standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "c",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 14, 14])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 14, 14])], initializer=[w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "conv.onnx"))
    quantize_dynamic(str(tmp_path / "conv.onnx"), str(tmp_path / "dynamic.onnx"), weight_type=QuantType.QUInt8)
    read = read_graph(tmp_path / "dynamic.onnx", as_run=True)
    (conv,) = [op for op in read.ops if op.op_type == "ConvInteger"]
    assert conv.int8_pair == "integer_u8u8"
    profile = load_target("host-x86")
    onnx_costs = profile.compute.runtimes["onnx"]
    kernels = {**onnx_costs.kernels, "int8": {key: terms for key, terms in onnx_costs.kernels.get("int8", {}).items()
                                              if not key.startswith("ConvInteger")}}
    plain, slow = (replace(profile, compute=replace(profile.compute, runtimes={
        **profile.compute.runtimes, "onnx": replace(onnx_costs, int8_pair_factors=factors, kernels=kernels)}))
        for factors in ({"u8u8": {"conv": 4.0}}, {"u8u8": {"conv": 4.0}, "integer_u8u8": {"conv": 2.5}}))
    base, priced = (estimate_op_latency(conv, p, runtime="onnx") for p in (plain, slow))
    assert priced.compute_s == pytest.approx(base.compute_s * 2.5)
    said = [w for w in check_kernels(read, profile).warnings if w.kind == "int8_pair"]
    assert len(said) == 1 and "ConvInteger" in said[0].reason and "QDQ" in said[0].reason
