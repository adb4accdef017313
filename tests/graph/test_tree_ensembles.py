"""ai.onnx.ml tree ensembles: onnxruntime walks each tree from its root to a leaf per row, so the
reader counts the node visits (rows x the trees' mean leaf depths) and a profile prices each one;
a classifier runs the regressor's walk.  Each able to fail."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from compressor.graph.ort_trees import tree_visits
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from microbench_kernels import tree_ensemble_node


def _lopsided_tree():
    """One tree on feature 0: the root's left child a leaf (depth 1), its right a split into two leaves (2)."""
    return helper.make_node("TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1,
                            nodes_treeids=[0] * 5, nodes_nodeids=[0, 1, 2, 3, 4], nodes_featureids=[0] * 5,
                            nodes_values=[0.0] * 5, nodes_modes=["BRANCH_LEQ", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"],
                            nodes_truenodeids=[1, 0, 3, 0, 0], nodes_falsenodeids=[2, 0, 4, 0, 0],
                            target_treeids=[0] * 3, target_nodeids=[1, 3, 4], target_ids=[0] * 3,
                            target_weights=[1.0] * 3)


def test_visits_are_rows_times_the_trees_mean_leaf_depths():
    assert tree_visits(tree_ensemble_node(10, 4, 32), (3, 32)) == 3 * 10 * 4
    node = _lopsided_tree()  # leaves at depths 1, 2, 2
    assert tree_visits(node, (6, 1)) == round(6 * (1 + 2 + 2) / 3)


def _ensemble_op(path, trees: int, depth: int, rows: int):
    """The TreeEnsembleRegressor op the reader makes of ``trees`` full trees ``depth`` deep over ``rows`` rows."""
    graph = helper.make_graph([tree_ensemble_node(trees, depth, 16)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]),
              str(path))
    (op,) = [op for op in read_graph(path).ops if op.op_type == "TreeEnsembleRegressor"]
    return op


def test_an_ensembles_walks_are_priced_per_visit(tmp_path):
    op = _ensemble_op(tmp_path / "trees.onnx", 200, 6, 8)
    assert op.kernel_calls == 8 * 200 * 6
    costs = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17").compute.runtime_cost("onnx")
    terms = costs.kernel_terms("float32", "TreeEnsembleRegressor", op.kind)
    assert terms.call_ns > 0
    assert costs.kernel_terms("float32", "TreeEnsembleClassifier", op.kind) == terms  # the same walk
    seconds = sum(terms.seconds(0, op.input_bytes, 0, op.output_bytes, op.kernel_calls))
    assert seconds == pytest.approx(op.kernel_calls * terms.call_ns * 1e-9, rel=0.05)


def test_a_visit_costs_what_the_curve_says_for_the_ensembles_size(tmp_path):
    from dataclasses import replace

    from compressor.cost.latency import estimate_op_latency
    from compressor.targets.kernel_terms import log_interpolate

    op = _ensemble_op(tmp_path / "big.onnx", 2000, 7, 1)
    assert op.tree_nodes == 2000 * 255
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    costs = zen4.compute.runtime_cost("onnx")
    curve = costs.tree_visit_ns["float32"]
    per_visit = log_interpolate(curve, op.tree_nodes)
    assert curve[0][1] < per_visit < curve[-1][1]
    sized = estimate_op_latency(op, zen4, runtime="onnx").latency_s
    flat = estimate_op_latency(replace(op, tree_nodes=0), zen4, runtime="onnx").latency_s
    call_ns = costs.kernel_terms("float32", "TreeEnsembleRegressor", op.kind).call_ns
    assert sized - flat == pytest.approx(op.kernel_calls * (per_visit - call_ns) * 1e-9, rel=1e-6)


