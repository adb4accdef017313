"""onnxruntime's Cast costs what the pair it converts costs, not its bytes: fp16 -> fp32 runs MLAS's
converter at ~0.06 ns an element, fp32 -> int64 ~0.5 (the cast family, 17 pairs on the Zen 4), where
the element-wise kind's bytes priced the first at 2.6x and the second at 0.4x.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

N = 327680


def _cast_us(tmp_path, source: str, target: str, profile) -> tuple[object, float]:
    path = tmp_path / f"{source}_{target}.onnx"
    mk.build_onnx("cast", {"from": source, "to": target, "shape": (1, N)}, path)
    graph = read_graph(path, as_run=True)
    (op,) = graph.ops
    return op, check_kernels(graph, profile).ops[0].latency_ms * 1e3


def test_a_cast_is_priced_by_the_pair_it_converts(tmp_path):
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    half, half_us = _cast_us(tmp_path, "float16", "float32", zen4)
    wide, wide_us = _cast_us(tmp_path, "float32", "int64", zen4)
    assert (half.variant, half.compute_dtype) == ("float16_float32", "float32")
    assert wide.variant == "float32_int64"
    # timed: 0.055 and 0.50 ns an element at this size (scripts/data/host-x86-kernels-cast-zen4.json)
    assert half_us == pytest.approx(0.055e-3 * N + 0.27, rel=0.35)
    assert wide_us == pytest.approx(0.50e-3 * N + 0.27, rel=0.25)
    assert wide_us > 5 * half_us  # by bytes the fp16 cast read 2 B an element, the int64 one 4: 2x, not 9x
