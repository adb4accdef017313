"""The `compress` command end to end on tiny models: outputs, exit codes, error lines."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from compressor.cli.main import cli


def run_cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_compress_tflite_writes_verified_int8_artifact_and_report(tiny_workspace):
    # The fixture's labels are all class 0 (the model labelled them), so they cannot say "4
    # classes": the logits are named as class scores.
    result = run_cli("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64",
                     "--data", "calib.npz", "--eval", "test.npz", "--classifier-output", "0", "--quiet")
    assert result.exit_code == 0, result.output
    out = tiny_workspace / "tiny.compressed"
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == 1 and report["status"] == "ok" and report["format"] == "tflite"
    assert (out / report["artifact"]).read_bytes()[4:8] == b"TFL3"
    assert report["compressed"]["agreement"] >= 0.97
    assert report["compressed"]["sqnr_db"] > 15
    assert report["compressed"]["size_bytes"] < report["original"]["size_bytes"]
    assert report["estimate"]["latency_ms"] > 0 and report["estimate"]["per_op"]
    int8 = next(step for step in report["steps"] if step["name"] == "int8")
    assert int8["float_ops"] == []
    io = next(step for step in report["steps"] if step["name"] == "verify")["io"]
    assert io["inputs"][0]["shape"] == [1, 1, 16, 16] and io["inputs"][0]["dtype"] == "float32"
    assert [s["name"] for s in report["steps"]] == ["fold", "rewrite", "export", "int8", "strip", "verify", "estimate"]
    assert not [p for p in tiny_workspace.iterdir() if p.name.startswith(".tiny.compressed")]


def test_compress_onnx_route(tiny_workspace):
    result = run_cli("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64", "--format", "onnx",
                     "--data", "calib.npz", "--eval", "test.npz", "--out", "onnx_out", "--classifier-output",
                     "output_0", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_workspace / "onnx_out" / "report.json").read_text())
    assert report["artifact"] == "model.onnx" and report["compressed"]["agreement"] >= 0.97
    import onnx

    ops = {node.op_type for node in onnx.load(str(tiny_workspace / "onnx_out" / "model.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops


def test_audio_model_from_torchscript(tiny_workspace):
    import tinynets

    model = tinynets.TinyAudioNet().eval()
    torch.jit.save(torch.jit.script(model), str(tiny_workspace / "audio.ts"))
    x = np.random.default_rng(1).standard_normal((40, 400)).astype(np.float32)
    np.savez(tiny_workspace / "audio.npz", x=x)
    result = run_cli("audio.ts", "--target", "android-arm64", "--data", "audio.npz", "--quiet",
                     # Random weights give near-tied logits, so top-1 agreement is noisy; cosine is the check.
                     "--min-agreement", "0.8")
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_workspace / "audio.compressed" / "report.json").read_text())
    assert report["inputs"]["input_shapes"] == [[1, 400]]
    assert report["compressed"]["cosine"] > 0.99


def test_random_calibration_warns_and_below_min_agreement_fails_with_exit_1(tiny_workspace):
    result = run_cli("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64",
                     "--input-shape", "1,1,16,16", "--min-agreement", "1.0", "--classifier-output", "0",
                     "--out", "strict")
    report = json.loads((tiny_workspace / "strict" / "report.json").read_text())
    assert any("random inputs" in w for w in report["warnings"])
    assert report["compressed"]["accuracy"] is None
    assert result.exit_code == (0 if report["compressed"]["agreement"] == 1.0 else 1)
    assert report["status"] == ("ok" if result.exit_code == 0 else "FAILED")


def test_same_inputs_give_the_same_artifact_byte_for_byte(tiny_workspace):
    hashes = []
    for out in ("first", "second"):
        result = run_cli("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64",
                         "--data", "calib.npz", "--out", out, "--quiet", "--seed", "3")
        assert result.exit_code == 0, result.output
        hashes.append(json.loads((tiny_workspace / out / "report.json").read_text())["sha256"])
        assert (tiny_workspace / out / "model.tflite").read_bytes()
    assert hashes[0] == hashes[1]


def test_recipe_from_report_repeats_the_run(tiny_workspace):
    assert run_cli("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64", "--format", "onnx",
                   "--data", "calib.npz", "--out", "one", "--quiet").exit_code == 0
    # The report names the architecture module; importing it runs code, so replaying asks for --arch.
    refused = run_cli("tiny.pt", "--recipe", "one/report.json", "--out", "two", "--quiet")
    assert refused.exit_code == 2 and "--arch" in refused.output and "tinynets:TinyNet" in refused.output
    assert not (tiny_workspace / "two").exists()
    result = run_cli("tiny.pt", "--recipe", "one/report.json", "--arch", "tinynets:TinyNet", "--out", "two", "--quiet")
    assert result.exit_code == 0, result.output
    one, two = (json.loads((tiny_workspace / d / "report.json").read_text()) for d in ("one", "two"))
    assert two["recipe"] == one["recipe"] and two["target"] == one["target"] and two["format"] == "onnx"
    assert two["sha256"] == one["sha256"]


def _write_bad_models(ws):
    (ws / "empty.pt").write_bytes(b"")
    (ws / "random.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    whole = (ws / "tiny.pt").read_bytes()
    (ws / "truncated.pt").write_bytes(whole[: len(whole) // 2])
    import tinynets

    torch.save(tinynets.TinyNet(), ws / "pickled.pt")
    torch.save({"fc.weight": torch.zeros(3, 3)}, ws / "mismatch.pt")
    (ws / "model.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64)
    np.savez(ws / "nox.npz", images=np.zeros((4, 1, 16, 16), np.float32))
    np.savez(ws / "wrongshape.npz", x=np.zeros((4, 1, 28, 28), np.float32))
    nan = np.zeros((4, 1, 16, 16), np.float32)
    nan[0, 0, 0, 0] = np.nan
    np.savez(ws / "nan.npz", x=nan)
    torch.save(tinynets.Unconvertible().state_dict(), ws / "unconvertible.pt")


ARCH = ("--arch", "tinynets:TinyNet")
BAD_INPUTS = {
    "missing model": (["nowhere.pt", *ARCH], "nowhere.pt"),
    "empty model": (["empty.pt", *ARCH], "empty.pt"),
    "random bytes": (["random.pt", *ARCH], "random.pt"),
    "truncated": (["truncated.pt", *ARCH], "truncated.pt"),
    "tflite given as model": (["model.tflite"], "TFLite"),
    "state dict without arch": (["tiny.pt"], "--arch"),
    "arch not importable": (["tiny.pt", "--arch", "no_such_module:Net"], "no_such_module"),
    "arch does not match": (["mismatch.pt", *ARCH], "mismatch.pt"),
    "pickle without trust": (["pickled.pt"], "--trust-pickle"),
    "unknown target": (["tiny.pt", *ARCH, "--target", "toaster-9000"], "android-arm64"),
    "npz without x": (["tiny.pt", *ARCH, "--data", "nox.npz"], "nox.npz"),
    "npz wrong shape": (["tiny.pt", *ARCH, "--input-shape", "1,1,16,16", "--data", "wrongshape.npz"],
                        "wrongshape.npz"),
    "npz with NaN": (["tiny.pt", *ARCH, "--data", "nan.npz"], "NaN"),
    "bad input shape": (["tiny.pt", *ARCH, "--input-shape", "1,x,16"], "--input-shape"),
    "format the target cannot run": (["tiny.pt", *ARCH, "--target", "ethos-u55-128", "--format", "onnx"],
                                     "ethos-u55-128 runs: tflite"),
    "unconvertible op": (["unconvertible.pt", "--arch", "tinynets:Unconvertible", "--input-shape", "1,1,16,16"],
                         "erfinv"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_no_output_dir(tiny_workspace, case):
    _write_bad_models(tiny_workspace)
    args, expected = BAD_INPUTS[case]
    if "--target" not in args:
        args = [*args, "--target", "android-arm64"]
    before = set(tiny_workspace.iterdir())
    result = CliRunner().invoke(cli, [*args, "--out", "out_dir"])
    assert result.exit_code == 2, (case, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert set(tiny_workspace.iterdir()) == before, "a failed run must leave nothing behind"


def test_unconvertible_op_names_the_layer(tiny_workspace):
    _write_bad_models(tiny_workspace)
    result = CliRunner().invoke(cli, ["unconvertible.pt", "--arch", "tinynets:Unconvertible", "--target",
                                      "android-arm64", "--input-shape", "1,1,16,16"])
    assert result.exit_code == 2
    assert "aten.erfinv" in result.stderr


def test_json_goes_alone_to_stdout_and_errors_have_no_traceback(tiny_workspace):
    done = subprocess.run([sys.executable, "-m", "compressor.cli", "tiny.pt", "--arch", "tinynets:TinyNet",
                           "--target", "android-arm64", "--data", "calib.npz", "--json"],
                          capture_output=True, text=True, cwd=tiny_workspace)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == 1
    bad = subprocess.run([sys.executable, "-m", "compressor.cli", "missing.pt", "--target", "android-arm64"],
                         capture_output=True, text=True, cwd=tiny_workspace)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "missing.pt" in bad.stderr and "Traceback" not in bad.stderr
    debug = subprocess.run([sys.executable, "-m", "compressor.cli", "missing.pt", "--target", "android-arm64",
                            "--debug"], capture_output=True, text=True, cwd=tiny_workspace)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_targets_lists_one_line_each():
    result = run_cli("targets")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines()]
    assert {"android-arm64", "host-x86"} <= set(names)


def test_existing_foreign_directory_is_never_replaced(tiny_workspace):
    (tiny_workspace / "precious").mkdir()
    (tiny_workspace / "precious" / "thesis.tex").write_text("years of work")
    result = CliRunner().invoke(cli, ["tiny.pt", *ARCH, "--target", "android-arm64", "--out", "precious"])
    assert result.exit_code == 2 and "precious" in result.stderr
    assert (tiny_workspace / "precious" / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("out", ["notes.txt/sub", "notes.txt/a/b"])
def test_out_below_a_regular_file_exits_2_with_one_line(tiny_workspace, out):
    (tiny_workspace / "notes.txt").write_text("mine\n")
    before = set(tiny_workspace.iterdir())
    result = CliRunner().invoke(cli, ["tiny.pt", *ARCH, "--target", "android-arm64", "--input-shape", "1,1,16,16",
                                      "--out", out])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --out") and "notes.txt is a file" in lines[0], lines
    assert set(tiny_workspace.iterdir()) == before and (tiny_workspace / "notes.txt").read_text() == "mine\n"


TWO_HEADS = """
import torch
from torch import nn


