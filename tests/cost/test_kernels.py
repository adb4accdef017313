"""Will this accelerate? Placement, padding and warnings on hand-made graphs and profiles."""

from __future__ import annotations

from dataclasses import replace

import pytest

from compressor.cost.kernels import check_kernels, is_float_model
from compressor.cost.latency import estimate_op_latency
from compressor.graph.ir import Graph, Op, Tensor
from compressor.targets.load import load_target
from compressor.targets.types import AcceleratorProfile


def _profile(name, *, multiple=8, float_allowed=False, supported=None, fallback=None):
    base = load_target("android-arm64")
    compute = replace(base.compute, channel_multiple=multiple, float_allowed=float_allowed, channel_tiles={})
    accelerator = None if supported is None else AcceleratorProfile(
        compiler="none", supported_ops=tuple(supported), fallback_target=fallback.name if fallback else None,
        tops_int8=None, tops_per_watt=None, sram_bytes=None, vela_accelerator_config=None,
        vela_system_config=None, vela_memory_mode=None, vela_config_file=None)
    return replace(base, name=name, kind="npu" if accelerator else "mcu", compute=compute, accelerator=accelerator,
                   mcu=None, fallback=fallback)


def _graph(channels=16, dtype="int8", op_type="CONV_2D"):
    tensors = (Tensor("x", (1, 8, 8, 8), dtype, 512, False), Tensor("w", (channels, 3, 3, 8), "int8", 72 * channels, True),
               Tensor("y", (1, 8, 8, channels), dtype, 64 * channels, False))
    macs = 64 * channels * 72
    op = Op("y", op_type, "conv", (0, 1), (2,), macs, dtype, 72 * channels, 512, 64 * channels, weights=(1,),
            out_channels=channels)
    return Graph(ops=(op,), tensors=tensors, inputs=(0,), outputs=(2,), format="tflite")


def test_supported_int8_op_runs_on_the_target_without_warnings():
    npu = _profile("npu", supported=("CONV_2D",))
    report = check_kernels(_graph(), npu)
    assert report.warnings == () and report.ops[0].runs_on == "npu"
    assert report.ops[0].latency_ms == pytest.approx(estimate_op_latency(_graph().ops[0], npu).latency_s * 1e3)


def test_unsupported_op_falls_back_and_is_costed_on_the_cpu():
    cpu = _profile("cpu", multiple=1, float_allowed=True)
    npu = _profile("npu", supported=("DEPTHWISE_CONV_2D",), fallback=cpu)
    report = check_kernels(_graph(), npu)
    assert report.ops[0].runs_on == "cpu" and [w.kind for w in report.warnings] == ["unsupported_op"]
    assert report.fallback_ops == report.ops


def test_float_op_on_integer_npu_falls_back():
    cpu = _profile("cpu", multiple=1, float_allowed=True)
    npu = _profile("npu", supported=("CONV_2D",), fallback=cpu)
    graph = _graph(dtype="float32")
    report = check_kernels(graph, npu)
    assert report.warnings[0].kind == "float_op" and report.ops[0].runs_on == "cpu"
    assert is_float_model(graph) and not is_float_model(_graph())


def test_channels_off_the_multiple_are_costed_padded():
    mcu = _profile("mcu", multiple=8)
    report = check_kernels(_graph(channels=12), mcu)
    assert [w.kind for w in report.warnings] == ["channel_multiple"]
    # The op keeps its real MACs; its compute is costed on 16 output channels (12 -> 16).
    assert report.ops[0].macs == 64 * 12 * 72
    assert f"{64 * 72 * 16:,}" in report.warnings[0].reason
    assert check_kernels(_graph(channels=16), mcu).warnings == ()


def test_an_int8_div_on_litert_is_named_as_its_reference_kernel(tmp_path):
    """ai-edge-quantizer writes an int8 DIV; XNNPACK takes none, so LiteRT runs its reference
    kernel (1,100x the float DIV on the Zen 4): the profile says so on a CPU target, not on the
    float file."""
    import contextlib
    import io
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import microbench_kernels as mk

    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    point = {"shape": (1, 16, 16, 8), "op": "DIV"}
    with contextlib.redirect_stdout(io.StringIO()):
        mk.build_tflite_int8("more_elementwise", point, tmp_path / "div_int8.tflite")
    mk.build_tflite("more_elementwise", point, tmp_path / "div.tflite")
    for name, expected in (("div_int8.tflite", True), ("div.tflite", False)):
        report = check_kernels(read_graph(tmp_path / name), load_target("android-arm64"))
        found = [w for w in report.warnings if w.kind == "reference_kernel"]
        assert bool(found) == expected, [str(w) for w in report.warnings]
        assert all("reciprocal" in w.reason and w.op_type == "DIV" for w in found)


def test_int8_ops_far_slower_than_float_by_the_measured_terms_are_named_once_per_type(tmp_path):
    """On a CPU whose entry has LiteRT's int8 and float terms for the op (the EPYC Zen 4's), an int8
    RELU that LiteRT runs on its own kernel is named once, with its share of the estimate and the
    measured ratio; a model with none has no such warning."""
    import contextlib
    import io
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import microbench_kernels as mk

    from compressor.graph.read import read_graph

    target = load_target("host-x86", cpu_flags=frozenset({"avx2", "avx512f", "avx512_vnni"}),
                         cpu_identity="AuthenticAMD family 25 model 17")
    with contextlib.redirect_stdout(io.StringIO()):
        mk.build_tflite_int8("elementwise", {"shape": (1, 56, 56, 144), "op": "RELU"}, tmp_path / "relu.tflite")
        mk.build_tflite_int8("elementwise", {"shape": (1, 56, 56, 144), "op": "ADD"}, tmp_path / "add.tflite")
    relu = [w for w in check_kernels(read_graph(tmp_path / "relu.tflite"), target).warnings if w.kind == "reference_kernel"]
    assert len(relu) == 1 and "1 int8 RELU" in relu[0].reason and "x the same ops in float" in relu[0].reason
    add = [w for w in check_kernels(read_graph(tmp_path / "add.tflite"), target).warnings if w.kind == "reference_kernel"]
    assert not add  # XNNPACK's int8 ADD: faster than float
