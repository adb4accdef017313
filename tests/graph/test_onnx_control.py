"""ONNX If nodes: their ops are costed from the branch onnxruntime would run, never dropped."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.graph.read import read_graph


def _branch(name: str, cout: int, rng):
    """A branch graph: a 3x3 conv from the outer 'x' (8 channels) to ``cout`` channels."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(rng.standard_normal((cout, 8, 3, 3)).astype(np.float32), f"{name}_w")
    conv = helper.make_node("Conv", ["x", f"{name}_w"], [f"{name}_y"], pads=[1, 1, 1, 1], name=f"{name}_conv")
    return helper.make_graph([conv], name, [], [helper.make_tensor_value_info(f"{name}_y", TensorProto.FLOAT, None)],
                             initializer=[weight])


def _if_model(path, condition: str):
    """x [1, 8, 16, 16] -> If(cond) -> then: conv to 32 channels, else: conv to 4; the condition
    from the value of input 'flag', from x's batch dim (Shape -> Gather -> Equal 1), or a constant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])]
    nodes, inits = [], []
    if condition == "value":
        inputs.append(helper.make_tensor_value_info("flag", TensorProto.BOOL, []))
        cond = "flag"
    elif condition == "shape":  # batch == 2: false for x's batch of 1, so the small else branch runs
        inits += [numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
                  numpy_helper.from_array(np.array(2, dtype=np.int64), "two")]
        nodes += [helper.make_node("Shape", ["x"], ["shape"]), helper.make_node("Gather", ["shape", "zero"], ["batch"]),
                  helper.make_node("Equal", ["batch", "two"], ["cond"])]
        cond = "cond"
    else:
        inits.append(numpy_helper.from_array(np.array(False), "cond"))
        cond = "cond"
    nodes.append(helper.make_node("If", [cond], ["y"], name="the_if", then_branch=_branch("big", 32, rng),
                                  else_branch=_branch("small", 4, rng)))
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


BIG, SMALL = 16 * 16 * 32 * 8 * 9, 16 * 16 * 4 * 8 * 9


@pytest.mark.parametrize("as_run", [False, True])
def test_a_run_time_condition_costs_the_branch_with_more_weights_and_says_so(tmp_path, as_run):
    graph = read_graph(_if_model(tmp_path / "value.onnx", "value"), input_shapes=((1, 8, 16, 16), ()), as_run=as_run)
    assert graph.macs == BIG  # was 0: the If's ops were never costed
    assert any("If" in note and "then_branch" in note and "weight" in note for note in graph.notes)


@pytest.mark.parametrize("condition", ["shape", "constant"])
def test_a_condition_fixed_by_the_shapes_or_a_constant_takes_the_branch_that_runs(tmp_path, condition):
    graph = read_graph(_if_model(tmp_path / f"{condition}.onnx", condition))
    assert graph.macs == SMALL
    assert not any("If" in note for note in graph.notes)


def test_a_scalar_input_shape_is_written_as_parentheses():
    from compressor.data import parse_input_shapes

    assert parse_input_shapes("1,512;2,1,128;()") == ((1, 512), (2, 1, 128), ())


def test_an_input_read_only_inside_a_branch_is_still_an_input_and_an_unread_one_is_not():
    from onnx import TensorProto, helper

    from compressor.graph.onnx_reader import onnx_input_specs

    then = helper.make_graph([helper.make_node("Relu", ["state"], ["a"])], "then", [],
                             [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 4])])
    other = helper.make_graph([helper.make_node("Neg", ["state"], ["b"])], "else", [],
                              [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 4])])
    graph = helper.make_graph(
        [helper.make_node("If", ["flag"], ["y"], then_branch=then, else_branch=other)], "g",
        [helper.make_tensor_value_info("flag", TensorProto.BOOL, []),
         helper.make_tensor_value_info("state", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("unused_SHAPE", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    names = [spec.name for spec in onnx_input_specs(helper.make_model(graph))]
    assert names == ["flag", "state"]


@pytest.mark.parametrize(("flag", "branch"), [(0, "small"), (1, "big")])
@pytest.mark.parametrize("as_run", [False, True])
def test_an_input_value_the_user_gives_picks_the_branch_it_selects(tmp_path, flag, branch, as_run):
    path = _if_model(tmp_path / "value.onnx", "value")
    graph = read_graph(path, input_shapes=((1, 8, 16, 16), ()), as_run=as_run, input_values={"flag": flag})
    (conv,) = [op for op in graph.ops if op.macs]
    assert conv.name.startswith(branch)  # 0: the small else branch, which the weights rule would not pick
    assert not any("If" in note for note in graph.notes)


def test_an_input_value_for_an_input_the_model_lacks_is_refused_naming_it(tmp_path):
    from compressor.errors import ConfigError

    with pytest.raises(ConfigError, match="sr.*x, flag"):
        read_graph(_if_model(tmp_path / "value.onnx", "value"), input_shapes=((1, 8, 16, 16), ()), input_values={"sr": 1})


@pytest.mark.parametrize("as_run", [False, True])
def test_each_if_that_runs_leaves_a_marker_its_own_cost_is_put_on(tmp_path, as_run):
    """onnxruntime's If costs ~0.8 us a run beyond its branch's nodes (microbench_probes.py --probe
    control): the inlined branch keeps a node of the If's name and op type, of no bytes, that the
    host profile prices by its If terms; nested Ifs one each."""
    import sys
    from pathlib import Path

    from compressor.measure.estimate import estimate_artifact
    from compressor.targets.load import load_target

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import microbench_probes as mp

    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    terms = target.compute.runtime_cost("onnx").kernels["float32"]["If"]
    latency = {}
    for kind, ifs in (("plain", 0), ("if", 1), ("if2", 2)):
        path = mp.build_control(tmp_path / f"{kind}.onnx", kind, 8)
        graph = read_graph(path, as_run=as_run)
        markers = [op for op in graph.ops if op.op_type == "If"]
        assert len(markers) == ifs and all(not op.inputs and op.input_bytes == op.weight_bytes == 0 for op in markers)
        assert len([op for op in graph.ops if op.op_type == "Add"]) == 8
        latency[kind] = estimate_artifact(path, target, threads=1, graph=graph).latency_ms
    dispatch = target.compute.runtime_cost("onnx").dispatch_overhead_us
    assert terms.fixed_us > 0
    for kind, ifs in (("if", 1), ("if2", 2)):  # ((identity nodes of the branches aside))
        assert latency[kind] - latency["plain"] >= ifs * (terms.fixed_us + dispatch) * 1e-3 * 0.99
