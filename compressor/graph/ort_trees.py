"""ai.onnx.ml's tree ensembles as onnxruntime runs them: their size and the node visits their walks
make (``Op.tree_nodes``, ``Op.kernel_calls``; the terms' ``call_ns`` and ``tree_visit_ns`` price them)."""

from __future__ import annotations

import dataclasses
import math

__all__ = ["TREE_ENSEMBLES", "tree_count", "tree_fields", "tree_share", "tree_size", "tree_threads", "tree_visits",
           "tree_walks"]


# ai.onnx.ml's tree ensembles: onnxruntime walks each tree from its root to a leaf per input row
# (TreeEnsemble, opset 5, is the two older ones in one encoding: its interior nodes and leaves apart).
TREE_ENSEMBLES = frozenset({"TreeEnsembleRegressor", "TreeEnsembleClassifier", "TreeEnsemble"})


def tree_size(node) -> int:
    """A tree ensemble's nodes, interior and leaves (what sets what a visit costs)."""
    attrs = {a.name: a for a in node.attribute}
    if "tree_roots" in attrs:  # TreeEnsemble: interior nodes, then leaves
        return len(attrs["nodes_featureids"].ints) + len(attrs["leaf_targetids"].ints) if (
            "nodes_featureids" in attrs and "leaf_targetids" in attrs) else 0
    return len(attrs["nodes_treeids"].ints) if "nodes_treeids" in attrs else 0


def tree_count(node) -> int:
    """A tree ensemble's trees, in either encoding (0 where not given)."""
    attrs = {a.name: a for a in node.attribute}
    return (len(attrs["tree_roots"].ints) if "tree_roots" in attrs
            else len(set(attrs["nodes_treeids"].ints)) if "nodes_treeids" in attrs else 0)


def tree_threads(node, shape, *, trees: int | None = None) -> str:
    """``Op.variant`` "serial" where onnxruntime walks the ensemble on one thread whatever its pool
    (tree_ensemble_common.h ComputeAgg, its defaults parallel_tree 80, parallel_N 50: one row
    through at most 80 trees, or 2 to 50 rows), else "" (split by trees or rows: ``tree_share``).
    ``trees``: its ``tree_count`` where already counted."""
    rows = shape[0] if shape and len(shape) > 1 and isinstance(shape[0], int) and shape[0] > 0 else 1
    trees = tree_count(node) if trees is None else trees
    return "serial" if (rows == 1 and trees <= 80) or 1 < rows <= 50 else ""


def tree_share(op, threads: int):
    """The walks one of ``threads`` threads makes of a tree ensemble onnxruntime splits (``Op.variant``
    not "serial"), as an op of its own kept on that thread: ComputeAgg hands each thread its share of
    the trees over every row (sections B and D), or where the threads outnumber the trees its share of
    the rows (E).  Each core's predictor then learns, and its cache holds, that share alone: its visits
    and mispredicted splits over the threads and, split by trees, its nodes and those its walks reach.
    charboundary's 32-tree forest over 500 rows (held-out set 17) runs 4.6x faster on two threads than
    on one; family tree_forest, 2.0-5.2x.  ``op`` itself where it stays on one thread (called for every
    op: no work for any other)."""
    if not op.tree_nodes or threads < 2 or op.variant == "serial":
        return op
    calls = math.ceil(op.kernel_calls / threads)
    if op.trees > threads:  # split by trees: a thread's nodes, and those its walks reach, its share
        nodes, reached = math.ceil(op.tree_nodes / threads), math.ceil(op.tree_distinct / threads)
    else:  # by rows: every node, reached by fewer walks
        nodes, reached = op.tree_nodes, min(op.tree_distinct, calls)
    return dataclasses.replace(op, kernel_calls=calls, tree_nodes=nodes, tree_distinct=reached,
                               sign_misses=op.sign_misses / threads, variant="serial")


