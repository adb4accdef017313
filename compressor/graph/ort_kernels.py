"""How onnxruntime's CPU kernels walk a node's tensors, where that and not its bytes sets the cost.

``transpose_elementwise``: the elements a Transpose copies one at a time; ``transpose_blocks``: the
blocks it copies whole, and how.  ``broadcast_calls``:
the spans a binary element-wise op (Add, Mul, ...) calls its inner loop over, as its
``Broadcaster`` (core/providers/cpu/math/element_wise_ops.h) cuts the two shapes: a size-1 axis
both inputs share is skipped only before the first real one, and one the longer shape has past
the shorter's rank starts a new span pattern, so a [1, 172, 309, 1] tensor times a (1,)
constant runs 53,148 spans of one element (~9 ns each on the Xeon: 0.43 ms), the same times a
[1, 1, 1, 1] constant one span (4 us).  ``recurrent_steps`` / ``step_weight_bytes``: what an LSTM /
GRU / RNN (or onnxruntime's DynamicQuantizeLSTM) computes step by step.
"""

from __future__ import annotations

import itertools
import math

from .ort_contrib import nbits_variant
from .ort_conv import mlas_conv_variant

__all__ = [
    "BROADCAST_OPERANDS",
    "BROADCAST_OPS",
    "RECURRENT",
    "broadcast_calls",
    "einsum_macs",
    "elementwise_copies",
    "kernel_walk",
    "pool_lines",
    "resize_interpolation",
    "softmax_rows",
    "strided_reduction",
    "transpose_blocks",
    "transpose_elementwise",
]

# Recurrent ops: ONNX's, and onnxruntime's LSTM over int8 weights (quantize_dynamic writes it).
RECURRENT = ("LSTM", "GRU", "RNN", "DynamicQuantizeLSTM")

# onnxruntime's binary element-wise kernels that loop through its Broadcaster: op type -> the
# input slots of its two operands (a QLinear op's scales and zero points sit between them; its
# spans cost ~21 ns each on the Xeon where a float op's cost ~9).
BROADCAST_OPERANDS = {**dict.fromkeys(("Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Max", "Min", "Equal", "Less",
                                        "Greater"), (0, 1)),
                      "QLinearAdd": (0, 3), "QLinearMul": (0, 3)}
BROADCAST_OPS = frozenset(BROADCAST_OPERANDS)


def transpose_elementwise(node, shape) -> int:
    """Elements onnxruntime's Transpose copies one at a time (``Op.elementwise_copies``): 0 when
    its permutation only reorders size-1 axes (a copy), moves a single axis (``SingleAxisTranspose``)
    or keeps the innermost axis (``DoTransposeImpl`` copies whole blocks of it); else all of them
    (``DoTransposeEltWise``; onnxruntime core/providers/cpu/tensor/transpose.cc)."""
    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None) or list(range(len(shape or ())))[::-1]
    return _copied_one_by_one(perm, shape)


