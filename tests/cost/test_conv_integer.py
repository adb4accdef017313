"""onnxruntime's ConvInteger (quantize_dynamic's Conv: im2col, then one MLAS GEMM per group, by the
pair of its types) has terms of its own, fitted on the convint family's node times: per MAC, per
byte of the im2col buffer and per GEMM.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.latency import estimate_op_latency
from compressor.cost.tiles import im2col_gemms
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import fit_kernel_rates as fkr
import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


def conv_integer(path: Path, **shape):
    mk.build_onnx_int8("convint", {"kh": 3, "kw": 3, "s": 1, "groups": 1, "pair": "u8u8", **shape}, path)
    (op,) = [op for op in read_graph(path, as_run=True).ops if op.op_type == "ConvInteger"]
    return op


@pytest.mark.parametrize("pair", ["u8u8", "u8s8"])
def test_the_family_builds_a_conv_integer_of_its_pair(tmp_path, pair):
    op = conv_integer(tmp_path / "c.onnx", h=16, w=16, cin=8, cout=16, pair=pair)
    assert op.variant == pair and op.int8_pair == f"integer_{pair}"
    assert op.macs == 16 * 16 * 9 * 8 * 16


def test_its_gemms_read_the_im2col_buffer_or_the_input_itself(tmp_path):
    conv = conv_integer(tmp_path / "c.onnx", h=16, w=16, cin=8, cout=16)
    assert im2col_gemms(conv) == (16 * 16 * 9 * 8, 1)  # positions x taps x input channels, one GEMM
    pointwise = conv_integer(tmp_path / "p.onnx", h=16, w=16, cin=8, cout=16, kh=1, kw=1)
    assert im2col_gemms(pointwise) == (16 * 16 * 8, 1)  # the uint8 input itself
    depthwise = conv_integer(tmp_path / "d.onnx", h=16, w=16, cin=8, cout=8, groups=8)
    assert depthwise.kind == "depthwise"
    assert im2col_gemms(depthwise) == (16 * 16 * 9 * 8, 8)  # one GEMM per channel


def test_the_fit_finds_the_terms_the_files_were_made_with():
    truth = {"mac_ps": 9.0, "in_byte_ps": 300.0, "weight_byte_ps": 5.0, "out_byte_ps": 40.0, "call_ns": 800.0,
             "fixed_us": 3.0}
    rows = []
    for i, (macs, b, w, y, calls) in enumerate([(1e8, 2e5, 4e4, 8e5, 1), (1.3e7, 2e5, 4e3, 8e5, 1), (1.8e6, 1.8e6, 600, 8e5, 64),
                                                (1.5e8, 2.4e6, 2.3e3, 4e6, 1), (6e7, 6e4, 6e5, 2e5, 1), (9e5, 9e5, 1e3, 4e5, 128),
                                                (4e7, 1e6, 1e4, 1.6e6, 1), (3e6, 3e6, 300, 1.2e6, 32), (7e7, 3e5, 2e5, 1e5, 1)]):
        ms = (truth["mac_ps"] * macs + truth["in_byte_ps"] * b + truth["weight_byte_ps"] * w
              + truth["out_byte_ps"] * y) * 1e-9 + truth["call_ns"] * calls * 1e-6 + truth["fixed_us"] * 1e-3
        rows.append({"family": "convint", "format": "onnx-int8", "params": {"pair": "u8u8"}, "ms": 99.0,
                     "alone_ms": ms, "macs": macs, "gemm_b_bytes": b, "weight_bytes": w, "output_bytes": y,
                     "gemm_calls": calls})
    fitted = fkr.fit_conv_integer(rows, "u8u8")
    assert {k: fitted[k] for k in truth} == pytest.approx(truth, rel=1e-6)
    assert fkr.fit_conv_integer(rows, "u8s8") == {}  # no files of that pair


@pytest.mark.parametrize("pair", ["u8u8", "u8s8"])
def test_its_own_terms_price_it_on_the_zen4(tmp_path, pair):
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    terms = zen4.compute.runtime_cost("onnx").kernels["int8"]
    if f"ConvInteger_{pair}" not in terms:
        pytest.fail(f"the Zen 4's onnxruntime int8 terms have no ConvInteger_{pair} line")
    op = conv_integer(tmp_path / "c.onnx", h=28, w=28, cin=32, cout=32, pair=pair)
    b_bytes, calls = im2col_gemms(op)
    expected = sum(terms[f"ConvInteger_{pair}"].seconds(op.macs, b_bytes, op.weight_bytes, op.output_bytes, calls))
    got = estimate_op_latency(op, zen4, runtime="onnx")
    assert got.compute_s + got.memory_s == pytest.approx(expected, rel=0.02)


def test_the_committed_table_fits_to_the_zen4_lines():
    """The committed convint table refits to the Zen 4's ConvInteger lines (their source)."""
    import json

    table = json.loads((Path(fkr.__file__).parent / "data" / "host-x86-kernels-convint-zen4.json").read_text())
    zen4 = load_target("host-x86", cpu_identity=ZEN4).compute.runtime_cost("onnx").kernels["int8"]
    for pair in fkr.CONV_INTEGER_PAIRS:
        fitted, line = fkr.fit_conv_integer(table["rows"], pair), zen4[f"ConvInteger_{pair}"]
        assert [fitted[k] for k in ("mac_ps", "in_byte_ps", "call_ns")] == pytest.approx(
            [line.mac_ps, line.in_byte_ps, line.call_ns], rel=1e-3)
