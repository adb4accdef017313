"""One small op-level IR for exported artifacts (`.tflite`, `.onnx`), for the cost models.

``read_graph(path)`` returns a frozen ``Graph``: the tensors (shape, dtype, bytes, whether
constant), the ops in execution order with their tensor indices, MACs, compute dtype and
bytes read and written, and the graph's inputs and outputs.  Op kinds are normalised
(``OP_KINDS``) so one cost model serves both formats.

MACs (multiply-accumulates) per op, with ``out`` the number of output elements:
  conv / pointwise   out × (Cin / groups) × kernel elements   (TFLite CONV_2D weight OHWI)
  depthwise          out × kernel elements                    (TFLite weight 1×H×W×(Cin·mult))
  fully_connected    out × K                                  (TFLite weight [out, in])
  transposed conv    in × (Cout / groups) × kernel elements
  everything else    0 (pooling, elementwise and data movement count as bytes, not MACs)

What the runtimes fold at load time is folded here too, so the IR describes what runs:
  * TFLite: a DEQUANTIZE of a constant (fp16 or int8 weights) disappears; its consumers read
    the constant.
  * ONNX QDQ (onnxruntime's static quantizer): a DequantizeLinear of an initializer becomes
    the consumer's int8 weight; an op whose float inputs all come from DequantizeLinear runs
    in int8 (onnxruntime fuses DQ → op → Q into one integer kernel), reading the quantized
    tensors and, when its output feeds only a QuantizeLinear, writing the quantized output.
    Q/DQ nodes left over (at the float graph inputs and outputs) stay as "quantize" ops
    (the ONNX reader is graph_onnx.py).
Only the main subgraph is read (TFLite subgraph 0); control flow bodies are not costed.
Unknown ops appear with kind "other" and 0 MACs.  Unknown dimensions (-1, symbolic batch)
count as 1: edge inference runs one sample at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExportError

__all__ = ["OP_KINDS", "Graph", "Op", "Tensor", "read_graph", "restore_names"]

OP_KINDS = ("conv", "depthwise", "pointwise", "fully_connected", "elementwise", "pool", "reshape",
            "quantize", "other")
COMPUTE_KINDS = ("conv", "depthwise", "pointwise", "fully_connected")

# Bytes per element; sub-byte types count as fractions (int4 packs two per byte).
_ITEM_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "uint64": 8,
               "int32": 4, "uint32": 4, "int16": 2, "uint16": 2, "int8": 1, "uint8": 1, "bool": 1,
               "int4": 0.5, "uint4": 0.5, "int2": 0.25, "complex64": 8, "complex128": 16,
               "float8_e4m3fn": 1, "float8_e5m2": 1, "float8e4m3fn": 1, "float8e5m2": 1}


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...] | None  # None when the file does not say
    dtype: str  # numpy-style name: "float32", "int8", ...
    size_bytes: int
    is_constant: bool  # weights, biases and other data stored in the file


@dataclass(frozen=True)
class Op:
    name: str  # the node name, else its first output tensor's name
    op_type: str  # as the format names it: "CONV_2D", "Conv", ...
    kind: str  # one of OP_KINDS
    inputs: tuple[int, ...]  # tensor indices
    outputs: tuple[int, ...]
    macs: int
    compute_dtype: str  # the arithmetic it runs: "float32", "int8", "int16", ...
    weight_bytes: int  # constant inputs
    input_bytes: int  # non-constant inputs
    output_bytes: int
    weights: tuple[int, ...] = ()  # tensor indices of its weight and bias (compute ops)
    out_channels: int = 0  # output channels of a compute op, the dimension kernels tile; 0 = unknown


@dataclass(frozen=True)
class Graph:
    ops: tuple[Op, ...]
    tensors: tuple[Tensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    format: str  # "tflite" | "onnx"

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def params(self) -> int:
        """Elements in the constant weights and biases of conv / depthwise / pointwise / FC ops."""
        seen = {i for op in self.ops if op.kind in COMPUTE_KINDS for i in op.weights}
        return sum(_elements(self.tensors[i].shape) for i in seen)


def restore_names(graph: Graph, names: tuple[str, ...] | None) -> Graph:
    """Put back tensor names a stripped `.tflite` shortened to ``t<index>`` (passes/strip_tflite.py)."""
    if not names:
        return graph

    def original(name: str) -> str:
        if name.startswith("t") and name[1:].isdigit() and int(name[1:]) < len(names):
            return names[int(name[1:])] or name
        return name

    import dataclasses

    return dataclasses.replace(
        graph, ops=tuple(dataclasses.replace(op, name=original(op.name)) for op in graph.ops),
        tensors=tuple(dataclasses.replace(t, name=original(t.name)) for t in graph.tensors))


def read_graph(path) -> Graph:
    """Read a `.tflite` or `.onnx` file into a ``Graph``; ``ExportError`` if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".tflite":
            return _read_tflite(path)
        if suffix == ".onnx":
            from .onnx_reader import read_onnx

            return read_onnx(path)
    except ExportError:
        raise
    except Exception as error:  # a corrupt file surfaces as anything from struct.error up
        raise ExportError(f"{path}: cannot read as {suffix[1:]}: {type(error).__name__}: "
                          f"{str(error).strip()[:200]}") from error
    raise ExportError(f"{path}: unknown artifact type {suffix!r} (expected .tflite or .onnx)")


