"""An int8 swish (x * LOGISTIC(x)) is one op to LiteRT: its MUL costs nothing more on a CPU
(``Op.swish_mul``); an fp32 one, or LOGISTIC(x) * y, is a MUL like any other.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

pytest.importorskip("ai_edge_quantizer")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

SHAPE = (1, 8, 8, 16)


def _file(tmp_path: Path, *, swish: bool, int8: bool) -> Path:
    b = mk._TfliteBuilder()
    x, sig, out = b.tensor(SHAPE), b.tensor(SHAPE), b.tensor(SHAPE)
    other = x if swish else b.tensor(SHAPE)
    b.op("LOGISTIC", [x], [sig])
    b.op("MUL", [other, sig], [out], "MulOptions", b.s.MulOptionsT())
    fp32 = tmp_path / f"{swish}.f32.tflite"
    b.save(fp32, [x] if swish else [x, other], [out])
    if not int8:
        return fp32
    path = tmp_path / f"{swish}.int8.tflite"
    mk._quantize_tflite(fp32, path)
    return path


@pytest.mark.parametrize(("swish", "int8", "free"), [(True, True, True), (False, True, False), (True, False, False)])
def test_only_an_int8_swish_mul_is_free_on_a_cpu(tmp_path, swish, int8, free):
    graph = read_graph(_file(tmp_path, swish=swish, int8=int8))
    (mul,) = [op for op in graph.ops if op.op_type == "MUL"]
    assert mul.swish_mul is free
    placed = {op.op_type: op for op in check_kernels(graph, load_target("host-x86")).ops}
    assert (placed["MUL"].latency_ms == 0.0) is free
    mcu = {op.op_type: op for op in check_kernels(graph, load_target("cortex-m55")).ops} if int8 else None
    if mcu:  # TFLM runs the two ops apart
        assert mcu["MUL"].latency_ms > 0