def pool_lines(node, shape) -> int:
    """Output lines (all output dims but the last, over batch and channels) of a MaxPool / AveragePool
    onnxruntime runs in NCHW (a 1-D pool, or channels off the NCHWc block): its loops pay per line as
    well as per output, ~5 ns a line of a max pool on the Zen 4 (pool_nchw family: MEGnet's [1, 23,
    7500, 1] pooled by 2 x 1, 86,250 lines of one output, 0.55 ms; the same data as [1, 23, 1, 7500]
    by 1 x 2, 0.15).  0 where the shape is not known."""
    if not shape or len(shape) < 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        return 0
    attrs = {a.name: a for a in node.attribute}
    kernel = list(attrs["kernel_shape"].ints) if "kernel_shape" in attrs else []
    spatial = len(shape) - 2
    if len(kernel) != spatial:
        return 0
    strides = list(attrs["strides"].ints) if "strides" in attrs else [1] * spatial
    dilations = list(attrs["dilations"].ints) if "dilations" in attrs else [1] * spatial
    pads = list(attrs["pads"].ints) if "pads" in attrs else [0] * 2 * spatial
    auto_pad = attrs["auto_pad"].s.decode() if "auto_pad" in attrs else "NOTSET"
    ceil = bool(attrs["ceil_mode"].i) if "ceil_mode" in attrs else False
    out = []
    for i, size in enumerate(shape[2:]):
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-size // strides[i]))
            continue
        span = size + pads[i] + pads[i + spatial] - ((kernel[i] - 1) * dilations[i] + 1)
        out.append((-(-span // strides[i]) if ceil else span // strides[i]) + 1)
    return shape[0] * shape[1] * math.prod(out[:-1]) if min(out) > 0 else 0


# onnxruntime's reductions that walk a strided axis per output when the axes reduced lead the tensor.
STRIDED_REDUCTIONS = ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum")


def strided_reduction(node, opset: int, shape, constants=None) -> int:
    """Outputs of a ReduceMean / Max / Min / Sum of ``shape`` over a block of axes after only size-1 ones
    and before a kept innermost one ([1, C, H, W] over C): onnxruntime walks the C reads of each output a
    plane apart, ~0.4 ns a read and ~2 an output on the Zen 4 where a reduction over the innermost axis
    streams at 23-44 GB/s (family reduce_strided; LEADER's layer norms over [1, 32, 384, 416] 10 ms each).
    The axes from the attribute, or (opset 18; ReduceSum from 13) the constant second input in
    ``constants`` (name -> TensorProto).  0 for any other reduction (one of [N > 1, C, K] runs another loop)."""
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape) or len(shape) < 3:
        return 0
    axes = next((list(a.ints) for a in node.attribute if a.name == "axes"), None)
    if axes is None and len(node.input) > 1 and constants and node.input[1] in constants:
        from onnx import numpy_helper

        axes = [int(a) for a in numpy_helper.to_array(constants[node.input[1]]).ravel()]
    if not axes:
        return 0
    axes = sorted(a % len(shape) for a in axes)
    first, last = axes[0], axes[-1]
    if axes != list(range(first, last + 1)) or first < 1 or last >= len(shape) - 1 or math.prod(shape[:first]) != 1:
        return 0
    return math.prod(shape[last + 1:])


def kernel_walk(node, opset: int, op, shapes: list, item_bytes: int, constants=None, optimized=True) -> tuple[str, int] | None:
    """(``Op.variant``, ``Op.kernel_calls``) of a node (read as ``op``) whose kernel loops in calls
    of its own, each with a cost the fit times (its terms' ``call_ns``): a Transpose's blocks or
    runs, and how it copies them (``transpose_blocks``); a Softmax's rows (``softmax_rows``); an
    Einsum's matrix products (``einsum_macs``); an NCHW MaxPool's or AveragePool's output lines
    (``pool_lines``; variant "1d" for a 1-D one, onnxruntime's Pool1DTask); a reduction over leading
    axes' outputs (``strided_reduction``, variant "strided"); a grouped ConvTranspose's groups (a
    GEMM and a col2im each, variant "grouped"); an fp32 depthwise conv left out of the NCHWc layout
    (channels off its block), MLAS's NCHW conv: an im2col + GEMM per channel, and per channel of each image
    for a 1-D one (variant "1d", terms of its own: trueocr's recognizer convolves 64 text lines at
    once); a DepthToSpace's or SpaceToDepth's runs of blocksize elements (onnxruntime shuffles them
    as a 6-D tensor: [16, 4, 192, 208] -> [16, 1, 384, 416] 5.0 ms, ~3.5 ns a run of 2); a
    MatMulNBits' kernel (``nbits_variant``); an InstanceNormalization's channels; a ScatterElements' or
    GatherElements' index elements (each one's offset computed over every dimension: caustic-nmr's GNN
    scatter-adds 9.8 M messages in 400 ms on Zen 1) and a ScatterND's index tuples (a slice copied
    each).  None for any other node (a tree ensemble's visits: ort_trees.tree_fields)."""
    if node.op_type == "MatMulNBits":
        return nbits_variant(node), 0
    if not shapes:
        return None
    if node.op_type in STRIDED_REDUCTIONS and (outputs := strided_reduction(node, opset, shapes[0], constants)):
        return "strided", outputs
    if node.op_type in ("MaxPool", "AveragePool") and node.domain == "" and (lines := pool_lines(node, shapes[0])):
        # a 1-D pool, or a 2-D one of one line a channel: the 1-D loop's cost
        return ("1d" if len(shapes[0]) == 3 or lines == shapes[0][0] * shapes[0][1] else ""), lines
    known = all(isinstance(d, int) and d > 0 for d in shapes[0])
    if node.op_type in ("DepthToSpace", "SpaceToDepth") and known:  # a 6-D shuffle of b-element runs
        return "", math.prod(shapes[0]) // max(next((a.i for a in node.attribute if a.name == "blocksize"), 1), 1)
    if node.op_type == "InstanceNormalization" and known and len(shapes[0]) > 2:  # passes per channel of each image
        return "", shapes[0][0] * shapes[0][1]
    indices = shapes[1] if len(shapes) > 1 and shapes[1] else None
    indices = indices if indices and all(isinstance(d, int) and d > 0 for d in indices) else None
    if node.op_type in ("ScatterElements", "GatherElements") and indices:  # element by element
        return "", math.prod(indices)
    if node.op_type == "ScatterND" and indices:  # a slice per index tuple (its indices read as bytes)
        return "", math.prod(indices[:-1])
    if node.op_type == "Transpose":
        return transpose_blocks(node, shapes[0], item_bytes)
    if node.op_type in ("Softmax", "LogSoftmax"):
        return "", softmax_rows(node, opset, shapes[0])
    if node.op_type == "Einsum" and len(shapes) > 1:
        return "", einsum_macs(node, shapes[:2])[1]
    if node.op_type == "ConvTranspose" and op.groups > 1:
        return "grouped", op.groups
    if node.op_type == "Conv" and node.domain == "" and op.kind == "depthwise" and op.compute_dtype == "float32":
        x = shapes[0]
        one_d = bool(x) and len(x) == 3 and isinstance(x[0], int) and x[0] > 0
        return ("1d", x[0] * op.out_channels) if one_d else (op.variant, op.out_channels)
    return (variant, 0) if (variant := mlas_conv_variant(node, op, shapes[0], optimized)) else None


def transpose_blocks(node, shape, item_bytes: int) -> tuple[str, int]:
    """How onnxruntime's Transpose copies a permutation (core/providers/cpu/tensor/transpose.cc,
    core/framework/transpose_helper.cc), as (``Op.variant``, ``Op.kernel_calls``); ("", 0) where
    it is one copy (only size-1 axes move), moves a single axis over elements of 1-8 bytes (NCHW <->
    NHWC: MLAS's transpose, or a loop of its own; priced by its bytes: on the Zen 4 MLAS's took 22-81
    ps a byte by direction and channel count, where the reshape terms say 30), or copies element by
    element (``transpose_elementwise``).

    - "strided": a single axis moved outwards over blocks of more than 8 bytes: ``StridedCopy``
      (core/framework/copy.h) walks the input's contiguous runs with an n-d counter, the axes
      merged where both sides hold them contiguous: a call per run.
    - "inwards": a single axis moved inwards over such blocks: a ``memcpy`` per block in a plain loop.
    - "blocks": any other permutation keeping the innermost axis: a ``memcpy`` per block of the
      trailing axes it keeps, its offset from a multi-index.

    On the EPYC Zen 4 a [128, 6, 32] fp32 tensor to [6, 128, 32] ("strided") takes 7.0 us where its
    bytes say 3.0, ~7 ns per run of 32; "inwards" ~1 ns a block, "blocks" ~4
    (scripts/data/host-x86-kernels-transpose-zen4.json)."""
    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None) or list(range(len(shape or ())))[::-1]
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape) or len(perm) != len(shape):
        return "", 0
    rank, elements = len(shape), math.prod(shape)
    if [p for p in perm if shape[p] > 1] == [a for a in range(rank) if shape[a] > 1]:
        return "", 0  # only size-1 axes move: a reshape
    moved = _single_axis_move(perm)
    if moved is not None:
        source, destination = moved
        block = math.prod(shape[max(source, destination) + 1:])
        if block * item_bytes <= 8:
            return "", 0
        if source > destination:  # outwards: StridedCopy over its merged runs
            return "strided", elements // _contiguous_run(shape, perm)
        return "inwards", elements // block
    if perm[-1] != rank - 1:
        return "", 0  # element by element (transpose_elementwise)
    suffix = 1
    for axis in range(rank - 1, -1, -1):
        if perm[axis] != axis:
            break
        suffix *= shape[axis]
    return "blocks", elements // suffix


