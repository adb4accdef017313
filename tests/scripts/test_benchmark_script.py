"""scripts/benchmark.py's sparse table: rows from real `compress --prune unstructured` runs, timed in LiteRT.

A small conv net (big enough for the sparsify pass to keep its file) is compressed twice in
process, plain and with unstructured:0.8 pruning; the row is built from the pruned report and
checked against the files on disk, then printed with its PASS/FAIL target lines.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from compressor.cli.main import cli
from tests.helpers import import_source, save_labelled_data

ROOT = Path(__file__).resolve().parents[2]

SPARSE_NET = textwrap.dedent('''
    import torch.nn as nn


    class SparseNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 48, 3, padding=1), nn.ReLU(),
                nn.Conv2d(48, 48, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(48, 4)

        def forward(self, x):
            return self.head(self.features(x))
''')


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load_benchmark()


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """(workspace, plain report, pruned report) of two real compress runs on SparseNet."""
    sparsenets = import_source(tmp_path, monkeypatch, "sparsenets", SPARSE_NET)
    torch.manual_seed(0)
    model = sparsenets.SparseNet().eval()
    torch.save(model.state_dict(), tmp_path / "net.pt")
    save_labelled_data(model, tmp_path, np.random.default_rng(0).random((96, 1, 16, 16), dtype=np.float32),
                       train=64, names=("train.npz", "test.npz"))
    common = ["net.pt", "--arch", "sparsenets:SparseNet", "--target", "android-arm64", "--data", "train.npz",
              "--eval", "test.npz", "--quiet"]
    reports = []
    for out, extra in (("plain", []), ("pruned", ["--prune", "unstructured:0.8", "--finetune-epochs", "1"])):
        result = CliRunner().invoke(cli, [*common, *extra, "--out", out], catch_exceptions=False)
        assert result.exit_code in (0, 1), result.output
        reports.append(json.loads((tmp_path / out / "report.json").read_text()))
    return tmp_path, reports[0], reports[1]


def test_sparse_row_matches_the_files_and_prints_with_targets(bench, runs, capsys):
    workspace, plain, pruned = runs
    dense_path, final_path = workspace / "plain" / plain["artifact"], workspace / "pruned" / pruned["artifact"]
    int8_ms, pruned_ms = bench.time_interleaved([dense_path, final_path],
                                                np.load(workspace / "test.npz")["x"], runs=5, warmup=1)
    row = {"model": "sparsenet", "prune": "unstructured:0.8", "method": "unstructured",
           **bench.sparse_row(pruned, workspace / "pruned", int8_ms, pruned_ms, 12.5)}
    assert "error" not in row, row
    # fp32 = the unpruned float export: the plain run's "original" too.
    assert row["fp32_bytes"] == plain["original"]["size_bytes"] == pruned["original"]["size_bytes"]
    # The sparse file was kept; a later pass (strip) may still shrink it: gzip is of the final file.
    assert row["sparse_kept"] and row["artifact_bytes"] == final_path.stat().st_size <= row["sparse_bytes"], row
    assert row["sparse_bytes"] < row["dense_bytes"]
    assert row["sparse_over_dense"] == pytest.approx(row["sparse_bytes"] / row["dense_bytes"]) and row["sparse_over_dense"] < 0.8
    assert row["gzip_bytes"] == len(gzip.compress(final_path.read_bytes(), compresslevel=9, mtime=0))
    assert row["gzip_over_fp32"] == pytest.approx(row["gzip_bytes"] / row["fp32_bytes"]) and row["gzip_over_fp32"] < 0.5
    assert row["requested"] == 0.8 and row["achieved_error"] <= 0.02 and row["outputs_identical"] is True
    assert row["params"] < bench.SPARSE_TARGETS_MIN_PARAMS and int8_ms > 0 and pruned_ms > 0

    bench.print_sparse_table([row])
    printed = capsys.readouterr().out.splitlines()
    header = next(line for line in printed if line.startswith("| model | method |"))
    assert "| sparse/dense | gzip KB | gzip/fp32 | zstd KB |" in header and "int8 ms dense (unpruned int8)" in header
    cells = next(line for line in printed if line.startswith("| sparsenet |")).strip("| ").split(" | ")
    assert len(cells) == header.count("|") - 1 == 19
    assert cells[1:3] == ["unstructured", "80.0%"] and cells[7] == f"{row['sparse_over_dense']:.3f}"
    assert cells[14] == "yes" and cells[18] == "12.5"
    assert printed[-1] == "none checked"  # the net is under 200k params


def test_target_lines_pass_and_fail_by_bound(bench):
    row = {"model": "big", "prune": "unstructured:0.8", "method": "unstructured", "params": 250_000,
           "gzip_over_fp32": 0.09, "sparse_over_dense": 0.61, "accuracy_drop_points": 1.0, "achieved_error": 0.05}
    nm = {**row, "prune": "2:4", "method": "2:4"}
    lines = bench.sparse_target_lines([row, {**row, "model": "small", "params": 150_000}, nm,
                                       {"model": "broken", "prune": "2:4", "error": "exit 3"}])
    assert lines == ["PASS big unstructured:0.8: gzip/fp32 0.090 <= 0.12",
                     "FAIL big unstructured:0.8: sparse/dense 0.610 <= 0.6",
                     "PASS big unstructured:0.8: drop pt 1.000 <= 1",
                     "FAIL big unstructured:0.8: |achieved-requested| 0.050 <= 0.02",
                     # 2:4 is held to accuracy and the amount only: no size target at half density
                     "PASS big 2:4: drop pt 1.000 <= 1", "FAIL big 2:4: |achieved-requested| 0.050 <= 0.02",
                     "FAIL broken 2:4: compress failed (exit 3)"]


def test_report_without_sparsify_step_is_an_error_row(bench):
    report = {"steps": [{"name": "prune"}], "original": {}, "compressed": {}, "status": "ok"}
    assert bench.sparse_row(report, Path("."), 1.0, 1.0, 1.0) == {"error": "the report has no prune or sparsify step"}
