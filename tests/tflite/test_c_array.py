"""--format c ships the .tflite as a C array with its op resolver; the report says where bytes go."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from compressor.cli.main import cli


def test_format_c_writes_the_artifact_bytes_and_the_ops_it_needs(tiny_workspace):
    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "cortex-m7",
                                      "--format", "c", "--data", "calib.npz", "--out", "mcu", "--quiet"])
    assert result.exit_code == 0, result.output
    out = tiny_workspace / "mcu"
    source = (out / "model_data.cc").read_text()
    array = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", source.split("{", 1)[1]))
    tflite = (out / "model.tflite").read_bytes()
    assert len(array) == len(tflite) and "alignas(16)" in source
    report = json.loads((out / "report.json").read_text())
    step = next(s for s in report["steps"] if s["name"] == "c_array")
    resolver = (out / "op_resolver.h").read_text()
    assert f"MicroMutableOpResolver<{len(step['ops'])}>" in resolver
    assert "AddConv2D()" in resolver and "AddQuantize()" not in resolver  # int8 I/O on an MCU
    assert report["format"] == "tflite" and report["recipe"]["export"]["format"] == "c"


def test_report_breaks_the_file_size_down_exactly(tiny_workspace):
    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64",
                                      "--data", "calib.npz", "--out", "o", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_workspace / "o" / "report.json").read_text())
    for side in ("original", "compressed"):
        parts = report[side]["size_breakdown"]
        assert sum(parts.values()) == report[side]["size_bytes"] and parts["weights"] > 0
    assert report["compressed"]["size_breakdown"]["names"] < report["original"]["size_breakdown"]["names"]
    assert "## Where the bytes go" in (tiny_workspace / "o" / "report.md").read_text()
