"""`compress profile` stays fast: estimating a .tflite never imports the ONNX stack or torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import write_tiny_tflite

REPO = Path(__file__).resolve().parents[2]


def test_estimating_a_tflite_imports_no_onnx_and_no_torch(tmp_path):
    path = tmp_path / "tiny.tflite"
    write_tiny_tflite(path)
    code = ("import sys\n"
            "from compressor.measure.estimate import estimate_artifact\n"
            f"estimate = estimate_artifact({str(path)!r}, 'host-x86')\n"
            "assert estimate.latency_ms > 0\n"
            "print(','.join(m for m in ('onnx', 'onnxruntime', 'ml_dtypes', 'torch', 'litert_torch') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
