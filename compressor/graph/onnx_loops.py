"""ONNX ``Loop`` nodes unrolled for the cost model: their bodies are what onnxruntime runs, trip
count times, and the op-level IR (one flat list of ops) would otherwise cost the ``Loop`` as one
op over its inputs' bytes (chars2vec's Keras LSTM, a ``Loop`` of 16 steps per layer as tf2onnx
writes it, read 1.9x its time that way).

A ``Loop`` is unrolled when its trip count is a constant or follows from the input shapes alone
(onnxruntime evaluates it once on zeros of those shapes, as an ``If``'s condition), its body holds
no subgraph of its own, and trip count x body nodes stays under ``MAX_UNROLLED_NODES``; its body
then runs that many times (an early exit by its condition output is not known here: a note says
so).  Iteration ``t``'s tensors take the suffix ``__it<t>``; carried values pass from one
iteration to the next, the last ones become the ``Loop``'s outputs, and each scan output is its
iterations' values stacked on a new first axis (Unsqueeze + Concat, as onnxruntime concatenates
them).

A ``Loop`` whose trip count its values set, or too long to unroll (PaddleOCR's table recognizer
decodes 501 steps of a 166-node body in a loop of at most 1,024: 0.33x of its time with the body
not costed), keeps one copy of its body, each op run as many times as the ``Loop`` iterated in one
run on bench's inputs (``ran_of``; ``Op.repeats``, the suffix ``__x<count>``); its shapes are the
first iteration's, but each scan output is that copy's value stacked as many times (Unsqueeze +
Expand: what follows it reads a tensor of the length it has); a body holding ``If`` nodes (and no
other subgraph) is kept so too, its ``If`` nodes then inlined as the graph's own (onnx_control.py).
Other ``Loop`` nodes (other nested bodies, or no run) stay, with a note.

A ``Scan`` is kept so, always (its length is its scan inputs', and a state-space model's selective
scan runs 1,536 steps of ~14 nodes: typeseg's bidirectional Mamba, 12 of them, read 0.14x of its time
with its bodies not costed): its body's scan inputs are the first slice of each along its axis (a
Gather), its states the Scan's, its scan outputs stacked as a kept Loop's.
"""

from __future__ import annotations

import re

__all__ = ["MAX_UNROLLED_NODES", "loop_node_name", "loop_repeats", "subgraphs", "unroll_loops"]

MAX_UNROLLED_NODES = 4096
_ITERATION = re.compile(r"__it\d+$")  # the suffix of an unrolled iteration's node names
_REPEATED = re.compile(r"__x(\d+)$")  # the suffix of a body copy run that many times


def loop_node_name(name: str) -> str:
    """The body node an unrolled iteration's node ``name`` is a copy of (``name`` itself otherwise):
    onnxruntime runs one node, with one copy of its packed weights, every iteration."""
    return _REPEATED.sub("", _ITERATION.sub("", name))


def loop_repeats(name: str) -> int:
    """How many times the runtime runs the node named ``name``: a kept Loop body's count, else 1."""
    found = _REPEATED.search(name)
    return int(found.group(1)) if found else 1


def subgraphs(node) -> list:
    """The graphs a node's attributes hold (an If's branches, a Loop's or Scan's body)."""
    return [g for a in node.attribute for g in (*a.graphs, *([a.g] if a.HasField("g") else []))]


def _rename_captured(graph, renamed) -> None:
    """``renamed`` applied (in place) to every name ``graph``'s nodes, and its own subgraphs', read from
    an enclosing scope: not one of its own inputs, initializers or node outputs."""
    local = ({out for inner in graph.node for out in inner.output} | {v.name for v in graph.input}
             | {init.name for init in graph.initializer})

    def outer(n: str) -> str:
        return n if n in local or not n else renamed(n)

    for inner in graph.node:
        inner.input[:] = [outer(n) for n in inner.input]
        for branch in subgraphs(inner):
            _rename_captured(branch, outer)
    for out in graph.output:  # a branch output passed through from outside
        out.name = outer(out.name)


def _copy_body(body, rename: dict, suffix: str, produced: set) -> tuple[list, list[str]]:
    """``body``'s nodes copied for one iteration: the names it makes take ``suffix``, its inputs
    ``rename``'s; (nodes, the names of its outputs)."""
    def renamed(n):
        return rename.get(n, n + suffix if n in produced else n)

    nodes = []
    for inner in body.node:
        copy = type(inner)()
        copy.CopyFrom(inner)
        copy.input[:] = [renamed(n) for n in copy.input]
        for branch in subgraphs(copy):  # an If's branches read the body's values by name
            _rename_captured(branch, renamed)
        copy.output[:] = [n + suffix if n else n for n in copy.output]
        copy.name = (copy.name or copy.output[0]) + suffix
        nodes.append(copy)
    return nodes, [renamed(o.name) for o in body.output]


