"""ONNX control flow for the cost model: an ``If`` node's ops live in its branch subgraphs,
which the op-level IR (one flat list of ops) would otherwise never see.  Silero VAD's whole
network sits inside two nested ``If``s on its sample-rate input: read as written it is "2 ops,
0.007 ms" where onnxruntime runs ~0.1 ms of convs and an LSTM.

``inline_branches`` replaces each ``If`` by the nodes of one branch, the way onnxruntime runs
it: the branch its condition selects when that condition is a constant, or follows from the
input shapes alone (Silero's "squeeze if the batch is 1": onnxruntime evaluates it once on
zeros of those shapes); else, as the condition depends on an input's value (its sample rate),
the branch holding more weights (ties: ``then_branch``), said so in a note.  Branch outputs take
the ``If``'s output names; branch initializers join the graph's.  ``Loop`` nodes are unrolled
where their trip count is known, or kept as one copy of their body run as many times as they ran,
as are ``Scan`` nodes (onnx_loops.py); a body neither can take is not costed, as a note says.
"""

from __future__ import annotations

import math

from .onnx_loops import loop_repeats, subgraphs, unroll_loops

__all__ = ["control_markers", "inline_branches", "referenced_names"]

_MAX_IFS = 256  # nested and sequential Ifs together: more is not a model this costs


def inline_branches(model, feed: dict | None = None, choices: list[str] | None = None,
                    known: frozenset = frozenset(), count_loops=None,
                    markers: bool = False) -> tuple[object, tuple[str, ...], list[str]]:
    """``(model, notes, choices)``: ``model`` (changed in place) with every ``If`` replaced by one
    branch, in graph order; ``feed`` (input name -> zeros of its resolved shape) lets a condition
    that follows from the shapes be evaluated; ``choices`` replays an earlier call's branches on
    another copy of the same model; ``known``: inputs whose ``feed`` value the user gave
    (``--input-value``), on which a condition is evaluated too; ``count_loops(model)`` (the reader's:
    one run on what bench feeds, ort_shapes.loop_iterations) gives the iterations of the Loops it
    cannot unroll.  ``markers``: each If, Loop and Scan onnxruntime runs leaves a node of its op type
    and name, no subgraph, that the cost model prices (``control_markers``); not for a model to run.
    Unchanged, no notes, when it has no If or Loop."""
    graph = model.graph
    notes: list[str] = []
    judged: list[str] = []  # the Ifs whose branch was chosen by weight, not by their condition
    made: list[str] = []
    ran: list[tuple[str, str]] = []  # (op type, name) of each If, Loop and Scan onnxruntime runs
    constants = _constant_values(graph)
    # an earlier call's choices: its Ifs' branches, then its Loops' trip counts ("loop:N")
    replayed = [c for c in choices if not c.startswith("loop:")] if choices is not None else None

    def inline_ifs() -> None:
        for _ in range(_MAX_IFS):
            count = sum(not c.startswith("loop:") for c in made)
            at = next((i for i, node in enumerate(graph.node) if node.op_type == "If"), None)
            if at is None:
                break
            node = type(graph.node[at])()
            node.CopyFrom(graph.node[at])  # its own copy: the graph's is removed below
            branches = {a.name: a.g for a in node.attribute if a.name in ("then_branch", "else_branch")}
            if replayed is not None and count < len(replayed):
                chosen, why = replayed[count], ""
            elif node.input and node.input[0] not in constants and feed is not None and not _value_dependent(graph, node.input[0], known):
                value = _evaluate(model, node.input[0], feed)
                chosen, why = _choose(node, branches, constants if value is None else {node.input[0]: value})
            else:
                chosen, why = _choose(node, branches, constants)
            made.append(chosen)
            ran.append(("If", node.name or node.output[0]))
            body = branches[chosen]
            nodes = _renamed(body, node)
            del graph.node[at]
            for offset, inner in enumerate(nodes):
                graph.node.insert(at + offset, inner)
            graph.initializer.extend(body.initializer)
            graph.value_info.extend(v for v in body.value_info if v.name not in {o.name for o in body.output})
            constants.update(_constant_values(body))
            if why:
                judged.append(f"{node.name or node.output[0]!r}: {chosen}, {why}")

    inline_ifs()
    # Loops (onnx_loops.py): unrolled by a trip count known from constants or shapes alone.
    constants_int = _constant_ints(graph)

    def trip_count(node) -> int | None:
        m = node.input[0] if node.input else ""
        if not m:
            return None
        if m in constants_int:
            return constants_int[m]
        if feed is None or _value_dependent(graph, m, known):
            return None
        return _evaluate(model, m, feed, scalar=int)

    replay = [int(c[5:]) for c in choices if c.startswith("loop:")] if choices is not None else None
    iterations: list[dict[str, int]] = []

    def ran_loops(node) -> int | None:  # one run for all of them, made when the first asks
        if not iterations:
            iterations.append(count_loops(model) if count_loops is not None else {})
        return iterations[0].get(node.name or node.output[0])

    loops = [(node.op_type, node.name or node.output[0]) for node in graph.node if node.op_type in ("Loop", "Scan")]
    loop_notes, counts = unroll_loops(model, trip_count, replay, ran_loops)
    # each Loop (Scan) unrolled or kept as one copy still runs as onnxruntime's, its iterations' worth
    ran.extend((op_type, f"{name}__x{count if count > 0 else -1 - count}")
               for (op_type, name), count in zip(loops, counts) if count > 0 or count < -1)
    notes.extend(loop_notes)
    made.extend(f"loop:{c}" for c in counts)
    if any(node.op_type == "If" for node in graph.node):  # a kept Loop body's Ifs, now the graph's
        constants.update(_constant_values(graph))
        inline_ifs()
    if judged:
        notes.append(f"{len(judged)} If node(s) whose condition is known only at run time: each costed as the "
                     f"branch holding more weights ({'; '.join(judged[:2])}{'; ...' if len(judged) > 2 else ''})")
    scans = [n for n in graph.node if n.op_type == "Scan"]
    if scans:
        notes.append(f"{len(scans)} Scan node(s) ({', '.join(repr(n.name or n.output[0]) for n in scans[:3])}): "
                     "their bodies are not costed")
    if markers:
        control_markers(graph, ran)
    return model, tuple(notes), made