# ---------------------------------------------------------------------------- shared helpers


def _elements(shape: tuple[int, ...] | None) -> int:
    return 0 if shape is None else math.prod(shape)


def _size_bytes(shape: tuple[int, ...] | None, dtype: str) -> int:
    return math.ceil(_elements(shape) * _ITEM_BYTES.get(dtype, 0))


def _compute_dtype(dtype: str) -> str:
    # Arithmetic width, not signedness: uint8 activations with int8 weights run int8 kernels.
    return {"uint8": "int8", "uint16": "int16", "uint4": "int4"}.get(dtype, dtype)


def _make_op(tensors: list[Tensor], *, name: str, op_type: str, kind: str, inputs, outputs, macs: int,
             compute_dtype: str, weights=(), layout: str) -> Op:
    inputs, outputs = tuple(inputs), tuple(outputs)
    out_channels = 0
    shape = tensors[outputs[0]].shape if outputs else None
    if kind in COMPUTE_KINDS and shape:
        # Channels are last in TFLite (NHWC) and in any 2-D output; second in ONNX's NCHW.
        out_channels = int(shape[1] if layout == "nchw" and len(shape) >= 3 else shape[-1])
    return Op(name=name, op_type=op_type, kind=kind, inputs=inputs, outputs=outputs, macs=int(macs),
              compute_dtype=compute_dtype,
              weight_bytes=sum(tensors[i].size_bytes for i in inputs if tensors[i].is_constant),
              input_bytes=sum(tensors[i].size_bytes for i in inputs if not tensors[i].is_constant),
              output_bytes=sum(tensors[i].size_bytes for i in outputs),
              weights=tuple(i for i in weights if tensors[i].is_constant), out_channels=out_channels)


# ---------------------------------------------------------------------------- TFLite

_TFLITE_KINDS = {
    "DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "fully_connected", "BATCH_MATMUL": "fully_connected",
    "CONV_3D": "conv", "TRANSPOSE_CONV": "conv", "CONV_3D_TRANSPOSE": "conv",
    "QUANTIZE": "quantize", "DEQUANTIZE": "quantize",
    **dict.fromkeys(("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN",
                     "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL"), "pool"),
    **dict.fromkeys(("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "CONCATENATION", "PACK", "UNPACK", "SPLIT",
                     "SPLIT_V", "SLICE", "STRIDED_SLICE", "PAD", "PADV2", "MIRROR_PAD", "GATHER", "GATHER_ND",
                     "TILE", "BROADCAST_TO", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BATCH_TO_SPACE_ND",
                     "SPACE_TO_BATCH_ND", "REVERSE_V2"), "reshape"),
    **dict.fromkeys(("ADD", "SUB", "MUL", "DIV", "ADD_N", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1",
                     "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "PRELU", "ELU", "GELU", "MAXIMUM",
                     "MINIMUM", "SQUARED_DIFFERENCE", "ABS", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE", "NEG",
                     "POW", "FLOOR", "CEIL", "ROUND", "SIN", "COS", "SIGN", "CAST", "SELECT", "SELECT_V2",
                     "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "LOGICAL_AND",
                     "LOGICAL_OR", "LOGICAL_NOT", "FLOOR_DIV", "FLOOR_MOD"), "elementwise"),
}