def tree_fields(node, shape, values=None) -> dict:
    """The ``Op`` fields of a tree ensemble, its nodes read once: its size (``tree_size``), its
    threading (``tree_threads``), its visits and, given the values bench feeds it, its mispredicted
    splits (``tree_walks``); float32, as a double one walks alike.  Over many rows its visits are
    those bench's rows walk (a random forest's lopsided trees: charboundary's 500 rows walk 160 K
    nodes where the trees' mean leaf depths say 220 K, openquake's 4,154 8.6 M where they say 15.9 M;
    for full trees the two agree); one row's, the trees' mean leaf depths (``tree_visits``), on which
    the visit curve was timed (luscinia, held-out set 13: 43 K walked, 77 K by depth, timed as 77 K).
    ``tree_distinct``: the interior nodes those walks reach, each reached first once a run (one row: each
    visit; no values, many rows: as many as there are, at most the visits)."""
    arrays, trees = _interior(node), tree_count(node)
    walks = tree_walks(node, values, arrays=arrays) if values is not None else None
    many = walks is not None and walks[0] > 0 and bool(shape) and isinstance(shape[0], int) and shape[0] > 1
    visits = round(walks[0]) if many else tree_visits(node, shape, arrays=arrays, trees=trees)
    interior = arrays[0].size if arrays is not None else visits
    return {"tree_nodes": tree_size(node), "trees": trees, "compute_dtype": "float32",
            "variant": tree_threads(node, shape, trees=trees), "kernel_calls": visits,
            "tree_distinct": walks[2] if many else min(visits, interior), "sign_misses": walks[1] if walks else 0.0}


def tree_visits(node, shape, *, arrays=None, trees: int | None = None) -> int:
    """Nodes a tree ensemble's walks visit over its input's rows: rows x the sum over its trees of
    their mean leaf depth (the values decide which leaf; a tree's mean leaf depth stands for it).
    luscinia's LightGBM stress model (held-out set 13) holds 9,988 trees of 4.85 M nodes.
    ``arrays``: its ``_interior``, ``trees`` its ``tree_count``, where already read."""
    import numpy as np

    arrays = _interior(node) if arrays is None else arrays
    if arrays is None or not arrays[5].size:
        return 0
    *_, true_next, false_next, roots = arrays
    rows = shape[0] if shape and isinstance(shape[0], int) and shape[0] > 0 else 1
    leaf_sums, leaf_counts = np.zeros(roots.size), np.zeros(roots.size)
    at, tree = roots, np.arange(roots.size)
    for level in range(1, 1024):  # the interior nodes a level down, a level a pass
        deeper, of_tree = [], []
        for child in (true_next[at], false_next[at]):
            leafs = child < 0
            leaf_sums += np.bincount(tree[leafs], minlength=roots.size) * level
            leaf_counts += np.bincount(tree[leafs], minlength=roots.size)
            deeper.append(child[~leafs])
            of_tree.append(tree[~leafs])
        at, tree = np.concatenate(deeper), np.concatenate(of_tree)
        if not at.size:
            break
    walked = leaf_counts > 0
    trees = tree_count(node) if trees is None else trees  # a tree that is one leaf: its root's fetch, as a visit
    depths = float(np.maximum(leaf_sums[walked] / leaf_counts[walked], 1.0).sum()) + max(trees - roots.size, 0)
    return round(rows * depths)


# TreeEnsemble's (opset 5) node modes, as the older ops' strings name them (SET_MEMBER walked as EQ).
_MODES = {b"BRANCH_LEQ": 0, b"BRANCH_LT": 1, b"BRANCH_GTE": 2, b"BRANCH_GT": 3, b"BRANCH_EQ": 4, b"BRANCH_NEQ": 5,
          b"BRANCH_MEMBER": 6}


