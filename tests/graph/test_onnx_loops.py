"""An ONNX Loop whose trip count is known is costed as its body run that many times (a Keras RNN
as tf2onnx writes it), its weights counted once; one whose count its values set (or too long to
unroll) as one copy of its body run as many times as it iterated on bench's inputs, said so: each
able to fail."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compressor.cost.kernels import packed_weight_bytes
from compressor.graph.read import read_graph

STEPS, WIDTH = 6, 64


def _rnn_loop(path, trip_count_from_input: bool = False):
    """h_{t+1} = tanh(h_t W + x); scan output: every h_t.  W [64, 64] an outer initializer."""
    body = helper.make_graph(
        [helper.make_node("MatMul", ["h_in", "W"], ["hw"], name="step/matmul"),
         helper.make_node("Add", ["hw", "x"], ["pre"], name="step/add"),
         helper.make_node("Tanh", ["pre"], ["h_out"], name="step/tanh"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="step/cond"),
         helper.make_node("Identity", ["h_out"], ["h_scan"], name="step/scan")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, WIDTH])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, WIDTH]),
         helper.make_tensor_value_info("h_scan", TensorProto.FLOAT, [1, WIDTH])])
    inits = [numpy_helper.from_array(np.eye(WIDTH, dtype=np.float32), "W"),
             numpy_helper.from_array(np.zeros((1, WIDTH), np.float32), "h0"),
             numpy_helper.from_array(np.array(True), "cond")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])]
    if trip_count_from_input:
        inputs.append(helper.make_tensor_value_info("steps", TensorProto.INT64, []))
    else:
        inits.append(numpy_helper.from_array(np.array(STEPS, np.int64), "steps"))
    loop = helper.make_node("Loop", ["steps", "cond", "h0"], ["h_last", "hs"], name="rnn", body=body)
    graph = helper.make_graph([loop], "g", inputs,
                              [helper.make_tensor_value_info("h_last", TensorProto.FLOAT, [1, WIDTH]),
                               helper.make_tensor_value_info("hs", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_a_loop_of_known_trip_count_is_its_body_that_many_times(tmp_path):
    graph = read_graph(_rnn_loop(tmp_path / "rnn.onnx"))
    matmuls = [op for op in graph.ops if op.op_type == "MatMul"]
    assert len(matmuls) == STEPS and all(op.macs == WIDTH * WIDTH for op in matmuls)
    # the Loop itself only as what onnxruntime's Loop costs an iteration: a marker of no bytes, run STEPS times
    (loop,) = [op for op in graph.ops if op.op_type == "Loop"]
    assert loop.repeats == STEPS and not loop.inputs and loop.input_bytes == loop.weight_bytes == 0
    (stack,) = [op for op in graph.ops if op.op_type == "Concat"]
    assert stack.output_bytes == STEPS * WIDTH * 4  # the scan output, every step's h
    # one node's weights, not one per step (and the small constants unrolling adds: step numbers, axes)
    assert WIDTH * WIDTH * 4 <= packed_weight_bytes(graph) < WIDTH * WIDTH * 4 + 1024
    assert any("unrolled" in note for note in graph.notes)


def test_a_loop_whose_count_is_an_input_value_runs_as_bench_feeds_it_or_as_given(tmp_path):
    path = _rnn_loop(tmp_path / "rnn_n.onnx", trip_count_from_input=True)
    graph = read_graph(path)  # bench's random count: one copy of the body, run that many times
    (matmul,) = [op for op in graph.ops if op.op_type == "MatMul"]
    assert matmul.repeats > 1 and [op.repeats for op in graph.ops if op.op_type == "Loop"] == [matmul.repeats]
    assert any(f"x{matmul.repeats}" in note and "bench feeds" in note for note in graph.notes)
    given = read_graph(path, input_values={"steps": 40})  # a count the user gives: unrolled by it
    assert len([op for op in given.ops if op.op_type == "MatMul"]) == 40


def _decoder_body(weight: str = "W", stop: str = "stop", prefix: str = "step"):
    """h = tanh(h W) while the counter stays below ``stop``: a decoder step's body."""
    return helper.make_graph(
        [helper.make_node("MatMul", ["h_in", weight], ["hw"], name=f"{prefix}/matmul"),
         helper.make_node("Tanh", ["hw"], ["h_out"], name=f"{prefix}/tanh"),
         helper.make_node("Add", ["i", "one"], ["next"], name=f"{prefix}/next"),
         helper.make_node("Less", ["next", stop], ["cond_out"], name=f"{prefix}/less")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, WIDTH])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, WIDTH])])


