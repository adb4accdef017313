"""compress calibrate: the fit recovers a known profile from synthetic traces; a real
onnxruntime profile round-trips into a profile file that loads; bad input exits 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from compressor.calibrate.fit import Fit, apply_fit, fit_profile, predict_observation_s
from compressor.calibrate.traces import Observation, read_trace
from compressor.cli.calibrate import calibrate_command
from compressor.cost.latency import estimate_op_latency
from compressor.errors import DataError
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

VNNI = frozenset({"avx2", "avx512_vnni"})


def write_onnx(path, *, channels=32, size=16):
    """conv 3x3, depthwise 3x3, pointwise 1x1, FC: every kind the fit has a factor for."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(channels, channels, 3, padding=1, groups=channels),
                          nn.Conv2d(channels, 2 * channels, 1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * channels, 10)).eval()
    torch.onnx.export(model, (torch.zeros(1, channels, size, size),), str(path), dynamo=False)
    return path


def true_profile(base):
    """A 'device' whose efficiencies and overhead differ from the base by known factors."""
    known = {("float32", "conv"): 0.41, ("float32", "depthwise"): 0.09, ("float32", "pointwise"): 0.63,
             ("float32", "fully_connected"): 0.2}
    return apply_fit(base, Fit(efficiency=known, dispatch_overhead_us=3.0, op_counts={},
                               errors_before=(), errors_after=())), known


def synthetic_ort_trace(graph, profile, path, *, runs=3, noise=0.0, seed=0):
    """An onnxruntime-style profile whose kernel times are the cost model's under ``profile``."""
    rng = np.random.default_rng(seed)
    events = [{"cat": "Session", "name": "session_initialization", "dur": 100}]
    for _ in range(runs):
        for op in graph.ops:
            micros = estimate_op_latency(op, profile).latency_s * 1e6 * (1 + noise * rng.standard_normal())
            events.append({"cat": "Node", "name": f"{op.name}_kernel_time", "dur": micros,
                           "args": {"op_name": op.op_type, "provider": "CPUExecutionProvider"}})
        events.append({"cat": "Session", "name": "model_run", "dur": 1})
    path.write_text(json.dumps(events))
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibrate")
    write_onnx(folder / "model.onnx")
    write_onnx(folder / "other.onnx", channels=8, size=8)
    return folder


def test_fit_recovers_a_known_profile(model_dir, tmp_path):
    base = load_target("host-x86", cpu_flags=VNNI)
    truth, known = true_profile(base)
    graph = read_graph(model_dir / "model.onnx")
    trace = read_trace(synthetic_ort_trace(graph, truth, tmp_path / "t.json"), model=model_dir / "model.onnx")
    exact = fit_profile(trace.observations, base, prior_weight=0.0)
    default = fit_profile(trace.observations, base)  # the weak prior pulls a little toward the base
    recovered = 0
    for key, value in known.items():
        op = next(op for op in graph.ops if (op.compute_dtype, op.kind) == key)
        latency = estimate_op_latency(op, truth)
        if latency.compute_s > 2 * latency.memory_s:  # memory-bound ops cannot tell their efficiency
            assert exact.efficiency[key] == pytest.approx(value, rel=1e-3), key
            assert default.efficiency[key] == pytest.approx(value, rel=0.05), key
            recovered += 1
    assert recovered >= 3  # conv, depthwise and pointwise are compute-bound here
    # (rel 5e-3, as errors_after below: ops near the compute/memory kink move it by ~0.1 %)
    assert exact.dispatch_overhead_us == pytest.approx(3.0, rel=5e-3)
    assert default.dispatch_overhead_us == pytest.approx(3.0, rel=0.05)
    # Not exactly 0: an op near its compute/memory crossover is fitted through the max() kink.
    assert max(abs(e) for e in exact.errors_after) < 5e-3
    assert max(abs(e) for e in default.errors_after) < 0.05
    assert max(abs(e) for e in exact.errors_before) > 0.5  # the base profile was far off


def test_fit_with_noise_stays_close(model_dir, tmp_path):
    base = load_target("host-x86", cpu_flags=VNNI)
    truth, known = true_profile(base)
    graph = read_graph(model_dir / "model.onnx")
    path = synthetic_ort_trace(graph, truth, tmp_path / "t.json", runs=9, noise=0.05, seed=1)
    fit = fit_profile(read_trace(path, model=model_dir / "model.onnx").observations, base)
    assert fit.efficiency[("float32", "conv")] == pytest.approx(known[("float32", "conv")], rel=0.1)
    assert fit.efficiency[("float32", "pointwise")] == pytest.approx(known[("float32", "pointwise")], rel=0.1)


def test_whole_model_observations_use_the_estimator(model_dir):
    base = load_target("host-x86", cpu_flags=VNNI)
    graph = read_graph(model_dir / "model.onnx")
    observation = Observation(graph.ops, 1e-3, "whole")
    assert predict_observation_s(observation, base) == pytest.approx(
        sum(estimate_op_latency(op, base).latency_s for op in graph.ops))