def test_a_tree_ensemble_of_opset_5_walks_as_the_regressor_it_encodes():
    """TreeEnsemble (ai.onnx.ml 5) lists interior nodes and leaves apart: the lopsided tree above,
    so encoded, makes the same visits, and its size counts both."""
    import numpy as np
    from onnx import numpy_helper

    from compressor.graph.ort_trees import tree_size

    node = helper.make_node("TreeEnsemble", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1, tree_roots=[0],
                            nodes_featureids=[0, 0], nodes_splits=numpy_helper.from_array(np.zeros(2, np.float64)),
                            nodes_modes=numpy_helper.from_array(np.zeros(2, np.uint8)),
                            nodes_truenodeids=[0, 1], nodes_trueleafs=[1, 1], nodes_falsenodeids=[1, 2],
                            nodes_falseleafs=[0, 1], leaf_targetids=[0, 0, 0],
                            leaf_weights=numpy_helper.from_array(np.ones(3, np.float64)))
    assert tree_visits(node, (6, 1)) == round(6 * (1 + 2 + 2) / 3)
    assert tree_size(node) == 5
    two = helper.make_node("TreeEnsemble", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1, tree_roots=[0, 2],
                           nodes_featureids=[0] * 3, nodes_truenodeids=[0, 1, 3], nodes_trueleafs=[1, 1, 1],
                           nodes_falsenodeids=[1, 2, 4], nodes_falseleafs=[0, 1, 1], leaf_targetids=[0] * 5)
    assert tree_visits(two, (2, 1)) == round(2 * ((1 + 2 + 2) / 3 + 1))


def test_walks_count_the_visits_and_the_splits_their_rows_part_both_ways():
    """tree_walks walks each row down each tree: a visit per interior node, a mispredicted split per
    row that goes the minority way; the profile prices only the share past what a repeated run
    teaches the predictor (``learned_branches``)."""
    import numpy as np

    from compressor.cost.tiles import unlearned_misses
    from compressor.graph import ort_trees
    from compressor.targets.types import RuntimeCost

    full = tree_ensemble_node(20, 5, 8)
    assert ort_trees.tree_walks(full, np.zeros((1, 8), np.float32)) == (20 * 5, 0.0, 20 * 5)  # one row: nothing to part
    node = helper.make_node("TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1,
                            nodes_treeids=[0] * 5, nodes_nodeids=[0, 1, 2, 3, 4], nodes_featureids=[0, 0, 1, 0, 0],
                            nodes_values=[0.0, 0.0, 0.0, 0.0, 0.0],
                            nodes_modes=["BRANCH_LEQ", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"],
                            nodes_truenodeids=[1, 0, 3, 0, 0], nodes_falsenodeids=[2, 0, 4, 0, 0],
                            target_treeids=[0] * 3, target_nodeids=[1, 3, 4], target_ids=[0] * 3,
                            target_weights=[1.0] * 3)
    rows = np.array([[-1.0, 0.0], [1.0, -1.0], [1.0, 1.0], [1.0, 1.0]], np.float32)
    # root: 1 row left, 3 right (1 missed); node 2 on feature 1: 1 left, 2 right (1 missed); 2 nodes reached
    assert ort_trees.tree_walks(node, rows) == (4 + 3, 2.0, 2)
    op = dataclasses.replace(_ensemble_op_of(node, 4), kernel_calls=7, sign_misses=2.0)
    assert unlearned_misses(op, RuntimeCost(dispatch_overhead_us=0.0)) == 2.0
    assert unlearned_misses(op, RuntimeCost(dispatch_overhead_us=0.0, learned_branches=3)) == pytest.approx(2.0 * (1 - 3 / 7))
    assert unlearned_misses(op, RuntimeCost(dispatch_overhead_us=0.0, learned_branches=70)) == 0.0


def _ensemble_op_of(node, rows: int):
    from compressor.graph.ir import Op

    return Op("t", node.op_type, "other", (0,), (1,), 0, "float32", 0, rows * 8, rows * 4, tree_nodes=5)


def _v5_model(path, trees: int, depth: int, rows: int, features: int = 8):
    """A TreeEnsemble (ai.onnx.ml 5) of ``trees`` full trees ``depth`` deep on float64 rows, as LightGBM's
    newer exports write them: interior nodes and leaves apart."""
    import numpy as np
    from onnx import numpy_helper

    rng = np.random.default_rng(0)
    inner, leaves = 2 ** depth - 1, 2 ** depth
    kids = [(2 * i + 1 + side) for i in range(inner) for side in (0, 1)]
    nexts = [[(t * inner + c, 0) if c < inner else (t * leaves + c - inner, 1) for c in kids[side::2]]
             for side in (0, 1) for t in range(trees)]
    true, false = [n for part in nexts[:trees] for n in part], [n for part in nexts[trees:] for n in part]
    node = helper.make_node(
        "TreeEnsemble", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1, tree_roots=[t * inner for t in range(trees)],
        nodes_featureids=rng.integers(0, features, trees * inner).tolist(),
        nodes_splits=numpy_helper.from_array(rng.standard_normal(trees * inner)),
        nodes_modes=numpy_helper.from_array(np.zeros(trees * inner, np.uint8)),
        nodes_truenodeids=[n for n, _ in true], nodes_trueleafs=[f for _, f in true],
        nodes_falsenodeids=[n for n, _ in false], nodes_falseleafs=[f for _, f in false],
        leaf_targetids=[0] * (trees * leaves), leaf_weights=numpy_helper.from_array(rng.standard_normal(trees * leaves)))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [rows, features])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)])
    model.ir_version = 10
    onnx.save(model, str(path))
    (op,) = read_graph(path).ops
    return op


