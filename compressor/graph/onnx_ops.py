"""ONNX nodes as the IR's ops: their kind and MACs (Conv / Gemm / MatMul and their integer, QLinear
and onnxruntime-fused forms, recurrent layers and their steps, Einsum), the weight and bias slots each takes, and
what onnxruntime runs after a fused GEMM (``fused_activation``), and its ``DFT`` and ``STFT`` as the
transforms they run (``dft_fields``, ``stft_fields``), and an SVM's kernel work (``svm_fields``).  Split
from onnx_reader.py."""

from __future__ import annotations

import math

from .ir import elements
from .ort_kernels import RECURRENT, einsum_macs

__all__ = ["ONNX_WEIGHTS", "dft_fields", "fused_activation", "onnx_kind_macs", "output_axis", "recurrent_steps",
           "step_weight_bytes", "stft_fields", "svm_fields"]


ONNX_WEIGHTS = {"LSTM": (1, 2, 3), "GRU": (1, 2, 3), "RNN": (1, 2, 3), "DynamicQuantizeLSTM": (1, 2, 3),
                 "Conv": (1, 2), "FusedConv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "FusedGemm": (1, 2),
                 "MatMul": (1,), "FusedMatMul": (1,), "ConvInteger": (1,), "MatMulInteger": (1,),
                 "QLinearConv": (3, 8), "QLinearMatMul": (3,), "QGemm": (3, 6), "DynamicQuantizeMatMul": (1, 4),
                 "MatMulIntegerToFloat": (1, 6), "Einsum": (0, 1), "MatMulNBits": (1, 2, 3, 5)}
# Matrix products: MACs = output elements x the shared dimension K (onnx_kind_macs).
_MATMULS = ("Gemm", "FusedGemm", "MatMul", "FusedMatMul", "MatMulInteger", "QLinearMatMul", "QGemm",
            "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulNBits")
_ONNX_KINDS = {
    **dict.fromkeys(_MATMULS, "fully_connected"), "ConvTranspose": "conv",
    # onnxruntime's own layout ops (the optimized graph): copies.
    **dict.fromkeys(("ReorderInput", "ReorderOutput"), "reshape"),
    **dict.fromkeys(("NhwcMaxPool", "QLinearAveragePool"), "pool"),
    **dict.fromkeys(("Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd", "QLinearSoftmax"), "elementwise"),
    **dict.fromkeys(("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"), "quantize"),
    **dict.fromkeys(("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "ReduceMean",
                     "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "QLinearAveragePool",
                     "QLinearGlobalAveragePool"), "pool"),
    **dict.fromkeys(("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice",
                     "Gather", "GatherElements", "GatherND", "Pad", "Expand", "Tile", "Identity",
                     "DepthToSpace", "SpaceToDepth", "QLinearConcat"), "reshape"),
    **dict.fromkeys(("Add", "Sub", "Mul", "Div", "Sum", "Relu", "Clip", "Sigmoid", "Tanh", "HardSwish",
                     "HardSigmoid", "LeakyRelu", "PRelu", "Elu", "Selu", "Gelu", "Erf", "Exp", "Log", "Sqrt",
                     "Reciprocal", "Pow", "Neg", "Abs", "Max", "Min", "Mean", "Floor", "Ceil", "Round",
                     "Softplus", "Mish", "Sign", "Cast", "Where", "Equal", "Less", "Greater", "Not", "And",
                     "Or", "BatchNormalization", "QLinearAdd", "QLinearMul", "QLinearSigmoid",
                     "QLinearLeakyRelu"), "elementwise"),
}


def output_axis(node) -> int:
    """The output-channel axis of a node's weight (input 1): a Conv's 0, a MatMul's last, a
    Gemm's 1 unless ``transB``."""
    if node.op_type in ("Gemm", "FusedGemm"):
        return 0 if any(a.name == "transB" and a.i for a in node.attribute) else 1
    return -1 if node.op_type in ("MatMul", "FusedMatMul") else 0


