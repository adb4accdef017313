"""A TFLite binary op's fused activation is a clamp node of its own in XNNPACK (``Op.fused_activation``,
``RuntimeCost.separate_clamps``): each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk


def _add(path: Path, activation: int) -> Path:
    b = mk._TfliteBuilder()
    x, y, z = b.tensor((1, 64, 64, 24)), b.tensor((1, 64, 64, 24)), b.tensor((1, 64, 64, 24))
    options = b.s.AddOptionsT()
    options.fusedActivationFunction = activation
    b.op("ADD", [x, y], [z], "AddOptions", options)
    b.save(path, [x, y], [z])
    return path


@pytest.mark.parametrize(("activation", "name"), [(0, ""), (1, "RELU"), (3, "RELU6")])
def test_the_reader_names_the_fused_activation(tmp_path, activation, name):
    (add,) = read_graph(_add(tmp_path / "a.tflite", activation)).ops
    assert add.fused_activation == name


def test_a_fused_activation_costs_a_pass_over_the_output_on_xnnpack_only(tmp_path):
    plain, relu6 = (read_graph(_add(tmp_path / f"a{a}.tflite", a)) for a in (0, 3))
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    ms = lambda graph, target: check_kernels(graph, target).ops[0].latency_ms
    costs = zen4.compute.runtime_cost("tflite")
    assert costs.separate_clamps
    terms = costs.kernel_terms("float32", "RELU6", "elementwise")
    clamp_ms = sum(terms.seconds(0, 64 * 64 * 24 * 4, 0, 64 * 64 * 24 * 4)) * 1e3 + costs.dispatch_overhead_us * 1e-3
    assert ms(relu6, zen4) - ms(plain, zen4) == pytest.approx(clamp_ms, rel=1e-6)
    mcu = load_target("cortex-m55")  # TFLM's kernels clamp in place: nothing extra
    assert not mcu.compute.runtime_cost("tflite").separate_clamps
