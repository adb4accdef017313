"""Every tensor's shape and dtype from one onnxruntime run, where ONNX's own inference stops (a
Reshape of computed shapes, an inlined If, onnxruntime's own ops in its optimized graph).

The run is profiled: onnxruntime's profiler records each node's output shapes and types, so the
graph runs as written, its buffers reused and nothing copied out.  Asking for every node output
as a graph output instead (what a file whose nodes the profile cannot name still gets) keeps
every intermediate alive and copies each into Python: the 1024 x 1024 background-removal net took
15 s that way, against ~3 s for the profiled run.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

__all__ = ["shapes_from_run"]

# onnxruntime's profiler names element types as its C++ types do
_PROFILE_DTYPES = {"float": "float32", "double": "float64", "float16": "float16", "bfloat16": "bfloat16",
                   "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8",
                   "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "bool": "bool"}


def _session(model, *, profile_dir: str | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
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
        session.run(None, feed)
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
