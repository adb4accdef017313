"""Every tensor's shape and dtype from one onnxruntime run, where ONNX's own inference stops (a
Reshape of computed shapes, an inlined If, onnxruntime's own ops in its optimized graph).

The run is profiled: onnxruntime's profiler records each node's output shapes and types, so the
graph runs as written, its buffers reused and nothing copied out.  Asking for every node output
as a graph output instead (what a file whose nodes the profile cannot name still gets) keeps
every intermediate alive and copies each into Python: the 1024 x 1024 background-removal net took
15 s that way, against ~3 s for the profiled run.

A second run, only where a graph has ops whose cost its values set (``sign_misses_of_run``: a PRelu
branches on each element's sign), asks for just those ops' inputs as outputs; another, only where a
``Loop`` cannot be unrolled, counts its iterations (``loop_iterations``).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

__all__ = ["ShapeRunError", "bench_feed", "costed_unknown", "filled", "loop_iterations", "run_failure",
           "shapes_from_run", "shapes_of_run", "sign_misses", "values_of_run"]

# onnxruntime's profiler names element types as its C++ types do
_PROFILE_DTYPES = {"float": "float32", "double": "float64", "float16": "float16", "bfloat16": "bfloat16",
                   "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8",
                   "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "bool": "bool"}


class ShapeRunError(Exception):
    """onnxruntime loaded the model and failed running it on the inputs it was fed."""


def _session(model, *, profile_dir: str | None = None):
    import onnxruntime as ort

    ort.set_seed(0)  # a model's random ops (a VITS voice's noise, which sets its length) the same each run

    options = ort.SessionOptions()
    options.log_severity_level = 4  # a failed run is reported as a ModelLoadError, not on stderr
    options.intra_op_num_threads = 1  # one run for shapes: no thread pool to start on a busy machine
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if profile_dir is not None:
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(profile_dir) / "shapes")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def shapes_from_run(model, feed_of, wanted: list[str]) -> dict[str, tuple[tuple[int, ...], str]]:
    """Output name -> (shape, numpy dtype name) of ``model``'s nodes (an onnx ModelProto), from one
    onnxruntime run on ``feed_of(used input names)``; every name of ``wanted`` is in it, or the
    run is made again with them as graph outputs.  Raises what onnxruntime raises."""
    import numpy as np
    import onnx

    by_node = {node.name: [o for o in node.output] for node in model.graph.node if node.name}
    with tempfile.TemporaryDirectory(prefix="compress-shapes.") as work:
        session = _session(model, profile_dir=work)
        feed = feed_of({i.name for i in session.get_inputs()})  # an inlined If's condition input may be unused
        try:
            session.run(None, feed)
        except Exception as error:  # onnxruntime loaded it, and its inputs do not run: the caller's to say
            raise ShapeRunError(str(error).strip() or type(error).__name__) from error
        events = json.loads(Path(session.end_profiling()).read_text())
    found: dict[str, tuple[tuple[int, ...], str]] = {}
    for event in events:
        name, args = event.get("name", ""), event.get("args", {})
        if event.get("cat") != "Node" or not name.endswith("_kernel_time") or "output_type_shape" not in args:
            continue
        for out, typed in zip(by_node.get(name[: -len("_kernel_time")], ()), args["output_type_shape"]):
            ((kind, dims),) = typed.items()
            if out:
                found[out] = (tuple(int(d) for d in dims), _PROFILE_DTYPES.get(kind, kind))
    if all(name in found for name in wanted):
        return found
    # Nodes the profile did not name (no node name): every wanted tensor as a graph output.
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in wanted if name not in have)
    session = _session(probe)
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, feed)
    return {name: (tuple(int(d) for d in np.shape(v)), str(np.asarray(v).dtype)) for name, v in zip(names, values)}


def _numpy_dtype(dtype: str) -> str:
    """The numpy dtype of the reader's dtype name (an input it could not type: float32)."""
    return "float32" if dtype == "unknown" else dtype


def filled(shape: tuple[int, ...], dtype: str, value: float = 0):
    """An array of ``shape`` and the reader's ``dtype`` name, every element ``value``."""
    import numpy as np

    return np.full(shape, value, dtype=_numpy_dtype(dtype))


