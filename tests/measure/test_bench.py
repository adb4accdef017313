"""compress bench: real LiteRT and onnxruntime runs of tiny artifacts, timings and peak RSS in subprocesses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from compressor.measure.bench import make_inputs, percentile
from compressor.cli.bench import bench_command
from tests.helpers import write_tiny_tflite


def write_tiny_onnx(path):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()
    torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False)
    return path


def test_percentile_matches_numpy():
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    assert percentile(values, 50) == pytest.approx(np.percentile(values, 50))
    assert percentile(values, 90) == pytest.approx(np.percentile(values, 90))  # 7.5
    assert percentile([2.0], 90) == 2.0


def test_inputs_are_seeded_and_typed():
    first = make_inputs([((1, 3), "float32"), ((2,), "int8"), ((4,), "int64")])
    again = make_inputs([((1, 3), "float32"), ((2,), "int8"), ((4,), "int64")])
    assert [a.dtype.name for a in first] == ["float32", "int8", "int64"]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


@pytest.mark.parametrize("writer,suffix,runtime", [(write_tiny_tflite, ".tflite", "litert"),
                                                   (write_tiny_onnx, ".onnx", "onnxruntime")])
def test_bench_json(tmp_path, writer, suffix, runtime):
    artifact = writer(tmp_path / f"tiny{suffix}")
    result = CliRunner().invoke(bench_command, [str(artifact), "--runs", "15", "--warmup", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["runtime"] == runtime and report["runs"] == 15 and report["threads"] == 1
    assert 0 < report["min_ms"] <= report["median_ms"] <= report["p90_ms"] <= report["max_ms"]
    # The runtime alone is tens of MB; loading and running the model adds to it.
    assert report["baseline_rss_bytes"] > 10 * 2**20
    assert report["peak_rss_bytes"] > report["baseline_rss_bytes"]
    assert report["model_rss_bytes"] == report["peak_rss_bytes"] - report["baseline_rss_bytes"]
    assert "[" in report["cpu"]  # the SIMD flags, printed with every host figure


def test_bench_text_output(tmp_path):
    artifact = write_tiny_onnx(tmp_path / "tiny.onnx")
    result = CliRunner().invoke(bench_command, [str(artifact), "--runs", "5", "--warmup", "1"])
    assert result.exit_code == 0, result.output
    assert "median" in result.output and "p90" in result.output and "peak RSS" in result.output


@pytest.mark.parametrize("name,content,args,expected", [
    ("missing.tflite", None, [], "no such file"),
    ("model.pt", b"x", [], "no runtime for a .pt file"),
    ("broken.onnx", b"not a model", [], "could not load"),
    ("ok.onnx", "onnx", ["--runs", "0"], "--runs: got 0"),
])
def test_bench_bad_input_is_one_line_exit_2(tmp_path, name, content, args, expected):
    path = tmp_path / name
    if content == "onnx":
        write_tiny_onnx(path)
    elif content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(bench_command, [str(path), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.output


def test_sessions_take_turns_in_blocks_each_rewarmed():
    """Runs timed one by one in turn find each session's weights evicted by the other's (a GRU
    with 40 MB of packed weights: 2.1 ms alone, 4.7 interleaved): each visit re-runs its
    session once untimed, then times a block."""
    from compressor.measure.bench import VISITS, time_interleaved

    calls = []
    times = time_interleaved([lambda: calls.append("a"), lambda: calls.append("b")], runs=2 * VISITS, warmup=1)
    assert [len(t) for t in times] == [2 * VISITS, 2 * VISITS]
    visit = ["a"] * 3 + ["b"] * 3  # one untimed re-run, two timed
    assert calls == ["a", "b"] + visit * VISITS
    # One session alone: no re-runs.
    alone = []
    time_interleaved([lambda: alone.append("a")], runs=7, warmup=0)
    assert alone == ["a"] * 7
