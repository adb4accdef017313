"""A TFLite WHILE is costed as its condition's and body's ops run as many times as it iterates, and
the loop's own work per iteration (graph/tflite_control.py inline_whiles): each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.graph.ir import Tensor, make_op
from compressor.graph.read import read_graph
from compressor.graph.tflite_control import Subgraph, inline_whiles

pytest.importorskip("ai_edge_litert.schema_py_generated")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from microbench_kernels import build_tflite


def _loop(tmp_path, **params):
    path = tmp_path / "loop.tflite"
    build_tflite("while_loop", {"steps": 37, "ops": 3, "op": "ADD", "width": 16, **params}, path)
    return read_graph(path, as_run=True)


def test_a_loops_body_runs_once_an_iteration_and_its_condition_once_more(tmp_path):
    graph = _loop(tmp_path)
    assert not any("WHILE" in note for note in graph.notes)
    by_type = {}
    for op in graph.ops:
        by_type.setdefault(op.op_type, []).append(op)
    assert [op.repeats for op in by_type["LESS"]] == [38]
    assert sorted(op.repeats for op in by_type["ADD"]) == [37] * 4  # the counter's step and the chain of 3
    (loop,) = by_type["WHILE"]
    # a call per op LiteRT runs itself each iteration: the condition's LESS and the counter's int32 ADD
    assert loop.repeats == 37 and loop.variant == "" and loop.kernel_calls == 2
    # the loop variables are the body's, not constants: the counter's start is one in the file
    assert all(op.input_bytes > 0 for op in by_type["ADD"])


def test_a_static_bodys_ops_xnnpack_leaves_out_are_calls_of_the_loop(tmp_path):
    graph = _loop(tmp_path, ops=6, op="ADD_GATHER")
    (loop,) = [op for op in graph.ops if op.op_type == "WHILE"]
    assert sum(op.op_type == "GATHER" for op in graph.ops) == 3
    assert loop.kernel_calls == 2 + 3


def test_a_body_whose_shapes_change_is_the_dynamic_loop_on_one_thread(tmp_path):
    graph = _loop(tmp_path, buffer=True)
    (loop,) = [op for op in graph.ops if op.op_type == "WHILE"]
    assert loop.variant == "dynamic" and loop.repeats == 37
    assert loop.kernel_calls == sum(op.repeats >= 37 for op in graph.ops if op is not loop)  # all its own kernels'
    assert loop.input_bytes >= 37 * 16 * 4  # the [steps, width] buffer it carries
    assert all(op.variant == "serial" for op in graph.ops if op.repeats == 37 and op is not loop)


def test_a_loop_costs_its_iterations(tmp_path):
    from compressor.measure.estimate import estimate_artifact

    def ms(steps, **params):
        path = tmp_path / f"loop{steps}.tflite"
        build_tflite("while_loop", {"steps": steps, "ops": 3, "op": "ADD", "width": 16, **params}, path)
        return estimate_artifact(path, "host-x86", threads=1).kernels.latency_ms

    assert ms(400) > 3.5 * ms(100)
    assert ms(100, buffer=True) > 3 * ms(100)  # Eval_dynamic: its copies and LiteRT's own kernels


def test_a_loop_without_a_counter_stays_one_op_and_says_so():
    tensors = [Tensor("x", (1, 4), "float32", 16, False), Tensor("y", (1, 4), "float32", 16, False)]
    loop = make_op(tensors, name="w", op_type="WHILE", kind="reshape", inputs=[0], outputs=[1], macs=0,
                   compute_dtype="float32", layout="nhwc")
    body_tensors = [Tensor("a", (1, 4), "float32", 16, False), Tensor("b", (1, 4), "float32", 16, False)]
    body = Subgraph(body_tensors, [make_op(body_tensors, name="b", op_type="LOGISTIC", kind="elementwise", inputs=[0],
                                           outputs=[1], macs=0, compute_dtype="float32", layout="nhwc")], [0], [1], {})
    cond = Subgraph(list(body_tensors), [], [0], [1], {})
    subgraphs = {1: cond, 2: body}
    _, ops, notes = inline_whiles(tensors, [loop], {1: (1, 2)}, lambda k, given=(): subgraphs[k],
                                    lambda t: None, lambda k, t: None)
    assert [op.op_type for op in ops] == ["WHILE"] and ops[0].repeats == 1
    assert notes and "not counted" in notes[0]
    counted = body._replace(ops=[])  # nothing steps it: still not counted
    subgraphs[2] = counted
    assert inline_whiles(tensors, [loop], {1: (1, 2)}, lambda k, given=(): subgraphs[k],
                         lambda t: 0.0, lambda k, t: 1.0)[2]
