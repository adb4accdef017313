"""onnxruntime's DynamicQuantizeLSTM (what quantize_dynamic makes of an LSTM) is read as the
recurrent op it is and costed by its own measured per-step curve: each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

LSTM = {"cell": "LSTM", "hidden": 128, "input": 96, "steps": 32}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    work = tmp_path_factory.mktemp("lstm")
    mk.build_onnx("rnn", LSTM, work / "lstm.onnx")
    mk.build_onnx_int8("rnn_dynamic", LSTM, work / "lstm.int8.onnx")
    return {name: read_graph(work / f"{name}.onnx", as_run=True) for name in ("lstm", "lstm.int8")}


def _recurrent(graph):
    (op,) = [op for op in graph.ops if op.recurrent_steps]
    return op


def test_it_is_read_as_the_lstm_it_quantizes(graphs):
    fp32, int8 = _recurrent(graphs["lstm"]), _recurrent(graphs["lstm.int8"])
    assert int8.op_type == "DynamicQuantizeLSTM" and int8.kind == "fully_connected"
    assert int8.macs == fp32.macs == LSTM["steps"] * 4 * LSTM["hidden"] * (LSTM["input"] + LSTM["hidden"])
    assert int8.recurrent_steps == fp32.recurrent_steps == LSTM["steps"]
    assert int8.weight_bytes < fp32.weight_bytes / 3  # its weights int8


def test_it_is_costed_by_its_own_per_step_curve(graphs):
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    costs = target.compute.runtime_cost("onnx")
    op = _recurrent(graphs["lstm.int8"])
    ps = costs.rnn_ps_per_mac("DynamicQuantizeLSTM", op.macs / op.recurrent_steps)
    assert ps is not None and ps < costs.rnn_ps_per_mac("LSTM", op.macs / op.recurrent_steps)
    placed = next(p for p in check_kernels(graphs["lstm.int8"], target).ops if p.op_type == "DynamicQuantizeLSTM")
    assert placed.latency_ms == pytest.approx(op.macs * ps * 1e-9, rel=0.25)


@pytest.mark.parametrize("hidden, splits", [(64, False), (768, True)])
def test_two_threads_split_its_steps_by_mlas_rule(tmp_path, hidden, splits):
    """Each step's R GEMM splits over two threads from 65,536 MACs on (a 64-wide one does not; a
    768-wide speaker embedder's ran 1.83x faster on two threads where it was costed on one)."""
    import dataclasses

    from compressor.cost.latency import estimate_op_latency

    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    two = dataclasses.replace(target, compute=dataclasses.replace(target.compute, threads=2))
    mk.build_onnx_int8("rnn_dynamic", {"cell": "LSTM", "hidden": hidden, "input": hidden, "steps": 16}, tmp_path / "q.onnx")
    op = _recurrent(read_graph(tmp_path / "q.onnx", as_run=True))
    one_s, two_s = (estimate_op_latency(op, t, runtime="onnx").latency_s for t in (target, two))
    assert (two_s < 0.75 * one_s) if splits else (two_s == pytest.approx(one_s))
