"""Cost models against numbers computed by hand from a synthetic graph and a synthetic profile."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from compressor.cost import estimate, estimate_memory, estimate_op_energy_mj, estimate_op_latency, plan_arena
from compressor.cost.memory import tensor_lifetimes
from compressor.errors import TargetError
from compressor.graph.ir import Graph, Op, Tensor
from compressor.targets.load import ComputeProfile, EnergyProfile, MemoryProfile, TargetProfile

# A toy device with round numbers: 1 GHz, 4 fp32 / 16 int8 MACs per cycle, 1 GB/s DRAM,
# 4 GB/s cache of 1 KiB, 1 us per op, 10 mW static.
TOY = TargetProfile(
    name="toy", description="toy", kind="cpu", formats=("tflite",), dtypes=("float32", "int8"),
    compute=ComputeProfile(clock_hz=1e9, threads=1, dispatch_overhead_us=1.0,
                           macs_per_cycle={"float32": 4.0, "int8": 16.0},
                           efficiency={"float32": {"conv": 0.5, "other": 0.25},
                                       "int8": {"conv": 0.5, "other": 0.25}}),
    memory=MemoryProfile(dram_bandwidth_bytes_per_s=1e9, cache_bytes=1024, cache_bandwidth_bytes_per_s=4e9,
                         arena_alignment_bytes=1, weights_in_ram=False),
    energy=EnergyProfile(pj_per_mac={"float32": 2.0, "int8": 0.5}, dram_pj_per_byte=100.0, cache_pj_per_byte=1.0,
                         static_power_mw=10.0),
    path=Path("toy.toml"),
)


def op(name, kind, macs, *, dtype="float32", inputs=(), outputs=(), weight_bytes=0, input_bytes=0, output_bytes=0):
    return Op(name=name, op_type=name.upper(), kind=kind, inputs=tuple(inputs), outputs=tuple(outputs), macs=macs,
              compute_dtype=dtype, weight_bytes=weight_bytes, input_bytes=input_bytes, output_bytes=output_bytes)


def tensor(name, size, *, constant=False):
    return Tensor(name=name, shape=(size,), dtype="int8", size_bytes=size, is_constant=constant)


# ---------------------------------------------------------------------------- latency


def test_compute_bound_conv():
    conv = op("conv", "conv", 1_000_000, input_bytes=1000, weight_bytes=200, output_bytes=800)
    cost = estimate_op_latency(conv, TOY)
    # 1e6 MACs / (1e9 Hz × 4 MAC/cycle × 0.5) = 500 us; 2000 B > 1 KiB cache -> DRAM: 2 us.
    assert cost.compute_s == pytest.approx(500e-6)
    assert cost.memory_s == pytest.approx(2e-6)
    assert cost.memory_level == "dram"
    assert cost.latency_s == pytest.approx(500e-6 + 1e-6)  # + 1 us dispatch
    assert cost.bound == "compute"


def test_channels_pad_up_to_the_kernels_tile():
    # 20 output channels on a 16-channel kernel run as 32: 1e6 MACs cost as 1.6e6.
    tiled = replace(TOY, compute=replace(TOY.compute, channel_multiple=16,
                                         channel_tiles={"int8": {"depthwise": 32}}))
    conv = replace(op("conv", "conv", 1_000_000), out_channels=20)
    assert estimate_op_latency(conv, tiled).compute_s == pytest.approx(1.6 * 500e-6)
    assert estimate_op_latency(replace(conv, out_channels=32), tiled).compute_s == pytest.approx(500e-6)
    assert estimate_op_latency(conv, TOY).compute_s == pytest.approx(500e-6)  # multiple 1: no padding
    # The int8 depthwise kernel has its own tile: 20 channels run as 32 there, 16 -> 32 too.
    dw = replace(op("dw", "depthwise", 1_000_000, dtype="int8"), out_channels=16)
    # 1e6 × 32/16 MACs / (1e9 × 16 × 0.25) = 500 us
    assert estimate_op_latency(dw, tiled).compute_s == pytest.approx(500e-6)
    assert tiled.compute.channel_tile_of("float32", "depthwise") == 16


def test_memory_bound_elementwise():
    add = op("add", "elementwise", 0, input_bytes=4000, output_bytes=2000)
    cost = estimate_op_latency(add, TOY)
    # No MACs; 6000 B from DRAM at 1 GB/s = 6 us, + 1 us dispatch.
    assert cost.compute_s == 0
    assert cost.latency_s == pytest.approx(7e-6)
    assert cost.bound == "memory"


def test_small_working_set_runs_at_cache_bandwidth():
    relu = op("relu", "elementwise", 0, input_bytes=300, output_bytes=300)
    cost = estimate_op_latency(relu, TOY)
    assert cost.memory_level == "cache"
    assert cost.memory_s == pytest.approx(600 / 4e9)  # 150 ns


def test_memory_bound_conv_with_few_macs():
    # 100 MACs take 50 ns; 3000 B from DRAM take 3 us, so the conv waits for memory.
    conv = op("conv", "conv", 100, input_bytes=1000, weight_bytes=1000, output_bytes=1000)
    cost = estimate_op_latency(conv, TOY)
    assert cost.compute_s == pytest.approx(100 / (1e9 * 4 * 0.5))
    assert cost.bound == "memory" and cost.latency_s == pytest.approx(3e-6 + 1e-6)


def test_int8_rate_and_efficiency_fallback():
    # "depthwise" is not in the toy's table, so it runs at "other" = 0.25: 1.6e6 / (1e9 × 16 × 0.25) = 400 us.
    dw = op("dw", "depthwise", 1_600_000, dtype="int8", input_bytes=100, output_bytes=100)
    assert estimate_op_latency(dw, TOY).compute_s == pytest.approx(400e-6)


def test_threads_divide_compute_only():
    two = replace(TOY, compute=replace(TOY.compute, threads=2))
    conv = op("conv", "conv", 1_000_000, input_bytes=1000, weight_bytes=200, output_bytes=800)
    assert estimate_op_latency(conv, two).compute_s == pytest.approx(250e-6)
    assert estimate_op_latency(conv, two).memory_s == pytest.approx(2e-6)


def test_dtype_the_target_cannot_run_is_a_target_error():
    conv = op("conv", "conv", 10, dtype="int16")
    with pytest.raises(TargetError, match="toy has no compute rate for int16"):
        estimate_op_latency(conv, TOY)
    # No MACs, no rate needed (a QUANTIZE from float16, say).
    estimate_op_latency(op("q", "quantize", 0, dtype="float16", input_bytes=8), TOY)


# ---------------------------------------------------------------------------- energy


def test_energy_of_a_compute_bound_conv():
    conv = op("conv", "conv", 1_000_000, input_bytes=1000, weight_bytes=200, output_bytes=800)
    latency = estimate_op_latency(conv, TOY)
    # 1e6 MACs × 2 pJ = 2e6 pJ; 2000 B × 100 pJ (DRAM) = 2e5 pJ; 10 mW × 501 us = 5.01e-3 mJ.
    expected_mj = (2e6 + 2e5) / 1e9 + 10 * 501e-6
    assert estimate_op_energy_mj(conv, latency, TOY) == pytest.approx(expected_mj)


def test_energy_of_bytes_from_cache():
    relu = op("relu", "elementwise", 0, input_bytes=300, output_bytes=300)
    latency = estimate_op_latency(relu, TOY)  # 150 ns + 1 us
    expected_mj = 600 * 1.0 / 1e9 + 10 * (150e-9 + 1e-6)
    assert estimate_op_energy_mj(relu, latency, TOY) == pytest.approx(expected_mj)


# ---------------------------------------------------------------------------- memory


def skip_graph() -> Graph:
    """t0 -> A -> t1 -> B -> t2;  C(t2, t0) -> t3: the input stays alive for the skip.

    Lifetimes (op steps): t0 [0, 2], t1 [0, 1], t2 [1, 2], t3 [2, 2].  Live bytes per step:
    0: t0 + t1 = 300, 1: t0 + t1 + t2 = 350, 2: t0 + t2 + t3 = 230, so no plan beats 350 B.
    """
    tensors = (tensor("t0", 100), tensor("t1", 200), tensor("t2", 50), tensor("t3", 80), tensor("w", 1000, constant=True))
    ops = (op("a", "conv", 0, inputs=(0, 4), outputs=(1,)), op("b", "elementwise", 0, inputs=(1,), outputs=(2,)),
           op("c", "elementwise", 0, inputs=(2, 0), outputs=(3,)))
    return Graph(ops=ops, tensors=tensors, inputs=(0,), outputs=(3,), format="tflite")


def test_lifetimes_of_the_skip_graph():
    assert tensor_lifetimes(skip_graph()) == {0: (0, 2), 1: (0, 1), 2: (1, 2), 3: (2, 2)}


def test_greedy_arena_reaches_the_optimum():
    plan = plan_arena(skip_graph(), alignment_bytes=1)
    # Largest first: t1 at 0; t0 overlaps it -> 200; t3 (only alive at step 2) reuses 0;
    # t2 must clear t3 (80), t1 (200) and t0 (300): 300.  Arena 350 = the lower bound.
    assert dict(plan.offsets) == {1: 0, 0: 200, 3: 0, 2: 300}
    assert plan.size_bytes == 350


def test_arena_alignment():
    plan = plan_arena(skip_graph(), alignment_bytes=64)
    # t1 [0, 200); t0 at align(200) = 256; t3 at 0; t2 past t0's end 356 -> 384; arena 434.
    assert dict(plan.offsets) == {1: 0, 0: 256, 3: 0, 2: 384}
    assert plan.size_bytes == 434


def test_chain_ping_pongs_between_two_buffers():
    tensors = tuple(tensor(f"t{i}", 100) for i in range(4))
    ops = tuple(op(f"op{i}", "elementwise", 0, inputs=(i,), outputs=(i + 1,)) for i in range(3))
    graph = Graph(ops=ops, tensors=tensors, inputs=(0,), outputs=(3,), format="onnx")
    assert plan_arena(graph, alignment_bytes=1).size_bytes == 200


def test_peak_ram_counts_weights_only_when_they_live_in_ram():
    graph = skip_graph()
    assert estimate_memory(graph, TOY, artifact_size_bytes=4321).peak_ram_bytes == 350
    in_ram = replace(TOY, memory=replace(TOY.memory, weights_in_ram=True))
    cost = estimate_memory(graph, in_ram, artifact_size_bytes=4321)
    assert (cost.arena_bytes, cost.weights_in_ram_bytes, cost.peak_ram_bytes, cost.flash_bytes) == (350, 1000, 1350, 4321)


# ---------------------------------------------------------------------------- estimate


def test_estimate_sums_ops_and_serialises():
    graph = skip_graph()
    ops = (op("a", "conv", 1_000_000, inputs=(0, 4), outputs=(1,), input_bytes=1000, weight_bytes=200, output_bytes=800),
           op("b", "elementwise", 0, inputs=(1,), outputs=(2,), input_bytes=4000, output_bytes=2000),
           graph.ops[2])
    graph = Graph(ops=ops, tensors=graph.tensors, inputs=graph.inputs, outputs=graph.outputs, format="tflite")
    result = estimate(graph, TOY, artifact_size_bytes=999)
    # a: 501 us (compute), b: 7 us (memory), c: no bytes recorded on the op -> 1 us dispatch.
    assert result.latency_ms == pytest.approx(0.501 + 0.007 + 0.001)
    assert [c.bound for c in result.per_op] == ["compute", "memory", "memory"]
    assert result.peak_ram_bytes == 350 and result.flash_bytes == 999
    expected_energy = ((2e6 + 2e5) / 1e9 + 10 * 501e-6) + (6000 * 100 / 1e9 + 10 * 7e-6) + 10 * 1e-6
    assert result.energy_mj == pytest.approx(expected_energy)
    assert result.energy_mj == pytest.approx(sum(c.energy_mj for c in result.per_op))

    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"latency_ms", "peak_ram_bytes", "flash_bytes", "energy_mj", "per_op"}
    assert data["per_op"][0] == {"op": "A", "name": "a", "kind": "conv", "macs": 1_000_000, "dtype": "float32",
                                 "latency_ms": pytest.approx(0.501), "bound": "compute"}
    assert all(type(v) in (int, float) for v in (data["latency_ms"], data["peak_ram_bytes"], data["energy_mj"]))


def test_estimate_is_pure():
    graph = skip_graph()
    assert estimate(graph, TOY, artifact_size_bytes=1) == estimate(graph, TOY, artifact_size_bytes=1)
