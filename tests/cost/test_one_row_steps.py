"""A GEMM over one row pays per k step of each microkernel call (``step_ns``), not per MAC:
XNNPACK's 1-row fp32 kernel chains one FMA per step into each accumulator, so a [1, 4096] -> 1 FC
costs what [1, 4096] -> 16 does and -> 17 twice that (two column blocks)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from compressor.cost.latency import estimate_op_latency
from compressor.cost.tiles import one_row_steps
from compressor.graph.ir import Op
from compressor.targets.load import load_target
from compressor.targets.types import KernelTerms, RuntimeCost

ZEN4 = "AuthenticAMD family 25 model 17"


def fc(rows: int, k: int, m: int, kind: str = "fully_connected", groups: int = 1) -> Op:
    return Op("y", "FULLY_CONNECTED", kind, (0, 1), (2,), rows * k * m, "float32", 4 * k * m, 4 * rows * k, 4 * rows * m,
              weights=(1,), out_channels=m, in_channels=k, groups=groups)


def _cpu(costs: RuntimeCost):
    base = load_target("android-arm64")
    return replace(base, compute=replace(base.compute, dispatch_overhead_us=0.0, runtimes={"tflite": costs}))


def test_one_row_steps_count_k_per_column_block_of_the_kernel():
    costs = RuntimeCost(dispatch_overhead_us=0.0, channel_tiles={"float32": {"fully_connected": 32, "conv": 32}},
                        narrow_channel_tiles={"float32": {"fully_connected": 16}})
    compute = _cpu(costs).compute
    assert one_row_steps(fc(1, 4096, 1), compute, costs) == 4096  # the narrow kernel's one block of 16
    assert one_row_steps(fc(1, 4096, 16), compute, costs) == 4096
    assert one_row_steps(fc(1, 4096, 17), compute, costs) == 2 * 4096  # two blocks of 16
    assert one_row_steps(fc(1, 4096, 32), compute, costs) == 4096  # the wide kernel's one block of 32
    assert one_row_steps(fc(1, 4096, 256), compute, costs) == 8 * 4096
    assert one_row_steps(fc(2, 4096, 1), compute, costs) == 0  # two rows: the MACs' kernel
    assert one_row_steps(fc(1, 64, 64, kind="conv", groups=4), compute, costs) == 0  # a grouped conv
    assert one_row_steps(replace(fc(1, 64, 64), kind="elementwise"), compute, costs) == 0


def test_step_ns_prices_the_steps_beside_the_macs():
    costs = RuntimeCost(dispatch_overhead_us=0.0, narrow_channel_tiles={"float32": {"fully_connected": 16}},
                        channel_tiles={"float32": {"fully_connected": 32}},
                        kernels={"float32": {"fully_connected": KernelTerms(step_ns=1.25)}})
    cpu = _cpu(costs)
    us = {m: estimate_op_latency(fc(1, 4096, m), cpu, runtime="tflite").latency_s * 1e6 for m in (1, 16, 17)}
    assert us[1] == pytest.approx(4096 * 1.25e-3)
    assert us[16] == pytest.approx(us[1])
    assert us[17] == pytest.approx(2 * us[1])
    without = replace(costs, kernels={"float32": {"fully_connected": KernelTerms()}})
    assert estimate_op_latency(fc(1, 4096, 1), _cpu(without), runtime="tflite").latency_s == 0


def test_the_zen4_prices_a_narrow_fc_by_its_steps():
    """On the Zen 4's fitted LiteRT terms a [1, 4096] FC to 1 output costs within 10 % of one to 16
    (one block of the 1x16 kernel), and one to 17 (two blocks) about twice that."""
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    us = {m: estimate_op_latency(fc(1, 4096, m), zen4, runtime="tflite").latency_s * 1e6 for m in (1, 16, 17)}
    assert us[16] == pytest.approx(us[1], rel=0.1)
    assert us[17] == pytest.approx(2 * us[1], rel=0.15)
    assert us[1] > 3.0  # 4096 steps at ~1.2 ns, where its 4096 MACs alone said well under a microsecond


def test_two_to_six_rows_run_the_seven_row_kernel_where_whole_rows_start_at_two():
    """``whole_rows_from = 2`` (XNNPACK fp32 on AVX-512: a 1-row and a 7-row kernel): 2 to 6 rows cost
    a whole 7-row tile, one row its own; without it (MLAS) fewer rows than a tile run a smaller one."""
    from compressor.cost.tiles import kernel_work

    costs = RuntimeCost(dispatch_overhead_us=0.0, row_tiles={"float32": {"fully_connected": 7}}, whole_rows_from=2)
    compute = _cpu(costs).compute
    assert kernel_work(fc(2, 64, 64), compute, costs)[0] == 7 * 64 * 64
    assert kernel_work(fc(1, 64, 64), compute, costs)[0] == 64 * 64
    assert kernel_work(fc(8, 64, 64), compute, costs)[0] == 14 * 64 * 64
    mlas = replace(costs, whole_rows_from=0)
    assert kernel_work(fc(2, 64, 64), compute, mlas)[0] == 2 * 64 * 64