def test_a_double_tree_ensemble_is_walked_on_benchs_rows_and_split_as_onnxruntime_splits_it(tmp_path):
    """A float64 TreeEnsemble costs as the float32 walks it makes (bench's rows walked: visits, and
    splits its rows part both ways past what a repeated run teaches the predictor); onnxruntime keeps
    2 to 50 rows on one thread (variant "serial"), and splits 51 and more by trees."""
    from compressor.cost.latency import estimate_op_latency

    many = _v5_model(tmp_path / "many.onnx", 200, 5, 128)
    assert many.compute_dtype == "float32" and many.tree_nodes == 200 * (31 + 32)
    assert many.kernel_calls == 128 * 200 * 5 and many.sign_misses > 0 and many.variant == ""
    few = _v5_model(tmp_path / "few.onnx", 200, 5, 32)
    assert few.kernel_calls == 32 * 200 * 5 and few.variant == "serial"
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    two = dataclasses.replace(zen4, compute=dataclasses.replace(zen4.compute, threads=2))

    def us(op, target):
        return estimate_op_latency(op, target, runtime="onnx").latency_s * 1e6

    assert us(few, two) == pytest.approx(us(few, zen4))
    assert us(many, two) < 0.7 * us(many, zen4)
    costs = zen4.compute.runtime_cost("onnx")
    terms = costs.kernel_terms("float32", "TreeEnsembleRegressor", many.kind)
    assert terms.miss_ns > 0 and costs.learned_branches > few.kernel_calls  # 32 rows' 32 K visits: learned