def test_real_onnxruntime_trace_round_trip(model_dir, tmp_path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.intra_op_num_threads = 1
    options.profile_file_prefix = str(tmp_path / "ort")
    session = ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 32, 16, 16)).astype(np.float32)
    for _ in range(20):
        session.run(None, {session.get_inputs()[0].name: x})
    trace = session.end_profiling()
    out = tmp_path / "calibrated" / "my-host.toml"
    result = CliRunner().invoke(calibrate_command, [trace, "--model", str(model_dir / "model.onnx"),
                                                    "--target", "host-x86", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.output)
    median = lambda errors: float(np.median(np.abs(errors)))  # noqa: E731
    assert median(fitted["errors_after"]) < median(fitted["errors_before"])
    assert median(fitted["errors_after"]) < 0.5
    text = out.read_text()
    assert 'inherits = "host-x86"' in text and "FITTED" in text and trace in text and "Residuals" in text
    assert not list(out.parent.glob(".*"))  # no temporary file left behind
    for cpu_flags in (VNNI, frozenset({"avx2"})):  # the fitted values hold with or without the variant
        profile = load_target(str(out), cpu_flags=cpu_flags)
        assert profile.name == "my-host"
        assert profile.compute.dispatch_overhead_us == pytest.approx(fitted["dispatch_overhead_us"], rel=1e-5)
        for key, value in fitted["efficiency"].items():
            assert profile.compute.efficiency_of(*key.split(".")) == pytest.approx(value, rel=1e-5)


def test_litert_trace_by_tensor_names_and_total(model_dir, tmp_path):
    from tests.helpers import write_tiny_tflite

    model = write_tiny_tflite(tmp_path / "tiny.tflite")
    rows = [{"node_type": "CONV_2D", "name": "conv_out", "index": 0, "avg_ms": 0.02},
            {"node_type": "FULLY_CONNECTED", "name": "logits", "index": 1, "avg_ms": 0.005}]
    trace = {"format": "edge-compressor-trace", "version": 1, "source": "litert-benchmark_model",
             "model": "/data/local/tmp/tiny.tflite", "threads": 1, "device": "Pixel", "total_ms": 0.03, "ops": rows}
    (tmp_path / "t.json").write_text(json.dumps(trace))
    loaded = read_trace(tmp_path / "t.json", model=model)
    assert [o.label for o in loaded.observations] == ["conv_out", "logits"]
    assert loaded.observations[0].measured_s == pytest.approx(2e-5)
    # XNNPACK delegate rows have no tensor names: compute rows line up with compute ops.
    trace["ops"] = [{"node_type": "Convolution (NHWC, F32) IGEMM", "name": "Delegate/Convolution:0", "avg_ms": 0.02},
                    {"node_type": "Fully Connected (NC, F32)", "name": "Delegate/Fully Connected:1", "avg_ms": 0.01}]
    (tmp_path / "x.json").write_text(json.dumps(trace))
    assert len(read_trace(tmp_path / "x.json", model=model).observations) == 2
    trace["ops"] = trace["ops"][:1]
    (tmp_path / "bad.json").write_text(json.dumps(trace))
    with pytest.raises(DataError, match="different model"):
        read_trace(tmp_path / "bad.json", model=model)
    with pytest.raises(DataError, match="give --model"):
        read_trace(tmp_path / "t.json")


def _invoke(args):
    result = CliRunner().invoke(calibrate_command, args)
    lines = result.output.strip().splitlines()
    return result.exit_code, lines


@pytest.mark.parametrize("case", ["unknown target", "not json", "not a trace", "different model", "no events",
                                  "bad version"])
def test_bad_input_is_one_line_exit_2(model_dir, tmp_path, case):
    base = load_target("host-x86", cpu_flags=VNNI)
    good = synthetic_ort_trace(read_graph(model_dir / "model.onnx"), base, tmp_path / "good.json")
    trace, model, target, expected = good, model_dir / "model.onnx", "host-x86", ""
    if case == "unknown target":
        target, expected = "no-such-device", "unknown target"
    elif case == "not json":
        trace, expected = tmp_path / "t.json", "not a JSON trace"
        trace.write_text("{oops")
    elif case == "not a trace":
        trace, expected = tmp_path / "t.json", "not a trace"
        trace.write_text(json.dumps({"hello": 1}))
    elif case == "different model":
        model, expected = model_dir / "other.onnx", "trace of a different model"
        # other.onnx has the same layer names: rename one node so the trace names one it lacks.
        events = json.loads(good.read_text())
        events[1]["name"] = "/9/Conv_kernel_time"
        trace = tmp_path / "t.json"
        trace.write_text(json.dumps(events))
    elif case == "no events":
        trace, expected = tmp_path / "t.json", "no per-node kernel_time events"
        trace.write_text("[]")
    elif case == "bad version":
        trace, expected = tmp_path / "t.json", "version 7"
        trace.write_text(json.dumps({"format": "edge-compressor-trace", "version": 7, "ops": []}))
    code, lines = _invoke([str(trace), "--model", str(model), "--target", target, "--out", str(tmp_path / "o.toml")])
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not (tmp_path / "o.toml").exists()