def _stacked(name: str, out: str, count: int, axis: int, opset: int, inits: list) -> list:
    """Nodes writing ``out``: ``name`` (one iteration's scan output) given a new ``axis`` of ``count``
    (Unsqueeze, then Expand to that length: the bytes the Loop or Scan writes, the shape what follows
    it reads); the new axis alone (length 1) before opset 11."""
    import numpy as np
    from onnx import helper, numpy_helper

    one, axes, length = f"{out}/one_iteration", f"{out}/stack_axis", f"{out}/length"
    nodes = [helper.make_node("Unsqueeze", [name, axes], [one], name=one) if opset >= 13
             else helper.make_node("Unsqueeze", [name], [one], name=one, axes=[axis])]
    if opset < 11:
        return [*nodes, helper.make_node("Identity", [one], [out], name=f"{out}/stacked")]
    inits += [numpy_helper.from_array(np.array([axis], np.int64), axes),  # Unsqueeze's (13) and ScatterElements'
              numpy_helper.from_array(np.array([count], np.int64), length)]
    return [*nodes, helper.make_node("Shape", [one], [f"{out}/shape"], name=f"{out}/shape"),
            helper.make_node("ScatterElements", [f"{out}/shape", axes, length], [f"{out}/full"], name=f"{out}/full"),
            helper.make_node("Expand", [one, f"{out}/full"], [out], name=f"{out}/stacked")]


def _scan_copy(node, body, suffix: str, count: int, produced: set, opset: int) -> tuple[list, list]:
    """(nodes, initializers) standing for a ``Scan`` that ran ``count`` iterations: one copy of its
    body (names with ``suffix``: ``__x<count>``, run that many times) over each scan input's first
    slice along its axis (a Gather), its states from the Scan's inputs, its final states as the
    Scan's, and each scan output that copy's value stacked ``count`` times (``_stacked``)."""
    import numpy as np
    from onnx import helper, numpy_helper

    attrs = {a.name: a for a in node.attribute}
    scan_inputs = attrs["num_scan_inputs"].i
    states = len(node.input) - scan_inputs
    in_axes = list(attrs["scan_input_axes"].ints) if "scan_input_axes" in attrs else [0] * scan_inputs
    outputs = len(body.output) - states
    out_axes = list(attrs["scan_output_axes"].ints) if "scan_output_axes" in attrs else [0] * outputs
    first = f"{node.output[0]}{suffix}/first"
    inits = [numpy_helper.from_array(np.array(0, np.int64), first)]
    rename = {body.input[i].name: node.input[i] for i in range(states)}
    nodes = []
    for j in range(scan_inputs):
        row = f"{body.input[states + j].name}{suffix}/row"
        nodes.append(helper.make_node("Gather", [node.input[states + j], first], [row], name=row, axis=in_axes[j]))
        rename[body.input[states + j].name] = row
    copies, outs = _copy_body(body, rename, suffix, produced)
    nodes += copies
    nodes += [helper.make_node("Identity", [outs[i]], [out], name=f"{out}/scan_final")
              for i, out in enumerate(node.output[:states]) if out]
    for k, out in enumerate(node.output[states:]):
        if out:
            nodes += _stacked(outs[states + k], out, count, out_axes[k], opset, inits)
    return nodes, inits


def _loop_copies(node, body, tag: str, trips: int, repeats: int, produced: set, opset: int) -> tuple[list, list]:
    """(nodes, initializers) standing for a ``Loop``: its body copied ``trips`` times (names with
    ``tag`` and ``__it<t>``), or once named ``__x<repeats>`` (run that many times), each copy's carried
    values the next one's, the last the Loop's outputs, and each scan output its copies' values
    stacked (``_stacked`` for a repeated copy)."""
    import numpy as np
    from onnx import helper, numpy_helper

    carried = len(node.input) - 2
    state = list(node.input[2:])
    cond = node.input[1] if len(node.input) > 1 and node.input[1] else None
    new_nodes, inits, scans = [], [], [[] for _ in range(len(body.output) - 1 - carried)]
    for t in range(trips):
        suffix = tag + (f"__x{repeats}" if repeats else f"__it{t}")
        iteration = f"{node.output[0]}{suffix}/iter"
        inits.append(numpy_helper.from_array(np.array(t, np.int64), iteration))
        rename = {body.input[0].name: iteration}
        if cond is not None:
            rename[body.input[1].name] = cond
        elif len(body.input) > 1:
            rename[body.input[1].name] = f"{node.output[0]}/true"
        for j in range(carried):
            rename[body.input[2 + j].name] = state[j]
        copies, outs = _copy_body(body, rename, suffix, produced)
        new_nodes.extend(copies)
        state = outs[1:1 + carried]
        for k, name in enumerate(outs[1 + carried:]):
            scans[k].append(name)
    if cond is None and len(body.input) > 1:
        inits.append(numpy_helper.from_array(np.array(True), f"{node.output[0]}/true"))
    for j, out in enumerate(node.output[:carried]):
        if out:
            new_nodes.append(helper.make_node("Identity", [state[j]], [out], name=f"{out}/loop_final"))
    axes = f"{node.output[0]}/scan_axes"
    if any(scans) and opset >= 13:
        inits.append(numpy_helper.from_array(np.array([0], np.int64), axes))
    for out, names in zip(node.output[carried:], scans):
        if not out:
            continue
        if repeats:  # one copy's value, stacked as many times as the Loop ran: what follows sees its shape
            new_nodes += _stacked(names[0], out, repeats, 0, opset, inits)
            continue
        stacked = []
        for name in names:
            stacked.append(f"{name}/stacked")
            new_nodes.append(helper.make_node("Unsqueeze", [name, axes], [stacked[-1]], name=stacked[-1])
                             if opset >= 13 else helper.make_node("Unsqueeze", [name], [stacked[-1]],
                                                                  name=stacked[-1], axes=[0]))
        new_nodes.append(helper.make_node("Concat", stacked, [out], name=f"{out}/scan", axis=0))
    return new_nodes, inits