def test_two_threads_each_walk_their_share_of_the_trees_and_learn_it(tmp_path):
    """Past 50 rows onnxruntime hands each thread its share of the trees over every row: that thread's
    walks cost as an ensemble of those trees would on one thread (its visits, splits and nodes halved),
    plus the hand-off, so a forest whose walks are learned only halved runs more than twice as fast
    (charboundary's forest, held-out set 17: 4.6x); with no more trees than threads, the rows split."""
    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.ort_trees import tree_share

    forest = _v5_model(tmp_path / "forest.onnx", 32, 11, 150)
    assert forest.trees == 32 and forest.variant == ""
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    two = dataclasses.replace(zen4, compute=dataclasses.replace(zen4.compute, threads=2))
    costs = zen4.compute.runtime_cost("onnx")
    assert forest.kernel_calls / 2 < costs.learned_branches < forest.kernel_calls  # learned only halved
    half = tree_share(forest, 2)
    assert (half.kernel_calls, half.tree_nodes, half.sign_misses, half.tree_distinct) == (
        forest.kernel_calls // 2, forest.tree_nodes // 2, forest.sign_misses / 2, -(-forest.tree_distinct // 2))

    def us(op, target):
        return estimate_op_latency(op, target, runtime="onnx").latency_s * 1e6

    sync_us = {kind: s for kind, _, s in costs.parallel["float32"]["kinds"]}.get("other", 0.0)
    assert us(forest, two) == pytest.approx(us(dataclasses.replace(half, variant="serial"), zen4) + sync_us)
    assert us(forest, two) < 0.5 * us(forest, zen4)
    one_tree = dataclasses.replace(forest, trees=2)  # two trees on two threads: each walks half the rows
    assert tree_share(one_tree, 2).tree_nodes == forest.tree_nodes
    assert tree_share(dataclasses.replace(forest, variant="serial"), 2).kernel_calls == forest.kernel_calls


def test_many_rows_count_the_nodes_they_walk_and_one_row_its_trees_mean_depths():
    """A random forest's lopsided trees: over many rows the visits are those bench's rows walk
    (all going left here: one a row), where the trees' mean leaf depths would say 5/3 a row."""
    import numpy as np

    from compressor.graph.ort_trees import tree_fields

    node = _lopsided_tree()
    left = -np.ones((60, 1), np.float32)
    assert tree_fields(node, (60, 1), left)["kernel_calls"] == 60
    assert tree_fields(node, (60, 1))["kernel_calls"] == 100  # no values: the mean depths
    assert tree_fields(node, (1, 1), left[:1])["kernel_calls"] == 2  # one row: its trees' mean depths


def test_an_ensemble_on_a_profile_with_no_walk_rate_is_said_not_costed(tmp_path):
    """An ARM phone has no measured walk rate: its walks are not in the estimate, said so (its bytes
    alone had read 0.000 ms, silently: synheart-emotion's 500-tree forest, held-out set 21)."""
    from compressor.cost.kernels import check_kernels

    _ensemble_op(tmp_path / "trees.onnx", 200, 6, 1)
    graph = read_graph(tmp_path / "trees.onnx")
    notes = {name: [w for w in check_kernels(graph, load_target(name, **kw)).warnings if w.kind == "not_costed"]
             for name, kw in (("android-arm64", {}), ("host-x86", {"cpu_identity": "AuthenticAMD family 25 model 17"}))}
    assert len(notes["android-arm64"]) == 1 and "1,200 node visits" in notes["android-arm64"][0].reason
    assert not notes["host-x86"]


def test_a_warm_revisit_profile_prices_only_a_runs_first_visits_at_the_curve(tmp_path):
    """On Zen 1 many rows' walks take 6-9 ns a visit whatever the ensemble's size, where one row's take
    1.4 ns at 12.7 K nodes and 36 at 6.1 M: with ``warm_tree_revisits`` the first visit to each node
    the rows reach pays the curve and a revisit the kernel's call_ns (fink-science's isolation forest,
    100 trees of 10 K nodes over 121 rows, read 0.48x with every visit at the curve)."""
    import numpy as np

    from compressor.cost.latency import estimate_op_latency
    from compressor.cost.tiles import first_tree_visits, tree_visits_s
    from compressor.graph import ort_trees

    op = _ensemble_op(tmp_path / "t.onnx", 100, 6, 121)  # the reader's walks of bench's 121 rows
    assert op.kernel_calls == 121 * 100 * 6
    assert 100 * 6 < op.tree_distinct <= 100 * 63  # more than one row reaches, at most the interior nodes
    one_row = np.zeros((1, 16), np.float32)
    assert ort_trees.tree_fields(tree_ensemble_node(100, 6, 16), (1, 16), one_row)["tree_distinct"] == 100 * 6
    zen1 = load_target("host-x86", cpu_identity="AuthenticAMD family 23 model 1", cpu_flags=frozenset({"avx2", "fma"}))
    costs = zen1.compute.runtime_cost("onnx")
    assert costs.warm_tree_revisits
    assert first_tree_visits(op, costs) == op.tree_distinct
    cold = dataclasses.replace(costs, warm_tree_revisits=False)
    assert first_tree_visits(op, cold) == op.kernel_calls
    call_ns = costs.kernel_terms("float32", op.op_type, op.kind).call_ns
    share = op.tree_distinct / op.kernel_calls
    assert tree_visits_s(op, costs, call_ns) == pytest.approx(tree_visits_s(op, cold, call_ns) * share)
    us = estimate_op_latency(op, zen1, runtime="onnx").latency_s * 1e6
    assert 5.0 < us * 1e3 / op.kernel_calls < 10.0  # 6-9 ns a visit, where the curve at 12.7 K nodes says 1.4
