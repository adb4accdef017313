"""compress's int8 pass quantizes a BATCH_MATMUL's right-hand operand symmetric, so XNNPACK takes it
(quant/symmetric_matmul.py): on a float file as a converter writes attention's K (a
FULLY_CONNECTED, a RESHAPE, then Q x K^T), each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from compressor.graph.read import read_graph
from compressor.quant.symmetric_matmul import matmul_operand_tensors
from compressor.quant.tflite_int8 import quantize_tflite

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk


def _attention_scores(path: Path) -> tuple[Path, list[str]]:
    """x [1, 16, 32] -> K = reshape(FC(x)) with a bias of +4 (a one-sided range) -> x . K^T."""
    b, rng = mk._TfliteBuilder(), np.random.default_rng(0)
    s = b.s
    x = b.tensor((1, 16, 32))
    weights = b.tensor((32, 32), rng.standard_normal((32, 32)) * 0.1)
    bias = b.tensor((32,), np.full(32, 4.0))
    k_flat, k = b.tensor((16, 32)), b.tensor((1, 16, 32))
    b.op("FULLY_CONNECTED", [x, weights, bias], [k_flat], "FullyConnectedOptions", s.FullyConnectedOptionsT())
    shape = b.tensor((3,), [1, 16, 32], dtype="int32")
    reshape = s.ReshapeOptionsT(); reshape.newShape = [1, 16, 32]
    b.op("RESHAPE", [k_flat, shape], [k], "ReshapeOptions", reshape)
    scores = b.tensor((1, 16, 16))
    options = s.BatchMatMulOptionsT(); options.adjY = True
    b.op("BATCH_MATMUL", [x, k], [scores], "BatchMatMulOptions", options)
    b.save(path, [x], [scores])
    return path, [b.tensors[k].name, b.tensors[k_flat].name]


def asymmetric_matmuls(path: Path) -> int:
    """int8 BATCH_MATMULs of the file that XNNPACK leaves to LiteRT's reference kernel (Op.variant "")."""
    return sum(op.op_type == "BATCH_MATMUL" and op.compute_dtype == "int8" and not op.variant
               for op in read_graph(path).ops)


@pytest.fixture(scope="module")
def attention(tmp_path_factory):
    return _attention_scores(tmp_path_factory.mktemp("attention") / "scores.tflite")


def test_the_operand_is_followed_back_through_the_ops_that_pass_its_parameters(attention):
    path, names = attention
    assert matmul_operand_tensors(path) == names


def test_the_int8_pass_gives_the_right_hand_operand_zero_point_0_where_the_library_does_not(attention, tmp_path):
    path, _ = attention
    plain = tmp_path / "plain.tflite"
    mk._quantize_tflite(path, plain)  # ai-edge-quantizer's static_wi8_ai8, as the corpus is
    assert asymmetric_matmuls(plain) == 1
    rng = np.random.default_rng(1)
    samples = [[rng.standard_normal((1, 16, 32)).astype(np.float32)] for _ in range(8)]
    ours = tmp_path / "ours.tflite"
    quantize_tflite(path, ours, samples, per_channel=True)
    assert asymmetric_matmuls(ours) == 0
    (bmm,) = [op for op in read_graph(ours).ops if op.op_type == "BATCH_MATMUL"]
    assert bmm.variant == "xnnpack" and bmm.compute_dtype == "int8"
    # and it still computes the scores: the int8 file against the float one
    from ai_edge_litert.interpreter import Interpreter

    outputs = []
    for model in (path, ours):
        runner = Interpreter(model_path=str(model)).get_signature_runner("serving_default")
        outputs.append(next(iter(runner(**{next(iter(runner.get_input_details())): samples[0][0]}).values())))
    reference, quantized = outputs
    assert np.abs(quantized - reference).max() < 0.05 * np.abs(reference).max()
