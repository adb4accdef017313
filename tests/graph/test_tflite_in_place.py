"""A broadcasting binary op XNNPACK runs in place (``Op.runs_in_place``) and what it costs per
run off the channel tile (``RuntimeCost.inplace_run_ns``): each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_probes


def _conv_mul_dw(path: Path, channels: int, exposed: bool) -> Path:
    """1x1 conv -> per-channel MUL -> 1x1 depthwise over 32 x 32, as the probe times it."""
    return microbench_probes.build_inplace_chain(path, channels, 32, exposed=exposed)


@pytest.mark.parametrize(("exposed", "in_place"), [(False, True), (True, False)])
def test_the_reader_marks_the_binary_op_xnnpack_runs_in_place(tmp_path, exposed, in_place):
    graph = read_graph(_conv_mul_dw(tmp_path / "m.tflite", 8, exposed))
    (mul,) = [op for op in graph.ops if op.op_type == "MUL"]
    assert mul.kernel_calls == 32 * 32 and mul.runs_in_place is in_place
    assert not any(op.runs_in_place for op in graph.ops if op.op_type != "MUL")


def test_runs_off_the_channel_tile_pay_the_measured_excess_and_whole_tiles_do_not(tmp_path):
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    ns = target.compute.runtime_cost("tflite").inplace_run_ns
    assert ns > 0

    def mul_ms(channels: int, exposed: bool) -> float:
        graph = read_graph(_conv_mul_dw(tmp_path / f"m{channels}{exposed}.tflite", channels, exposed))
        return next(p.latency_ms for p in check_kernels(graph, target).ops if p.op_type == "MUL")

    assert mul_ms(8, False) - mul_ms(8, True) == pytest.approx(32 * 32 * ns * 1e-6, rel=0.01)
    assert mul_ms(16, False) == pytest.approx(mul_ms(16, True))
