"""Which kernel runs an int8 BATCH_MATMUL (``Op.variant``): XNNPACK's only with a right-hand zero
point of 0, LiteRT's reference kernel otherwise; each costed by its own terms, each able to fail."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


@pytest.fixture(scope="module")
def bmm_files(tmp_path_factory):
    """The same int8 attention BATCH_MATMUL (4 heads, 256 tokens, 64 wide) with right-hand zero points 3 and 0."""
    work = tmp_path_factory.mktemp("bmm")
    quantized = work / "bmm.tflite"
    mk.build_tflite_int8("transformer", {"op": "BATCH_MATMUL", "b": 4, "m": 256, "k": 64, "n": 256}, quantized)
    files = {zp: work / f"zp{zp}.tflite" for zp in (3, 0)}
    for zp, path in files.items():
        mk.set_rhs_zero_point(quantized, zp, path)
    return {zp: read_graph(path) for zp, path in files.items()}


def _bmm(graph):
    return next(op for op in graph.ops if op.op_type == "BATCH_MATMUL")


def test_xnnpack_takes_an_int8_batch_matmul_only_with_a_zero_right_hand_zero_point(bmm_files):
    assert _bmm(bmm_files[0]).variant == "xnnpack"
    assert _bmm(bmm_files[3]).variant == ""
    assert _bmm(bmm_files[0]).compute_dtype == "int8"


def test_each_kernel_is_costed_by_its_own_terms_and_only_xnnpacks_splits_over_threads(bmm_files):
    one = load_target("host-x86", cpu_identity=ZEN4)
    two = replace(one, compute=replace(one.compute, threads=2))
    costs = one.compute.runtime_cost("tflite")
    assert costs.kernel_terms("int8", "BATCH_MATMUL", "fully_connected", variant="xnnpack") is not \
        costs.kernel_terms("int8", "BATCH_MATMUL", "fully_connected")
    ms = {(zp, t): next(p.latency_ms for p in check_kernels(g, target).ops if p.op_type == "BATCH_MATMUL")
          for zp, g in bmm_files.items() for t, target in ((1, one), (2, two))}
    assert ms[(3, 1)] > 8 * ms[(0, 1)]  # --probe bmm-zero-point: 2.78 ms vs 0.16 alone
    assert ms[(0, 2)] < 0.7 * ms[(0, 1)]  # XNNPACK's splits over the pool
    assert ms[(3, 2)] == pytest.approx(ms[(3, 1)], rel=0.05)  # LiteRT's reference kernel runs on one thread


def test_a_reference_kernel_batch_matmul_is_named_with_its_cost_and_the_remedy(bmm_files):
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    notes = [w for w in check_kernels(bmm_files[3], zen4).warnings if "BATCH_MATMUL" in w.reason]
    assert len(notes) == 1 and "right-hand zero point of 0" in notes[0].reason and "symmetric" in notes[0].reason
    assert not [w for w in check_kernels(bmm_files[0], zen4).warnings if "BATCH_MATMUL" in w.reason]
