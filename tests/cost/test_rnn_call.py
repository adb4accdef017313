"""A small GRU / LSTM costs more in a graph than its single-op file, which its terms are fitted on
(``RuntimeCost.rnn_call_us``, microbench_probes.py --probe gru-chain).  Able to fail."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from microbench_probes import _gru_chain  # noqa: E402


def test_each_recurrent_call_in_a_graph_pays_the_profiles_call_cost(tmp_path):
    from compressor.cost.latency import estimate_op_latency

    path = tmp_path / "chain.onnx"
    _gru_chain(path, 2, 16, 1, 1)
    ops = read_graph(path).ops
    (gru, _) = [op for op in ops if op.op_type == "GRU"]
    zen1 = load_target("host-x86", cpu_identity="AuthenticAMD family 23 model 1", cpu_flags=frozenset({"avx2", "fma"}))
    costs = zen1.compute.runtime_cost("onnx")
    assert costs.rnn_call_us > 0.5
    bare = dataclasses.replace(zen1, compute=dataclasses.replace(zen1.compute, runtimes={
        **zen1.compute.runtimes, "onnx": dataclasses.replace(costs, rnn_call_us=0.0)}))
    with_call = estimate_op_latency(gru, zen1, runtime="onnx").latency_s * 1e6
    without = estimate_op_latency(gru, bare, runtime="onnx").latency_s * 1e6
    assert with_call - without == pytest.approx(costs.rnn_call_us)
    add = next(op for op in ops if op.op_type != "GRU")  # no other op pays it
    assert estimate_op_latency(add, zen1, runtime="onnx").latency_s == estimate_op_latency(add, bare, runtime="onnx").latency_s
