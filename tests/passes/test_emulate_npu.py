"""NPU emulation: the int8 graph on integer reference kernels, compared with the original."""

from __future__ import annotations

import json

import numpy as np
import torch
from tests.helpers import SmallNet, build_int8_model

from compressor.passes.emulate_npu import ReferenceKernelRunner, emulate_artifact
from compressor.measure.runtime import open_runtime
from compressor.targets.load import load_target


def test_reference_kernels_close_to_fast_kernels_and_list_fallback(tmp_path):
    int8, _ = build_int8_model(tmp_path)
    x = np.random.default_rng(1).random((16, 1, 12, 12), dtype=np.float32)
    reference = ReferenceKernelRunner(int8).run_batch([x])[0]
    fast = open_runtime(int8).run_batch([x])[0]
    scale = ReferenceKernelRunner(int8).outputs[0].scale or float(np.abs(fast).max()) / 127
    # Same int8 graph: the two kernel sets differ by rounding only, a few output steps at most.
    assert np.max(np.abs(reference - fast)) <= 4 * max(scale, 1e-6) + 1e-3 * float(np.abs(fast).max())
    torch.manual_seed(0)
    target = load_target("ethos-u55-128")
    assert target.fallback.name == "cortex-m55"  # loaded with the target, costs its CPU fallback ops
    facts = emulate_artifact(int8, SmallNet().eval(), x, None, target=target, classifier_output=("0",))
    assert facts["samples"] == 16 and facts["agreement"] is not None
    assert facts["outputs"][0]["kind"] == "class"
    # Unlabelled logits without softmax are not class scores unless named: judged by SQNR alone.
    plain = emulate_artifact(int8, SmallNet().eval(), x, None, target=target)
    assert plain["agreement"] is None and plain["outputs"][0]["kind"] == "regression"
    assert {op["op"] for op in facts["cpu_fallback_ops"]} >= {"QUANTIZE", "DEQUANTIZE"}
    json.dumps(facts)


def test_compress_for_an_npu_reports_emulated_numerics_and_vela(tiny_workspace):
    from click.testing import CliRunner

    from compressor.cli.main import cli

    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "ethos-u55-128",
                                      "--data", "calib.npz", "--eval", "test.npz", "--classifier-output", "0",
                                      "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((tiny_workspace / "tiny.compressed" / "report.json").read_text())
    assert [s["name"] for s in report["steps"]] == ["fold", "rewrite", "export", "int8", "strip", "verify", "emulate", "estimate"]
    emulated = report["compressed"]["emulated"]
    assert emulated["samples"] == 32 and emulated["accuracy"] is not None
    assert report["estimate"]["vela"]["npu_ops"] > 0 and report["estimate"]["source"]["latency_ms"].startswith("vela")
    assert "Vela inference time" in (tiny_workspace / "tiny.compressed" / "report.md").read_text()
