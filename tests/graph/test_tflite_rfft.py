"""LiteRT's RFFT2D (the STFT inside audio models) and tensors whose size only a run tells: each
able to fail."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"
FRAMES, N = 8, 64


def _framed_fft(path: Path) -> Path:
    """x [1, 8, 1, 64] -> RESHAPE by its own SHAPE (a converter's computed framing: the output's
    recorded shape [1, 1, 1, 64], signature [-1, -1, 1, 64]) -> RFFT2D over [1, 64] planes."""
    b = mk._TfliteBuilder()
    s = b.s
    x = b.tensor((1, FRAMES, 1, N))
    shape = b.tensor((4,), dtype="int32")
    options = s.ShapeOptionsT(); options.outType = s.TensorType.INT32
    b.op("SHAPE", [x], [shape], "ShapeOptions", options)
    framed = b.tensor((1, 1, 1, N))
    b.tensors[framed].shapeSignature = [-1, -1, 1, N]
    b.op("RESHAPE", [x, shape], [framed], "ReshapeOptions", s.ReshapeOptionsT())
    length = b.tensor((2,), [1, N], dtype="int32")
    spectrum = b.tensor((1, 1, 1, N // 2 + 1), dtype="complex64")
    b.tensors[spectrum].shapeSignature = [-1, -1, 1, N // 2 + 1]
    b.op("RFFT2D", [framed, length], [spectrum], "Rfft2dOptions", s.Rfft2dOptionsT())
    b.save(path, [x], [spectrum])
    return path


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return read_graph(_framed_fft(tmp_path_factory.mktemp("fft") / "fft.tflite"))


def test_a_size_only_a_run_gives_is_read_from_one_litert_run(graph):
    (fft,) = [op for op in graph.ops if op.op_type == "RFFT2D"]
    assert fft.macs == FRAMES * N * math.log2(N)  # 8 frames, not the 1 the file records
    assert fft.kernel_calls == FRAMES


def test_a_shape_op_reads_no_data(graph):
    (shape,) = [op for op in graph.ops if op.op_type == "SHAPE"]
    assert shape.input_bytes == 0


def test_an_rfft2d_is_costed_by_its_own_terms_on_one_thread(graph):
    one = load_target("host-x86", cpu_identity=ZEN4)
    two = replace(one, compute=replace(one.compute, threads=2))
    terms = one.compute.runtime_cost("tflite").kernel_terms("float32", "RFFT2D", "other")
    assert terms is not None and terms.mac_ps > 100 and terms.call_ns > 0

    def fft_ms(target):
        return next(p.latency_ms for p in check_kernels(graph, target).ops if p.op_type == "RFFT2D")

    own = (FRAMES * N * math.log2(N) * terms.mac_ps * 1e-12 + FRAMES * terms.call_ns * 1e-9
           + terms.fixed_us * 1e-6) * 1e3
    assert fft_ms(one) >= own  # at least its kernel's time, dispatch on top
    assert fft_ms(two) == pytest.approx(fft_ms(one), rel=1e-6)  # LiteRT's kernel, one thread
