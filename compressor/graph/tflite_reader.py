"""The TFLite half of the IR: a `.tflite` flatbuffer (subgraph 0) read into a ``Graph``.

Kinds and MACs per builtin op (the formulas are ir.py's docstring); a DEQUANTIZE of a constant
is folded into its consumers, as LiteRT does at load time.
"""

from __future__ import annotations

import collections
import math
from pathlib import Path

from ..errors import ExportError
from ..tflite.flatbuffer import builtin_op_names, check_identifier
from .ir import (
    Graph,
    Tensor,
    compact,
    elements,
    make_op,
    op_dtype,
    size_bytes,
    transpose_rows,
)
from .litert_run import LiteRTRun, allocation_stalled, value_dependent_shapes
from .shapes import InputSpec, check_input_values, resolve_input_shapes
from .tflite_control import Subgraph, inline_ifs, inline_whiles
from .tflite_kernels import ACTIVATION_OPTIONS, batch_matmul_variant, fused_activation

__all__ = ["read_tflite"]


_TFLITE_KINDS = {
    "DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "fully_connected", "BATCH_MATMUL": "fully_connected",
    "CONV_3D": "conv", "TRANSPOSE_CONV": "conv", "CONV_3D_TRANSPOSE": "conv",
    "QUANTIZE": "quantize", "DEQUANTIZE": "quantize",
    **dict.fromkeys(("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN",
                     "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL"), "pool"),
    **dict.fromkeys(("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "CONCATENATION", "PACK", "UNPACK", "SPLIT",
                     "SPLIT_V", "SLICE", "STRIDED_SLICE", "PAD", "PADV2", "MIRROR_PAD", "GATHER", "GATHER_ND",
                     "TILE", "BROADCAST_TO", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BATCH_TO_SPACE_ND",
                     "SPACE_TO_BATCH_ND", "REVERSE_V2", "READ_VARIABLE", "ASSIGN_VARIABLE"), "reshape"),
    **dict.fromkeys(("ADD", "SUB", "MUL", "DIV", "ADD_N", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1",
                     "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "PRELU", "ELU", "GELU", "MAXIMUM",
                     "MINIMUM", "SQUARED_DIFFERENCE", "ABS", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE", "NEG",
                     "POW", "FLOOR", "CEIL", "ROUND", "SIN", "COS", "SIGN", "CAST", "SELECT", "SELECT_V2",
                     "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "LOGICAL_AND",
                     "LOGICAL_OR", "LOGICAL_NOT", "FLOOR_DIV", "FLOOR_MOD"), "elementwise"),
}


