"""scripts/igemm_steps.py: a kernel table's convs counted in IGEMM steps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import igemm_steps  # noqa: E402


def _point(cin: int, cout: int, ns_per_step: float) -> dict:
    params = {"h": 16, "w": 16, "cin": cin, "cout": cout, "kh": 3, "kw": 3, "s": 1}
    whole, part, _ = igemm_steps.conv_steps(params, 4, 16, 4)
    return {"format": "tflite", "kind": "conv", "dtype": "float32", "params": params,
            "ms": (whole + part) * ns_per_step * 1e-6}


def test_steps_count_whole_and_partial_input_tiles():
    # 256 positions / 4 rows x 9 taps x 2 column tiles (24 outputs) = 1,152 units; 6 channels: one whole, one partial
    assert igemm_steps.conv_steps({"h": 16, "w": 16, "cin": 6, "cout": 24, "kh": 3, "kw": 3, "s": 1}, 4, 16, 4) == (1152, 1152, 1152)
    assert igemm_steps.conv_steps({"h": 16, "w": 16, "cin": 3, "cout": 16, "kh": 3, "kw": 3, "s": 2}, 4, 16, 4) == (0, 144, 144)


def test_the_partial_tile_is_priced_from_the_points_and_narrow_convs_kept_apart(tmp_path, capsys):
    table = {"empty_invoke_ms": {"tflite": 0.001},  # already subtracted from each row's ms: not again
             "rows": [_point(64, 64, 15.0), _point(8, 32, 15.0), _point(3, 32, 27.0), _point(1, 96, 27.0),
                      _point(3, 8, 3.0)]}  # the last: under 16 outputs, not in the medians
    path = tmp_path / "t.json"
    path.write_text(json.dumps(table))
    assert igemm_steps.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "whole steps: median 15.0 ns (2 points); partial: 27.0 ns (2 points): 1.80x" in out
    assert "as 7.2 input channels" in out and "16x16x3 -> 8 3x3 s1 (< 16 outputs)" in out
    assert igemm_steps.main([str(tmp_path / "absent.json")]) == 2

