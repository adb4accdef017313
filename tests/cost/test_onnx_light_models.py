"""The Caffe2 classics the onnx wheel ships (backend/test/data/light: AlexNet, GoogLeNet, ...,
their weights built in the graph by ConstantOfShape): real third-party files, on every machine
that has onnx.  Each able to fail: an LRN costed as an element-wise op was 10x under."""

from __future__ import annotations

from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

LIGHT = Path(__import__("onnx").__file__).parent / "backend" / "test" / "data" / "light"
ZEN4 = "AuthenticAMD family 25 model 17"


def _light(name: str) -> Path:
    path = LIGHT / f"light_{name}.onnx"
    if not path.exists():
        pytest.skip(f"this onnx wheel has no {path.name}")
    return path


def test_lrn_costs_its_per_element_power_on_every_x86_cpu():
    graph = read_graph(_light("bvlc_alexnet"), as_run=True)
    lrns = [op for op in graph.ops if op.op_type == "LRN"]
    assert len(lrns) == 2  # after conv1 and conv2
    for cpu in (ZEN4, "GenuineIntel family 6 model 167", None):  # its own table, the Xeon's, the variant's
        target = load_target("host-x86", cpu_identity=cpu) if cpu else load_target("host-x86")
        report = check_kernels(graph, target)
        for op in lrns:
            placed = next(p for p in report.ops if p.name == op.name)
            elements = op.input_bytes // 4
            assert placed.latency_ms * 1e6 / elements > 15  # ns per element: ~24 measured (a pow each)


def test_the_weights_built_by_constant_of_shape_are_the_convs_and_gemms_weights():
    graph = read_graph(_light("bvlc_alexnet"), as_run=True)
    weights = sum(op.weight_bytes for op in graph.ops if op.kind in ("conv", "fully_connected"))
    assert 240e6 < weights < 250e6  # AlexNet's 61 M fp32 parameters
    assert not any(op.op_type == "ConstantOfShape" for op in graph.ops)


def test_its_one_real_input_is_the_only_shape_to_give():
    """onnxruntime's optimized copy keeps the folded weights' *_SHAPE inputs, which nothing reads:
    `compress bench --target` passed the one shape it timed at and was refused (18 expected)."""
    path = _light("squeezenet")
    given = read_graph(path, as_run=True, input_shapes=((1, 3, 224, 224),))
    declared = read_graph(path, as_run=True)
    assert all(op.compute_dtype != "unknown" for op in given.ops)
    assert sum(op.macs for op in given.ops) == sum(op.macs for op in declared.ops) > 300e6
