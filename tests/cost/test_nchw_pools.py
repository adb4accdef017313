"""onnxruntime's MaxPool / AveragePool left in NCHW (channels off the NCHWc block, or a 1-D pool) pay per
output line as well as per byte (ort_kernels.pool_lines), at terms of their own on the Zen 4 (family
pool_nchw), where the variant's pool rate priced MEGnet's 1-D max pools at 0.06x.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

from compressor.cost.latency import estimate_op_latency
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


def _pool(tmp_path, op, shape, k, s):
    path = tmp_path / f"{op}-{len(shape)}-{shape[1]}.onnx"
    mk.build_onnx("pool_nchw", {"op": op, "shape": shape, "k": k, "s": s}, path)
    return [o for o in read_graph(path, as_run=True).ops if "Pool" in o.op_type]


def test_an_nchw_pool_counts_its_output_lines_and_a_1d_one_is_its_own_kernel(tmp_path):
    (two_d,) = _pool(tmp_path, "MaxPool", (1, 23, 7500, 1), (2, 1), (2, 1))
    assert (two_d.op_type, two_d.variant, two_d.kernel_calls) == ("MaxPool", "", 23 * 3750)
    (one_d,) = _pool(tmp_path, "AveragePool", (4, 40, 250), (2,), (2,))
    assert (one_d.variant, one_d.kernel_calls) == ("1d", 4 * 40)
    (one_line,) = _pool(tmp_path, "MaxPool", (1, 23, 1, 7500), (1, 2), (1, 2))  # 2-D, one output line a channel
    assert (one_line.variant, one_line.kernel_calls) == ("1d", 23)
    (blocked,) = _pool(tmp_path, "MaxPool", (1, 32, 7500, 1), (2, 1), (2, 1))  # 2 blocks of 16: NCHWc
    assert blocked.op_type == "NchwcMaxPool" and blocked.kernel_calls == 0


def test_the_zen4_prices_them_by_their_own_terms(tmp_path):
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    kernels = zen4.compute.runtime_cost("onnx").kernels["float32"]
    assert kernels["MaxPool"].call_ns > 0 and "MaxPool_1d" in kernels and "AveragePool_1d" in kernels
    (pool,) = _pool(tmp_path, "MaxPool", (1, 23, 7500, 1), (2, 1), (2, 1))
    seconds = estimate_op_latency(pool, zen4, runtime="onnx").latency_s
    assert 0.35e-3 < seconds < 0.8e-3  # 0.55 ms by onnxruntime's profiler; 0.03 by the variant's pool rate
