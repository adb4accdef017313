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
a note.

``inline_whiles`` replaces each ``WHILE`` (a Keras RNN the converter did not fuse, a decoding loop)
by one copy of its condition's and its body's ops, each run as many times as the loop iterates
(``Op.repeats``), and the copy while.cc makes of the loop-carried tensors every iteration (its
Eval_static: the body's outputs into its inputs).  The iterations are counted from a counter the
body steps by a constant (``ADD(x, c)``): its value before and after the loop in LiteRT's run of
the main subgraph, else from the bound the condition compares it with (``LESS(x, k)``, ``k`` a
constant).  ao-compensation-model's gait GRU (held-out set 18) runs a 200-step loop of 27 ops:
1.15 ms, where the WHILE costed as one copy of its inputs said 0.02.  A loop counted neither way
stays one op, with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from .ir import Op, Tensor, make_op, size_bytes

__all__ = ["Subgraph", "inline_ifs", "inline_whiles"]

_MAX_IFS = 256  # nested and sequential IFs together: more is not a model this costs
_SHAPE_OPS = frozenset({"SHAPE", "RANK", "SIZE"})  # their output depends on shapes, not values
# Ops of a loop body XNNPACK's delegate leaves to LiteRT's own kernels (no XNNPACK node of theirs), as it
# does any op on int32 / bool values (a loop's counters and conditions): each runs on its own and cuts
# the body's delegated run in two, so the loop pays a call for it (kernels.float32.WHILE's call_ns).
_LITERT_OWN = frozenset({"GATHER", "GATHER_ND", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL",
                         "LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT", "SELECT", "SELECT_V2", "CAST", "WHERE", "ARG_MAX",
                         "ARG_MIN", "FILL", "RANGE", "TILE", "SCATTER_ND", "ONE_HOT"})


class Subgraph(NamedTuple):
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    branches: dict[int, tuple[int, int]]  # an IF's first output tensor -> (then, else) subgraph indices
    loops: Mapping[int, tuple[int, int]] = MappingProxyType({})  # a WHILE's first output -> (cond, body) subgraphs
    dynamic: bool = False  # a tensor whose shape only a run sets (shape signature -1)


def inline_ifs(main: Subgraph, read: Callable[..., Subgraph], evaluate: Callable[[int], bool | None],
               known: frozenset = frozenset()) -> tuple[list[Tensor], list[Op], dict, tuple[str, ...]]:
    """(tensors, ops, loops, notes): ``main``'s with every IF replaced by one branch's ops and a copy
    of its outputs (``loops``: its WHILEs' and the chosen branches', ``Subgraph.loops``).  ``read(k, given=tensors)`` reads subgraph k, its inputs the caller's tensors;
    ``evaluate(t)`` is main tensor t's value on zero inputs, or on the numbers the user gave the
    ``known`` ones (``--input-value``); None where LiteRT cannot say."""
    tensors, ops, branches, loops = list(main.tensors), list(main.ops), dict(main.branches), dict(main.loops)
    top_level = len(tensors)  # tensors below this index are the main subgraph's: evaluate() knows them
    free = [i for i in main.inputs if i not in known]  # inputs whose values nobody gave
    judged: list[str] = []
    for _ in range(_MAX_IFS):
        at = next((k for k, op in enumerate(ops) if op.op_type == "IF" and op.outputs and op.outputs[0] in branches), None)
        if at is None:
            break
        op = ops[at]
        given = [tensors[i] for i in op.inputs[1:]]
        chosen = {k: _mapped(read(k, given=given), op.inputs[1:], tensors)
                  for k in dict.fromkeys(branches.pop(op.outputs[0]))}
        then_index, *_, else_index = [*chosen, *chosen]  # one index when both branches are the same subgraph
        value = None
        if op.inputs and op.inputs[0] < top_level and not _value_dependent(ops, free, op.inputs[0]):
            value = evaluate(op.inputs[0])
        if value is None:
            weight = {k: _weight_bytes(sub_ops, tensors) for k, (sub_ops, *_) in chosen.items()}
            pick = then_index if weight[then_index] >= weight[else_index] else else_index
            other = else_index if pick == then_index else then_index
            if pick != other:
                judged.append(f"{op.name!r}: its {'then' if pick == then_index else 'else'} branch (subgraph {pick}, "
                              f"{len(chosen[pick][0])} ops, {weight[pick]:,} weight bytes against "
                              f"{len(chosen[other][0])} ops, {weight[other]:,})")
        else:
            pick = then_index if value else else_index
        sub_ops, outputs, sub_branches, sub_loops = chosen[pick]
        branches.update(sub_branches)
        loops.update(sub_loops)
        copy = make_op(tensors, name=op.name, op_type="IF", kind="reshape", inputs=outputs, outputs=op.outputs,
                       macs=0, compute_dtype=op.compute_dtype, layout="nhwc")
        ops[at:at + 1] = [*sub_ops, copy]
    notes = []
    if judged:
        notes.append(f"{len(judged)} IF op(s) whose condition is known only at run time: each costed as the branch "
                     f"holding more weights ({'; '.join(judged[:2])}{'; ...' if len(judged) > 2 else ''})")
    return tensors, ops, loops, tuple(notes)


def inline_whiles(tensors: list[Tensor], ops: list[Op], loops: dict[int, tuple[int, int]],
                  read: Callable[..., Subgraph], number: Callable[[int], float | None],
                  constant: Callable[[int, int, list[Tensor]], float | None]) -> tuple[list[Tensor], list[Op], tuple[str, ...]]:
    """(tensors, ops, notes): each WHILE in ``ops`` whose iterations are counted (``while_trips``)
    replaced by its condition's ops (run one time more), its body's, and a copy of the loop-carried
    tensors, each ``Op.repeats`` that many times (times the WHILE's own, for a loop in a body).
    ``number(t)``: main tensor t's value after LiteRT's run (None where not known: a body's tensor);
    ``constant(k, t, tensors)``: tensor t of subgraph k (``tensors``: its, as read) as a number where it
    is a constant scalar."""
    tensors, ops, loops, copies = list(tensors), list(ops), dict(loops), []
    for _ in range(_MAX_IFS):
        at = next((k for k, op in enumerate(ops) if op.op_type == "WHILE" and op.outputs and op.outputs[0] in loops),
                  None)
        if at is None:
            break
        op = ops[at]
        cond_index, body_index = loops.pop(op.outputs[0])
        # A loop variable the body writes is a value each iteration (its first one a constant or not);
        # one it passes through unchanged stays what the WHILE is given (a weight stays a weight).
        first = read(body_index, given=[tensors[i] for i in op.inputs])
        kept = {j for j, (a, b) in enumerate(zip(first.inputs, first.outputs)) if a == b}
        given = [tensors[i] if j in kept else dataclasses.replace(
            tensors[i], is_constant=False, size_bytes=size_bytes(tensors[i].shape, tensors[i].dtype))
            for j, i in enumerate(op.inputs)]
        cond, body = read(cond_index, given=given), read(body_index, given=given)
        trips = while_trips(op, cond, body, number, lambda t, k=cond_index, sub=cond: constant(k, t, sub.tensors),
                            lambda t, k=body_index, sub=body: constant(k, t, sub.tensors))
        if trips is None:
            continue
        carried = []  # a kept variable its own tensor, a written one a new tensor of the loop's
        for j, i in enumerate(op.inputs):
            carried.append(i if j in kept else len(tensors))
            if j not in kept:
                tensors.append(given[j])
        cond_ops, _, _, cond_loops = _mapped(cond, carried, tensors)
        body_ops, outputs, _, body_loops = _mapped(body, carried, tensors)
        loops.update(cond_loops)
        loops.update(body_loops)
        # (its own terms, per iteration: WHILE, or WHILE_dynamic where the body's shapes change, which
        # while.cc runs by Eval_dynamic and LiteRT's own kernels; a call per op of the condition and body
        # those kernels run: all of a dynamic body's, a static one's that XNNPACK leaves out)
        own = [inner for inner in cond_ops + body_ops if body.dynamic or inner.op_type in _LITERT_OWN
               or inner.compute_dtype not in ("float32", "float16", "int8")]
        copies.append(dataclasses.replace(
            make_op(tensors, name=op.name, op_type="WHILE", kind="reshape", inputs=outputs, outputs=op.outputs,
                    macs=0, compute_dtype="float32", layout="nhwc"),
            variant="dynamic" if body.dynamic else "", kernel_calls=len(own), repeats=op.repeats * max(trips, 1)))
        # (a body whose shapes change runs on LiteRT's own kernels, on the calling thread: its ops "serial")
        serial = {"variant": "serial"} if body.dynamic else {}
        runs = [(inner, trips + 1) for inner in cond_ops] + [(inner, trips) for inner in body_ops]
        ops[at:at + 1] = [*(dataclasses.replace(inner, repeats=inner.repeats * op.repeats * times,
                                                **({} if inner.variant else serial)) for inner, times in runs),
                          copies[-1]]
    left = [op for op in ops if op.op_type == "WHILE" and not any(op is c for c in copies)]
    notes = ((f"{len(left)} WHILE op(s) ({', '.join(repr(op.name) for op in left[:3])}) whose iterations are not "
              "counted (no counter stepped by a constant): each costed as one copy of its inputs"),) if left else ()
    return tensors, ops, notes


def while_trips(op: Op, cond: Subgraph, body: Subgraph, number, cond_constant, body_constant) -> int | None:
    """The iterations of WHILE ``op``: for a loop variable j the body steps by a constant
    (output j = ADD(input j, c)), (after - before) / c from LiteRT's run (``number`` of the WHILE's
    input and output j), else the bound the condition compares it with, ceil((k - before) / c) for
    LESS(input j, k), k a constant; the first counted, None where none is."""
    import math

    made = {out: inner for inner in body.ops for out in inner.outputs}
    for j, out in enumerate(body.outputs[:len(op.inputs)]):
        step_op = made.get(out)
        if step_op is None or step_op.op_type != "ADD" or len(step_op.inputs) != 2 or body.inputs[j] not in step_op.inputs:
            continue
        other = step_op.inputs[1] if step_op.inputs[0] == body.inputs[j] else step_op.inputs[0]
        step = body_constant(other)
        before = number(op.inputs[j])
        if not step or before is None:
            continue
        after = number(op.outputs[j]) if j < len(op.outputs) else None
        if after is not None and (after - before) / step >= 0 and float((after - before) / step).is_integer():
            return int((after - before) / step)
        bound = next((cond_constant(c.inputs[1]) for c in cond.ops if c.op_type == "LESS" and len(c.inputs) == 2
                      and j < len(cond.inputs) and c.inputs[0] == cond.inputs[j]), None)
        if bound is not None and step > 0:
            return max(0, math.ceil((bound - before) / step))
    return None


def _mapped(sub: Subgraph, callers, tensors: list[Tensor]) -> tuple[list[Op], list[int], dict, dict]:
    """(ops, outputs, IF branches, WHILE loops) of subgraph ``sub`` in the caller's tensor numbering:
    its inputs are ``callers`` (an IF's inputs after the condition, a WHILE's), its other tensors
    appended to ``tensors``."""
    remap = dict(zip(sub.inputs, callers))
    for local, tensor in enumerate(sub.tensors):
        if local not in remap:
            remap[local] = len(tensors)
            tensors.append(tensor)
    ids = lambda indices: tuple(remap[i] for i in indices)
    ops = [dataclasses.replace(inner, inputs=ids(inner.inputs), outputs=ids(inner.outputs), weights=ids(inner.weights))
           for inner in sub.ops]
    return (ops, list(ids(sub.outputs)), {remap[k]: v for k, v in sub.branches.items()},
            {remap[k]: v for k, v in sub.loops.items()})


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