def _interior(node):
    """(feature, threshold, mode, true next, false next, roots) over an ensemble's interior nodes, a
    child's next the interior node's index or -1 for a leaf, in either encoding (thresholds 0 where
    not given); None where its structure's attributes are not there."""
    import numpy as np
    from onnx import numpy_helper

    attrs = {a.name: a for a in node.attribute}

    def floats(name):
        if f"{name}_as_tensor" in attrs:
            return numpy_helper.to_array(attrs[f"{name}_as_tensor"].t).astype(np.float64).reshape(-1)
        attr = attrs.get(name)
        if attr is None:
            return None
        return numpy_helper.to_array(attr.t).astype(np.float64).reshape(-1) if attr.HasField("t") else np.array(
            attr.floats, np.float64)

    if "tree_roots" in attrs:  # opset 5: interior nodes apart, each child flagged a leaf or not
        names = ("nodes_featureids", "nodes_truenodeids", "nodes_falsenodeids", "nodes_trueleafs", "nodes_falseleafs")
        if not all(name in attrs for name in names):
            return None
        splits = floats("nodes_splits")
        splits = np.zeros(len(attrs["nodes_featureids"].ints)) if splits is None else splits
        modes = (numpy_helper.to_array(attrs["nodes_modes"].t).astype(np.int64).reshape(-1) if "nodes_modes" in attrs
                 else np.zeros(splits.size, np.int64))
        nexts = [np.where(np.array(attrs[f"nodes_{s}leafs"].ints, bool), -1, np.array(attrs[f"nodes_{s}nodeids"].ints))
                 for s in ("true", "false")]
        return (np.array(attrs["nodes_featureids"].ints), splits, modes, *nexts, np.array(attrs["tree_roots"].ints))
    needed = ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_truenodeids",
              "nodes_falsenodeids")
    if not all(name in attrs for name in needed):
        return None
    values = floats("nodes_values")
    values = np.zeros(len(attrs["nodes_nodeids"].ints)) if values is None else values
    trees, ids = np.array(attrs["nodes_treeids"].ints), np.array(attrs["nodes_nodeids"].ints)
    mode_names = np.array(attrs["nodes_modes"].strings)
    inner = mode_names != b"LEAF"
    span = int(ids.max()) + 1 if ids.size else 1
    keys = trees * span + ids
    order = np.argsort(keys)
    position = np.full(len(ids), -1)
    position[inner] = np.arange(int(inner.sum()))  # interior index of each node, -1 for a leaf

    def next_of(children):
        wanted = trees * span + np.array(children)
        at = np.clip(np.searchsorted(keys[order], wanted), 0, len(keys) - 1)
        found = np.where(keys[order][at] == wanted, order[at], -1)
        return np.where(found >= 0, position[np.maximum(found, 0)], -1)[inner]

    is_child = np.zeros(len(ids), bool)
    for name in ("nodes_truenodeids", "nodes_falsenodeids"):
        wanted = trees[inner] * span + np.array(attrs[name].ints)[inner]
        at = np.clip(np.searchsorted(keys[order], wanted), 0, len(keys) - 1)
        is_child[order[at][keys[order][at] == wanted]] = True
    roots = position[inner & ~is_child]
    kinds, codes = np.unique(mode_names[inner], return_inverse=True)
    modes = np.array([_MODES.get(bytes(kind), 0) for kind in kinds], np.int64)[codes.reshape(-1)]
    return (np.array(attrs["nodes_featureids"].ints)[inner], values[inner], modes,
            next_of(attrs["nodes_truenodeids"].ints), next_of(attrs["nodes_falsenodeids"].ints), roots)


def tree_walks(node, values, max_walks: int = 4_000_000, *, arrays=None) -> tuple[float, float, int] | None:
    """(node visits, mispredicted splits, interior nodes reached) of an ensemble's walks over ``values`` (its
    input, rows x features, as bench feeds it): each row walked down each tree, a visit an interior node (the
    cost model counts these over many rows, and one row's by the trees' mean leaf depths,
    ``tree_fields``: luscinia's LightGBM trees, walked on bench's row, make 43 K visits where their
    depths say 77 K, and take 55 ns a tree, as full trees 10 deep do, 51); a split
    mispredicted as often as its rows part the minority way (a predictor taking each split's
    majority way: one row's walks, 0; what a CPU's predictor learns of a repeated run is the profile's,
    ``RuntimeCost.learned_branches``).  Rows past ``max_walks`` walks are sampled, the counts scaled (the
    nodes reached as the sample reaches them: no more than all the rows would).
    None where the encoding is not read.  ``arrays``: its ``_interior`` where already read."""
    import numpy as np

    arrays = _interior(node) if arrays is None else arrays
    if arrays is None:
        return None
    feature, threshold, mode, true_next, false_next, roots = arrays
    x = np.asarray(values, np.float64)
    x = x.reshape(1, -1) if x.ndim < 2 else x.reshape(x.shape[0], -1)
    if not x.shape[0] or not roots.size or int(feature.max(initial=0)) >= x.shape[1]:
        return None
    rows = np.arange(x.shape[0])[:: max(1, -(-x.shape[0] * roots.size // max_walks))]
    at = np.tile(roots, rows.size)
    row = np.repeat(rows, roots.size)
    visits, taken = np.zeros(true_next.size), np.zeros(true_next.size)
    while at.size:
        v, t, m = x[row, feature[at]], threshold[at], mode[at]
        go = np.select([m == 0, m == 1, m == 2, m == 3, m == 5], [v <= t, v < t, v >= t, v > t, v != t], v == t)
        visits += np.bincount(at, minlength=visits.size)
        taken += np.bincount(at, weights=go, minlength=visits.size)
        nxt = np.where(go, true_next[at], false_next[at])
        keep = nxt >= 0
        at, row = nxt[keep], row[keep]
    scale = x.shape[0] / rows.size
    misses = float(np.minimum(taken, visits - taken).sum()) * scale
    return float(visits.sum()) * scale, misses, int(np.count_nonzero(visits))
