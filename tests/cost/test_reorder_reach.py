"""onnxruntime's NCHWc reorders past the private cache copy at a fraction of the CPU's element-wise
stream rate (``KernelTerms.stream_reach``; cost/caches.stream_floor_s), which the fit reads from the
reorder families' points past that cache and the profile's checker bounds.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.caches import stream_floor_s
from compressor.cost.latency import estimate_op_latency
from compressor.errors import TargetError
from compressor.graph.ir import Op
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import fit_kernel_rates

MIB = 2 ** 20
ZEN4 = "AuthenticAMD family 25 model 17"


def _reorder(op_type: str, nbytes: int, out_bytes: int | None = None) -> Op:
    return Op("y", op_type, "reshape", (0,), (1,), 0, "float32", 0, nbytes, nbytes if out_bytes is None else out_bytes)


def test_a_reorder_past_the_cache_costs_its_traffic_at_its_reach_of_the_stream_rate():
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    terms = zen4.compute.runtime_cost("onnx").kernels["float32"]["ReorderOutput"]
    assert 0.3 < terms.stream_reach < 0.8  # the Zen 4's fit: ~0.5
    big = _reorder("ReorderOutput", 16 * MIB)  # [1, 64, 256, 256] each way: 1.45 ms by its profiler
    full = stream_floor_s(big, zen4)
    assert stream_floor_s(big, zen4, terms.stream_reach) == pytest.approx(full / terms.stream_reach)
    latency = estimate_op_latency(big, zen4, runtime="onnx").latency_s
    assert latency >= full / terms.stream_reach
    assert 1.0e-3 < latency < 2.0e-3
    # within the private cache the terms alone price it, as before
    small = _reorder("ReorderOutput", 128 * 1024)
    assert stream_floor_s(small, zen4, terms.stream_reach) == 0.0
    assert estimate_op_latency(small, zen4, runtime="onnx").latency_s < 20e-6


def test_the_fit_takes_terms_within_the_cache_and_the_reach_past_it():
    target = load_target("host-x86", cpu_identity=ZEN4)
    rows = []
    for nbytes in (64 * 1024, 192 * 1024, 384 * 1024, 4 * MIB, 8 * MIB, 16 * MIB):
        op = _reorder("ReorderInput", nbytes)
        full = stream_floor_s(op, target) or 0.0
        ms = (20e-12 * nbytes if not full else full / 0.4) * 1e3  # 20 ps a byte in cache, 0.4 of the stream past it
        rows.append({"format": "onnx", "family": "reorder_input", "op_type": "ReorderInput", "kind": "reshape",
                     "dtype": "float32", "macs": 0, "out_channels": 0, "input_bytes": nbytes, "weight_bytes": 0,
                     "output_bytes": nbytes, "bytes": 2 * nbytes, "ms": ms, "params": {}})
    terms = fit_kernel_rates.fit_terms(rows, target, "onnx")["ReorderInput"]
    assert terms["in_byte_ps"] + terms["out_byte_ps"] == pytest.approx(20, rel=0.05)
    assert terms["stream_reach"] == pytest.approx(0.4, rel=0.01)
    assert "stream_reach = 0.4" in fit_kernel_rates.toml_terms(terms)
    assert "reshape" not in fit_kernel_rates.fit_terms(rows, target, "onnx")  # not the reshape kind's points


def test_a_reach_above_one_is_refused(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "targets" / "host-x86.toml").read_text()
    line = next(x for x in text.splitlines() if x.startswith("kernels.float32.ReorderOutput"))
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(line, line.replace("stream_reach = 0.5203", "stream_reach = 1.5")))
    with pytest.raises(TargetError, match="stream_reach"):
        load_target(str(bad), cpu_identity=ZEN4)
