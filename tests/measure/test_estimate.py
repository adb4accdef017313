"""estimate_artifact and `compress profile` on the shipped Ethos-U and Cortex-M targets."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tests.helpers import build_int8_model

from compressor.cost.kernels import check_kernels
from compressor.errors import ExportError, UnsupportedOpError
from compressor.graph.read import read_graph
from compressor.measure.estimate import estimate_artifact
from compressor.cli.profile import profile_command


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    return build_int8_model(tmp_path_factory.mktemp("profile"))


def test_ethos_profile_takes_vela_figures(small_models):
    profile = estimate_artifact(small_models[0], "ethos-u55-256")
    data = profile.to_dict()
    vela = data["vela"]
    assert vela["accelerator_config"] == "ethos-u55-256" and vela["npu_ops"] > 0
    assert data["source"]["peak_ram_bytes"] == "vela" and data["source"]["flash_bytes"] == "vela"
    assert data["peak_ram_bytes"] == vela["sram_used_bytes"] + vela["dram_used_bytes"]
    # Vela's time plus the CPU-fallback ops it lists, costed on the fallback CPU.
    assert data["latency_ms"] >= vela["inference_time_ms"]
    assert {"latency_ms", "peak_ram_bytes", "flash_bytes", "energy_mj", "per_op"} <= set(data)
    assert any("Vela runs Quantize" in w for w in data["warnings"])


def test_mcu_profile_measures_the_tflm_arena(small_models):
    data = estimate_artifact(small_models[0], "cortex-m55").to_dict()
    assert data["source"]["peak_ram_bytes"] == "tflite-micro"
    assert data["tflm_arena_bytes"] == data["tflm_planned_bytes"] + data["tflm_persistent_bytes"]
    assert data["arena_estimate_ratio"] == pytest.approx(1.0, abs=0.05)


def test_float_model_on_an_int8_npu_is_a_typed_error(small_models):
    with pytest.raises(UnsupportedOpError, match="float model"):
        estimate_artifact(small_models[1], "ethos-u55-256")
    # Not strict (the pipeline): a warning instead.
    assert any("float model" in w for w in estimate_artifact(small_models[1], "ethos-u55-256", strict=False).warnings)


def test_profile_command_json_and_table(small_models):
    result = CliRunner().invoke(profile_command, [str(small_models[0]), "--target", "ethos-u55-256", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["target"] == "ethos-u55-256" and data["vela"]["cycles_total"] > 0
    table = CliRunner().invoke(profile_command, [str(small_models[0]), "--target", "cortex-m55"])
    assert table.exit_code == 0 and "tflite-micro arena" in table.output


@pytest.mark.parametrize("case", ["missing", "not_a_model", "float"])
def test_bad_input_exits_2_with_one_line(small_models, tmp_path, case):
    path = {"missing": tmp_path / "nope.tflite", "float": small_models[1]}.get(case)
    if case == "not_a_model":
        path = tmp_path / "notes.tflite"
        path.write_text("hello")
    result = CliRunner().invoke(profile_command, [str(path), "--target", "ethos-u55-256"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and path.name in lines[0]


def test_vela_rejected_op_is_costed_on_the_cpu_with_its_reason(small_models):
    """Vela leaves the MEAN (a depth reduction it cannot do) on the CPU: it is costed on the
    fallback Cortex-M, not at the NPU's rate, and the warning carries Vela's reason."""
    from compressor.targets.load import load_target

    target = load_target("ethos-u55-256")
    profile = estimate_artifact(small_models[0], target)
    rejected = [layer for layer in profile.vela.cpu_layers if layer.original_op == "Mean"]
    assert rejected and rejected[0].reason
    placed = {op.name: op for op in profile.kernels.ops}[rejected[0].name]
    assert placed.runs_on == target.fallback.name != target.name
    assert any(rejected[0].reason in w and target.fallback.name in w for w in profile.warnings)
    on_npu = {op.name: op for op in check_kernels(read_graph(small_models[0]), target).ops}[rejected[0].name]
    assert on_npu.runs_on == target.name and placed.latency_ms != on_npu.latency_ms


def test_vela_failure_still_answers_with_the_cpu_estimate(small_models, monkeypatch):
    from compressor.measure import vela

    def refuse(path, accelerator):
        raise ExportError(f"{path}: Vela failed for ethos-u55-256: Unsupported operator FOO")

    monkeypatch.setattr(vela, "compile_with_vela", refuse)
    profile = estimate_artifact(small_models[0], "ethos-u55-256")
    assert profile.vela is None and profile.latency_ms > 0 and profile.source["latency_ms"] == "estimate"
    assert any("Vela could not compile it" in w and "FOO" in w for w in profile.warnings)


def test_profile_threads_costs_a_cpu_target_on_that_many_threads(tmp_path):
    from tests.measure.test_bench import write_conv_onnx

    artifact = write_conv_onnx(tmp_path / "conv.onnx")
    runs = {}
    for threads in ("1", "2"):
        result = CliRunner().invoke(profile_command, [str(artifact), "--target", "host-x86", "--threads", threads, "--json"])
        assert result.exit_code == 0, result.output
        runs[threads] = json.loads(result.output)
    assert runs["1"]["threads"] == 1 and runs["2"]["threads"] == 2
    assert runs["2"]["latency_ms"] < runs["1"]["latency_ms"]  # a 19 M MAC conv splits
    table = CliRunner().invoke(profile_command, [str(artifact), "--target", "host-x86", "--threads", "2"])
    assert table.exit_code == 0 and "2 threads" in table.output


@pytest.mark.parametrize("target,threads,expected", [("cortex-m55", "2", "CPU targets only"),
                                                     ("host-x86", "0", "--threads")])
def test_profile_threads_refused_where_it_cannot_apply(small_models, target, threads, expected):
    result = CliRunner().invoke(profile_command, [str(small_models[0]), "--target", target, "--threads", threads])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert expected in result.output.strip().splitlines()[-1], result.output


def test_an_onnx_file_on_an_ethos_target_is_told_to_bring_its_tflite(tmp_path):
    from onnxruntime.quantization import quantize_dynamic

    from tests.measure.test_bench import write_tiny_onnx

    path = tmp_path / "tiny.onnx"
    quantize_dynamic(str(write_tiny_onnx(tmp_path / "tiny_fp32.onnx")), str(path))  # int8: not refused as float
    result = CliRunner().invoke(profile_command, [str(path), "--target", "ethos-u55-128"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "tiny.onnx" in line and ".tflite" in line and "--format tflite" in line