def _single_axis_move(perm: list[int]) -> tuple[int, int] | None:
    """(from, to) where a permutation moves one axis and keeps the others' order, as onnxruntime's
    ``IsTransposeMovingSingleAxis`` reads it (size-1 axes count); None otherwise."""
    for axis, source in enumerate(perm):
        if source == axis:
            continue
        rest = [p for p in perm if p != source]
        if rest == sorted(rest) and source > axis:
            return source, axis  # outwards
        moved = perm.index(axis)
        rest = [p for p in perm if p != axis]
        return (axis, moved) if rest == sorted(rest) else None
    return None


def _contiguous_run(shape, perm: list[int]) -> int:
    """Elements of the innermost run ``StridedCopy`` copies at once: the input's trailing axes
    merged while both the input and the output hold them contiguous (size-1 axes dropped)."""
    out_shape = [shape[p] for p in perm]
    out_strides = [math.prod(out_shape[k + 1:]) for k in range(len(perm))]
    dst = [0] * len(shape)
    for k, p in enumerate(perm):
        dst[p] = out_strides[k]
    axes = [a for a in range(len(shape)) if shape[a] > 1]
    run, expected = 1, 1
    for a in reversed(axes):
        if dst[a] != expected:
            break
        run *= shape[a]
        expected = run
    return run


