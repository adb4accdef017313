"""measure/speed.py: the int8-vs-fp32 latency judgement, on fixed medians and on real LiteRT runs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compressor.measure.speed import SLOWER_MARGIN, LatencyComparison, compare_latency


def _comparison(int8_ms: float, fp32_ms: float = 0.093) -> LatencyComparison:
    return LatencyComparison({"dynamic_range": int8_ms, "fp32": fp32_ms}, "fp32", 100, "test cpu")


def test_slower_only_beyond_the_margin():
    assert _comparison(0.149).slower("dynamic_range")  # Silero VAD's dynamic-range file before the fix
    assert not _comparison(0.093 * (1 + SLOWER_MARGIN) * 0.999).slower("dynamic_range")  # timing noise
    assert not _comparison(0.068).slower("dynamic_range")
    assert _comparison(0.149).ratio("dynamic_range") == pytest.approx(0.149 / 0.093)


def test_the_description_names_both_latencies_and_the_conditions():
    text = _comparison(0.149).describe("dynamic_range")
    assert "0.149 ms" in text and "0.093 ms" in text and "1.60x" in text and "interleaved" in text
    facts = _comparison(0.149).to_dict()
    assert facts["ratio"] == {"dynamic_range": pytest.approx(1.602, abs=1e-3)} and facts["baseline"] == "fp32"


def test_a_file_doing_far_more_work_measures_slower(tmp_path):
    from compressor.passes.export_tflite import export_tflite
    from tests.helpers import write_tiny_tflite

    torch.manual_seed(0)
    big = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(32, 32, 3, padding=1)).eval()
    export_tflite(big, (torch.zeros(1, 3, 32, 32),), tmp_path / "big.tflite")  # ~19.8 M MACs
    write_tiny_tflite(tmp_path / "small.tflite")  # ~0.02 M MACs
    comparison = compare_latency({"big": tmp_path / "big.tflite", "fp32": tmp_path / "small.tflite"},
                                 baseline="fp32", budget_seconds=0.5)
    assert comparison.slower("big") and comparison.ratio("big") > 3
    assert comparison.rounds >= 5
    with pytest.raises(KeyError):
        compare_latency({"big": tmp_path / "big.tflite"}, baseline="fp32")