def control_markers(graph, ran: list[tuple[str, str]]) -> None:
    """A node per If, Loop and Scan onnxruntime runs (``ran``: op type, name), appended to ``graph``: its
    op type and name (a kept Loop body's If, and a Loop or Scan, named ``__x<count>``: run that many
    times, ``onnx_loops.loop_repeats``), no inputs, a float of its own out (its terms are fp32 ones).
    onnxruntime's If costs ~0.8 us a run beyond its branch's nodes, its Loop ~0.7 us an iteration, its
    Scan ~0.3 (``scripts/microbench_probes.py --probe control``): Silero VAD's If graph runs 7 Ifs a call."""
    from onnx import TensorProto, helper

    for op_type, name in ran:
        out = f"{name}/ran"
        graph.node.append(helper.make_node(op_type, [], [out], name=name))
        graph.value_info.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, []))


def _value_dependent(graph, name: str, known: frozenset = frozenset()) -> bool:
    """Whether tensor ``name`` depends on the value of a graph input, not only on shapes: a
    walk back through its producers that stops at Shape / Size (shape only), constants and the
    ``known`` inputs (their values given)."""
    inputs = {v.name for v in graph.input} - {init.name for init in graph.initializer} - known
    producer = {out: node for node in graph.node for out in node.output if out}
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen or not current:
            continue
        seen.add(current)
        if current in inputs:
            return True
        node = producer.get(current)
        if node is None or node.op_type in ("Shape", "Size", "Constant"):
            continue
        todo.extend(node.input)
    return False


