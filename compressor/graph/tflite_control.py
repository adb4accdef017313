"""TFLite control flow for the cost model: an ``IF`` op runs one of two subgraphs of the file,
whose ops the op-level IR (subgraph 0, one flat list) would otherwise never see, and which the
op itself was costed as a copy of all its inputs, weights passed to the branches included.

openWakeWord's ``hey_jarvis.tflite`` (onnx-tf's conversion of an ONNX ``If``) ends in an IF
whose then branch runs the whole network again and whose else branch returns its input: read
as written the IF was 25 us of copying 411 KB, where LiteRT runs the cheap branch in 14 us in all.

``inline_ifs`` replaces each ``IF`` by the ops of one branch and a copy of its outputs into the
IF's (TFLite's if.cc copies them; constant inputs are shared, not copied), choosing the branch
as onnx_control.py does for ONNX ``If``: the one its condition selects when that follows from
the input shapes alone (LiteRT evaluates it once on zeros of those shapes); else, as the
condition depends on an input's value, the branch holding more weights (ties: then), said so in
a note.  ``WHILE`` bodies run a data-dependent number of times and are not inlined: a note says
their bodies are not costed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

from .ir import Op, Tensor, make_op

__all__ = ["Subgraph", "inline_ifs"]

_MAX_IFS = 256  # nested and sequential IFs together: more is not a model this costs
_SHAPE_OPS = frozenset({"SHAPE", "RANK", "SIZE"})  # their output depends on shapes, not values


class Subgraph(NamedTuple):
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    branches: dict[int, tuple[int, int]]  # an IF's first output tensor -> (then, else) subgraph indices


def inline_ifs(main: Subgraph, read: Callable[..., Subgraph], evaluate: Callable[[int], bool | None],
               known: frozenset = frozenset()) -> tuple[list[Tensor], list[Op], tuple[str, ...]]:
    """(tensors, ops, notes): ``main``'s with every IF replaced by one branch's ops and a copy of
    its outputs.  ``read(k, given=tensors)`` reads subgraph k, its inputs the caller's tensors;
    ``evaluate(t)`` is main tensor t's value on zero inputs, or on the numbers the user gave the
    ``known`` ones (``--input-value``); None where LiteRT cannot say."""
    tensors, ops, branches = list(main.tensors), list(main.ops), dict(main.branches)
    top_level = len(tensors)  # tensors below this index are the main subgraph's: evaluate() knows them
    free = [i for i in main.inputs if i not in known]  # inputs whose values nobody gave
    judged: list[str] = []
    for _ in range(_MAX_IFS):
        at = next((k for k, op in enumerate(ops) if op.op_type == "IF" and op.outputs and op.outputs[0] in branches), None)
        if at is None:
            break
        op = ops[at]
        given = [tensors[i] for i in op.inputs[1:]]
        chosen = {k: _mapped(read(k, given=given), op, tensors) for k in dict.fromkeys(branches.pop(op.outputs[0]))}
        then_index, *_, else_index = [*chosen, *chosen]  # one index when both branches are the same subgraph
        value = None
        if op.inputs and op.inputs[0] < top_level and not _value_dependent(ops, free, op.inputs[0]):
            value = evaluate(op.inputs[0])
        if value is None:
            weight = {k: _weight_bytes(sub_ops, tensors) for k, (sub_ops, _, _) in chosen.items()}
            pick = then_index if weight[then_index] >= weight[else_index] else else_index
            other = else_index if pick == then_index else then_index
            if pick != other:
                judged.append(f"{op.name!r}: its {'then' if pick == then_index else 'else'} branch (subgraph {pick}, "
                              f"{len(chosen[pick][0])} ops, {weight[pick]:,} weight bytes against "
                              f"{len(chosen[other][0])} ops, {weight[other]:,})")
        else:
            pick = then_index if value else else_index
        sub_ops, outputs, sub_branches = chosen[pick]
        branches.update(sub_branches)
        copy = make_op(tensors, name=op.name, op_type="IF", kind="reshape", inputs=outputs, outputs=op.outputs,
                       macs=0, compute_dtype=op.compute_dtype, layout="nhwc")
        ops[at:at + 1] = [*sub_ops, copy]
    notes = []
    if judged:
        notes.append(f"{len(judged)} IF op(s) whose condition is known only at run time: each costed as the branch "
                     f"holding more weights ({'; '.join(judged[:2])}{'; ...' if len(judged) > 2 else ''})")
    loops = [op for op in ops if op.op_type == "WHILE"]
    if loops:
        notes.append(f"{len(loops)} WHILE op(s) ({', '.join(repr(op.name) for op in loops[:3])}): their bodies run a "
                     "data-dependent number of times and are not costed")
    return tensors, ops, tuple(notes)


def _mapped(sub: Subgraph, op: Op, tensors: list[Tensor]) -> tuple[list[Op], list[int], dict[int, tuple[int, int]]]:
    """(ops, outputs, IF branches) of branch ``sub`` in the caller's tensor numbering: its inputs are
    the IF's (after the condition), its other tensors appended to ``tensors``."""
    remap = dict(zip(sub.inputs, op.inputs[1:]))
    for local, tensor in enumerate(sub.tensors):
        if local not in remap:
            remap[local] = len(tensors)
            tensors.append(tensor)
    ids = lambda indices: tuple(remap[i] for i in indices)
    ops = [dataclasses.replace(inner, inputs=ids(inner.inputs), outputs=ids(inner.outputs), weights=ids(inner.weights))
           for inner in sub.ops]
    return ops, list(ids(sub.outputs)), {remap[k]: v for k, v in sub.branches.items()}


def _weight_bytes(ops: list[Op], tensors: list[Tensor]) -> int:
    """Bytes of the constants a branch's ops read (its own, and those the IF passes in)."""
    return sum(tensors[i].size_bytes for i in {i for op in ops for i in op.inputs if tensors[i].is_constant})


def _value_dependent(ops: list[Op], inputs: list[int], index: int) -> bool:
    """Whether tensor ``index`` depends on a graph input's value, not only on shapes: a walk back
    through its producers that stops at SHAPE / RANK / SIZE and constants."""
    producer = {out: op for op in ops for out in op.outputs}
    graph_inputs, seen, todo = set(inputs), set(), [index]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in graph_inputs:
            return True
        op = producer.get(current)
        if op is not None and op.op_type not in _SHAPE_OPS:
            todo.extend(op.inputs)
    return False