def _while_loop(path, stop: int):
    """A while-loop as paddle2onnx writes a decoder: a trip count of 2**62, and the body's own
    condition (its counter below ``stop``) ending it."""
    body = _decoder_body()
    inits = [numpy_helper.from_array(np.eye(WIDTH, dtype=np.float32), "W"),
             numpy_helper.from_array(np.array(1, np.int64), "one"),
             numpy_helper.from_array(np.array(stop, np.int64), "stop"),
             numpy_helper.from_array(np.array(2 ** 62, np.int64), "max"),
             numpy_helper.from_array(np.array(True), "cond")]
    loop = helper.make_node("Loop", ["max", "cond", "x"], ["h_last"], name="decode", body=body)
    graph = helper.make_graph([loop], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])],
                              [helper.make_tensor_value_info("h_last", TensorProto.FLOAT, [1, WIDTH])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_a_loop_its_condition_ends_is_its_body_times_the_iterations_it_ran(tmp_path):
    from compressor.cost.latency import estimate_op_latency
    from compressor.targets.load import load_target

    target = load_target("host-x86")
    for as_run in (False, True):
        graph = read_graph(_while_loop(tmp_path / "while.onnx", 300), as_run=as_run)
        (matmul,) = [op for op in graph.ops if op.op_type == "MatMul"]
        assert matmul.repeats == 300 and matmul.macs == WIDTH * WIDTH
        once = estimate_op_latency(replace(matmul, repeats=1), target, runtime="onnx").latency_s
        assert estimate_op_latency(matmul, target, runtime="onnx").latency_s == pytest.approx(300 * once)
        assert any("'decode' x300" in note for note in graph.notes)
    few = read_graph(_while_loop(tmp_path / "few.onnx", 7))
    assert [op.repeats for op in few.ops if op.op_type == "MatMul"] == [7]


def _two_while_loops(path, stops=(7, 7)):
    """Two decoders in a row whose bodies are named alike, each over its own weight (tf2onnx names
    every LSTM's body "while/..."; piper-tts's diacritizer has four)."""
    def body(weight):
        return _decoder_body(weight, f"stop_{weight}", "while")
    inits = [numpy_helper.from_array(np.eye(WIDTH, dtype=np.float32) * (k + 1), w) for k, w in enumerate(("W1", "W2"))]
    inits += [numpy_helper.from_array(np.array(stop, np.int64), f"stop_{w}") for stop, w in zip(stops, ("W1", "W2"))]
    inits += [numpy_helper.from_array(np.array(1, np.int64), "one"), numpy_helper.from_array(np.array(2 ** 62, np.int64), "max"),
              numpy_helper.from_array(np.array(True), "cond")]
    loops = [helper.make_node("Loop", ["max", "cond", "x"], ["h1"], name="decode1", body=body("W1")),
             helper.make_node("Loop", ["max", "cond", "h1"], ["h2"], name="decode2", body=body("W2"))]
    graph = helper.make_graph(loops, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])],
                              [helper.make_tensor_value_info("h2", TensorProto.FLOAT, [1, WIDTH])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_loops_whose_bodies_are_named_alike_each_count_their_own_iterations_and_shapes(tmp_path):
    """The profiler names a node by its name alone: two bodies named alike were counted as one (4
    Loops of 47 steps costed 188 each), and their copies, two nodes of one name, made onnxruntime
    refuse the shapes run (their MatMuls costed without MACs)."""
    graph = read_graph(_two_while_loops(tmp_path / "two.onnx"))
    matmuls = [op for op in graph.ops if op.op_type == "MatMul"]
    assert [op.repeats for op in matmuls] == [7, 7]
    assert all(op.macs == WIDTH * WIDTH for op in matmuls)
    assert len({op.name for op in graph.ops}) == len(graph.ops)


def test_a_loop_body_s_ops_read_its_own_weights_between_two_of_their_runs(tmp_path):
    """What a body's op streams between two of its runs is its loop's weights, not the graph's."""
    from compressor.cost.caches import weight_sets

    graph = read_graph(_two_while_loops(tmp_path / "two.onnx"))
    sets = dict(zip((op.name for op in graph.ops), weight_sets(graph)))
    whole = packed_weight_bytes(graph)
    for op in graph.ops:
        if op.op_type == "MatMul":
            assert WIDTH * WIDTH * 4 <= sets[op.name] < whole - WIDTH * WIDTH * 4 + 1024


def test_a_loop_body_holding_an_if_is_costed_with_the_branch_it_takes(tmp_path):
    """pmsh-ocr's greedy decoder: a Loop whose body holds an If (a first-step branch) was left
    whole, its body not costed (0.07x of its time).  Now one copy of the body runs as many times as
    the Loop iterated, its If replaced by the branch the first iteration takes; the branch reads the
    body's values by name (``h_in``), renamed with the copy."""
    body = _decoder_body()
    big = helper.make_graph([helper.make_node("MatMul", ["h_in", "W2"], ["branch_out"], name="big/matmul")], "then",
                            [], [helper.make_tensor_value_info("branch_out", TensorProto.FLOAT, [1, WIDTH])])
    small = helper.make_graph([helper.make_node("Identity", ["h_in"], ["branch_id"], name="small/id")], "else",
                              [], [helper.make_tensor_value_info("branch_id", TensorProto.FLOAT, [1, WIDTH])])
    first = helper.make_node("Equal", ["i", "zero"], ["is_first"], name="step/first")
    branch = helper.make_node("If", ["is_first"], ["h_mid"], name="step/if", then_branch=big, else_branch=small)
    body.node.insert(0, first)
    body.node.insert(1, branch)
    body.node[2].input[0] = "h_mid"  # the MatMul now reads the If's output
    inits = [numpy_helper.from_array(np.eye(WIDTH, dtype=np.float32), "W"),
             numpy_helper.from_array(np.eye(WIDTH, dtype=np.float32), "W2"),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array(1, np.int64), "one"),
             numpy_helper.from_array(np.array(9, np.int64), "stop"),
             numpy_helper.from_array(np.array(2 ** 62, np.int64), "max"),
             numpy_helper.from_array(np.array(True), "cond")]
    loop = helper.make_node("Loop", ["max", "cond", "x"], ["h_last"], name="decode", body=body)
    graph = helper.make_graph([loop], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])],
                              [helper.make_tensor_value_info("h_last", TensorProto.FLOAT, [1, WIDTH])], inits)
    path = tmp_path / "if_in_loop.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    for as_run in (False, True):
        read = read_graph(path, as_run=as_run)
        matmuls = sorted(op.name.split("/")[0] for op in read.ops if op.op_type == "MatMul")
        assert matmuls == ["big", "step"], matmuls  # the first iteration's branch, and the step's own
        assert all(op.repeats == 9 for op in read.ops if op.op_type == "MatMul")
        assert any("'decode' x9" in note for note in read.notes)