class TwoHeads(nn.Module):
    \"\"\"A detector's output stage in small: box offsets N×4 and class probabilities N×3 (softmax).\"\"\"

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.box, self.cls = nn.Linear(32, 4), nn.Linear(32, 3)

    def forward(self, x):
        h = self.body(x)
        return self.box(h), torch.softmax(self.cls(h) * 8, dim=1)
"""


def test_two_head_model_scores_agreement_on_the_class_head_only(tmp_path, monkeypatch):
    from tests.helpers import import_source

    heads = import_source(tmp_path, monkeypatch, "heads", TWO_HEADS)
    torch.manual_seed(0)
    torch.save(heads.TwoHeads().eval().state_dict(), tmp_path / "heads.pt")
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).random((48, 1, 8, 8), dtype=np.float32))
    result = run_cli("heads.pt", "--arch", "heads:TwoHeads", "--target", "android-arm64", "--data", "x.npz")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "heads.compressed" / "report.json").read_text())
    rows = report["compressed"]["outputs"]
    assert [(r["index"], r["shape"], r["kind"]) for r in rows] == [(0, [1, 4], "regression"), (1, [1, 3], "class")]
    assert rows[0]["agreement"] is None and rows[1]["agreement"] is not None
    assert all(r["status"] == "ok" and r["sqnr_db"] >= 15 for r in rows) and report["status"] == "ok"
    # the top-level numbers are the class head's, and the report says which output they describe
    assert report["compressed"]["summary_output"] == 1
    assert report["compressed"]["agreement"] == rows[1]["agreement"]
    assert report["compressed"]["sqnr_db"] == rows[1]["sqnr_db"]
    markdown = (tmp_path / "heads.compressed" / "report.md").read_text()
    assert "## Outputs" in markdown and "| 0 output_0 | 1×4 | regression |" in markdown
    assert 'id="outputs"' in (tmp_path / "heads.compressed" / "report.html").read_text()
    assert "per output" in result.output  # the terminal summary shows the table too
    help_text = run_cli("--help").output
    assert "--min-sqnr" in help_text and "[15]" in help_text and "--classifier-output" in help_text


def test_classifier_output_naming_no_output_exits_2_before_any_work(tmp_path, monkeypatch):
    from tests.helpers import import_source

    heads = import_source(tmp_path, monkeypatch, "heads", TWO_HEADS)
    torch.save(heads.TwoHeads().eval().state_dict(), tmp_path / "heads.pt")
    result = CliRunner().invoke(cli, ["heads.pt", "--arch", "heads:TwoHeads", "--target", "android-arm64",
                                      "--input-shape", "1,1,8,8", "--classifier-output", "5"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --classifier-output") and "output_1" in lines[0], lines