def elementwise_copies(node, opset: int, shape) -> int:
    """Elements a node copies one at a time (``Op.elementwise_copies``): a Transpose's
    (``transpose_elementwise``); a Softmax / LogSoftmax from opset 13 over an axis other than the
    last, those of the two transposes its kernel makes (it swaps that axis with the last, computes,
    swaps back: core/providers/cpu/math/softmax.cc; YOLOv8's DFL, a softmax over 16 bins on axis 1
    of [1, 16, 4, 2100]: 1.05 ms by the profiler where its rows alone cost 0.04)."""
    if node.op_type == "Transpose":
        return transpose_elementwise(node, shape)
    if node.op_type not in ("Softmax", "LogSoftmax") or opset < 13 or not shape:
        return 0
    rank = len(shape)
    axis = next((a.i for a in node.attribute if a.name == "axis"), -1) % rank
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return 2 * _copied_one_by_one(perm, shape)


def softmax_rows(node, opset: int, shape) -> int:
    """Rows a Softmax / LogSoftmax normalizes one by one (MLAS's softmax: a max, an exp-sum and a
    scaling pass per row, each row a call): from opset 13 the tensor's elements over its axis'
    size (an inner axis is first swapped with the last, ``elementwise_copies``); before, the
    product of the axes before ``axis`` (the input coerced to 2-D).  0 for a shape not fully known.
    MTCNN's P-Net takes 435 us over 25,993 rows of 2 classes, where its bytes said 17."""
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        return 0
    rank = len(shape)
    axis = next((a.i for a in node.attribute if a.name == "axis"), -1 if opset >= 13 else 1) % rank
    return math.prod(shape) // shape[axis] if opset >= 13 else math.prod(shape[:axis])


def _copied_one_by_one(perm: list[int], shape) -> int:
    """``transpose_elementwise``'s rule for a permutation of a tensor of ``shape`` (0 for a shape
    not fully known)."""
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        return 0
    rank = len(shape)
    if len(perm) != rank or perm[-1] == rank - 1:
        return 0
    if [p for p in perm if shape[p] > 1] == [a for a in range(rank) if shape[a] > 1]:
        return 0  # only size-1 axes move: a reshape
    moved = [a for a in range(rank) if [p for p in perm if p != a] == [b for b in range(rank) if b != a]]
    return 0 if moved else math.prod(shape)


class _Iterator:
    """One input's side of the Broadcaster: its run of axes with one pattern (advancing or
    broadcast) after another, and each run's output elements (``BroadcastIterator``'s deltas and
    counts; the first run's is the span)."""

    def __init__(self, axis: int, largest: int):
        self.advancing, self.counts = [axis > 1], [largest]

    def append(self, axis: int, largest: int) -> None:
        if (axis > 1) != self.advancing[-1]:  # the pattern changes: a new run
            self.advancing.append(axis > 1)
            self.counts.append(1)
        self.counts[-1] *= largest