def test_a_loop_body_building_a_sequence_beside_an_if_is_left_whole():
    """torch.export writes as_strided's indices as a Loop whose body holds an If and a SequenceInsert
    (detypify-service's MobileNetV4, held-out set 23): its copy's first-iteration values are not the
    Loop's final ones (they fed a ReorderInput a tensor of the wrong rank), so it stays a Loop."""
    from compressor.graph.onnx_loops import unroll_loops

    branch = helper.make_graph([helper.make_node("Identity", ["h_in"], ["b_out"])], "b", [],
                               [helper.make_tensor_value_info("b_out", TensorProto.FLOAT, [1, WIDTH])])
    body = helper.make_graph(
        [helper.make_node("If", ["cond_in"], ["h_out"], then_branch=branch, else_branch=branch),
         helper.make_node("SequenceInsert", ["seq_in", "h_out"], ["seq_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, WIDTH]),
         helper.make_tensor_sequence_value_info("seq_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, WIDTH]),
         helper.make_tensor_sequence_value_info("seq_out", TensorProto.FLOAT, None)])
    loop = helper.make_node("Loop", ["n", "", "x", "seq"], ["h_last", "seq_last"], name="strided", body=body)
    graph = helper.make_graph([helper.make_node("SequenceEmpty", [], ["seq"]), loop], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH]),
                               helper.make_tensor_value_info("n", TensorProto.INT64, [])],
                              [helper.make_tensor_value_info("h_last", TensorProto.FLOAT, [1, WIDTH])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    notes, made = unroll_loops(model, lambda node: None, ran_of=lambda node: 4)
    assert made == [-1] and [n.op_type for n in model.graph.node] == ["SequenceEmpty", "Loop"]
    assert any("'strided'" in note and "not costed" in note for note in notes)


def _scan_model(path, length: int = 40):
    """A Scan over x [length, WIDTH]: h' = tanh(h W + row), its scan output every h', then the
    stacked states through a MatMul by V [WIDTH, WIDTH] (what follows the Scan)."""
    body = helper.make_graph(
        [helper.make_node("MatMul", ["h_in", "W"], ["hw"], name="cell/matmul"),
         helper.make_node("Add", ["hw", "row"], ["pre"], name="cell/add"),
         helper.make_node("Tanh", ["pre"], ["h_out"], name="cell/tanh"),
         helper.make_node("Identity", ["h_out"], ["h_scan"], name="cell/scan")],
        "cell", [helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [WIDTH]),
                 helper.make_tensor_value_info("row", TensorProto.FLOAT, [WIDTH])],
        [helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [WIDTH]),
         helper.make_tensor_value_info("h_scan", TensorProto.FLOAT, [WIDTH])])
    inits = [numpy_helper.from_array((np.eye(WIDTH) * 0.5).astype(np.float32), "W"),
             numpy_helper.from_array(np.eye(WIDTH, dtype=np.float32), "V"),
             numpy_helper.from_array(np.zeros(WIDTH, np.float32), "h0")]
    nodes = [helper.make_node("Scan", ["h0", "x"], ["h_last", "hs"], name="scan", body=body, num_scan_inputs=1),
             helper.make_node("MatMul", ["hs", "V"], ["y"], name="after")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [length, WIDTH])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("h_last", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("as_run", [False, True])
def test_a_scan_is_one_copy_of_its_body_run_as_long_as_its_input_and_what_follows_reads_every_row(tmp_path, as_run):
    """typeseg's Mamba runs 12 Scans of 1,536 steps: left whole, each was costed as one op of its
    inputs' bytes (0.14x of its time).  Now its body once, run a row at a time, and the MatMul after
    it over all 40 stacked rows, not the one a single copy writes; and a marker for the Scan's own
    cost an iteration."""
    graph = read_graph(_scan_model(tmp_path / "scan.onnx"), as_run=as_run)
    (cell,) = [op for op in graph.ops if op.repeats > 1 and op.kind == "fully_connected"]
    assert cell.repeats == 40 and cell.macs == WIDTH * WIDTH
    (after,) = [op for op in graph.ops if op.name == "after"]
    assert after.macs == 40 * WIDTH * WIDTH
    (scan,) = [op for op in graph.ops if op.op_type == "Scan"]
    assert scan.repeats == 40 and not scan.inputs
    assert any("Scan" in note and "x40" in note for note in graph.notes)
    assert not any("not costed" in note for note in graph.notes)