def shapes_of_run(path: Path, model, shapes: dict, specs, *, choices: list[str] = (),
                  values: dict[str, float] | None = None) -> tuple[dict[str, tuple[tuple[int, ...], str]], str]:
    """Every node output's (shape, dtype) of the .onnx at ``path``, from one onnxruntime run on the
    resolved input ``shapes``, fed what ``compress bench`` feeds: ``values`` (``--input-value``)
    where given, else its seeded random arrays (``choices``: with its Ifs inlined as ``model``, the
    reader's, has them); and onnxruntime's error where it loaded the model but could not run it on
    those inputs ("" otherwise).  What the model computes sizes from decides its shapes: Piper's
    VITS voice writes one frame of audio for zeros, far more for ``input_lengths=64``."""
    probe = _probe(path, choices)
    feed_of = bench_feed(probe, shapes, specs, values)
    produced = {out for node in probe.graph.node for out in node.output}  # not the reader's control markers
    try:
        return shapes_from_run(probe, feed_of, [out for node in model.graph.node for out in node.output
                                                if out and out in produced]), ""
    except ShapeRunError as error:  # these inputs do not run: the reader refuses what it cannot cost
        return {}, str(error)
    except Exception:  # noqa: BLE001 - onnxruntime cannot load it (a custom op): the file's inference is all there is
        return {}, ""


def _probe(path: Path, choices: list[str]):
    """The .onnx at ``path`` with its weights, its Ifs and Loops inlined as the reader's ``choices`` say."""
    import onnx

    from .onnx_control import inline_branches

    probe = onnx.load(str(path))
    if choices:
        probe, _, _ = inline_branches(probe, choices=list(choices))
    return probe


def loop_iterations(model, feed: dict) -> dict[str, int]:
    """Loop and Scan node name -> how many times its body ran in one onnxruntime run of ``model`` on
    ``feed``; {} where it cannot run.  A Scan's is its first scan input's length along its axis (that
    input a graph output of the run); a Loop's, by the profiler, which times each body node per
    iteration (1.5 s of profiler events for typeseg's 12 Mamba Scans of 1,536 steps: never for
    Scans).  Each body's nodes are named apart first: the profiler names a node by its name alone,
    and tf2onnx names every LSTM's body alike (piper-tts's diacritizer: 4 Loops of 47 steps were
    counted 188 each)."""
    import onnx

    nodes = [node for node in model.graph.node if node.op_type in ("Loop", "Scan")]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    scans = {}  # Scan name -> (its first scan input, that input's scan axis)
    for k, node in enumerate(node for node in probe.graph.node if node.op_type in ("Loop", "Scan")):
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Scan":
            first = len(node.input) - attrs["num_scan_inputs"].i
            axes = list(attrs["scan_input_axes"].ints) if "scan_input_axes" in attrs else [0]
            scans[node.name or node.output[0]] = (node.input[first], axes[0])
            continue
        for j, inner in enumerate(attrs["body"].g.node):
            inner.name = f"loop{k}/{j}"
    wanted = list(dict.fromkeys(name for name, _ in scans.values()))
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in wanted
                              if name not in {o.name for o in probe.graph.output})
    profiled = len(scans) < len(nodes)
    with tempfile.TemporaryDirectory(prefix="compress-loops.") as work:
        try:
            session = _session(probe, profile_dir=work if profiled else None)
            names = {i.name for i in session.get_inputs()}
            fed = {name: value for name, value in feed.items() if name in names}
            values = dict(zip(wanted, session.run(wanted, fed))) if wanted else {}
            if profiled:
                session.run(None, fed)
            events = json.loads(Path(session.end_profiling()).read_text()) if profiled else []
        except Exception:  # noqa: BLE001 - external weights, a custom op, inputs it refuses: not counted
            return {}
    runs: dict[str, int] = {}
    for event in events:
        name = event.get("name", "")
        if event.get("cat") == "Node" and name.endswith("_kernel_time"):
            runs[name[: -len("_kernel_time")]] = runs.get(name[: -len("_kernel_time")], 0) + 1
    found = {name: int(values[tensor].shape[axis]) for name, (tensor, axis) in scans.items()
             if tensor in values and -values[tensor].ndim <= axis < values[tensor].ndim}
    for k, node in enumerate(nodes):
        counted = [n for inner, n in runs.items() if inner.startswith(f"loop{k}/")]
        if counted and node.op_type == "Loop":
            found[node.name or node.output[0]] = max(counted)
    return found


def bench_feed(probe, shapes: dict, specs, values: dict[str, float] | None):
    """``used input names -> feed`` of what ``compress bench`` feeds ``probe`` (an onnx
    ModelProto): its seeded random arrays over the file's inputs in order, ``values``
    (``--input-value``) filled in, so a run sees the tensors of the run bench times."""
    import numpy as np
    import onnx

    dtypes = {spec.name: spec.dtype for spec in specs}

    def feed_of(used: set[str]) -> dict:
        from ..measure.bench import make_inputs

        inits, order = {i.name for i in probe.graph.initializer}, []
        for value in probe.graph.input:
            if value.name in inits:
                continue
            if value.name in shapes:
                shape, dtype = shapes[value.name], _numpy_dtype(dtypes[value.name])
            else:  # an input nothing reads (not a spec): its declared shape, 1 for an open dim
                shape = tuple(d.dim_value if d.dim_value > 0 else 1 for d in value.type.tensor_type.shape.dim)
                dtype = str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)))
            order.append((value.name, shape, dtype))
        arrays = make_inputs([(shape, dtype) for _, shape, dtype in order])
        return {name: filled(shape, dtype, (values or {})[name]) if name in (values or {}) else array
                for (name, shape, dtype), array in zip(order, arrays) if name in used}

    return feed_of


