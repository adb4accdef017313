"""onnxruntime's DFT read as it runs (onnx_ops.py): a power-of-two length's radix-2 FFT, n log2 n
a transform, any other length's Bluestein chirp-z over the power of two >= 2n - 1; each priced by
its own terms on the Zen 4; each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.cost.kernels import check_kernels
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


def _dft(tmp_path, n, batch=1, complex_=False):
    path = tmp_path / f"dft{n}x{batch}.onnx"
    mk.build_onnx("dft", {"batch": batch, "n": n, "complex": complex_}, path)
    return next(op for op in read_graph(path, as_run=True).ops if op.op_type == "DFT")


def test_a_power_of_two_is_an_fft_and_any_other_length_bluestein_s_three(tmp_path):
    fft = _dft(tmp_path, 512, batch=3)
    assert (fft.macs, fft.kernel_calls, fft.variant) == (3 * 512 * 9, 3, "")
    chirp = _dft(tmp_path, 400, batch=2, complex_=True)  # 2 x 400 - 1 = 799 -> 1,024
    assert (chirp.macs, chirp.kernel_calls, chirp.variant) == (2 * 3 * 1024 * 10, 2, "bluestein")


def test_each_is_priced_by_its_own_terms(tmp_path):
    """Timed (scripts/data/host-x86-kernels-dft-zen4.json): 512 points 9.5 us, 400 points 65 us; the
    element-wise bytes had given ~2 us each."""
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    us = {}
    for n in (512, 400):
        path = tmp_path / f"{n}.onnx"
        mk.build_onnx("dft", {"batch": 1, "n": n, "complex": False}, path)
        us[n] = next(p.latency_ms for p in check_kernels(read_graph(path, as_run=True), zen4).ops
                     if p.op_type == "DFT") * 1e3
    assert us[512] == pytest.approx(9.5, rel=0.3)
    assert us[400] == pytest.approx(65, rel=0.3)


def _stft(path, samples: int, step: int, n: int):
    """An opset-17 STFT of a [1, samples, 1] signal, frames of ``n`` points every ``step``, a Hann window."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(step, np.int64), "step"),
             numpy_helper.from_array(np.hanning(n).astype(np.float32), "window")]
    node = helper.make_node("STFT", ["x", "step", "window"], ["y"], name="stft", onesided=1)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, samples, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_an_stft_is_one_transform_a_frame_priced_as_the_dft_s(tmp_path):
    """onnx-asr's NeMo front end: 2,001 frames of 512 points over 20 s of audio, 0.33x of its time
    with the STFT costed as its bytes.  Here 97 frames of 512, each the 512-point DFT's ~9.5 us."""
    zen4 = load_target("host-x86", cpu_identity=ZEN4)
    graph = read_graph(_stft(tmp_path / "stft.onnx", 16000, 160, 512), as_run=True)
    (stft,) = [op for op in graph.ops if op.op_type == "STFT"]
    frames = 1 + (16000 - 512) // 160
    assert (stft.macs, stft.kernel_calls, stft.variant) == (frames * 512 * 9, frames, "")
    us = next(p.latency_ms for p in check_kernels(graph, zen4).ops if p.op_type == "STFT") * 1e3
    assert us == pytest.approx(frames * 9.5, rel=0.3)
    # onnxruntime loops over the frames on the calling thread: no faster on two (the NeMo front end 21.6 / 19.8 ms)
    from compressor.targets.load import with_threads

    two = next(p.latency_ms for p in check_kernels(graph, with_threads(zen4, 2)).ops if p.op_type == "STFT") * 1e3
    assert two == pytest.approx(us, rel=0.02)
