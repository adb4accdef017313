"""onnxruntime's DynamicQuantizeMatMul (quantize_dynamic's MatMul by a constant) has terms of its own,
fitted on the dqmm family: its fp32 input is quantized on the fly, so its time goes with that
input's bytes as well as its MACs.  Each able to fail."""

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


def test_the_family_builds_what_onnxruntime_runs_as_one_dynamic_quantize_matmul(tmp_path):
    path = tmp_path / "dq.onnx"
    mk.build_onnx_int8("dqmm", {"m": 64, "k": 96, "n": 32}, path)
    (op,) = [op for op in read_graph(path, as_run=True).ops if op.macs]
    assert op.op_type == "DynamicQuantizeMatMul" and op.compute_dtype == "int8"
    assert op.macs == 64 * 96 * 32 and op.input_bytes == 64 * 96 * 4


def test_the_fit_finds_the_terms_the_files_were_made_with():
    truth = {"mac_ps": 4.0, "in_byte_ps": 120.0, "weight_byte_ps": 10.0, "out_byte_ps": 30.0, "fixed_us": 2.0}
    rows = []
    for m, k, n in [(128, 384, 384), (16384, 512, 1), (4096, 512, 512), (65536, 64, 16), (1, 768, 768),
                    (1024, 1024, 1024), (256, 64, 2048), (8192, 128, 128)]:
        macs, a, w, y = m * k * n, 4 * m * k, k * n + 5, 4 * m * n
        ms = (truth["mac_ps"] * macs + truth["in_byte_ps"] * a + truth["weight_byte_ps"] * w
              + truth["out_byte_ps"] * y) * 1e-9 + truth["fixed_us"] * 1e-3
        rows.append({"family": "dqmm", "format": "onnx-int8", "ms": ms, "macs": macs, "input_bytes": a,
                     "weight_bytes": w, "output_bytes": y})
    fitted = fkr.fit_dqmm(rows)
    assert {k: fitted[k] for k in truth} == pytest.approx(truth, rel=1e-6)
    assert fkr.fit_dqmm(rows[:3]) == {}  # too few files


def test_its_own_terms_price_it_where_the_runtime_has_them(tmp_path):
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    terms = zen4.compute.runtime_cost("onnx").kernels["int8"]
    if "DynamicQuantizeMatMul" not in terms:
        pytest.fail("the Zen 4's onnxruntime int8 terms have no DynamicQuantizeMatMul line")
    path = tmp_path / "dq.onnx"
    mk.build_onnx_int8("dqmm", {"m": 4096, "k": 512, "n": 64}, path)  # 8 MiB in: within the L3
    (op,) = [op for op in read_graph(path, as_run=True).ops if op.macs]
    own = terms["DynamicQuantizeMatMul"]
    expected = sum(own.seconds(op.macs, op.input_bytes, op.weight_bytes, op.output_bytes))
    got = estimate_op_latency(op, zen4, runtime="onnx")
    assert got.compute_s + got.memory_s == pytest.approx(expected, rel=0.02)