def onnx_kind_macs(node, slots, outs, tensors) -> tuple[str, int]:
    def shape(position):
        index = slots[position] if position < len(slots) else None
        return tensors[index].shape if index is not None else None

    attrs = {a.name: a for a in node.attribute}
    out = elements(tensors[outs[0]].shape) if outs else 0
    op_type = node.op_type
    if op_type in ("Conv", "FusedConv", "ConvInteger", "QLinearConv"):
        # Also onnxruntime's NCHWc Conv (com.microsoft.nchwc): its weight is already padded to
        # the channel block, so these MACs are the ones MLAS computes.
        w = shape(3) if op_type == "QLinearConv" else shape(1)
        if not w or len(w) < 3:
            return "conv", 0
        group = attrs["group"].i if "group" in attrs else 1
        macs = out * math.prod(w[1:])  # weight [O, Cin / group, *kernel]
        if group > 1 and w[1] == 1:  # one input channel per group: depthwise (NCHW, NHWC or NCHWc)
            return "depthwise", macs
        if group == 1 and all(k == 1 for k in w[2:]):
            return "pointwise", macs
        return "conv", macs
    if op_type == "ConvTranspose":
        x, w = shape(0), shape(1)  # weight [Cin, Cout / group, *kernel]
        return "conv", (elements(x) * math.prod(w[1:]) if x and w else 0)
    if op_type in RECURRENT:
        # Recurrent layers are gate matmuls: per time step and direction, W [gates x H, I] times
        # the input and R [gates x H, H] times the state (ONNX W, R are [dirs, gates x H, I / H];
        # onnxruntime's DynamicQuantizeLSTM stores them transposed, [dirs, I / H, 4 x H]).
        x, w, r = shape(0), shape(1), shape(2)
        if not (x and w and r) or len(x) < 3:
            return "fully_connected", 0
        if op_type == "DynamicQuantizeLSTM":
            w, r = (w[0], w[2], w[1]), (r[0], r[2], r[1])
        steps_batch = x[0] * x[1]  # [seq, batch, input] (layout 0) or [batch, seq, input]: the same product
        return "fully_connected", steps_batch * w[0] * w[1] * (w[2] + r[2])
    if op_type == "Einsum":  # a contraction of two operands: batched matrix products
        return "fully_connected", einsum_macs(node, [shape(0), shape(1)])[0]
    if op_type in _MATMULS:
        a = shape(0)
        if not a:
            return "fully_connected", 0
        if op_type == "FusedMatMul" and outs and tensors[outs[0]].shape:
            # transA / transBatchA move K around: K = A's elements per output row.
            rows = out // max(tensors[outs[0]].shape[-1], 1)
            return "fully_connected", out * (elements(a) // max(rows, 1))
        trans_a = op_type in ("Gemm", "FusedGemm", "QGemm") and "transA" in attrs and attrs["transA"].i
        k = a[0] if trans_a or len(a) == 1 else a[-1]
        return "fully_connected", out * k
    return _ONNX_KINDS.get(op_type, "other"), 0


def fused_activation(node) -> str:
    """The activation of onnxruntime's ``FusedGemm`` (its Gemm + activation fusion), which it runs as a
    pass of its own over the output once the GEMM is done (fused_gemm.cc: an element-wise transform,
    scalar for Softplus: ~11 ns an element, where typeseg's Mamba spends 27 ms); "" for any other node
    (a ``FusedConv``'s activation is MLAS's, inside its kernel)."""
    if node.op_type != "FusedGemm":
        return ""
    return next((a.s.decode() for a in node.attribute if a.name == "activation"), "")


# onnxruntime's ``DFT`` (core/providers/cpu/signal/dft.cc), read for the cost model.
#
# A signal of a power-of-two length n is one radix-2 FFT, n log2 n butterflies a transform; any other
# length takes Bluestein's chirp-z: three FFTs of the power of two M >= 2n - 1 and their chirp
# products, so 320, 400 and 480 points cost what a 1,024-point transform does three times over
# (40 us a transform on an EPYC Zen 4, 8 for 512 points).  Its work (``Op.macs``, priced per unit by
# the runtime's ``DFT`` terms, as LiteRT's RFFT2D is) and its transforms (``Op.kernel_calls``, each a
# call: its twiddles or chirp, computed per call).  An ``STFT`` is one such transform a frame (the
# same kernel, windowed: ``stft_fields``): onnx-asr's NeMo log-mel front end, 2,001 frames of 512
# points over 20 s of audio, read 0.33x of its time with the op not costed.


def dft_fields(node, opset: int, shape, constants=None) -> dict:
    """``Op`` fields of a DFT over an input of ``shape`` ([..., n, 1] real, [..., n, 2] complex):
    kind "other", ``macs`` its transforms' work, ``kernel_calls`` its transforms, ``variant``
    "bluestein" for a length not a power of two; {} where its shape or axis is not known."""
    from onnx import numpy_helper

    def constant(position: int):
        name = node.input[position] if len(node.input) > position else ""
        return int(numpy_helper.to_array(constants[name]).reshape(-1)[0]) if name and constants and name in constants else None

    if not shape or not all(isinstance(d, int) and d > 0 for d in shape) or len(shape) < 3:
        return {}
    axis = (constant(2) if opset >= 20 else next((a.i for a in node.attribute if a.name == "axis"), None))
    axis = (-2 if opset >= 20 else 1) if axis is None else axis
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 < axis < len(shape) - 1:
        return {}
    n = constant(1) or shape[axis]
    return _transforms(math.prod(shape[:-1]) // shape[axis], n)


def stft_fields(node, shapes, output, constants=None) -> dict:
    """``Op`` fields of an STFT (opset 17) over a signal of ``shapes[0]``, writing ``output`` [batch,
    frames, bins, 2], as ``dft_fields``: a transform of frame_length points a frame (its window's
    length, else its input 3); {} where those are not known."""
    from onnx import numpy_helper

    length = node.input[3] if len(node.input) > 3 else ""
    window = shapes[2] if len(shapes) > 2 and len(node.input) > 2 and node.input[2] else None
    n = (window[0] if window and isinstance(window[0], int) else
         int(numpy_helper.to_array(constants[length]).reshape(-1)[0]) if length and constants and length in constants else None)
    if not n or not output or len(output) != 4 or not all(isinstance(d, int) and d > 0 for d in output):
        return {}
    return _transforms(output[0] * output[1], n)


def _transforms(transforms: int, n: int) -> dict:
    """A DFT kernel's work and calls for ``transforms`` transforms of ``n`` points each."""
    if n & (n - 1) == 0:
        return {"kind": "other", "macs": int(transforms * n * max(math.log2(n), 1)), "kernel_calls": transforms}
    m = 1 << (2 * n - 1).bit_length()
    return {"kind": "other", "macs": int(transforms * 3 * m * math.log2(m)), "kernel_calls": transforms,
            "variant": "bluestein"}


def svm_fields(node, shape) -> dict:
    """``Op`` fields of an ai.onnx.ml SVMClassifier / SVMRegressor over ``shape`` ([rows, features] or
    [features]): ``macs`` its kernel's work, rows x support vectors x features (rows x classes x
    features with coefficients alone, the linear mode), ``variant`` its kernel type.  onnxruntime
    (svmclassifier.h batched_kernel_dot) runs an RBF kernel as a scalar loop on the calling thread
    (~0.8 ns a step on the EPYC Zen 4) and the others as one GEMM; {} where the shape is not known."""
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        return {}
    rows, features = (1, shape[0]) if len(shape) == 1 else (math.prod(shape[:-1]), shape[-1])
    attrs = {a.name: a for a in node.attribute}
    vectors = (sum(attrs["vectors_per_class"].ints) if "vectors_per_class" in attrs
               else attrs["n_supports"].i if "n_supports" in attrs else 0)
    kernel = attrs["kernel_type"].s.decode() if "kernel_type" in attrs else "LINEAR"
    if not vectors:  # the linear mode: coefficients [classes, features]
        vectors, kernel = max(len(attrs["coefficients"].floats) // features, 1) if "coefficients" in attrs else 1, "LINEAR"
    return {"kind": "other", "macs": rows * vectors * features, "variant": kernel}


def recurrent_steps(node, slots, tensors) -> int:
    """Time steps x directions of an ONNX LSTM/GRU/RNN or onnxruntime DynamicQuantizeLSTM (X is
    [seq, batch, in], or [batch, seq, in] with layout=1; W's first axis is the directions)."""
    x = tensors[slots[0]].shape if slots and slots[0] is not None else None
    w = tensors[slots[1]].shape if len(slots) > 1 and slots[1] is not None else None
    if not x or not w or len(x) < 3:
        return 0
    layout = next((a.i for a in node.attribute if a.name == "layout"), 0)
    return int((x[1] if layout else x[0]) * w[0])


def step_weight_bytes(slots, tensors) -> int | None:
    """Bytes an ONNX LSTM/GRU/RNN reads at each time step: one direction's R ([directions,
    gates x hidden, hidden]); onnxruntime multiplies the input by W for all steps at once."""
    r = tensors[slots[2]] if len(slots) > 2 and slots[2] is not None else None
    if r is None or not r.is_constant or not r.shape or not isinstance(r.shape[0], int) or r.shape[0] < 1:
        return None
    return r.size_bytes // r.shape[0]
