"""An int8 AVERAGE_POOL_2D runs LiteRT's own kernel (XNNPACK's delegate takes it in fp32 only): its
own measured terms, one thread (an MLTK model's 2 x 2 pool: 2 us costed, 96 alone): able to fail."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk


def test_an_int8_average_pool_is_costed_as_litert_runs_it(tmp_path):
    path = tmp_path / "avg.tflite"
    mk.build_tflite_int8("avgpool", {"shape": (1, 56, 56, 64), "k": 2, "s": 2}, path)
    graph = read_graph(path)
    (pool,) = [op for op in graph.ops if op.op_type == "AVERAGE_POOL_2D"]
    assert pool.compute_dtype == "int8"
    one = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    two = replace(one, compute=replace(one.compute, threads=2))
    terms = one.compute.runtime_cost("tflite").kernel_terms("int8", "AVERAGE_POOL_2D", "pool")
    assert terms is not one.compute.runtime_cost("tflite").kernel_terms("int8", "MEAN", "pool")

    def pool_ms(target):
        return next(p.latency_ms for p in check_kernels(graph, target).ops if p.op_type == "AVERAGE_POOL_2D")

    assert pool_ms(one) > 0.1  # 0.19 ms alone (scripts/data/host-x86-kernels-avgpool-zen4.json)
    assert pool_ms(two) == pytest.approx(pool_ms(one), rel=1e-6)
