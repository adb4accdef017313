"""Small onnxruntime nodes as they run in a graph (microbench_kernels.py's ort_chain family): a copy
costs a call per contiguous run it copies (``ir.copy_runs`` for Concat / Slice / Split), and a dense
fp32 conv onnxruntime runs in its generic kernel pays ``RuntimeCost.conv_call_us`` on top of its
single-op terms, an NCHWc one does not.  Able to fail."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk  # noqa: E402

ZEN1 = dict(cpu_identity="AuthenticAMD family 23 model 1", cpu_flags=frozenset({"avx2", "fma"}))


def _chain(tmp_path, op: str, c: int, t: int, n: int = mk.CHAIN_OPS):
    path = tmp_path / f"{op}-{n}.onnx"
    mk.build_onnx("ort_chain", {"op": op, "c": c, "t": t, "n": n}, path)
    return read_graph(path, as_run=True)


@pytest.mark.parametrize("op, runs", [("Slice", 64), ("Concat", 128), ("Split", 128)])
def test_an_onnx_copy_counts_a_call_per_contiguous_run(tmp_path, op, runs):
    graph = _chain(tmp_path, op, 64, 4)
    copies = [o for o in graph.ops if o.op_type == op]
    assert len(copies) == mk.CHAIN_OPS  # each node of the chain reads the one before
    for before, after in zip(copies, copies[1:]):
        assert after.inputs[0] == before.outputs[0]
    # 64 rows of the last axis: a Slice copies one run each, a Concat and a Split two (its inputs, its outputs)
    assert {o.kernel_calls for o in copies} == {runs}


def test_copy_calls_are_priced_where_the_profile_has_terms_for_them(tmp_path):
    from compressor.cost.latency import estimate_op_latency

    zen1 = load_target("host-x86", **ZEN1)
    wide = _chain(tmp_path, "Concat", 256, 4, 1).ops[0]
    narrow = _chain(tmp_path, "Concat", 16, 4, 2).ops[0]
    costs = zen1.compute.runtime_cost("onnx")
    terms = costs.kernel_terms("float32", "Concat", "reshape")
    assert terms.call_ns > 0 and terms.fixed_us > 0
    extra = (estimate_op_latency(wide, zen1, runtime="onnx").latency_s
             - estimate_op_latency(narrow, zen1, runtime="onnx").latency_s) * 1e9
    # 512 runs against 32: at least their calls' cost more (and their bytes)
    assert extra >= (wide.kernel_calls - narrow.kernel_calls) * terms.call_ns * 0.99


def test_a_generic_conv_pays_the_graph_call_cost_and_an_nchwc_one_does_not(tmp_path):
    """(Zen 1's conv_call_us is 0 since its grid's one-input files are priced with the feed they lack:
    the rule is tried with a cost of its own.)"""
    from compressor.cost.latency import estimate_op_latency

    zen1 = load_target("host-x86", **ZEN1)
    bare = zen1
    costs = dataclasses.replace(zen1.compute.runtime_cost("onnx"), conv_call_us=1.5)
    zen1 = dataclasses.replace(zen1, compute=dataclasses.replace(zen1.compute, runtimes={
        **zen1.compute.runtimes, "onnx": costs}))
    bare = dataclasses.replace(zen1, compute=dataclasses.replace(zen1.compute, runtimes={
        **zen1.compute.runtimes, "onnx": dataclasses.replace(costs, conv_call_us=0.0)}))

    def extra_us(op):
        return (estimate_op_latency(op, zen1, runtime="onnx").latency_s
                - estimate_op_latency(op, bare, runtime="onnx").latency_s) * 1e6

    conv1d = next(o for o in _chain(tmp_path, "Conv", 64, 16, 2).ops if o.op_type in ("Conv", "FusedConv"))
    assert conv1d.nchwc_rows == 0 and extra_us(conv1d) == pytest.approx(costs.conv_call_us)
    path = tmp_path / "conv2d.onnx"
    mk.build_onnx("conv", {"h": 28, "w": 28, "cin": 32, "cout": 32, "kh": 3, "kw": 3, "s": 1}, path)
    conv2d = next(o for o in read_graph(path, as_run=True).ops if o.kind == "conv")
    assert conv2d.nchwc_rows > 0 and extra_us(conv2d) == 0.0
    copy = next(iter(_chain(tmp_path, "Slice", 64, 4, 2).ops))
    assert extra_us(copy) == 0.0


def test_a_where_is_priced_by_its_own_terms_its_constant_mask_included(tmp_path):
    """onnxruntime's Where selects x and y into temporaries by broadcast loops: the where family's
    points (scripts/data/host-x86-kernels-where-zen1.json) cost 30x what the element-wise terms said."""
    import json

    from compressor.cost.latency import estimate_op_latency

    zen1 = load_target("host-x86", **ZEN1)
    table = json.loads((Path(__file__).resolve().parents[2] / "scripts/data/host-x86-kernels-where-zen1.json").read_text())
    row = next(r for r in table["rows"] if r["params"] == {"c": 64, "t": 64, "cond": "full", "y": "full"})
    path = tmp_path / "where.onnx"
    mk.build_onnx("where", row["params"], path)
    where = next(o for o in read_graph(path, as_run=True).ops if o.op_type == "Where")
    assert where.weight_bytes >= 64 * 64 * 5  # the mask and the other value, read per element
    costs = zen1.compute.runtime_cost("onnx")
    kernel_s = estimate_op_latency(where, zen1, runtime="onnx").latency_s - costs.dispatch_overhead_us * 1e-6
    assert 0.5 < kernel_s * 1e3 / row["ms"] < 2.0


def test_an_invoke_pays_for_each_input_and_output_beyond_the_empty_files(tmp_path):
    """RuntimeCost.invoke_us: the empty file's two inputs and one output are in invoke_overhead_us; a graph
    of more pays feed_us / fetch_us for each, of fewer is that much cheaper (microbench_probes --probe feeds)."""
    from compressor.cost.kernels import check_kernels
    from compressor.targets.runtime_cost import EMPTY_FILE_IO

    zen1 = load_target("host-x86", **ZEN1)
    costs = zen1.compute.runtime_cost("onnx")
    assert EMPTY_FILE_IO == (2, 1) and costs.feed_us > 1.0 and costs.fetch_us > 1.0
    assert costs.invoke_us(2, 1) == costs.invoke_overhead_us
    assert costs.invoke_us(6, 6) == pytest.approx(costs.invoke_overhead_us + 4 * costs.feed_us + 5 * costs.fetch_us)
    graph = _chain(tmp_path, "Slice", 16, 8, 2)  # one input, one output
    assert check_kernels(graph, zen1).invoke_ms * 1e3 == pytest.approx(costs.invoke_overhead_us - costs.feed_us)
