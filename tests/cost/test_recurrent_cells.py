"""onnxruntime's LSTM / GRU costed as the GEMMs it runs plus per-step terms (cost/recurrent.py):
the shape read back from real ONNX files, the cost built from it, the fit that finds the terms.
Each able to fail."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper, save

from compressor.cost.latency import estimate_op_latency
from compressor.cost.recurrent import (
    CellShape,
    cell_shape,
    cold_gate_bytes,
    gemms_s,
    recurrent_cell_s,
    step_bytes,
)
from compressor.graph.read import read_graph
from compressor.targets.load import load_target
from compressor.targets.types import KernelTerms

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import fit_kernel_rates as fkr
import microbench_kernels as mk

FC = KernelTerms(mac_ps=17.0, in_byte_ps=12.7, weight_byte_ps=2.9, out_byte_ps=7.1, fixed_us=0.0)
CELL = KernelTerms(mac_ps=0.0, in_byte_ps=0.0, weight_byte_ps=2.7, out_byte_ps=142.0, fixed_us=0.09)


def _recurrent(path: Path):
    (op,) = [op for op in read_graph(path, as_run=True).ops if op.recurrent_steps]
    return op


def _bidirectional_gru(path: Path, hidden: int, inputs: int, batch: int, steps: int) -> None:
    rng = np.random.default_rng(0)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, batch, inputs])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inits = [numpy_helper.from_array((rng.standard_normal((2, 3 * hidden, n)) * 0.1).astype(np.float32), name)
             for name, n in (("W", inputs), ("R", hidden))]
    inits.append(numpy_helper.from_array(np.zeros((2, 6 * hidden), np.float32), "B"))
    node = helper.make_node("GRU", ["x", "W", "R", "B"], ["y"], hidden_size=hidden, direction="bidirectional")
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], inits), opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    save(model, path)


def test_the_shape_is_read_back_from_real_onnx_files(tmp_path):
    mk.build_onnx("rnn_batch", {"cell": "LSTM", "hidden": 64, "input": 16, "batch": 8, "steps": 32}, tmp_path / "l.onnx")
    assert cell_shape(_recurrent(tmp_path / "l.onnx")) == CellShape(4, 64, 16, 8, 32, 1)
    _bidirectional_gru(tmp_path / "g.onnx", hidden=48, inputs=61, batch=5, steps=21)
    assert cell_shape(_recurrent(tmp_path / "g.onnx")) == CellShape(3, 48, 61, 5, 21, 2)


def test_an_op_without_its_input_width_or_terms_keeps_the_curve(tmp_path):
    mk.build_onnx("rnn_batch", {"cell": "GRU", "hidden": 32, "input": 16, "batch": 4, "steps": 8}, tmp_path / "g.onnx")
    op = _recurrent(tmp_path / "g.onnx")
    assert recurrent_cell_s(op, {"fully_connected": FC}) is None  # no GRU terms
    assert recurrent_cell_s(replace(op, in_channels=0), {"fully_connected": FC, "GRU": CELL}) is None
    assert recurrent_cell_s(replace(op, compute_dtype="int8"), {"fully_connected": FC, "GRU": CELL}) is None


def test_batch_rows_share_each_step_and_the_input_gemm_runs_once(tmp_path):
    """A step of 64 rows is one GEMM of 64 rows reading R once, plus the step's own terms over its
    64 rows' gate values; the input's GEMM is one over every step's rows."""
    kernels = {"fully_connected": FC, "LSTM": CELL}
    costs = {}
    for batch in (1, 64):
        path = tmp_path / f"b{batch}.onnx"
        mk.build_onnx("rnn_batch", {"cell": "LSTM", "hidden": 128, "input": 256, "batch": batch, "steps": 32}, path)
        costs[batch] = recurrent_cell_s(_recurrent(path), kernels).total_s
    shape = CellShape(4, 128, 256, 64, 32, 1)
    weights, gates = step_bytes(shape)
    assert costs[64] == pytest.approx(gemms_s(shape, FC) + 32 * (0.09e-6 + (2.7 * weights + 142.0 * gates) * 1e-12))
    one = CellShape(4, 128, 256, 1, 32, 1)
    assert costs[1] == pytest.approx(gemms_s(one, FC) + 32 * (0.09e-6 + (2.7 * weights + 142.0 * gates / 64) * 1e-12))
    # The input GEMM over every step at once: 32 steps of input cost one GEMM's fixed part, not 32.
    once = replace(FC, fixed_us=5.0)
    assert gemms_s(shape, once) - gemms_s(shape, FC) == pytest.approx((1 + 32) * 5e-6)


def test_the_host_profile_prices_a_batched_lstm_by_its_cells(tmp_path):
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    path = tmp_path / "l.onnx"
    mk.build_onnx("rnn_batch", {"cell": "LSTM", "hidden": 192, "input": 61, "batch": 100, "steps": 21}, path)
    op = _recurrent(path)
    kernels = target.compute.runtime_cost("onnx").kernels["float32"]
    cell = recurrent_cell_s(op, kernels).total_s
    curve = op.macs * target.compute.runtime_cost("onnx").rnn_ps_per_mac("LSTM", op.macs / op.recurrent_steps) * 1e-12
    assert cell < 0.75 * curve  # the batch-1 curve's price of 100 rows is far too high
    assert estimate_op_latency(op, target, runtime="onnx").compute_s == pytest.approx(cell)


