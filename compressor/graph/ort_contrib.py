"""onnxruntime's contrib ops (com.microsoft) as the cost model sees them: those it prices by what
they compute (``PRICED_CONTRIB``) and a note naming any other a graph holds (``contrib_notes``), and
which of its MatMulNBits kernels runs a node (``nbits_variant``)."""

from __future__ import annotations

__all__ = ["PRICED_CONTRIB", "contrib_notes", "nbits_variant"]


# onnxruntime's contrib ops (com.microsoft) the cost model prices by what they compute: its fused convs and
# GEMMs, its int8, dynamically quantized and block-quantized products, its int8 LSTM, its element-wise and
# normalization fusions (their own terms).  Any other a graph holds (Attention, MultiHeadAttention,
# EmbedLayerNormalization, ...) is costed by its bytes only, and the read says so (``contrib_notes``).
PRICED_CONTRIB = frozenset({
    "FusedConv", "FusedGemm", "FusedMatMul", "NhwcMaxPool", "QGemm", "QLinearConv", "QLinearAdd", "QLinearMul",
    "QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax", "QLinearAveragePool", "QLinearGlobalAveragePool",
    "QLinearConcat", "DynamicQuantizeMatMul", "DynamicQuantizeLSTM", "MatMulIntegerToFloat", "MatMulNBits",
    "QuantizeLinear", "DequantizeLinear", "Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd",
    "SkipLayerNormalization", "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization"})


def contrib_notes(nodes) -> tuple[str, ...]:
    """A note naming the contrib ops of ``nodes`` (the graph onnxruntime runs) the cost model prices by
    their bytes alone (not ``PRICED_CONTRIB``): a com.microsoft Attention holds its QKV projection and
    its scores in one node, which its bytes do not say.  () when there are none."""
    unpriced: dict[str, int] = {}
    for node in nodes:
        if node.domain == "com.microsoft" and node.op_type not in PRICED_CONTRIB:
            unpriced[node.op_type] = unpriced.get(node.op_type, 0) + 1
    if not unpriced:
        return ()
    listed = ", ".join(f"{count} {op_type}" for op_type, count in sorted(unpriced.items()))
    note = (f"onnxruntime contrib ops costed by their bytes only, their arithmetic not modelled ({listed}): "
            "the estimate for them is low")
    return (note,)


def nbits_variant(node) -> str:
    """Which of onnxruntime's MatMulNBits kernels runs a node (its weights' ``bits``, and int8 compute
    where ``accuracy_level`` is 4): "4b", "4b_int8", "8b", "8b_int8".  They differ by up to ~145x on one
    shape (a [1, 768] x [768, 3072] product on the Zen 4: 8-bit fp32 5.4 ms, 8-bit int8 0.038;
    scripts/data/host-x86-kernels-nbits-zen4.json)."""
    attrs = {a.name: a.i for a in node.attribute}
    return f"{attrs.get('bits', 4)}b" + ("_int8" if attrs.get("accuracy_level", 0) == 4 else "")