def broadcast_calls(a: tuple[int, ...] | None, b: tuple[int, ...] | None) -> int:
    """Spans onnxruntime's ``BroadcastLoop`` walks for a binary op over shapes ``a`` and ``b``:
    the output's elements over ``GetSpanSize()``; 0 when it is one span (equal shapes, a scalar,
    a broadcast over the outer axes only) or a shape is unknown."""
    if a is None or b is None or not (a or b) or not all(isinstance(d, int) and d > 0 for d in (*a, *b)):
        return 0
    shorter, longer = sorted((len(a), len(b)))
    ra, rb = list(a)[::-1], list(b)[::-1]  # innermost first
    index = 0
    if shorter == 0:  # a rank-0 scalar: its first axis is the other's innermost
        axis = (ra or rb)[0]
        it_a, it_b = _Iterator(axis if ra else 1, axis), _Iterator(axis if rb else 1, axis)
        index = 1
    else:
        while True:  # size-1 axes both share are skipped up to the first real one
            x, y = ra[index], rb[index]
            if max(x, y) == 1 and index + 1 < shorter:
                index += 1
                continue
            it_a, it_b = _Iterator(x, max(x, y)), _Iterator(y, max(x, y))
            index += 1
            break
        for k in range(index, shorter):
            x, y = ra[k], rb[k]
            if max(x, y) > 1:
                it_a.append(x, max(x, y))
                it_b.append(y, max(x, y))
        index = shorter
    for k in range(index, longer):  # past the shorter's rank: its axes broadcast, 1s included
        axis = (ra if len(ra) == longer else rb)[k]
        (it_a if len(ra) == longer else it_b).append(axis, axis)
        (it_b if len(ra) == longer else it_a).append(1, axis)
    elements = math.prod(max(x, y) for x, y in itertools.zip_longest(ra, rb, fillvalue=1))
    calls = elements // min(it_a.counts[0], it_b.counts[0])
    return calls if calls > 1 else 0


def resize_interpolation(node, opset: int, in_shape, out_shape) -> str:
    """How onnxruntime's CPU provider interpolates a ``Resize`` / ``Upsample`` node: its ``mode``
    ("nearest", the default; "linear"; "cubic"), and "nearest2x" where its copy-only path runs
    (upsamplebase.h ``use_nearest2x_optimization_``: opset < 11, or nearest with the
    ``asymmetric`` transform and ``floor`` rounding, as torch and Paddle export an upsample; at
    run time the scales must be [1, 1, 2, 2]; not its NCHWc Upsample, a kernel of its own).  On
    the EPYC Zen 4 that path writes 17 ps per output byte where the general nearest one takes ~140
    and bilinear ~340 (scripts/data/host-x86-kernels-elementwise-zen4.json; a 1x64x56x56 x2
    upsample: 70 us against 458 with ``half_pixel``)."""
    attrs = {a.name: a for a in node.attribute}
    mode = attrs["mode"].s.decode() if "mode" in attrs else "nearest"
    if mode != "nearest":
        return mode
    transform = attrs["coordinate_transformation_mode"].s.decode() if "coordinate_transformation_mode" in attrs \
        else "half_pixel"
    rounding = attrs["nearest_mode"].s.decode() if "nearest_mode" in attrs else "round_prefer_floor"
    copy_path = node.domain != "com.microsoft.nchwc" and (opset < 11 or (transform == "asymmetric" and rounding == "floor"))
    doubled = (in_shape and out_shape and len(in_shape) == len(out_shape) == 4 and tuple(out_shape[:2]) == tuple(in_shape[:2])
               and out_shape[2] == 2 * in_shape[2] and out_shape[3] == 2 * in_shape[3])
    return "nearest2x" if copy_path and doubled else "nearest"


def einsum_macs(node, shapes) -> tuple[int, int]:
    """(MACs, matrix products) of a two-operand ``Einsum``: onnxruntime transposes both operands to
    batched matrices and multiplies them with MLAS, one product per value of the indices both
    operands and the output share.  MACs: the product of every index's size, each counted once
    ("..." takes the operands' broadcast axes); (0, 0) for one operand or a shape not fully known."""
    equation = next((a.s.decode() for a in node.attribute if a.name == "equation"), "").replace(" ", "")
    inputs, _, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != 2 or len(shapes) < 2:
        return 0, 0
    sizes: dict[str, int] = {}
    named = []
    for term, shape in zip(terms, shapes):
        if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
            return 0, 0
        if "..." in term:  # the broadcast axes, aligned from the right as NumPy does
            term = term.replace("...", "".join(chr(0x100 + k) for k in range(max(len(shape) - len(term) + 3, 0))[::-1]))
        if len(term) != len(shape):
            return 0, 0
        named.append(term)
        for index, size in zip(term, shape):
            sizes[index] = max(sizes.get(index, 1), size)
    if "..." in output:
        output = output.replace("...", "".join(k for k in sizes if ord(k) >= 0x100))
    if "->" not in equation:  # implicit output: the indices that appear once
        output = "".join(k for k in sizes if "".join(named).count(k) == 1)
    batch = set(named[0]) & set(named[1]) & set(output)
    return math.prod(sizes.values()), math.prod(sizes[k] for k in batch)

