"""scripts/ort_op_profile.py: onnxruntime's per-node profile beside the per-op estimate."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import ort_op_profile  # noqa: E402


def _gelu_after_conv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((32, 16, 3, 3)).astype(np.float32), "w")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Gelu", ["c"], ["y"], domain="com.microsoft")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 56, 56])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]),
              str(path))
    return path


def test_each_op_type_gets_the_profilers_time_and_the_estimates(tmp_path, capsys):
    path = _gelu_after_conv(tmp_path / "m.onnx")
    result = ort_op_profile.compare(path, "host-x86", runs=3)
    gelu = result["by_op_type"]["Gelu"]
    assert gelu["measured_ms"] > 0 and gelu["predicted_ms"] > 0
    assert result["predicted_ms"] >= sum(t["predicted_ms"] for t in result["by_op_type"].values()) - 1e-9
    assert ort_op_profile.main([str(path), str(tmp_path / "not_onnx.txt"), "--runs", "2"]) == 0
    out = capsys.readouterr()
    assert "| Gelu | fp32 | 1 |" in out.out and "skipped" in out.err


def test_a_trimmed_profile_reads_between_the_profilers_whole_microseconds(tmp_path):
    path = _gelu_after_conv(tmp_path / "m.onnx")
    nodes = ort_op_profile.profile_nodes(path, runs=12, trimmed=True)
    assert {op_type for op_type, _ in nodes.values()} >= {"Gelu"} and all(ms > 0 for _, ms in nodes.values())
    assert ort_op_profile._middle_mean([1.0, 2.0, 2.0, 3.0, 3.0, 100.0, 0.0, 2.0]) == pytest.approx(2.25)


def test_a_single_op_int8_file_splits_into_its_kernel_and_its_glue(tmp_path):
    """microbench_kernels.profiled: the QLinearConv of a QDQ single-op file and the float
    QuantizeLinear / Transposes / DequantizeLinear around it, each less the profiler's floor."""
    import dataclasses

    import microbench_kernels

    from compressor.graph.read import read_graph

    path = tmp_path / "conv.onnx"
    microbench_kernels.build_onnx_int8("conv", {"h": 56, "w": 56, "cin": 16, "cout": 32, "kh": 3, "kw": 3, "s": 1},
                                       path)
    op = microbench_kernels.measured_op(read_graph(path, as_run=True))
    assert op.op_type == "QLinearConv"
    timed = microbench_kernels.profiled(path, op, floor=0.0, runs=12)
    floored = microbench_kernels.profiled(path, op, floor=1.0, runs=12)  # a floor above every node: no glue left
    assert timed["kernel_ms"] > 0 and timed["glue_ms"] > 0 and floored["glue_ms"] == 0
    missing = microbench_kernels.profiled(path, dataclasses.replace(op, name="x", op_type="Nope"), runs=3)
    assert missing == {"kernel_ms": None, "glue_ms": None}