def sign_misses(values) -> float:
    """How many of ``values``' elements a branch on their sign mispredicts, walked in memory order:
    the elements times the least of their sign-flip rate (a predictor taking each sign as the
    last's) and their minority sign's share (one taking the majority's).  onnxruntime's PRelu
    branches per element: 0.44 ns an element of one sign, 4.7 of random signs on the EPYC Zen 4
    (microbench_kernels.py's prelu_signs family), and this count sets the difference within ~10 %."""
    import numpy as np

    signs = np.asarray(values).reshape(-1) > 0
    if signs.size < 2:
        return 0.0
    positive = float(signs.mean())
    flips = float(np.count_nonzero(signs[1:] != signs[:-1])) / (signs.size - 1)
    return signs.size * min(flips, positive, 1.0 - positive)


def values_of_run(path: Path, shapes: dict, specs, names: list[str], *, choices: list[str] = (),
                  values: dict[str, float] | None = None) -> dict:
    """``name -> array`` of each tensor of ``names`` in one onnxruntime run of the .onnx at ``path``
    on what ``compress bench`` feeds it (``shapes_of_run``'s inputs; a graph input is the feed
    itself): the values that set what a PRelu (``sign_misses``) or a tree ensemble's walks
    (``ort_trees.tree_walks``) cost.  {} where onnxruntime cannot run it (the ops then cost as their
    shapes say)."""
    import onnx

    probe = _probe(path, choices)
    have, inits = {o.name for o in probe.graph.output}, {i.name for i in probe.graph.initializer}
    fed = {v.name for v in probe.graph.input if v.name not in inits}
    fetched = [name for name in dict.fromkeys(names) if name not in fed]
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in fetched if name not in have)
    try:
        session = _session(probe)
        feed = bench_feed(probe, shapes, specs, values)({i.name for i in session.get_inputs()} | (fed & set(names)))
        return {**{name: feed[name] for name in names if name in feed},
                **(dict(zip(fetched, session.run(fetched, {i.name: feed[i.name] for i in session.get_inputs()})))
                   if fetched else {})}
    except Exception:  # noqa: BLE001 - a custom op, inputs it cannot run on: the shapes' cost stands
        return {}


# Nodes that compute shapes and indices, not the model's work: unknown, they cost next to nothing.
SHAPE_WORK = frozenset({"Shape", "Size", "Constant", "ConstantOfShape", "Cast", "Gather", "Unsqueeze", "Squeeze",
                        "Concat", "Slice", "Range", "Equal", "Where", "Identity"})


def costed_unknown(graph, known: dict, measured: dict) -> list[str]:
    """The nodes of ``graph`` (an onnx GraphProto) doing work, not ``SHAPE_WORK``, whose output
    shape neither the file's inference (``known``: name -> (dims, ...)) nor onnxruntime's run
    (``measured``) gave: each would be costed as 0 MACs and 0 bytes."""
    def unknown(name: str) -> bool:
        dims = measured[name][0] if name in measured else known.get(name, (None,))[0]
        return dims is None or None in dims

    return [node.name or node.output[0] for node in graph.node
            if node.op_type not in SHAPE_WORK and any(unknown(out) for out in node.output if out)]


def run_failure(failure: str, specs, shapes, values: dict[str, float]) -> str:
    """What a user reads when the shape run failed: onnxruntime's own words, what it was fed, and
    what to give instead."""
    first = next((line for line in failure.splitlines() if line.strip()), failure)
    first = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", first)  # its status code, then its source line:
    first = re.sub(r"Status Message: \S+:\d+ (?:[\w:]+\([^)]*\) )?", "", first)  # what is left says what went wrong
    fed = "; ".join(f"{spec.name} {','.join(map(str, shape)) or '()'} "
                    + (f"= {values[spec.name]:g}" if spec.name in values else "random, as bench feeds it")
                    for spec, shape in zip(specs, shapes))
    return (f"onnxruntime could not run it to learn the shapes it computes ({first[:400]}), fed {fed}; "
            "without them its ops past that point would be costed as nothing.  A model whose sizes come "
            "from an input's value (a length, a speed, a scale) needs it: give --input-value NAME=VALUE "
            "(and --input-shape) as the model is run")
