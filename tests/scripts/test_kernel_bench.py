"""scripts/microbench_kernels.py: the single-op grid's timing run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("ai_edge_litert")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk


def test_a_format_none_of_the_families_has_files_in_is_skipped_not_fatal(tmp_path, capsys):
    # The SVM family is onnx-only: asked for in .tflite alone, the run used to die on an empty median
    # after timing every other format, losing their timings with it.
    out = tmp_path / "k.json"
    assert mk.main(["--out", str(out), "--families", "svm", "--formats", "tflite",
                    "--seconds", "0.05", "--rounds", "1"]) == 0
    assert json.loads(out.read_text())["rows"] == []
    assert "[tflite] no single-op files for svm: skipped" in capsys.readouterr().err