def _evaluate(model, name: str, feed: dict, scalar=bool):
    """The value of scalar tensor ``name`` (as ``scalar``: an If's condition, a Loop's trip count),
    from one onnxruntime run of ``model`` on ``feed``; None where that run fails."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
        used = {i.name for i in session.get_inputs()}
        (value,) = session.run([name], {k: v for k, v in feed.items() if k in used})
    except Exception:  # noqa: BLE001 - whatever stops the run, the weights decide instead
        return None
    return scalar(np.asarray(value).reshape(-1)[0]) if np.asarray(value).size == 1 else None


def _choose(node, branches: dict, constants: dict) -> tuple[str, str]:
    """(branch name, why it was chosen where that is a judgement, else '')."""
    condition = constants.get(node.input[0]) if node.input else None
    if condition is not None:
        return ("then_branch" if condition else "else_branch"), ""
    weights = {name: _weight_elements(g) for name, g in branches.items()}
    chosen = "then_branch" if weights.get("then_branch", 0) >= weights.get("else_branch", 0) else "else_branch"
    other = "else_branch" if chosen == "then_branch" else "then_branch"
    return chosen, f"{weights[chosen]:,} weight elements against {weights.get(other, 0):,}"


def _weight_elements(graph) -> int:
    """Initializer and Constant elements of a subgraph and of any subgraph inside it."""
    total = sum(math.prod(init.dims) for init in graph.initializer)
    for node in graph.node:
        for attribute in node.attribute:
            if node.op_type == "Constant" and attribute.name == "value":
                total += math.prod(attribute.t.dims)
            if attribute.g.node:
                total += _weight_elements(attribute.g)
            for sub in attribute.graphs:
                total += _weight_elements(sub)
    return total


def _renamed(body, node) -> list:
    """The branch's nodes with its outputs renamed to the ``If``'s; an output the branch does
    not compute itself (an outer tensor passed through) becomes an Identity.  An ``If`` of a kept
    Loop body's copy (its name's ``__xN``) passes that count on to its branch's nodes."""
    from onnx import helper

    repeats = loop_repeats(node.name or node.output[0])  # an If of a kept Loop body's copy: its branch runs as often
    tail = f"__x{repeats}" if repeats > 1 else ""
    rename = {}
    produced = {out for inner in body.node for out in inner.output}
    extra = []
    for branch_out, if_out in zip(body.output, node.output):
        if branch_out.name in produced:
            rename[branch_out.name] = if_out
        else:
            extra.append(helper.make_node("Identity", [branch_out.name], [if_out], name=f"{if_out}/passthrough"))
    nodes = []
    for inner in body.node:
        copy = type(inner)()
        copy.CopyFrom(inner)
        copy.output[:] = [rename.get(name, name) for name in copy.output]
        copy.input[:] = [rename.get(name, name) for name in copy.input]
        if tail:
            copy.name = (copy.name or copy.output[0]) + tail
        nodes.append(copy)
    return nodes + extra


def _constant_values(graph) -> dict[str, bool]:
    """Truth values of scalar bool tensors the graph holds as constants (an If's condition)."""
    return _scalar_constants(graph, 9, bool)  # TensorProto.BOOL


def _constant_ints(graph) -> dict[str, int]:
    """Values of scalar int64 tensors the graph holds as constants (a Loop's trip count)."""
    return _scalar_constants(graph, 7, int)  # TensorProto.INT64


def _scalar_constants(graph, data_type: int, convert) -> dict:
    """Name -> ``convert``-ed value of every one-element initializer or Constant of ``data_type``."""
    from onnx import numpy_helper

    values = {}
    tensors = [(init.name, init) for init in graph.initializer]
    tensors += [(node.output[0], a.t) for node in graph.node if node.op_type == "Constant" and node.output
                for a in node.attribute if a.name == "value"]
    for name, tensor in tensors:
        if math.prod(tensor.dims) == 1 and tensor.data_type == data_type:
            values[name] = convert(numpy_helper.to_array(tensor).reshape(-1)[0])
    return values


def referenced_names(graph) -> set[str]:
    """Every value name a node of ``graph`` reads, its subgraphs' nodes included (a branch body
    reads the outer graph's values by name, not through its ``If``'s inputs), and the graph's
    outputs: an input outside this set feeds nothing (onnxruntime's optimized copy of a Caffe2
    export keeps its folded weights' shape inputs, read by nobody)."""
    names = {o.name for o in graph.output}
    for node in graph.node:
        names.update(node.input)
        for body in subgraphs(node):
            names |= referenced_names(body)
    return names
