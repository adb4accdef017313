"""Another int8 scheme only when static int8 falls short as verify judges outputs, and never one slower than fp32.

A classifier whose logits lose SQNR in int8 but keep their top-1 ships static int8 (a real
MobileNetV2, logits at 19 dB, shipped dynamic-range at 2.2x fp32 latency before); the same network
judged as a regression (no labels) tries the other schemes; a depthwise conv XNNPACK would leave
out of dynamic-range is kept float (quant/scheme_speed.py), no longer refused.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from tests.quant.outlier_nets import StubbornOutlierNet


class _OutlierNet(StubbornOutlierNet):
    """An outlier channel (1000x) before a LeakyReLU: plain int8 crushes the other channels."""

    def __init__(self):
        super().__init__()
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([0.3, 0.0, 0.0, 0.0]))  # a clear winner: top-1 survives int8


def _int8_step(tmp_path, name, labels):
    from compressor import compress

    torch.manual_seed(0)
    model = _OutlierNet().eval()
    x = np.random.default_rng(0).random((48, 1, 12, 12), dtype=np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    torch.export.save(torch.export.export(model, (torch.from_numpy(x[:1]),)), tmp_path / "m.pt2")
    np.savez(tmp_path / f"calib_{name}.npz", x=x[:32], **({"y": y[:32]} if labels else {}))
    np.savez(tmp_path / f"test_{name}.npz", x=x[32:], **({"y": y[32:]} if labels else {}))
    # no remedies (search_seconds 0): plain int8 is what the fallback decision sees
    result = compress(tmp_path / "m.pt2", target="android-arm64", data=tmp_path / f"calib_{name}.npz",
                      eval_data=tmp_path / f"test_{name}.npz", out=tmp_path / name,
                      overrides={"int8.search_seconds": 0.0, "int8.calibration": "min_max",
                                 "verify.classifier_output": ("0",) if labels else ()})
    report = json.loads((result.out_dir / "report.json").read_text())
    return next(s for s in report["steps"] if s["name"] == "int8"), report


def test_a_classifier_keeping_its_top1_ships_static_int8_and_a_regression_tries_other_schemes(tmp_path):
    step, report = _int8_step(tmp_path, "classes", labels=True)
    assert step["remedies"]["sqnr_db"] < 25  # short of int8.min_sqnr_db ...
    assert report["compressed"]["outputs"][0]["agreement"] >= 0.97  # ... but top-1 holds
    assert step["scheme"] == "static_int8", step.get("scheme_why")
    assert step["fallback"] is None  # no other scheme was even tried
    step, _ = _int8_step(tmp_path, "values", labels=False)
    assert step["remedies"]["sqnr_db"] < 25
    assert step["fallback"]["tried"]  # judged by SQNR: the other schemes were tried, and one shipped:
    # the 1-channel stem (a depthwise conv to the converter) left outside XNNPACK at the graph's edge
    # does not split it, so dynamic-range is not refused for it
    assert step["scheme"] == "dynamic_range"


def _depthwise_chain(pairs: int) -> nn.Module:
    layers = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()]
    for _ in range(pairs):
        layers += [nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(), nn.Conv2d(8, 8, 1), nn.ReLU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(8 * 8 * 8, 4)).eval()


def test_dynamic_range_depthwise_convs_splitting_the_graph_are_found(tmp_path):
    """XNNPACK has no dynamic-range depthwise kernel: each one mid-graph splits it (MobileNetV2: 18
    partitions, 2.2x fp32), which is why the int8 pass keeps them float in such a fallback scheme."""
    from compressor.measure.delegation import compute_ops_splitting
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.schemes import quantize_scheme
    from compressor.quant.tflite_int8 import Calibration, quantize_tflite

    torch.manual_seed(0)
    x = np.random.default_rng(0).random((8, 3, 8, 8), dtype=np.float32)
    found = {}
    for pairs in (0, 3):
        float_path = tmp_path / f"float{pairs}.tflite"
        export_tflite(_depthwise_chain(pairs), (torch.from_numpy(x[:1]),), float_path)
        calibration = Calibration([[x[i:i + 1]] for i in range(8)])
        static, dynamic = tmp_path / f"static{pairs}.tflite", tmp_path / f"dynamic{pairs}.tflite"
        quantize_tflite(float_path, static, calibration.samples, per_channel=True, calibration=calibration)
        quantize_scheme(float_path, dynamic, "dynamic_range", calibration=calibration)
        found[pairs] = compute_ops_splitting(dynamic, static)
    assert found[0] == []
    assert found[3].count("DEPTHWISE_CONV_2D") == 3