def _read_tflite(path: Path) -> Graph:
    from ai_edge_litert import schema_py_generated as schema

    buf = path.read_bytes()
    if len(buf) < 8 or not schema.Model.ModelBufferHasIdentifier(buf, 0):
        raise ExportError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    model = schema.Model.GetRootAs(buf, 0)
    if model.SubgraphsLength() == 0:
        raise ExportError(f"{path}: the model has no subgraph")
    sub = model.Subgraphs(0)
    builtin_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}

    tensors = []
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        shape = tuple(d if d >= 0 else 1 for d in (int(t.Shape(j)) for j in range(t.ShapeLength())))
        dtype = type_names.get(t.Type(), f"type{t.Type()}")
        data_bytes = 0
        if 0 < t.Buffer() < model.BuffersLength():
            buffer = model.Buffers(t.Buffer())
            # Large models keep the data outside the flatbuffer (offset/size) instead of in `data`.
            data_bytes = buffer.DataLength() or (buffer.Size() if buffer.Offset() > 1 else 0)
        constant = data_bytes > 0 and not t.IsVariable()
        tensors.append(Tensor(name=(t.Name() or b"").decode("utf-8", "replace"), shape=shape, dtype=dtype,
                              size_bytes=data_bytes if constant else _size_bytes(shape, dtype),
                              is_constant=constant))

    def op_type_of(op) -> str:
        code = model.OperatorCodes(op.OpcodeIndex())
        # Files from before schema v3a hold the code in the int8 `deprecated_builtin_code` only;
        # codes above 127 sit in `builtin_code` with the old field at its placeholder 127.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            return (code.CustomCode() or b"CUSTOM").decode("utf-8", "replace")
        return builtin_names.get(builtin, f"BUILTIN_{builtin}")

    raw = [sub.Operators(i) for i in range(sub.OperatorsLength())]
    # XNNPACK and the reference kernels dequantize constant weights once at load time, and
    # expand sparse ones (DENSIFY) once too: the op's output is the weight, the input its bytes.
    alias = {}
    for op in raw:
        ins = [int(op.Inputs(j)) for j in range(op.InputsLength())]
        if op_type_of(op) in ("DEQUANTIZE", "DENSIFY") and ins and ins[0] >= 0 and tensors[ins[0]].is_constant:
            alias[int(op.Outputs(0))] = ins[0]

    ops = []
    for op in raw:
        op_type = op_type_of(op)
        outs = [int(op.Outputs(j)) for j in range(op.OutputsLength()) if op.Outputs(j) >= 0]
        if outs and outs[0] in alias:
            continue
        slots = [alias.get(int(op.Inputs(j)), int(op.Inputs(j))) if op.Inputs(j) >= 0 else None
                 for j in range(op.InputsLength())]
        kind, macs, weight_slots = _tflite_kind_macs(op, op_type, slots, outs, tensors, schema)
        weights = [slots[j] for j in weight_slots if j < len(slots) and slots[j] is not None]
        ins = [i for i in slots if i is not None]
        ops.append(_make_op(tensors, name=tensors[outs[0]].name if outs else op_type, op_type=op_type, kind=kind,
                            inputs=ins, outputs=outs, macs=macs, weights=weights, layout="nhwc",
                            compute_dtype=_op_dtype(tensors, ins, outs, weights, kind)))
    return _compact(tensors, ops, [int(sub.Inputs(j)) for j in range(sub.InputsLength())],
                    [int(sub.Outputs(j)) for j in range(sub.OutputsLength())], "tflite")


def _tflite_kind_macs(op, op_type, slots, outs, tensors, schema) -> tuple[str, int, tuple[int, ...]]:
    """(kind, MACs, positions of weight and bias) for one TFLite operator."""
    def shape(position):
        index = slots[position] if position < len(slots) else None
        return tensors[index].shape if index is not None and tensors[index].shape else None

    out = _elements(tensors[outs[0]].shape) if outs else 0
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
    if op_type == "CONV_3D" and w and len(w) == 5:  # weight [kd, kh, kw, in, out]
        return "conv", out * math.prod(w[:4]), (1, 2)
    if op_type in ("TRANSPOSE_CONV", "CONV_3D_TRANSPOSE") and w and shape(2):
        # inputs: output shape, weight (O,H,W,I or D,H,W,O,I), input, bias; each input element
        # is multiplied into every output channel at every kernel tap.
        return "conv", _elements(shape(2)) * math.prod(w[:-1]), (1, 3)
    return _TFLITE_KINDS.get(op_type, "other"), 0, ()


def _op_dtype(tensors, inputs, outputs, weights, kind) -> str:
    """The arithmetic an op runs: its activation's dtype; int8 for int8 weights on float data.

    A float activation times int8 weights is TFLite's dynamic-range ("hybrid") kernel, which
    quantizes the activation on the fly and multiplies in int8.
    """
    activations = [i for i in inputs if not tensors[i].is_constant]
    dtype = tensors[activations[0]].dtype if activations else (tensors[outputs[0]].dtype if outputs else "float32")
    if kind in COMPUTE_KINDS and dtype.startswith("float") and weights and tensors[weights[0]].dtype in ("int8", "uint8"):
        return "int8"
    return _compute_dtype(dtype)


def _compact(tensors, ops, inputs, outputs, fmt) -> Graph:
    """Drop tensors nothing refers to (folded weights' float copies) and renumber."""
    used = sorted({*inputs, *outputs, *(i for op in ops for i in (*op.inputs, *op.outputs))})
    new = {old: n for n, old in enumerate(used)}
    remap = lambda ids: tuple(new[i] for i in ids)  # noqa: E731
    ops = tuple(Op(name=op.name, op_type=op.op_type, kind=op.kind, inputs=remap(op.inputs), outputs=remap(op.outputs),
                   macs=op.macs, compute_dtype=op.compute_dtype, weight_bytes=op.weight_bytes,
                   input_bytes=op.input_bytes, output_bytes=op.output_bytes, weights=remap(op.weights),
                   out_channels=op.out_channels) for op in ops)
    return Graph(ops=ops, tensors=tuple(tensors[i] for i in used), inputs=remap(inputs), outputs=remap(outputs),
                 format=fmt)
