"""Which node of the user's ``.onnx`` each op of onnxruntime's optimized graph came from.

An ``.onnx`` is costed as onnxruntime runs it (ort_optimized.py), and that graph names its ops
its own way: an NCHWc conv after its output tensor (``conv2d_451.tmp_0_nchwc``), a fusion after
the node it started from (``MatMul.0/MatMulAddFusion``, ``fused Gemm_7``), an inlined ``If``
branch's nodes under a prefix (``If_0_then_branch__Inline_0__/stft/Conv``), an inlined
function's nodes after the function (``_inlfunc_HardSwish_token_3_HS_X``).  None of these is in
the user's file.  ``file_node_names`` maps each run op to the file's node name, found by the
run name or a tensor it writes, with those decorations peeled off one at a time (a node the
file leaves unnamed as ``Conv writing 'r8_bn'``); ``""`` for an op onnxruntime inserted (its
layout reorders, a ``Reshape_token_12``) or one no name leads back from.
"""

from __future__ import annotations

import re

from .ir import Graph

__all__ = ["INSERTED_OP_TYPES", "file_node_names"]

# onnxruntime's own ops around its layouts and devices: nothing in the file stands behind them.
INSERTED_OP_TYPES = frozenset({"ReorderInput", "ReorderOutput", "MemcpyToHost", "MemcpyFromHost"})

_FUSION = re.compile(r"/[A-Za-z0-9]*Fusion/?.*$")  # "MatMul.0/MatMulAddFusion", "Mul_3/QuickGeluFusion/"
_INLINED = re.compile(r"^.*__Inline_\d+__/")  # "If_0_then_branch__Inline_0__/decoder/Cast"
# "_nchwc" an NCHWc op; "_bn" / "_mul" a BatchNormalization or Mul by constants it made a 1x1 conv.
_SUFFIXES = re.compile(r"(_nchwc|_bn|_mul)$")
_BASE_TYPE = re.compile(r"^(Fused|QLinear|NhwcFused|Nhwc)")  # FusedConv, QLinearConv -> Conv
# What onnxruntime folds into the op before it (a conv's BatchNorm, activation, residual Add, scale).
_FUSED_AFTER = frozenset({"BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid",
                          "HardSwish", "Add", "Mul"})


class _FileNodes:
    """The user's file's nodes, in the graph and its subgraphs: by name, by the tensor each
    writes, and each one's type and inputs."""

    def __init__(self, model) -> None:
        self.names: set[str] = set()
        self.writers: dict[str, str] = {}  # tensor -> the node's label
        self.types: dict[str, str] = {}
        self.inputs: dict[str, tuple[str, ...]] = {}
        pending = [model.graph]
        while pending:
            graph = pending.pop()
            for node in graph.node:
                # an unnamed node (Caffe2's exports name none) is found by the tensor it writes
                label = node.name
                if not label and node.output:
                    label = f"{node.op_type} writing {node.output[0]!r}"
                self.names.add(node.name)
                self.types[label] = node.op_type
                self.inputs[label] = tuple(node.input)
                for out in node.output:
                    self.writers.setdefault(out, label)
                pending += [attr.g for attr in node.attribute if attr.HasField("g")]
                pending += [g for attr in node.attribute for g in attr.graphs]
        self.names.discard("")

    def same_type_before(self, label: str, op_type: str) -> str:
        """``label``, or the node of ``op_type`` behind the ops onnxruntime fuses into it (a conv
        fused with its BatchNorm, activation and residual Add is named after their output,
        which the last of them writes): the file's node a fused op started from."""
        wanted = _BASE_TYPE.sub("", op_type)
        level = [label]
        for _ in range(4):
            for node in level:
                if self.types.get(node) == wanted:
                    return node
            level = [self.writers[name] for node in level if self.types.get(node) in _FUSED_AFTER
                     for name in self.inputs[node][: None if self.types[node] in ("Add", "Mul") else 1]
                     if name in self.writers]
        return label


def _candidates(name: str):
    """The run name, then each name one decoration fewer leads to."""
    seen = set()
    pending = [name]
    while pending:
        name = pending.pop(0)
        if not name or name in seen:
            continue
        seen.add(name)
        yield name
        pending += [name.removeprefix("fused "), _INLINED.sub("", name), _FUSION.sub("", name),
                    _SUFFIXES.sub("", name)]


def file_node_names(run_graph: Graph, model) -> dict[str, str]:
    """Run op name -> the name of the node of ``model`` (the user's ``onnx.ModelProto``) it comes
    from, or "" (inserted by onnxruntime, or not traceable by name)."""
    file = _FileNodes(model)
    found: dict[str, str] = {}
    for op in run_graph.ops:
        found[op.name] = ""
        if op.op_type in INSERTED_OP_TYPES:
            continue
        tensors = [run_graph.tensors[t].name for t in op.outputs]
        for candidate in _candidates(op.name):
            if candidate in file.names:
                found[op.name] = file.same_type_before(candidate, op.op_type)
                break
            if candidate in file.writers:
                found[op.name] = file.same_type_before(file.writers[candidate], op.op_type)
                break
        else:
            # A fused op onnxruntime named anew still writes the tensor its last node wrote.
            last = next((file.writers[t] for t in tensors if t in file.writers), "")
            found[op.name] = file.same_type_before(last, op.op_type) if last else ""
    # An inlined function's inner nodes belong to the file's node its last one stands for.
    readers: dict[int, list[str]] = {}
    for op in run_graph.ops:
        for t in op.inputs:
            readers.setdefault(t, []).append(op.name)
    for op in reversed(run_graph.ops):
        if not found[op.name] and op.name.startswith("_inlfunc_"):
            after = {found[r] for t in op.outputs for r in readers.get(t, [])}
            if len(after) == 1:
                found[op.name] = after.pop()
    return found
