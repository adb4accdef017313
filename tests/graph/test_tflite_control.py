"""A TFLite IF is costed as the ops of the branch it runs (graph/tflite_control.py), not as a copy
of everything it passes to its branches: each able to fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compressor.graph.read import read_graph

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")


def _if_model(path: Path, *, condition: bool | None) -> Path:
    """x [1, 64] -> IF(c, x, W): then = FULLY_CONNECTED(x, W) (W a main-graph constant passed in),
    else = x itself.  ``condition``: None -> c is a graph input (known only at run time);
    True / False -> c is that constant."""
    import flatbuffers

    s = schema
    buffers, codes = [s.BufferT()], {}

    def tensor(tensors, name, shape, dtype=s.TensorType.FLOAT32, data=None):
        t = s.TensorT(); t.name = name; t.shape = list(shape); t.type = dtype; t.buffer = 0
        if data is not None:
            b = s.BufferT(); b.data = np.frombuffer(np.asarray(data).tobytes(), np.uint8).tolist()
            buffers.append(b); t.buffer = len(buffers) - 1
        tensors.append(t)
        return len(tensors) - 1

    def op(name, inputs, outputs, options_type=None, options=None):
        code = getattr(s.BuiltinOperator, name)
        codes.setdefault(code, len(codes))
        o = s.OperatorT(); o.opcodeIndex = codes[code]; o.inputs = inputs; o.outputs = outputs
        if options_type:
            o.builtinOptionsType = getattr(s.BuiltinOptions, options_type); o.builtinOptions = options
        return o

    def subgraph(name, tensors, ops, inputs, outputs):
        g = s.SubGraphT(); g.name = name; g.tensors = tensors; g.operators = ops; g.inputs = inputs; g.outputs = outputs
        return g

    weights = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    main = []
    x = tensor(main, "x", (1, 64))
    c = tensor(main, "c", (), s.TensorType.BOOL, None if condition is None else np.array(condition))
    w = tensor(main, "w", (64, 64), data=weights)
    y = tensor(main, "y", (1, 64))
    options = s.IfOptionsT(); options.thenSubgraphIndex = 1; options.elseSubgraphIndex = 2
    main_ops = [op("IF", [c, x, w], [y], "IfOptions", options)]
    then_tensors = []
    bx, bw, by = tensor(then_tensors, "bx", (1, 64)), tensor(then_tensors, "bw", (64, 64)), tensor(then_tensors, "by", (1, 64))
    then_ops = [op("FULLY_CONNECTED", [bx, bw, -1], [by], "FullyConnectedOptions", s.FullyConnectedOptionsT())]
    else_tensors = []
    ex, ew = tensor(else_tensors, "ex", (1, 64)), tensor(else_tensors, "ew", (64, 64))
    model = s.ModelT(); model.version = 3; model.buffers = buffers
    model.subgraphs = [subgraph("main", main, main_ops, [x] if condition is not None else [x, c], [y]),
                       subgraph("then", then_tensors, then_ops, [bx, bw], [by]),
                       subgraph("else", else_tensors, [], [ex, ew], [ex])]
    model.operatorCodes = []
    for code, _ in sorted(codes.items(), key=lambda kv: kv[1]):
        oc = s.OperatorCodeT(); oc.builtinCode = code; oc.deprecatedBuiltinCode = min(code, 127); oc.version = 1
        model.operatorCodes.append(oc)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


def test_an_if_known_only_at_run_time_is_costed_as_its_heavier_branch_and_says_so(tmp_path):
    graph = read_graph(_if_model(tmp_path / "if.tflite", condition=None))
    (fc,) = [op for op in graph.ops if op.op_type == "FULLY_CONNECTED"]
    assert fc.macs == 64 * 64 and fc.weight_bytes == 64 * 64 * 4  # the weight the IF passes in
    (copy,) = [op for op in graph.ops if op.op_type == "IF"]
    assert copy.weight_bytes == 0 and copy.input_bytes == 64 * 4  # copies its output, not its weights
    assert any("IF op(s) whose condition is known only at run time" in note and "then branch" in note
               for note in graph.notes)


@pytest.mark.parametrize(("condition", "ops"), [(True, 1), (False, 0)])
def test_an_if_whose_condition_litert_can_evaluate_runs_that_branch(tmp_path, condition, ops):
    graph = read_graph(_if_model(tmp_path / f"if{condition}.tflite", condition=condition))
    assert sum(op.op_type == "FULLY_CONNECTED" for op in graph.ops) == ops  # False: the lighter else branch
    assert not any("known only at run time" in note for note in graph.notes)


@pytest.mark.parametrize(("value", "ops"), [(0, 0), (1, 1)])
def test_an_input_value_the_user_gives_picks_the_branch_it_selects(tmp_path, value, ops):
    graph = read_graph(_if_model(tmp_path / "if.tflite", condition=None), input_values={"c": value})
    assert sum(op.op_type == "FULLY_CONNECTED" for op in graph.ops) == ops
    assert not any("known only at run time" in note for note in graph.notes)


def test_profile_takes_input_values_and_refuses_an_unknown_name(tmp_path):
    from click.testing import CliRunner

    from compressor.cli.main import cli

    path = _if_model(tmp_path / "if.tflite", condition=None)
    ok = CliRunner().invoke(cli, ["profile", str(path), "--target", "host-x86", "--input-value", "c=0", "--json"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(cli, ["profile", str(path), "--target", "host-x86", "--input-value", "sr=16000"])
    assert bad.exit_code == 2 and "sr" in bad.output and "Traceback" not in bad.output
