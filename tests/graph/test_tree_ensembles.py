"""ai.onnx.ml tree ensembles: onnxruntime walks each tree from its root to a leaf per row, so the
reader counts the node visits (rows x the trees' mean leaf depths) and a profile prices each one;
a classifier runs the regressor's walk.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from compressor.graph.ort_kernels import tree_visits
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from microbench_kernels import tree_ensemble_node


def test_visits_are_rows_times_the_trees_mean_leaf_depths():
    assert tree_visits(tree_ensemble_node(10, 4, 32), (3, 32)) == 3 * 10 * 4
    # a lopsided tree: the root's left child a leaf (depth 1), its right a split into two leaves (2)
    node = helper.make_node("TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1,
                            nodes_treeids=[0] * 5, nodes_nodeids=[0, 1, 2, 3, 4], nodes_featureids=[0] * 5,
                            nodes_values=[0.0] * 5, nodes_modes=["BRANCH_LEQ", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"],
                            nodes_truenodeids=[1, 0, 3, 0, 0], nodes_falsenodeids=[2, 0, 4, 0, 0],
                            target_treeids=[0] * 3, target_nodeids=[1, 3, 4], target_ids=[0] * 3,
                            target_weights=[1.0] * 3)
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
