"""onnxruntime's PRelu branches per element on its sign: the mispredicted elements are counted on
the values bench feeds (ort_shapes.sign_misses), priced per miss where a profile measured it
(``miss_ns``), and fitted from points that say how many missed.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from compressor.graph.ort_shapes import sign_misses
from compressor.graph.read import read_graph

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_misses_are_the_least_of_flips_and_the_minority_sign():
    n = 10_000
    assert sign_misses(np.ones(n)) == 0.0
    assert sign_misses(-np.ones(n)) == 0.0
    alternating = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)  # flips every element, half of each sign
    assert sign_misses(alternating) == pytest.approx(n * 0.5)
    runs = np.where(np.arange(n) // 1000 % 2 == 0, 1.0, -1.0)  # 10 runs: 9 flips, half of each sign
    assert sign_misses(runs) == pytest.approx(n * 9 / (n - 1))
    rare = np.ones(n); rare[::10] = -1.0  # 10 % negative, each alone: 20 % flips
    assert sign_misses(rare) == pytest.approx(n * 0.1)
    assert sign_misses(np.zeros(n)) == 0.0  # zero takes the non-positive branch throughout


def _prelu_onnx(path, before=None, shape=(1, 8, 64, 64)):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, x = [], "x"
    if before:
        nodes.append(helper.make_node(before, ["x"], ["b"]))
        x = "b"
    nodes.append(helper.make_node("PRelu", [x, "a"], ["y"]))
    slope = numpy_helper.from_array(np.full((shape[1], 1, 1), 0.1, np.float32), "a")
    graph = helper.make_graph(nodes, "p", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))], [slope])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize("as_run", [False, True])
def test_the_reader_counts_them_on_the_inputs_bench_feeds(tmp_path, as_run):
    # bench feeds normal floats: a PRelu of the input misses on about half its elements, one of
    # their absolute values on none
    (raw,) = [op for op in read_graph(_prelu_onnx(tmp_path / "raw.onnx"), as_run=as_run).ops if op.op_type == "PRelu"]
    (pos,) = [op for op in read_graph(_prelu_onnx(tmp_path / "abs.onnx", "Abs"), as_run=as_run).ops
              if op.op_type == "PRelu"]
    elements = 8 * 64 * 64
    assert raw.sign_misses == pytest.approx(0.5 * elements, rel=0.03)
    assert pos.sign_misses == 0.0


def test_a_miss_costs_the_profiles_miss_ns_and_nothing_where_it_has_none(tmp_path):
    from compressor.cost.kernels import check_kernels
    from compressor.targets.load import load_target

    raw = read_graph(_prelu_onnx(tmp_path / "raw.onnx"), as_run=True)
    pos = read_graph(_prelu_onnx(tmp_path / "abs.onnx", "Abs"), as_run=True)
    misses = next(op.sign_misses for op in raw.ops if op.op_type == "PRelu")
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    terms = zen4.compute.runtime_cost("onnx").kernels["float32"]["PRelu"]
    assert terms.miss_ns > 0

    def prelu_ms(graph, profile):
        report = check_kernels(graph, profile)
        return sum(op.latency_ms for op in report.ops if op.op_type == "PRelu")

    assert prelu_ms(raw, zen4) - prelu_ms(pos, zen4) == pytest.approx(misses * terms.miss_ns * 1e-6, rel=1e-6)
    other = load_target("host-x86", cpu_identity="GenuineIntel family 6 model 167")  # no miss term: signs change nothing
    assert prelu_ms(raw, other) == pytest.approx(prelu_ms(pos, other), rel=1e-9)


def test_the_fit_takes_a_miss_term_from_points_that_say_their_misses():
    sys.path.insert(0, str(SCRIPTS))
    import fit_kernel_rates

    from compressor.targets.load import load_target

    target = load_target("host-x86")
    rows = []
    for c, hw in ((16, 112), (32, 64), (10, 300)):
        n = c * hw * hw
        for share in (0.0, 0.05, 0.2, 0.5):
            misses = n * share  # 0.5 ns an element of one sign (8 bytes read: x and its slope), 9 ns a miss
            ms = (0.5e-9 * n + 9e-9 * misses) * 1e3
            rows.append({"format": "onnx", "family": "prelu_signs", "op_type": "PRelu", "kind": "elementwise",
                         "dtype": "float32", "macs": 0, "out_channels": c, "input_bytes": 4 * n, "weight_bytes": 4 * c,
                         "output_bytes": 4 * n, "bytes": 0, "ms": ms, "sign_misses": misses, "broadcast_runs": 0})
    # and an older elementwise PRelu row that does not say its misses: not in PRelu's own terms
    rows.append({**rows[-1], "family": "elementwise", "ms": rows[-1]["ms"] * 5, "sign_misses": None})
    del rows[-1]["sign_misses"]
    terms = fit_kernel_rates.fit_terms(rows, target, "onnx")["PRelu"]
    assert terms["miss_ns"] == pytest.approx(9, rel=0.02)
    assert terms["in_byte_ps"] == pytest.approx(500 / 8, rel=0.05)