def test_the_fit_finds_the_per_step_terms_the_files_were_made_with():
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    fc = target.compute.runtime_cost("onnx").kernels["float32"]["fully_connected"]
    fixed_us, weight_ps, gate_ps, cold_ps, cold_gate_ps = 0.2, 3.0, 150.0, 2.0, 200.0
    private = target.memory.private_cache_bytes

    def rows(hiddens, batches=((16, 1), (256, 8), (64, 32))):
        made = []
        for hidden in hiddens:
            for inputs, batch in batches:
                shape = CellShape(4, hidden, inputs, batch, 32, 1)
                weights, gates = step_bytes(shape)
                cold = weights if weights > private else 0
                step_s = fixed_us * 1e-6 + (weight_ps * weights + gate_ps * gates + cold_ps * cold
                                            + cold_gate_ps * cold_gate_bytes(shape, private)) * 1e-12
                made.append({"family": "rnn_batch", "format": "onnx", "ms": (gemms_s(shape, fc) + 32 * step_s) * 1e3,
                             "params": {"cell": "LSTM", "hidden": hidden, "input": inputs, "batch": batch, "steps": 32}})
        return made

    # R of a 384- or 512-wide LSTM (2.4, 4.2 MB) overflows the Zen 4's 1 MiB L2: the fourth term is found;
    # no step's gates fill it: the fifth is 0
    assert fkr.fit_rnn_cells(rows((64, 128, 256, 384, 512)), target)["LSTM"] == pytest.approx(
        (fixed_us, weight_ps, gate_ps, cold_ps, 0.0, 0.0), rel=1e-6, abs=1e-9)
    # widths whose R fits it say nothing of that term: 0, the other three as before
    assert fkr.fit_rnn_cells(rows((64, 128, 256)), target)["LSTM"] == pytest.approx(
        (fixed_us, weight_ps, gate_ps, 0.0, 0.0, 0.0), rel=1e-6, abs=1e-9)
    # 1,024 rows of a 128-wide LSTM: 2 MB of gates a step, past the L2: the fifth term is found
    wide = rows((64, 128, 256, 384, 512), ((16, 1), (256, 8), (64, 32), (16, 1024), (4, 512)))
    assert cold_gate_bytes(CellShape(4, 128, 16, 1024, 32, 1), private) > 0
    assert fkr.fit_rnn_cells(wide, target)["LSTM"] == pytest.approx(
        (fixed_us, weight_ps, gate_ps, cold_ps, cold_gate_ps, 0.0), rel=1e-6, abs=1e-9)


def test_few_step_files_give_the_fit_a_cost_per_call(tmp_path):
    """A streaming model's LSTM runs 1-8 steps a call: what a call costs beyond its steps (2 us on the
    Zen 4) is found from the rnn_step family's files, and only with them."""
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    fc = target.compute.runtime_cost("onnx").kernels["float32"]["fully_connected"]
    fixed_us, weight_ps, gate_ps, call_us = 0.05, 3.0, 150.0, 2.0

    def row(family, hidden, inputs, steps):
        shape = CellShape(4, hidden, inputs, 1, steps, 1)
        weights, gates = step_bytes(shape)
        step_s = fixed_us * 1e-6 + (weight_ps * weights + gate_ps * gates) * 1e-12
        return {"family": family, "format": "onnx", "ms": (gemms_s(shape, fc) + steps * step_s + call_us * 1e-6) * 1e3,
                "params": {"cell": "LSTM", "hidden": hidden, "input": inputs, "batch": 1, "steps": steps}}

    long = [row("rnn_batch", h, i, 32) for h in (64, 128, 256) for i in (16, 256)]
    few = [row("rnn_step", h, i, t) for h, i in ((32, 16), (128, 128), (256, 257)) for t in (1, 2, 8)]
    assert fkr.fit_rnn_cells(long + few, target)["LSTM"] == pytest.approx(
        (fixed_us, weight_ps, gate_ps, 0.0, 0.0, call_us * 1e3), rel=1e-6, abs=1e-9)
    # without them a call's cost is the steps': each 32-step file's call spread over its steps
    without = fkr.fit_rnn_cells(long, target)["LSTM"]
    assert without[5] == 0.0 and without[0] == pytest.approx(fixed_us + call_us / 32, rel=0.05)
    # and the cost model adds it once per call and direction
    terms = replace(target.compute.runtime_cost("onnx").kernels["float32"]["LSTM"], call_ns=call_us * 1e3)
    path = tmp_path / "step.onnx"
    mk.build_onnx("rnn_step", {"cell": "LSTM", "hidden": 128, "input": 128, "batch": 1, "steps": 1}, path)
    op = _recurrent(path)
    kernels = {**target.compute.runtime_cost("onnx").kernels["float32"], "LSTM": terms}
    no_call = {**kernels, "LSTM": replace(terms, call_ns=0.0)}
    assert recurrent_cell_s(op, kernels).total_s - recurrent_cell_s(op, no_call).total_s == pytest.approx(call_us * 1e-6)

def test_an_r_beyond_the_private_cache_is_read_again_every_step(tmp_path):
    """A 400-wide GRU's R (1.9 MB) does not stay in a 1 MiB L2: each of its 50 steps pays the cell
    terms' in_byte_ps on every byte of it, and the host profile's estimate includes that."""
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    path = tmp_path / "g.onnx"
    mk.build_onnx("rnn_batch", {"cell": "GRU", "hidden": 400, "input": 64, "batch": 1, "steps": 50}, path)
    op = _recurrent(path)
    kernels = target.compute.runtime_cost("onnx").kernels["float32"]
    private = target.memory.private_cache_bytes
    assert private < 3 * 400 * 400 * 4
    warm, cold = recurrent_cell_s(op, kernels).total_s, recurrent_cell_s(op, kernels, private).total_s
    assert kernels["GRU"].in_byte_ps > 0
    assert cold - warm == pytest.approx(50 * kernels["GRU"].in_byte_ps * 3 * 400 * 400 * 4 * 1e-12)
    assert estimate_op_latency(op, target, runtime="onnx").compute_s == pytest.approx(cold)
