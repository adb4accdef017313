"""report.html: one self-contained, escaped, deterministic page with the summary card and plots."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from compressor.html_report import TOP_OPS, render_html


def make_report() -> dict:
    per_op = [{"op": "CONV_2D" if i % 3 else "DEPTHWISE_CONV_2D", "name": f"features.{i}/conv<{i}>",
               "kind": "conv", "macs": 1000 * i, "dtype": "int8", "latency_ms": 0.01 * (i + 1),
               "bound": "compute" if i % 2 else "memory"} for i in range(40)]
    return {
        "schema": 1, "target": "android-arm64", "format": "tflite", "status": "FAILED",
        "warnings": ["Calibrated on random inputs: <script>alert('x')</script> accuracy & agreement unknown.",
                     "CONV_2D (conv_3) still computes in float."],
        "original": {"params": 20_000, "macs": 3_000_000, "size_bytes": 83_000, "accuracy": 0.975,
                     "estimate": {"latency_ms": 1.9, "peak_ram_bytes": 500_000, "flash_bytes": 83_000,
                                  "energy_mj": 1.2}},
        "compressed": {"params": 20_000, "macs": 3_000_000, "size_bytes": 28_000, "gzip_bytes": 21_000,
                       "accuracy": 0.9722, "agreement": 0.9611, "sqnr_db": 28.4, "max_abs_error": 0.12,
                       "cosine": 0.9991},
        "steps": [{"name": "fold", "seconds": 0.12, "folded": 3},
                  {"name": "int8", "seconds": 3.3, "quantizer": "ai-edge-quantizer", "float_ops": []},
                  {"name": "prune", "seconds": 0.5,
                   "layers": [{"layer": "features.0", "sparsity": 0.5, "channels_after": 8},
                              {"layer": "features.<3>", "sparsity": 0.25, "substituted": "depthwise"}]}],
        "estimate": {"latency_ms": 0.85, "peak_ram_bytes": 254_144, "flash_bytes": 28_000, "energy_mj": 0.65,
                     "per_op": per_op},
        "artifact": "model.tflite", "sha256": "ab" * 32, "float_artifact": "model_float.tflite",
        "inputs": {"model": "tiny.pt"}, "versions": {"edge-compressor": "0.1.0", "onnx": None, "python": "3.11"},
    }


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.links = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            if key in attrs:
                self.links.append(attrs[key])


def parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def test_page_is_self_contained_with_inline_png_plots():
    page = render_html(make_report())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    collector = parse(page)
    assert collector.links, "the plot is an <img>"
    assert all(link.startswith("data:image/png;base64,") for link in collector.links)
    assert "<link" not in page and "<script" not in page and "@import" not in page and "url(" not in page
    png = base64.b64decode(collector.links[0].split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"matplotlib" not in png  # no version stamp


def test_summary_card_shows_original_to_compressed():
    page = render_html(make_report())
    collector = parse(page)
    assert {"summary", "warnings", "per-op", "layers", "steps", "provenance"} <= collector.ids
    summary = page[page.index('id="summary"'):page.index('id="per-op"')]
    for label in ("File size", "gzip size", "Accuracy", "Top-1 agreement", "SQNR", "Latency (est.)",
                  "Peak RAM (est.)", "Flash (est.)", "Energy (est.)"):
        assert label in summary
    assert "81.1 KiB → </span>27.3 KiB" in summary and "-66.3%" in summary
    assert "97.50% → </span>97.22%" in summary and "-0.28 pp" in summary
    assert "1.900 ms → </span>0.850 ms" in summary


def test_all_report_text_is_escaped_and_warnings_are_prominent():
    page = render_html(make_report())
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; accuracy &amp; agreement" in page
    assert page.index('id="warnings"') < page.index('id="summary"')
    assert "2 warnings" in page
    assert "features.&lt;3&gt;" in page and "conv&lt;39&gt;" in page
    assert 'class="badge failed">FAILED' in page


def test_per_op_section_shows_the_slowest_ops_and_per_layer_table():
    page = render_html(make_report())
    assert f"slowest {TOP_OPS} of 40 ops" in page
    assert page.count("<tr><td><code>") == TOP_OPS
    assert "The other 15 ops take" in page
    layers = page[page.index('id="layers"'):page.index('id="steps"')]
    assert "<h3>prune</h3>" in layers and "substituted" in layers and "depthwise" in layers


def test_report_without_estimate_or_layers_still_renders():
    report = make_report()
    report["estimate"] = None
    report["steps"] = [{"name": "fold", "seconds": 0.1}]
    report["warnings"] = []
    page = render_html(report)
    assert "No per-op estimate in this report." in page
    assert "No per-layer changes" in page
    assert 'id="warnings"' not in page and "data:image/png" not in page


def test_rendering_is_deterministic():
    report = make_report()
    assert render_html(report) == render_html(report)


def test_matplotlib_is_imported_lazily():
    code = ("import sys, compressor.html_report, compressor.cli; "
            "print('matplotlib' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


def test_no_external_resources_anywhere():
    page = render_html(make_report())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)


def _render_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    script = Path(__file__).resolve().parents[1] / "scripts" / "render_report.sh"
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_render_script_errors_are_one_line_exit_2(tmp_path):
    missing = _render_script(str(tmp_path))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "report.html" in missing.stderr
    (tmp_path / "report.html").write_text(render_html(make_report()))
    no_browser = _render_script(str(tmp_path), CHROMIUM="/nonexistent/chromium")
    assert no_browser.returncode == 2 and "no Chromium" in no_browser.stderr
    assert not (tmp_path / "report.png").exists()


@pytest.mark.skipif(not any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")),
                    reason="no Chromium installed")
def test_report_renders_in_headless_chromium(tmp_path):
    (tmp_path / "report.html").write_text(render_html(make_report()))
    result = _render_script(str(tmp_path / "report.html"), str(tmp_path / "shots" / "report.png"))
    assert result.returncode == 0, result.stderr
    png = (tmp_path / "shots" / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    assert result.stdout.strip() == str(tmp_path / "shots" / "report.png")
