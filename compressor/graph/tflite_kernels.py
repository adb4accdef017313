"""Which of its runtime's kernels runs a TFLite op, where its op type does not say.

XNNPACK's delegate (tensorflow/lite/delegates/xnnpack/xnnpack_delegate.cc) takes an op only in
the forms its kernels have; what it leaves runs LiteRT's own kernel, at other costs.  Read from the
flatbuffer here, recorded on the op (``Op.fused_activation``, ``Op.variant``) and priced by
cost/latency.py.
"""

from __future__ import annotations

__all__ = ["ACTIVATION_OPTIONS", "batch_matmul_variant", "fused_activation"]

# Binary ops whose options carry a fused activation, and the clamps XNNPACK makes of them
# (ActivationFunctionType: 1 RELU, 2 RELU_N1_TO_1, 3 RELU6).
ACTIVATION_OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}
_CLAMPS = {1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def fused_activation(op, op_type: str, schema) -> str:
    """``Op.fused_activation`` of a TFLite binary op from its options; "" without one."""
    table = op.BuiltinOptions()
    if table is None:
        return ""
    options = getattr(schema, ACTIVATION_OPTIONS[op_type])()
    options.Init(table.Bytes, table.Pos)
    return _CLAMPS.get(options.FusedActivationFunction(), "")


def batch_matmul_variant(sub, slots, tensors) -> str:
    """``Op.variant`` of a BATCH_MATMUL: "xnnpack" when XNNPACK takes it in int8, "" otherwise.

    XNNPACK's VisitBatchMatMulNode takes an int8 right-hand operand only as its QC8 type, zero
    points 0, and of the left-hand operand's datatype: one scale.  ai-edge-quantizer gives an
    activation the zero point its range makes (-8 to 8 in the corpus' attention), so most int8
    BATCH_MATMULs of two activations run LiteRT's reference kernel, 14-18x slower per MAC on an
    EPYC Zen 4 (``--probe bmm-zero-point``: 2.78 ms with zero point 2, 0.16 with 0);
    compress's int8 pass makes the operand symmetric (quant/tflite_int8.py)."""
    if len(slots) < 2 or slots[0] is None or slots[1] is None:
        return ""
    if tensors[slots[0]].dtype != "int8" or tensors[slots[1]].dtype != "int8":
        return ""
    quantization = sub.Tensors(slots[1]).Quantization()
    if quantization is None or quantization.ScaleLength() != 1 or quantization.ZeroPointLength() < 1:
        return ""
    return "xnnpack" if not quantization.ZeroPointAsNumpy().any() else ""
