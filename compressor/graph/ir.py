"""One small op-level IR for exported artifacts (`.tflite`, `.onnx`), for the cost models.

``read.read_graph(path)`` returns a frozen ``Graph``: the tensors (shape, dtype, bytes, whether
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
    Q/DQ nodes left over (at the float graph inputs and outputs) stay as "quantize" ops.
The readers (tflite_reader.py, onnx_reader.py) inline or unroll control flow (tflite_control.py,
onnx_control.py); unknown ops get kind "other" and 0 MACs.  Dynamic input dims are never guessed
(shapes.py): a dynamic batch is costed as 1 (``Graph.notes`` says so), any other needs ``--input-shape``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["COMPUTE_KINDS", "COPY_OPS", "GATHER_OPS", "METADATA_OPS", "OP_KINDS", "SLICE_OPS", "Graph", "Op", "Tensor", "broadcast_runs", "compact", "compute_dtype",
           "copy_runs", "elements", "make_op", "op_dtype", "pad_rows", "restore_names", "size_bytes", "transpose_rows"]

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
    input_bytes: int  # non-constant inputs (a slice: the part it copies, its output's bytes)
    output_bytes: int
    weights: tuple[int, ...] = ()  # tensor indices of its weight and bias (compute ops)
    out_channels: int = 0  # output channels of a compute op, the dimension kernels tile; 0 = unknown
    # Sequential time steps of a recurrent op (LSTM/GRU/RNN), times its directions: each step is
    # a small dependent matmul with a fixed cost of its own (cost/latency.py); 0 for other ops.
    recurrent_steps: int = 0
    # Times the runtime runs the op per inference: the body of an ONNX Loop too long to unroll, its
    # iterations counted in a run on bench's inputs (onnx_loops.py); 1 for every other op.
    repeats: int = 1
    # An ai.onnx.ml tree ensemble's nodes (its walks miss the cache as it grows: tree_visit_ns), its trees
    # (onnxruntime splits them among threads: ort_trees.tree_share) and the interior nodes a run's walks reach.
    tree_nodes: int = 0
    trees: int = 0
    tree_distinct: int = 0
    # Input channels per group of a dense conv / pointwise op, from its weight's shape: the
    # dimension an int8 kernel packs per filter tap (XNNPACK's c8 kernels pad it to 8); an ONNX
    # LSTM / GRU / RNN's input width (cost/recurrent.py); 0 unknown.
    in_channels: int = 0
    # Groups of a grouped convolution (RegNet, ResNeXt); 1 for a dense one and every other op.
    groups: int = 1
    # Output rows (batch x height) of a convolution onnxruntime runs as an NCHWc ``Conv``
    # (com.microsoft.nchwc): MLAS hands its threads whole rows of a filter set
    # (snchwc.cpp, ``TotalWork = batch x groups x filter sets x output height``), so a
    # one-row conv does not split at all (cost/latency.py).  0 for every other op.
    nchwc_rows: int = 0
    # Bytes of weights a recurrent op reads at every time step: onnxruntime multiplies the input
    # by W for all steps at once and only one direction's R (the recurrent matrix) per step;
    # TFLite's sequence LSTM/RNN kernels multiply by every weight each step (lstm_eval.cc).
    # 0 for every other op.
    step_weight_bytes: int = 0
    # Calls of its kernel's inner loop XNNPACK makes (a kernel's ``call_ns`` each), where counted:
    # a binary element-wise op whose operands broadcast (PReLU's per-channel slopes, an SE block's
    # channel scale, an attention mask) once per innermost run of the output where both operands
    # advance alike (``broadcast_runs``: a 128x128x8 PReLU makes 16,384 calls of 8 elements; 0
    # without broadcast); a TFLite PAD per row it writes (``pad_rows``); a CONCATENATION / SLICE /
    # STRIDED_SLICE per contiguous run it copies (``copy_runs``); a TRANSPOSE per row of its
    # normalized permutation (``transpose_rows``); an onnxruntime binary op per span its
    # Broadcaster cuts (``ort_kernels.broadcast_calls``).  0 for every other op.
    kernel_calls: int = 0
    # A TFLite binary op XNNPACK runs in place: its non-constant input is a value of its output's
    # shape that an op makes and only it reads, and its output is no graph output (tflite_reader);
    # its runs off the channel tile then cost more each (RuntimeCost.inplace_run_ns).
    runs_in_place: bool = False
    # A TFLite PAD of zeros on H and W only whose one reader is a VALID conv or depthwise conv:
    # XNNPACK folds it into that conv's padding (subgraph.c, "fuse Constant Pad"), so on a CPU it
    # costs nothing; TFLM runs it (tflite_reader).
    pad_into_conv: bool = False
    # Elements an ONNX Transpose copies one at a time: onnxruntime moves a single axis, or whole
    # blocks of the trailing axes it keeps, at memory speed, but any other permutation moving the
    # innermost axis (a channel shuffle in NHWC: [1,28,28,2,58] -> [1,58,2,28,28]) element by
    # element, ~3 ns each on x86 (ort_kernels.transpose_elementwise).  0 for every other op.
    elementwise_copies: int = 0
    # Weight vectors (16 output channels of one input channel and tap, as MLAS's fp32 kernels
    # multiply them) holding a subnormal float (0 < |w| < 1.18e-38): on x86 each multiply by one
    # takes a microcode assist (subnormals.subnormal_vectors).  0 for every other op.
    subnormal_vectors: int = 0
    # Branches on its values the kernel mispredicts on the run bench times (its kernel terms' miss_ns):
    # an onnxruntime PRelu's elements, by their signs (ort_shapes.sign_misses); a tree ensemble's
    # splits, by the rows it walks (ort_trees.tree_walks).  0 for every other op.
    sign_misses: float = 0.0
    # An onnxruntime QLinearConv's activation and weight types as it runs them ("u8s8", "u8u8",
    # "s8s8": its QDQ S8S8 graphs are rewritten to u8s8, QOperator files keep theirs), or a
    # dynamically quantized ConvInteger's ("integer_u8u8"), a TFLite conv's of uint8 weights ("uint8",
    # "hybrid_u8": LiteRT's own kernels): the kernels differ by pair (RuntimeCost.int8_pair_factors).
    int8_pair: str = ""
    # Which of its op type's kernels runs the op, where the type does not say (its kernel terms are
    # ``{op_type}_{variant}``, kernel_terms.kernel_op_type): an ONNX Resize's (or onnxruntime's NCHWc
    # Upsample's) interpolation, its ``mode`` ("nearest" copies; "linear", the one its op type's terms
    # were timed with, interpolates; a TFLite resize says it in its op type); "xnnpack" for a TFLite
    # int8 BATCH_MATMUL XNNPACK takes (tflite_kernels.batch_matmul_variant); an onnxruntime
    # ConvInteger's pair ("u8u8", "u8s8": MLAS's GEMM differs by it); "gemm" for an ONNX MatMul by a
    # constant 2-D weight (the Gemm kernel, its terms); how onnxruntime copies a Transpose ("strided",
    # "inwards", "blocks": ort_kernels.transpose_blocks); "grouped" for its grouped ConvTranspose (a
    # GEMM and a col2im per group); "1d" for its 1-D NCHW depthwise conv or pool.  "" for every other op.
    variant: str = ""
    # A TFLite binary op's fused activation ("RELU", "RELU6", "RELU_N1_TO_1"), which XNNPACK runs as a
    # clamp node of its own after the op (``RuntimeCost.separate_clamps``).  "" for every other op.
    fused_activation: str = ""
    # A TFLite int8 MUL of a value by its own LOGISTIC (a swish, x * sigmoid(x)): on a CPU it costs
    # nothing beyond the LOGISTIC, which LiteRT runs as one op with it (--probe swish).
    swish_mul: bool = False


@dataclass(frozen=True)
class Graph:
    ops: tuple[Op, ...]
    tensors: tuple[Tensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    format: str  # "tflite" | "onnx"
    notes: tuple[str, ...] = ()  # what the reader assumed, for the user (a dynamic batch costed as 1)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def params(self) -> int:
        """Elements in the constant weights and biases of conv / depthwise / pointwise / FC ops."""
        seen = {i for op in self.ops if op.kind in COMPUTE_KINDS for i in op.weights}
        return sum(elements(self.tensors[i].shape) for i in seen)


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


# ---------------------------------------------------------------------------- shared helpers


def elements(shape: tuple[int, ...] | None) -> int:
    return 0 if shape is None else math.prod(shape)


def size_bytes(shape: tuple[int, ...] | None, dtype: str) -> int:
    return math.ceil(elements(shape) * _ITEM_BYTES.get(dtype, 0))


def compute_dtype(dtype: str) -> str:
    # Arithmetic width, not signedness: uint8 activations with int8 weights run int8 kernels.
    return {"uint8": "int8", "uint16": "int16", "uint4": "int4"}.get(dtype, dtype)


def make_op(tensors: list[Tensor], *, name: str, op_type: str, kind: str, inputs, outputs, macs: int,
             compute_dtype: str, weights=(), layout: str, recurrent_steps: int = 0, groups: int = 1,
             weight_in_axis: int = -1, nchwc: bool = False, step_weight_bytes: int | None = None) -> Op:
    inputs, outputs = tuple(inputs), tuple(outputs)
    out_channels = 0
    shape = tensors[outputs[0]].shape if outputs else None
    if kind in COMPUTE_KINDS and shape:
        # Channels are last in TFLite (NHWC), in any 2-D output and in every matmul's output
        # (MatMul [.., M, N], an RNN's Y [.., H]); second in ONNX's NCHW convolutions.
        nchw_conv = layout == "nchw" and len(shape) >= 3 and kind != "fully_connected"
        out_channels = int(shape[1] if nchw_conv else shape[-1])
    in_channels = 0
    weight = tensors[weights[0]].shape if weights and kind in ("conv", "pointwise") else None
    if weight and len(weight) >= 3 and all(isinstance(d, int) and d > 0 for d in weight):
        # TFLite CONV_2D [Cout, kh, kw, Cin] (the default axis); ONNX Conv / QLinearConv
        # [Cout, Cin/group, kh(, kw)] also when onnxruntime runs it channels-last (its reader: 1)
        in_channels = int(weight[weight_in_axis])
    weight_bytes = sum(tensors[i].size_bytes for i in inputs if tensors[i].is_constant)
    input_bytes = (sum(tensors[i].size_bytes for i in outputs) if op_type in SLICE_OPS else 0 if op_type in METADATA_OPS
                   else sum(tensors[i].size_bytes for i in inputs if not tensors[i].is_constant))
    if op_type in GATHER_OPS and inputs:  # it reads the rows it gathers, not the whole table
        read = sum(tensors[i].size_bytes for i in outputs)
        table = inputs[0]
        if tensors[table].is_constant:
            weight_bytes -= tensors[table].size_bytes - min(tensors[table].size_bytes, read)
        else:
            input_bytes -= tensors[table].size_bytes - min(tensors[table].size_bytes, read)
    return Op(name=name, op_type=op_type, kind=kind, inputs=inputs, outputs=outputs, macs=int(macs),
              compute_dtype=compute_dtype, weight_bytes=weight_bytes, input_bytes=input_bytes,
              output_bytes=sum(tensors[i].size_bytes for i in outputs),
              weights=tuple(i for i in weights if tensors[i].is_constant), out_channels=out_channels,
              recurrent_steps=int(recurrent_steps), in_channels=in_channels,
              groups=int(groups) if kind in ("conv", "pointwise") and groups > 1 else 1,
              nchwc_rows=int(shape[0] * shape[2]) if nchwc and shape and len(shape) == 4
              and all(isinstance(d, int) and d > 0 for d in shape) else 0,
              step_weight_bytes=_step_weight_bytes(tensors, weights, recurrent_steps, step_weight_bytes),
              int8_pair=(pair := _int8_pair(op_type, tensors, inputs, weights)),
              variant=(pair.removeprefix("integer_") if op_type == "ConvInteger"
                       else "u8u8" if op_type in _DYNAMIC_GEMMS and weights and tensors[weights[0]].dtype == "uint8"
                       else "gemm" if _matmul_by_constant(op_type, tensors, inputs) else ""),
              kernel_calls=(broadcast_runs(shape, [tensors[i].shape for i in inputs]) if kind == "elementwise"
                              else pad_rows(shape) if op_type in ("PAD", "PADV2")
                              else copy_runs(op_type, shape, [tensors[i].shape for i in inputs], len(outputs))
                              if op_type in COPY_OPS else 0))


# An ONNX MatMul's right operand by op type: MatMul's B, QLinearMatMul's b (after a, its scale and zero point).
_MATMUL_RIGHT = {"MatMul": 1, "QLinearMatMul": 3}


def _matmul_by_constant(op_type: str, tensors, inputs) -> bool:
    """An ONNX MatMul (or QLinearMatMul) by a constant 2-D right operand: onnxruntime's Gemm (QGemm)
    kernel in all but name, its weight packed once (``Op.variant`` "gemm": priced by the
    fully-connected terms, not the batched MatMuls')."""
    right = _MATMUL_RIGHT.get(op_type)
    return (right is not None and len(inputs) > right and tensors[inputs[right]].is_constant
            and len(tensors[inputs[right]].shape or ()) == 2)


def _int8_pair(op_type: str, tensors, inputs, weights) -> str:
    """``Op.int8_pair`` of an onnxruntime QLinearConv or ConvInteger (a dynamically quantized conv:
    im2col + MLAS's QGEMM, the path a u8u8 QLinearConv takes): its input's and its weight's signedness;
    of a TFLite conv or FC with uint8 weights, which XNNPACK leaves to LiteRT's own kernels: "uint8"
    (TF1-style asymmetric uint8 throughout) or "hybrid_u8" (float activations)."""
    if op_type in _TFLITE_MAC_OPS and inputs and weights and tensors[weights[0]].dtype == "uint8":
        x = tensors[inputs[0]].dtype
        return "uint8" if x == "uint8" else "hybrid_u8" if x.startswith("float") else ""
    if op_type not in ("QLinearConv", "ConvInteger") or not inputs or not weights:
        return ""
    sign = {"uint8": "u8", "int8": "s8"}
    x, w = sign.get(tensors[inputs[0]].dtype), sign.get(tensors[weights[0]].dtype)
    kernel = "integer_" if op_type == "ConvInteger" else ""  # priced apart: the CPUs differ (README)
    return f"{kernel}{x}{w}" if x and w else ""


_TFLITE_MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_DYNAMIC_GEMMS = ("DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger")  # by uint8 weights: MLAS's u8u8
# Slices read only the part they copy: an unrolled LSTM's SLICE of one step from [100, 1, 512]
# reads 2 KB, not the 200 KB tensor (``Op.input_bytes``).
SLICE_OPS = ("SLICE", "STRIDED_SLICE")
# Ops that read their input's shape, not its data (BirdNET's 16 SHAPEs of 1-576 KB tensors).
METADATA_OPS = ("SHAPE", "RANK", "Shape", "Size")
# Gathers read the rows they gather: a T5's 32,128 x 512 embedding table (66 MB) is 98 KB of reads
# for 48 tokens, not a weight set to stream (``Op.weight_bytes``; the file still stores all of it).
GATHER_OPS = ("GATHER", "GATHER_ND", "Gather", "GatherND", "GatherElements")
# Ops XNNPACK (TFLite) or onnxruntime (ONNX) run as copies of contiguous runs (``copy_runs``), and the
# resource variable reads and writes of streaming models, one memcpy each (read_variable.cc, assign_variable.cc).
COPY_OPS = ("CONCATENATION", "SLICE", "STRIDED_SLICE", "READ_VARIABLE", "ASSIGN_VARIABLE", "Concat", "Slice", "Split")


def copy_runs(op_type: str, out: tuple[int, ...] | None, operands: list[tuple[int, ...] | None],
              outputs: int = 1) -> int:
    """Contiguous runs XNNPACK copies for a CONCATENATION (each input once per position of the dims
    before the concatenated axis: its copy operator's batch) or a SLICE / STRIDED_SLICE (one per position
    of the dims before the innermost sliced one), onnxruntime for a Concat / Slice alike and a Split per
    output; 0 when a shape is unknown.  [1, 20, 1, 64] + [1, 1, 1, 64] along axis 1: 2 runs."""
    if op_type in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
        return 1
    first = operands[0] if operands else None
    shapes = (out, first)
    if not all(s and all(isinstance(d, int) and d > 0 for d in s) and len(s) == len(out or ()) for s in shapes):
        return 0
    if op_type in ("CONCATENATION", "Concat"):
        axis = next((a for a in range(len(out)) if first[a] != out[a]), len(out) - 1)
        return math.prod(out[:axis]) * len(operands)
    axis = next((a for a in range(len(out) - 1, -1, -1) if first[a] != out[a]), 0)
    return math.prod(out[:axis]) * (outputs if op_type == "Split" else 1)


def transpose_rows(shape: tuple[int, ...] | None, perm: tuple[int, ...] | None) -> int:
    """Rows XNNPACK's transpose writes, one kernel pass each: the permutation with size-1 axes
    dropped and axes that stay adjacent and in order merged (xnn_normalize_transpose_permutation),
    the output's positions before its last merged axis.  A litert-torch input transpose
    [1, 3, 96, 96] -> [1, 96, 96, 3] is 9,216 rows of 3 bytes; NHWC -> NCHW of [1, 56, 56, 144]
    144 rows of 3,136.  0 when unknown."""
    if not shape or not perm or len(shape) != len(perm) or not all(isinstance(d, int) and d > 0 for d in shape):
        return 0
    kept = [a for a in perm if shape[a] > 1]
    if not kept:
        return 1
    groups = [[kept[0]]]
    for a in kept[1:]:
        previous = groups[-1][-1]
        following = [b for b in range(previous + 1, len(shape)) if shape[b] > 1]
        if following and following[0] == a:
            groups[-1].append(a)
        else:
            groups.append([a])
    return math.prod(math.prod(shape[a] for a in g) for g in groups[:-1])


def pad_rows(out: tuple[int, ...] | None) -> int:
    """Rows a TFLite PAD writes one at a time: one per position of every axis but the last
    (its int8 kernel: a 1x230x230x3 output is 52,900 rows of 3 bytes); 0 when unknown."""
    if not out or len(out) < 2 or not all(isinstance(d, int) and d > 0 for d in out):
        return 0
    return math.prod(out[:-1])


def broadcast_runs(out: tuple[int, ...] | None, operands: list[tuple[int, ...] | None]) -> int:
    """How many innermost runs an element-wise op over ``operands`` (numpy broadcasting) walks to
    write ``out``: dims are folded from the innermost out while every operand keeps the same
    pattern (advancing or broadcast) there, as XNNPACK's binary-elementwise-nd.c folds them;
    out's elements over the folded run's length.  0 when there is nothing to fold (one
    operand, equal shapes, a scalar operand: one run) or a shape is unknown."""
    if not out or len(operands) < 2 or any(not s or not all(isinstance(d, int) and d > 0 for d in s)
                                           for s in (out, *operands)):
        return 0
    if any(len(s) > len(out) for s in operands):
        return 0

    def pattern(axis: int) -> tuple[bool, ...]:  # per operand: is it broadcast along out's axis?
        return tuple(len(s) + axis < 0 or (s[axis] == 1 and out[axis] > 1) for s in operands)

    axes = [a for a in range(-1, -len(out) - 1, -1) if out[a] > 1]
    if not axes:
        return 0
    run, inner = 1, pattern(axes[0])
    for axis in axes:
        if pattern(axis) != inner:
            break
        run *= out[axis]
    runs = math.prod(out) // run
    return runs if runs > 1 else 0


def _step_weight_bytes(tensors: list[Tensor], weights, recurrent_steps: int, given: int | None) -> int:
    """Op.step_weight_bytes: what the reader measured (``given``), else every constant weight
    (TFLite's sequence kernels multiply by all of them each step); 0 for a non-recurrent op."""
    if not recurrent_steps:
        return 0
    return given if given is not None else sum(tensors[i].size_bytes for i in weights if tensors[i].is_constant)


# ---------------------------------------------------------------------------- TFLite

def op_dtype(tensors, inputs, outputs, weights, kind) -> str:
    """The arithmetic an op runs: its activation's dtype; int8 for int8 weights on float data.

    A float activation times int8 weights is TFLite's dynamic-range ("hybrid") kernel, which
    quantizes the activation on the fly and multiplies in int8.
    """
    activations = [i for i in inputs if not tensors[i].is_constant  # (not a TRANSPOSE_CONV's computed output shape)
                   and not (kind in COMPUTE_KINDS and tensors[i].dtype in ("int32", "int64"))]
    dtype = tensors[activations[0]].dtype if activations else (tensors[outputs[0]].dtype if outputs else "float32")
    if kind in COMPUTE_KINDS and dtype.startswith("float") and weights and tensors[weights[0]].dtype in ("int8", "uint8"):
        return "int8"
    return compute_dtype(dtype)


def compact(tensors, ops, inputs, outputs, fmt) -> Graph:
    """Drop tensors nothing refers to (folded weights' float copies) and renumber."""
    used = sorted({*inputs, *outputs, *(i for op in ops for i in (*op.inputs, *op.outputs))})
    new = {old: n for n, old in enumerate(used)}
    remap = lambda ids: tuple(new[i] for i in ids)  # noqa: E731
    ops = tuple(replace(op, inputs=remap(op.inputs), outputs=remap(op.outputs), weights=remap(op.weights)) for op in ops)
    return Graph(ops=ops, tensors=tuple(tensors[i] for i in used), inputs=remap(inputs), outputs=remap(outputs),
                 format=fmt)