def read_tflite(path: Path, *, input_shapes: tuple[tuple[int, ...], ...] | None = None,
                input_values: dict[str, float] | None = None) -> Graph:
    """Read subgraph 0 of ``path``; dynamic input dims (``shape_signature`` -1) resolved by
    ``shapes.resolve_input_shapes``, every tensor then shaped by LiteRT itself when they change;
    an IF's condition evaluated on zeros, or on ``input_values`` (input name -> number) given."""
    import dataclasses

    from ai_edge_litert import schema_py_generated as schema

    buf = path.read_bytes()
    check_identifier(buf, path)
    model = schema.Model.GetRootAs(buf, 0)
    if model.SubgraphsLength() == 0:
        raise ExportError(f"{path}: the model has no subgraph")
    sub = model.Subgraphs(0)
    builtin_names = builtin_op_names()
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}

    specs = []
    for j in range(sub.InputsLength()):
        t = sub.Tensors(int(sub.Inputs(j)))
        signature = [int(t.ShapeSignature(k)) for k in range(t.ShapeSignatureLength())]
        dims = tuple(int(t.Shape(k)) for k in range(t.ShapeLength()))
        if signature and len(signature) == len(dims):
            dims = tuple(d if s >= 0 else -1 for d, s in zip(dims, signature))
        specs.append(InputSpec((t.Name() or b"").decode("utf-8", "replace"),
                               tuple(d if d >= 0 else None for d in dims)))
    shapes, notes = resolve_input_shapes(tuple(specs), input_shapes, path=path, resizable=True)
    declared = tuple(tuple(1 if d is None else d for d in spec.dims) for spec in specs)
    values = check_input_values(tuple(specs), input_values, path=path)
    litert = LiteRTRun(path, shapes, [values.get(spec.name, 0) for spec in specs])
    # sizes only a run gives (framed audio, FILLs, gathers allocation leaves at the file's sizes): the
    # run's shapes; else, resized inputs, allocation's
    allocated = litert.allocated_shapes() if shapes != declared else {}
    resized = (litert.run_shapes() if value_dependent_shapes(sub) or allocation_stalled(sub, allocated)
               else None) or allocated

    read = _SubgraphReader(model, schema, builtin_names, type_names)
    main = read(0, resized)
    # An IF's ops live in its branch subgraphs (tflite_control.py): one is inlined.
    tensors, ops, loops, control_notes = inline_ifs(
        main, read, litert.value, known=frozenset(i for i, spec in zip(main.inputs, specs) if spec.name in values))
    # A WHILE's body and condition, run as many times as it iterates (tflite_control.py).
    top = len(main.tensors)
    tensors, ops, loop_notes = inline_whiles(
        tensors, ops, loops, read,
        lambda t: (litert.number(t) if (known := read.constant(0, t, main.tensors)) is None else known) if t < top else None,
        read.constant)
    notes = (*notes, *control_notes, *loop_notes)
    graph = compact(tensors, ops, main.inputs, main.outputs, "tflite")
    # (the ops it costs: a custom op of an IF's branch not taken is not this graph's)
    builtins = set(builtin_names.values())
    custom = collections.Counter(op.op_type for op in graph.ops
                                 if op.op_type not in builtins and op.op_type != TRANSPOSE_CONV_CUSTOM)
    if custom:  # a kernel nobody here measured: said, not silently costed as a copy
        names = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in custom.most_common())
        note = (f"{sum(custom.values())} custom op(s) ({names}): no kernel of theirs is known here, each is "
                "costed as a memory-bound op over its bytes; the runtime needs them registered to run the file")
        notes = (*notes, note)
    return dataclasses.replace(graph, notes=notes)


