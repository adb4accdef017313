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
    fitted = fkr.fit_dynamic_op(rows)
    assert {k: fitted[k] for k in truth} == pytest.approx(truth, rel=1e-6)
    assert fkr.fit_dynamic_op(rows[:3]) == {}  # too few files


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


def test_a_shared_quantizing_makes_matmul_integer_to_float_with_its_own_terms(tmp_path):
    """Where one DynamicQuantizeLinear feeds two MatMuls (the mmitf family), onnxruntime runs each as
    a MatMulIntegerToFloat of the uint8 input; the fit takes their profiled node time (alone_ms)."""
    path = tmp_path / "mm.onnx"
    mk.build_onnx_int8("mmitf", {"m": 32, "k": 64, "n": 48}, path)
    ops = read_graph(path, as_run=True).ops
    assert sorted(op.op_type for op in ops if op.macs) == ["MatMulIntegerToFloat"] * 2
    assert [op.op_type for op in ops if op.kind == "quantize"] == ["DynamicQuantizeLinear"]
    rows = [{"family": "mmitf", "format": "onnx-int8", "ms": 99.0, "alone_ms": (4.0 * m * k * n + 100.0 * 4 * m * n) * 1e-9,
             "macs": m * k * n, "input_bytes": m * k, "weight_bytes": k * n, "output_bytes": 4 * m * n}
            for m, k, n in [(128, 384, 384), (1, 768, 768), (4096, 512, 512), (48, 512, 2048), (16, 512, 512), (2048, 64, 2048)]]
    fitted = fkr.fit_dynamic_op(rows, "mmitf")  # the node's time, not the file's 99 ms
    assert fitted["mac_ps"] == pytest.approx(4.0, rel=1e-6) and fitted["out_byte_ps"] == pytest.approx(100.0, rel=1e-6)
    assert fkr.fit_dynamic_op(rows, "dqmm") == {}


def test_a_dynamic_quantize_linear_is_priced_by_its_own_terms(tmp_path):
    """Its two passes over an fp32 input cost far more than the quantize kind's one (10-20x in the
    mmitf files): the Zen 4's dql-family terms price it by the uint8 values it writes."""
    path = tmp_path / "dql.onnx"
    mk.build_onnx("dql", {"m": 256, "k": 768}, path)
    (op,) = [op for op in read_graph(path, as_run=True).ops if op.op_type == "DynamicQuantizeLinear"]
    assert op.kind == "quantize" and op.input_bytes == 4 * 256 * 768 and op.output_bytes >= 256 * 768
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    own = zen4.compute.runtime_cost("onnx").kernels["float32"]["DynamicQuantizeLinear"]
    got = estimate_op_latency(op, zen4, runtime="onnx")
    assert got.memory_s + got.compute_s == pytest.approx(sum(own.seconds(0, op.input_bytes, 0, op.output_bytes)), rel=0.02)
    assert own.out_byte_ps > 0 and got.latency_s > 100 * op.output_bytes * 1e-12  # >= 100 ps a value written


def test_uint8_weights_run_the_u8u8_gemm_with_terms_of_their_own(tmp_path):
    """quantize_dynamic's QUInt8 weights (moonshine-js's encoders: zero point 145) run MLAS's u8u8 GEMM,
    ~2.9x the u8s8 one's time per MAC on the Zen 4: variant "u8u8", its own terms where measured."""
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    costs = target.compute.runtime_cost("onnx")
    times = {}
    for family in ("dqmm", "dqmm_u8", "mmitf_u8"):
        path = tmp_path / f"{family}.onnx"
        mk.build_onnx_int8(family, {"m": 128, "k": 384, "n": 384, "u8": family != "dqmm"}, path)
        ops = [op for op in read_graph(path, as_run=True).ops if op.macs]
        assert {op.variant for op in ops} == ({""} if family == "dqmm" else {"u8u8"})
        for op in ops:
            terms = costs.kernel_terms(op.compute_dtype, op.op_type, op.kind, variant=op.variant)
            assert terms is costs.kernels["int8"][f"{op.op_type}_u8u8" if op.variant else op.op_type]
        times[family] = sum(estimate_op_latency(op, target, runtime="onnx").latency_s for op in ops)
    assert times["dqmm_u8"] > 1.5 * times["dqmm"]
