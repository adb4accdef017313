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


def test_chain_rows_keep_a_nodes_slope_less_the_add_chains():
    """microbench_kernels._chain_rows: a chain's 7-node row keeps its slope per node over the 1-node
    file's, less the ADD chain's (the dispatch); the 1-node and ADD rows go."""
    def row(op, n, ms):
        return {"format": "onnx", "family": "ort_chain", "params": {"op": op, "c": 64 if op != "Add8" else 1,
                                                                     "t": 4 if op != "Add8" else 8, "n": n}, "ms": ms}

    n = mk.CHAIN_OPS
    rows = [{"format": "onnx", "family": "conv", "params": {}, "ms": 1.0},
            row("Add8", 1, 0.0), row("Add8", n, (n - 1) * 0.6e-3), row("Slice", 1, 0.0), row("Slice", n, (n - 1) * 1.6e-3)]
    kept = mk._chain_rows(rows)
    assert [r["family"] for r in kept] == ["conv", "ort_chain"]
    chain = kept[1]
    assert chain["params"]["op"] == "Slice" and chain["alone_ms"] == pytest.approx(1.0e-3)
    assert chain["chain_ms"] == [0.0, (n - 1) * 1.6e-3]
