"""quant/scheme_speed.py: a fallback scheme never ships a conv XNNPACK cannot run, and a slower file says so.

The net is Silero VAD's shape in small: a 1-input-channel strided conv over raw audio (the
converter writes it as a DEPTHWISE_CONV_2D; dynamic-range int8 makes it a hybrid op XNNPACK
has no kernel for), then ordinary convs and a linear head.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tests.helpers import compress_pt2


class _SpectrumNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stft = nn.Conv1d(1, 32, kernel_size=64, stride=32, bias=False)
        self.conv = nn.Conv1d(32, 32, 3, padding=1)
        self.head = nn.Linear(32 * 7, 4)

    def forward(self, x):
        x = torch.relu(self.conv(self.stft(x.unsqueeze(1)).abs()))
        return self.head(x.flatten(1))


def _files(tmp_path):
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.schemes import quantize_scheme
    from compressor.quant.tflite_int8 import Calibration

    torch.manual_seed(0)
    model = _SpectrumNet().eval()
    x = np.random.default_rng(0).standard_normal((8, 256)).astype(np.float32)
    float_path, dynamic = tmp_path / "float.tflite", tmp_path / "dynamic.tflite"
    export_tflite(model, (torch.from_numpy(x[:1]),), float_path)
    calibration = Calibration([[x[i:i + 1]] for i in range(8)])
    quantize_scheme(float_path, dynamic, "dynamic_range", calibration=calibration)
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).numpy()
    return model, x, reference, float_path, dynamic, calibration


def test_the_hybrid_conv_xnnpack_leaves_out_is_kept_float(tmp_path):
    from compressor.measure.delegation import undelegated_compute_ops
    from compressor.measure.runtime import open_runtime
    from compressor.quant.scheme_speed import keep_undelegated_float
    from compressor.quant.schemes import SchemeTrial

    _, x, reference, float_path, dynamic, calibration = _files(tmp_path)
    assert [node["op"] for node in undelegated_compute_ops(dynamic, float_path)] == ["DEPTHWISE_CONV_2D"]
    assert undelegated_compute_ops(float_path, float_path) == []  # the fp32 file's delegate takes it

    def evaluate(path):
        got = open_runtime(path).run_batch([x])[0]
        return 10 * np.log10(np.sum(reference ** 2) / np.sum((reference - got) ** 2)), None

    trial = SchemeTrial("dynamic_range", float(evaluate(dynamic)[0]), None, dynamic.stat().st_size, 0.0, True)
    temps = iter(tmp_path / f"t{i}.tflite" for i in range(9))
    path, kept, moved = keep_undelegated_float(float_path, dynamic, trial, temp=lambda suffix: next(temps),
                                               calibration=calibration, evaluate=evaluate, met=lambda s, a: s > 15)
    assert path != dynamic and [row["op"] for row in moved] == ["DEPTHWISE_CONV_2D"]
    assert kept.float_layers == ("stft",) and kept.met
    assert undelegated_compute_ops(path, float_path) == []  # now one XNNPACK partition does it all
    assert kept.size_bytes > trial.size_bytes  # the stem's weights are float again: the price, shown


def test_a_shipped_file_slower_than_fp32_is_reported_with_both_latencies():
    from compressor.measure.speed import LatencyComparison
    from compressor.quant.scheme_speed import speed_verdict

    slow = speed_verdict({}, LatencyComparison({"dynamic_range": 0.149, "fp32": 0.093}, "fp32", 50, "cpu"),
                    "dynamic_range")
    assert slow["latency_vs_fp32"]["slower_than_fp32"] is True
    [warning] = slow["warnings"]
    assert "slower than fp32" in warning and "0.149 ms" in warning and "0.093 ms" in warning
    fast = speed_verdict({}, LatencyComparison({"dynamic_range": 0.070, "fp32": 0.093}, "fp32", 50, "cpu"),
                    "dynamic_range")
    assert fast["latency_vs_fp32"]["slower_than_fp32"] is False and "warnings" not in fast


def test_compress_ships_the_fallback_with_the_stem_float_and_its_latency_against_fp32(tmp_path):
    """End to end: static int8 falls short (an outlier channel), dynamic-range ships; its 1-channel stem
    (a depthwise conv to the converter) stays float, and the int8 step times the file against fp32."""
    from compressor.measure.delegation import undelegated_compute_ops
    from tests.quant.outlier_nets import StubbornOutlierNet

    torch.manual_seed(0)
    model = StubbornOutlierNet().eval()
    x = np.random.default_rng(0).random((40, 1, 12, 12), dtype=np.float32)
    result, report = compress_pt2(model, x, tmp_path,
                                  overrides={"int8.search_seconds": 0.0, "int8.calibration": "min_max"})
    step = next(s for s in report["steps"] if s["name"] == "int8")
    assert step["scheme"] == "dynamic_range", step["scheme_why"]
    assert [row["op"] for row in step["float_for_speed"]] == ["DEPTHWISE_CONV_2D"]
    assert step["fallback"]["speed"]["layers_for_speed"] == ["conv1"] and "conv1 float" in step["scheme_why"]
    assert undelegated_compute_ops(result.out_dir / "model.tflite", result.out_dir / "model_float.tflite") == []
    timing = step["latency_vs_fp32"]
    assert set(timing["median_ms"]) == {"dynamic_range", "fp32"} and timing["rounds"] >= 5
    assert timing["slower_than_fp32"] == (timing["ratio"]["dynamic_range"] > 1.05)
    assert any("slower than fp32" in w for w in step["warnings"]) == timing["slower_than_fp32"]