class _SubgraphReader:
    """Reads one subgraph of the model into IR tensors and ops (its own tensor numbering): the
    main one, and the branches of its IFs (tflite_control.py)."""

    def __init__(self, model, schema, builtin_names, type_names) -> None:
        self.model, self.schema, self.builtin_names, self.type_names = model, schema, builtin_names, type_names

    def __call__(self, index: int, resized: dict[int, tuple[int, ...]] | None = None, given=()) -> Subgraph:
        """Subgraph ``index``; ``resized``: tensor -> shape LiteRT gave it; ``given``: the caller's
        tensors passed to its inputs (an IF's: a weight passed in is the branch's weight)."""
        import dataclasses

        resized = resized or {}
        model, schema, type_names, builtin_names = self.model, self.schema, self.type_names, self.builtin_names
        sub = model.Subgraphs(index)
        tensors = []
        for i in range(sub.TensorsLength()):
            t = sub.Tensors(i)
            shape = resized.get(i) or tuple(d if d >= 0 else 1 for d in (int(t.Shape(j)) for j in range(t.ShapeLength())))
            dtype = type_names.get(t.Type(), f"type{t.Type()}")
            data_bytes = 0
            if 0 < t.Buffer() < model.BuffersLength():
                buffer = model.Buffers(t.Buffer())
                # Large models keep the data outside the flatbuffer (offset/size) instead of in `data`.
                data_bytes = buffer.DataLength() or (buffer.Size() if buffer.Offset() > 1 else 0)
            constant = data_bytes > 0 and not t.IsVariable()
            tensors.append(Tensor(name=(t.Name() or b"").decode("utf-8", "replace"), shape=shape, dtype=dtype,
                                  size_bytes=data_bytes if constant else size_bytes(shape, dtype),
                                  is_constant=constant))

        for j, tensor in enumerate(given):
            tensors[int(sub.Inputs(j))] = tensor

        def builtin_of(op) -> int:
            code = model.OperatorCodes(op.OpcodeIndex())
            # Files from before schema v3a hold the code in the int8 `deprecated_builtin_code` only;
            # codes above 127 sit in `builtin_code` with the old field at its placeholder 127.
            return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())

        def op_type_of(op) -> str:
            builtin = builtin_of(op)
            if builtin == schema.BuiltinOperator.CUSTOM:
                return (model.OperatorCodes(op.OpcodeIndex()).CustomCode() or b"CUSTOM").decode("utf-8", "replace")
            return builtin_names.get(builtin, f"BUILTIN_{builtin}")

        raw = [sub.Operators(i) for i in range(sub.OperatorsLength())]
        # XNNPACK and the reference kernels dequantize constant weights once at load time, and
        # expand sparse ones (DENSIFY) once too: the op's output is the weight, the input its bytes.
        # fp16 weights and sparse ones are unpacked: the weight the kernel reads (and RAM holds) is
        # the float32 / dense output (XNNPACK packs MediaPipe's fp16 convs as fp32: 2x the file's).
        alias = {}
        for op in raw:
            ins, kind = [int(op.Inputs(j)) for j in range(op.InputsLength())], op_type_of(op)
            if kind in ("DEQUANTIZE", "DENSIFY") and ins and ins[0] >= 0 and tensors[ins[0]].is_constant:
                out = int(op.Outputs(0))
                unpacked = kind == "DENSIFY" or tensors[ins[0]].dtype == "float16"
                if unpacked:
                    tensors[out] = dataclasses.replace(tensors[out], is_constant=True)
                alias[out] = out if unpacked else ins[0]

        ops, branches, loops = [], {}, {}
        for op in raw:
            op_type = op_type_of(op)
            if op_type in ("IF", "WHILE") and op.OutputsLength() and op.BuiltinOptions() is not None:
                options = schema.IfOptions() if op_type == "IF" else schema.WhileOptions()
                options.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                if op_type == "IF":
                    branches[int(op.Outputs(0))] = (options.ThenSubgraphIndex(), options.ElseSubgraphIndex())
                else:
                    loops[int(op.Outputs(0))] = (options.CondSubgraphIndex(), options.BodySubgraphIndex())
            outs = [int(op.Outputs(j)) for j in range(op.OutputsLength()) if op.Outputs(j) >= 0]
            if outs and outs[0] in alias:
                continue
            slots = [alias.get(int(op.Inputs(j)), int(op.Inputs(j))) if op.Inputs(j) >= 0 else None
                     for j in range(op.InputsLength())]
            kind, macs, weight_slots = _tflite_kind_macs(op, op_type, slots, outs, tensors, schema)
            steps = _sequence_steps(op, op_type, slots, tensors, schema)
            weights = [slots[j] for j in weight_slots if j < len(slots) and slots[j] is not None]
            ins = [i for i in slots if i is not None]
            groups = 1
            if op_type == "CONV_2D" and len(slots) > 1 and slots[0] is not None and slots[1] is not None:
                # A grouped CONV_2D: its filter holds Cin / groups channels (TFLite shapes are not padded)
                x, w = tensors[slots[0]].shape, tensors[slots[1]].shape
                if x and w and x[-1] and w[-1] and x[-1] % w[-1] == 0:
                    groups = x[-1] // w[-1]
            ops.append(make_op(tensors, name=tensors[outs[0]].name if outs else op_type, op_type=op_type, kind=kind,
                                inputs=ins, outputs=outs, macs=macs, weights=weights, layout="nhwc", recurrent_steps=steps,
                                groups=groups,
                                compute_dtype=op_dtype(tensors, ins, outs, weights, kind)))
            if op_type in ACTIVATION_OPTIONS:
                ops[-1] = dataclasses.replace(ops[-1], fused_activation=fused_activation(op, op_type, schema))
            elif op_type == "BATCH_MATMUL":
                ops[-1] = dataclasses.replace(ops[-1], variant=batch_matmul_variant(sub, slots, tensors))
            elif op_type == "TRANSPOSE_CONV" and slots and slots[0] is not None and not tensors[slots[0]].is_constant:
                # an output shape the graph computes (a converter's, of a dynamic dim): XNNPACK's delegate takes
                # only a static one, so LiteRT's own kernel runs it: a GEMM, ~16 ns a row (an input position:
                # Op.kernel_calls) on an EPYC Zen 4, then col2im
                x = tensors[slots[2]].shape if len(slots) > 2 and slots[2] is not None else None
                ops[-1] = dataclasses.replace(ops[-1], variant="dynamic", kernel_calls=elements(x) // x[-1] if x else 0)
            elif op_type == "RFFT2D" and macs:  # one rdft2d call per [H, W] plane
                x = tensors[slots[0]].shape
                ops[-1] = dataclasses.replace(ops[-1], kernel_calls=elements(x) // (x[-2] * x[-1]))
        outputs = [int(sub.Outputs(j)) for j in range(sub.OutputsLength())]
        # One input channel times a multiplier (what the converter makes of a 1-channel conv: an audio
        # stem, a grayscale image's first layer): its one input channel recorded, so a CPU target costs
        # it as the dense conv XNNPACK runs (cost.latency.as_run_kind).
        ops = [dataclasses.replace(op, in_channels=1) if op.op_type == "DEPTHWISE_CONV_2D" and op.inputs
               and (tensors[op.inputs[0]].shape or (0,))[-1] == 1 and op.out_channels > 1 else op for op in ops]
        folds = _pads_into_convs(model, sub, raw, op_type_of, alias, tensors, outputs, schema)
        ops = [dataclasses.replace(op, pad_into_conv=True) if op.outputs and op.outputs[0] in folds else op for op in ops]
        ops = [dataclasses.replace(op, kernel_calls=_transpose_rows(model, sub, op, tensors)) if op.op_type == "TRANSPOSE"
               else op for op in ops]
        # x * LOGISTIC(x) in int8: LiteRT runs the MUL with the LOGISTIC (Op.swish_mul).
        sigmoid_of = {op.outputs[0]: op.inputs[0] for op in ops if op.op_type == "LOGISTIC" and op.inputs and op.outputs}
        ops = [dataclasses.replace(op, swish_mul=True) if op.op_type == "MUL" and op.compute_dtype == "int8"
               and len(op.inputs) == 2 and any(sigmoid_of.get(a) == b for a, b in (op.inputs, op.inputs[::-1]))
               else op for op in ops]
        # A broadcasting binary op whose operand is a value of its output's size that an op makes and
        # only it reads, its output no graph output either: XNNPACK runs it in place (Op.runs_in_place).
        made, reads = {o for op in ops for o in op.outputs}, collections.Counter(i for op in ops for i in op.inputs)
        internal = made - set(outputs)
        ops = [dataclasses.replace(op, runs_in_place=True) if op.kernel_calls and op.kind == "elementwise" and any(
            i in internal and reads[i] == 1 and tensors[i].size_bytes == op.output_bytes for i in op.inputs)
            and set(op.outputs) <= internal else op for op in ops]
        inputs = [int(sub.Inputs(j)) for j in range(sub.InputsLength())]
        dynamic = any(sub.Tensors(i).ShapeSignatureLength() and -1 in sub.Tensors(i).ShapeSignatureAsNumpy()
                      for i in range(sub.TensorsLength()))
        return Subgraph(tensors, ops, inputs, outputs, branches, loops, dynamic)

    def constant(self, index: int, tensor: int, tensors) -> float | None:
        """Tensor ``tensor`` of subgraph ``index`` as a number, where it is a constant scalar
        (``tensors``: that subgraph's, as read)."""
        if not 0 <= tensor < len(tensors) or not tensors[tensor].is_constant or elements(tensors[tensor].shape) != 1:
            return None
        data = _constant_bytes(self.model, self.model.Subgraphs(index), tensor, tensors)
        kinds = {"int32": "<i4", "int64": "<i8", "float32": "<f4"}
        if data is None or tensors[tensor].dtype not in kinds:
            return None
        return float(data.view(kinds[tensors[tensor].dtype])[0])


def _pads_into_convs(model, sub, raw, op_type_of, alias, tensors, outputs, schema) -> set[int]:
    """Output tensors of the PADs XNNPACK folds into the conv reading them (``Op.pad_into_conv``):
    a PAD (or a float PADV2 of 0) on H and W only, read by one VALID CONV_2D / DEPTHWISE_CONV_2D
    as its input and by nothing else."""
    readers: dict[int, list[tuple[str, int, object]]] = {}
    for op in raw:
        for j in range(op.InputsLength()):
            index = alias.get(int(op.Inputs(j)), int(op.Inputs(j)))
            readers.setdefault(index, []).append((op_type_of(op), j, op))
    folds = set()
    for op in raw:
        kind, ins = op_type_of(op), [int(op.Inputs(j)) for j in range(op.InputsLength())]
        if kind not in ("PAD", "PADV2") or not ins or op.OutputsLength() != 1:
            continue
        out = int(op.Outputs(0))
        x, y = tensors[ins[0]].shape, tensors[out].shape
        if not x or not y or len(x) != 4 or len(y) != 4 or x[0] != y[0] or x[3] != y[3] or out in outputs:
            continue
        if kind == "PADV2" and (len(ins) < 3 or tensors[ins[0]].dtype != "float32"
                                or not _all_zero(model, sub, ins[2], tensors)):
            continue
        (reader, *others) = readers.get(out, [None])
        if others or reader is None or reader[0] not in ("CONV_2D", "DEPTHWISE_CONV_2D") or reader[1] != 0:
            continue
        table = reader[2].BuiltinOptions()
        options = schema.Conv2DOptions() if reader[0] == "CONV_2D" else schema.DepthwiseConv2DOptions()
        if table is not None:
            options.Init(table.Bytes, table.Pos)
            if options.Padding() == schema.Padding.VALID:
                folds.add(out)
    return folds


def _transpose_rows(model, sub, op, tensors) -> int:
    """``ir.transpose_rows`` of a TRANSPOSE from its input's shape and its constant permutation."""
    data = _constant_bytes(model, sub, op.inputs[1], tensors) if len(op.inputs) >= 2 else None
    if data is None:
        return 0
    perm = data.view("<i8" if tensors[op.inputs[1]].dtype == "int64" else "<i4")
    return transpose_rows(tensors[op.inputs[0]].shape, tuple(int(a) for a in perm))


def _all_zero(model, sub, index: int, tensors) -> bool:
    """Whether constant tensor ``index`` holds only zero bytes (a PADV2's pad value)."""
    data = _constant_bytes(model, sub, index, tensors)
    return data is not None and not data.any()


def _constant_bytes(model, sub, index: int, tensors):
    """The bytes (a uint8 array) of constant tensor ``index`` of subgraph ``sub`` in the flatbuffer; None otherwise."""
    if not tensors[index].is_constant:
        return None
    buffer = model.Buffers(sub.Tensors(index).Buffer())
    return buffer.DataAsNumpy() if buffer.DataLength() else None


def _sequence_steps(op, op_type, slots, tensors, schema) -> int:
    """Time steps of a sequence LSTM/RNN op: input [batch, time, ...] unless its options say time-major."""
    if op_type not in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN") or not slots or slots[0] is None:
        return 0
    x = tensors[slots[0]].shape
    if not x or len(x) < 3:
        return 0
    time_major = False
    table = op.BuiltinOptions()
    if table is not None:
        options = (schema.UnidirectionalSequenceLSTMOptions() if op_type.endswith("LSTM")
                   else schema.SequenceRNNOptions())
        options.Init(table.Bytes, table.Pos)
        time_major = bool(options.TimeMajor())
    return int(x[0] if time_major else x[1])


TRANSPOSE_CONV_CUSTOM = "Convolution2DTransposeBias"


def _tflite_kind_macs(op, op_type, slots, outs, tensors, schema) -> tuple[str, int, tuple[int, ...]]:
    """(kind, MACs, positions of weight and bias) for one TFLite operator."""
    def shape(position):
        index = slots[position] if position < len(slots) else None
        return tensors[index].shape if index is not None and tensors[index].shape else None

    out = elements(tensors[outs[0]].shape) if outs else 0
    w = shape(1)
    if op_type == "CONV_2D" and w and len(w) == 4:  # weight OHWI; I = Cin / groups
        x = shape(0)
        pointwise = w[1] == w[2] == 1 and x is not None and w[3] == x[-1]
        return ("pointwise" if pointwise else "conv"), out * math.prod(w[1:]), (1, 2)
    if op_type == "DEPTHWISE_CONV_2D" and w and len(w) == 4:  # weight 1×H×W×(Cin·multiplier)
        return "depthwise", out * w[1] * w[2], (1, 2)
    if op_type == "FULLY_CONNECTED" and w:  # weight [out, in]
        return "fully_connected", out * w[-1], (1, 2)
    if op_type == "BATCH_MATMUL" and shape(0):
        options = schema.BatchMatMulOptions()
        table = op.BuiltinOptions()
        adj_x = False
        if table is not None:
            options.Init(table.Bytes, table.Pos)
            adj_x = bool(options.AdjX())
        lhs = shape(0)
        k = lhs[-2] if adj_x and len(lhs) > 1 else lhs[-1]
        return "fully_connected", out * k, (1,)
    if op_type == "RFFT2D" and shape(0) and len(shape(0)) >= 2:
        # LiteRT's kernel (fft2d's rdft2d, in doubles) transforms each [H, W] plane of its input
        # (fft_length is those dims unless it crops or pads): its work, N log2 N per plane of N.
        x = shape(0)
        return "other", int(elements(x) * max(1.0, math.log2(x[-2] * x[-1]))), ()
    if op_type == "UNIDIRECTIONAL_SEQUENCE_LSTM" and w and shape(0) and shape(5):
        # input [batch, time, in] (or time-major); 4 input weights [cells, in] (slots 1-4) and 4
        # recurrent ones [cells, out] (5-8), biases 12-15: per step 4 x cells x (in + out) MACs.
        x = shape(0)
        return "fully_connected", elements(x) // x[-1] * 4 * w[0] * (w[1] + shape(5)[1]), (*range(1, 9), *range(12, 16))
    if op_type == "CONV_3D" and w and len(w) == 5:  # weight [kd, kh, kw, in, out]
        return "conv", out * math.prod(w[:4]), (1, 2)
    if op_type in ("TRANSPOSE_CONV", "CONV_3D_TRANSPOSE") and w and shape(2):
        # inputs: output shape, weight (O,H,W,I or D,H,W,O,I), input, bias; each input element
        # is multiplied into every output channel at every kernel tap.
        return "conv", elements(shape(2)) * math.prod(w[:-1]), (1, 3)
    if op_type == TRANSPOSE_CONV_CUSTOM and w and shape(0):
        # MediaPipe's custom op (input, weight OHWI, bias), which XNNPACK's delegate runs as the
        # same deconvolution as TRANSPOSE_CONV.
        return "conv", elements(shape(0)) * math.prod(w[:-1]), (1, 2)
    return _TFLITE_KINDS.get(op_type, "other"), 0, ()
