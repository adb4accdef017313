"""scripts/fit_kernel_rates.py's kernel terms, and arm_published_check's fp16 rule: each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.targets.load import load_target

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import arm_published_check  # noqa: E402
import fit_kernel_rates  # noqa: E402


def _row(macs, cin, cout, pixels, ms, fmt="tflite", kind="conv", op_type="CONV_2D", family="conv"):
    return {"format": fmt, "family": family, "op_type": op_type, "kind": kind, "dtype": "float32", "macs": macs,
            "out_channels": cout, "input_bytes": pixels * cin * 4, "weight_bytes": cin * cout * 36,
            "output_bytes": pixels * cout * 4, "bytes": 0, "ms": ms}


def test_terms_recover_a_known_kernel_and_separate_op_types():
    target = load_target("host-x86")
    # A synthetic kernel: 20 ps per MAC and 50 ps per output byte (what a small-K GEMM pays).
    rows = []
    for cin, cout, pixels in [(3, 16, 12544), (16, 32, 3136), (64, 64, 784), (256, 256, 196), (8, 16, 50176),
                              (128, 128, 784)]:
        row = _row(cin * cout * 9 * pixels, cin, cout, pixels, 0)
        row["ms"] = (20e-12 * row["macs"] + 50e-12 * row["output_bytes"]) * 1e3
        rows.append(row)
    for n in (100_000, 1_000_000, 4_000_000):  # sigmoid costs 4x an ADD per byte
        for op_type, ps in (("LOGISTIC", 80), ("ADD", 20)):
            rows.append({**_row(0, 1, 1, 1, 0, kind="elementwise", op_type=op_type, family="elementwise"),
                         "input_bytes": n, "weight_bytes": 0, "output_bytes": n, "ms": ps * 1e-12 * n * 1e3})
    terms = fit_kernel_rates.fit_terms(rows, target, "tflite")
    assert terms["conv"]["mac_ps"] == pytest.approx(20, rel=0.05)
    assert terms["conv"]["out_byte_ps"] == pytest.approx(50, rel=0.1)
    assert terms["LOGISTIC"]["in_byte_ps"] == pytest.approx(4 * terms["ADD"]["in_byte_ps"], rel=0.05)
    for row in rows:
        chosen = fit_kernel_rates._terms_for(terms, row)
        assert fit_kernel_rates.terms_ms(chosen, row, target) == pytest.approx(row["ms"], rel=0.1)


def test_ncnn_fp32_rows_on_armv82_cores_are_fp16():
    a76 = {"runtime": "ncnn benchncnn", "cpu": "4x Cortex-A76 @ 2.4 GHz"}
    a72 = {"runtime": "ncnn benchncnn", "cpu": "4x Cortex-A72 @ 1.8 GHz"}
    xnn = {"runtime": "XNNPACK end2end-bench", "cpu": "4x Cortex-A76 @ 2.4 GHz"}
    assert arm_published_check.ncnn_runs_fp16(a76)
    assert not arm_published_check.ncnn_runs_fp16(a72)
    assert not arm_published_check.ncnn_runs_fp16(xnn)