def unroll_loops(model, trip_count_of, counts: list[int] | None = None,
                 ran_of=None) -> tuple[list[str], list[int]]:
    """``(notes, counts)``: ``model`` (changed in place) with each ``Loop`` it can unroll unrolled,
    in graph order; ``trip_count_of(node)`` gives a ``Loop``'s trip count or None; ``ran_of(node)``
    (optional) how many times it iterated in a run, for one it cannot unroll; ``counts`` replays an
    earlier call's counts (-1: left as it was, -1 - N: one copy of the body run N times) on another
    copy of the model."""
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 11)
    made: list[int] = []
    unrolled, kept, repeated = [], [], []
    at = 0
    while True:
        at = next((i for i in range(at, len(graph.node)) if graph.node[i].op_type in ("Loop", "Scan")), None)
        if at is None:
            break
        node = graph.node[at]
        scan = node.op_type == "Scan"  # (kept as one copy only: its length is its inputs', known from a run)
        body = next(a.g for a in node.attribute if a.name == "body")
        trips = (counts[len(made)] if counts is not None and len(made) < len(counts)
                 else None if scan else trip_count_of(node))
        holders = [inner for inner in body.node if subgraphs(inner)]
        unrollable = (not scan and trips is not None and 1 <= trips and not holders
                      and trips * len(body.node) <= MAX_UNROLLED_NODES)
        repeats = -1 - trips if trips is not None and trips < -1 else 0  # a replayed "one copy, N runs"
        # a body whose only subgraphs are Ifs' (pmsh-ocr's decoder step): one copy, its Ifs then inlined
        # as the graph's own (onnx_control.inline_branches), on the first iteration's values; not one
        # building a sequence (torch.export's as_strided indices: its copy's first values are no final ones)
        if (not repeats and not unrollable and all(inner.op_type == "If" for inner in holders)
                and not (holders and any("Sequence" in inner.op_type for inner in body.node))
                and ran_of is not None and counts is None):
            repeats = max(ran_of(node) or 0, 0)
        if not repeats and not unrollable:
            made.append(-1)
            if not scan:  # (a Scan left whole: onnx_control's note)
                kept.append(node.name or node.output[0])
            at += 1
            continue
        made.append(-1 - repeats if repeats else trips)
        if repeats:
            trips = 1
        produced = {out for inner in body.node for out in inner.output if out} | {v.name for v in body.input}
        # a body named as an earlier one (tf2onnx names every LSTM's "while/..."), told apart by the Loop's
        # index: onnxruntime refuses two nodes of one name, and the shapes run found none of them
        taken = {n for inner in graph.node for n in (inner.name, *inner.output) if n}
        first = "__x" + str(repeats) if repeats else "__it0"
        tag = f"@{len(made) - 1}" if any(n + first in taken for n in produced | {i.name for i in body.node}) else ""
        if scan:
            new_nodes, inits = _scan_copy(node, body, tag + f"__x{repeats}", repeats, produced, opset)
        else:
            new_nodes, inits = _loop_copies(node, body, tag, trips, repeats, produced, opset)
        existing = {init.name for init in graph.initializer}
        graph.initializer.extend(init for init in body.initializer if init.name not in existing)
        graph.initializer.extend(inits)
        del graph.node[at]
        for offset, inner in enumerate(new_nodes):
            graph.node.insert(at + offset, inner)
        at += len(new_nodes)
        (repeated if repeats else unrolled).append(f"{node.name or node.output[0]!r} x{repeats or trips}")
    notes = []
    if unrolled:
        notes.append(f"{len(unrolled)} Loop node(s) unrolled by their trip counts ({', '.join(unrolled[:3])}"
                     f"{', ...' if len(unrolled) > 3 else ''}): an early exit by the body's condition is not known here")
    if repeated:
        notes.append(f"{len(repeated)} Loop / Scan node(s) costed as their body times the iterations they ran on the inputs "
                     f"bench feeds ({', '.join(repeated[:3])}{', ...' if len(repeated) > 3 else ''}): one copy of the "
                     "body, its shapes those of the first iteration")
    if kept:
        notes.append(f"{len(kept)} Loop node(s) ({', '.join(repr(k) for k in kept[:3])}): their trip count depends on "
                     "the input's values or their body is too large or nested; their bodies are not costed")
    return notes, made
