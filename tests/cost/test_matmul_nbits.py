"""onnxruntime's MatMulNBits (block-quantized int4 / int8 weights, com.microsoft) is a matrix product:
its MACs counted, its kernel by bits and compute type (``accuracy_level`` 4: int8), priced by that
kernel's terms where the CPU has them, fitted on the matmul_nbits family.  Before, an op of no kind
with no MACs.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.latency import estimate_op_latency
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import fit_kernel_rates as fkr
import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


def _read(tmp_path, m, k, n, bits, accuracy, block=32):
    path = tmp_path / f"nbits-{bits}-{accuracy}.onnx"
    mk.build_onnx("matmul_nbits", {"m": m, "k": k, "n": n, "bits": bits, "block": block, "accuracy": accuracy}, path)
    (op,) = read_graph(path, as_run=True).ops
    return op


def test_its_macs_weights_and_kernel_are_read(tmp_path):
    op = _read(tmp_path, 16, 256, 96, 4, 4)
    assert op.op_type == "MatMulNBits" and op.kind == "fully_connected"
    assert op.macs == 16 * 256 * 96 and op.out_channels == 96
    assert op.weight_bytes == 96 * (256 // 32) * 16 + 96 * (256 // 32) * 4  # packed 4-bit blocks + fp32 scales
    assert op.variant == "4b_int8"
    assert _read(tmp_path, 16, 256, 96, 8, 0).variant == "8b"


def test_each_kernel_is_priced_by_its_own_terms(tmp_path):
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    costs = zen4.compute.runtime_cost("onnx")
    times = {}
    for bits, accuracy in ((4, 0), (4, 4), (8, 0), (8, 4)):
        op = _read(tmp_path, 1, 768, 3072, bits, accuracy)
        assert costs.kernel_terms(op.compute_dtype, op.op_type, op.kind, variant=op.variant) is \
            costs.kernels["int8"][f"MatMulNBits_{op.variant}"]
        times[op.variant] = estimate_op_latency(op, zen4, runtime="onnx").latency_s
    # [1, 768] x [768, 3072] on the Zen 4 (matmul_nbits family): 4-bit fp32 0.16 ms, 4-bit int8 0.043,
    # 8-bit fp32 (its per-call dequantization) 5.4, 8-bit int8 0.038
    assert 0.08e-3 < times["4b"] < 0.32e-3 and 0.02e-3 < times["4b_int8"] < 0.09e-3
    assert times["8b"] > 20 * times["8b_int8"]


def test_the_fit_finds_each_kernels_terms():
    truth = {"mac_ps": 12.0, "in_byte_ps": 50.0, "weight_byte_ps": 3.0, "out_byte_ps": 200.0, "fixed_us": 1.5}
    rows = []
    for m, k, n in [(1, 768, 768), (1, 768, 3072), (4, 1024, 1024), (16, 768, 768), (88, 768, 3072), (128, 384, 1536),
                    (256, 1024, 1024)]:
        macs, a, w, y = m * k * n, 4 * m * k, k * n + k * n // 8, 4 * m * n
        ms = (truth["mac_ps"] * macs + truth["in_byte_ps"] * a + truth["weight_byte_ps"] * w
              + truth["out_byte_ps"] * y) * 1e-9 + truth["fixed_us"] * 1e-3
        rows.append({"family": "matmul_nbits", "variant": "8b_int8", "format": "onnx", "ms": ms, "macs": macs,
                     "input_bytes": a, "weight_bytes": w, "output_bytes": y})
    fitted = fkr.fit_nbits(rows, "8b_int8")
    for key, value in truth.items():
        assert fitted[key] == pytest.approx(value, rel=0.02)
    assert fkr.fit_nbits(rows, "4b") == {}  # no files of that kernel
