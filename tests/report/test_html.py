"""report.html: one self-contained, escaped, deterministic page with the summary card and plots."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from compressor.report.html import TOP_OPS, render_html


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


def test_all_report_text_is_escaped_and_summary_comes_before_warnings():
    page = render_html(make_report())
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; accuracy &amp; agreement" in page
    assert page.index('id="summary"') < page.index('id="warnings"')  # summary first (issue 16)
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
    code = ("import sys, compressor.report.html, compressor.cli.main; "
            "print('matplotlib' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


def test_no_external_resources_anywhere():
    for page in (render_html(make_report()), render_html(make_full_report())):
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
        assert "url(" not in page and "<script" not in page and "<link" not in page


def _render_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    script = Path(__file__).resolve().parents[2] / "scripts" / "render_report.sh"
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


# --- Inputs and outputs, where the bytes go, int8 -----------------------------------------

BEFORE = {"weights": 892_088, "biases": 17_056, "quantization": 0, "names": 25_232, "metadata": 100,
          "unused": 0, "structure": 8_824}  # 943,300 B
AFTER = {"weights": 223_160, "biases": 17_056, "quantization": 30_520, "names": 876, "metadata": 44,
         "unused": 0, "structure": 9_400}  # 281,056 B
INT8_STEP = {
    "name": "int8", "seconds": 2.0, "quantizer": "ai-edge-quantizer",
    "float_for_speed": [{"op": "MEAN", "name": "mean_7", "layers": ["pool<1>"]}],
    "float_ops": [{"op": "CONV_2D", "name": "conv_3", "layers": []}],
    "delegation": {"delegate": "XNNPACK", "nodes_total": 40, "nodes_delegated": 38, "partitions": 2,
                   "not_delegated": [{"index": 3, "op": "MEAN", "dtype": "float32", "name": "m"},
                                     {"index": 9, "op": "GATHER", "dtype": "int8", "name": "g"}]},
    "remedies": {
        "tried": [{"remedy": "plain", "sqnr_db": 24.1, "agreement": 0.9, "kept": True},
                  {"remedy": "clip", "sqnr_db": 27.35, "agreement": 0.95, "kept": True},
                  {"remedy": "int16", "sqnr_db": None, "agreement": None, "kept": False,
                   "error": "no <int16> kernel"}],
        "used": ["clip"], "met": True, "sqnr_db": 27.35, "agreement": 0.95,
        "sensitivity": [{"name": "a", "layer": "features.8", "op": "ADD", "sqnr_db": 31.8, "own_sqnr_db": 44.68,
                         "dtype": "int8"},
                        {"name": "x/very/long/tensor/name;", "layer": None, "op": "CONV_2D", "sqnr_db": 18.25,
                         "own_sqnr_db": 19.04, "dtype": "int16"},
                        {"name": "c", "layer": "features.1.0", "op": "DEPTHWISE_CONV_2D", "sqnr_db": 25.0,
                         "own_sqnr_db": 120.0, "dtype": "int8"}]},
}


def make_full_report() -> dict:
    report = make_report()
    report["io"] = {"layout": "nchw",
                    "inputs": [{"name": "args_0", "shape": [1, 1, 32, 32], "dtype": "int8",
                                "scale": 0.003921568859368563, "zero_point": -128, "layout": "NCHW"}],
                    "outputs": [{"name": "out<0>", "shape": [1, 10], "dtype": "float32", "scale": 0.0,
                                 "zero_point": 0, "layout": "-"}]}
    report["original"]["size_breakdown"] = dict(BEFORE)
    report["compressed"]["size_breakdown"] = dict(AFTER)
    report["steps"][1] = INT8_STEP
    return report


class _Tables(HTMLParser):
    """Cell texts (entities decoded) of every table row in a piece of HTML."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start:page.index("</section>", start)]


def rows_of(fragment: str) -> list[list[str]]:
    tables = _Tables()
    tables.feed(fragment)
    return tables.rows


def test_io_section_lists_each_tensor_with_scale_and_zero_point():
    io = section(render_html(make_full_report()), "io")
    assert "Inputs and outputs" in io and "real value = scale × (q − zero_point)" in io
    assert rows_of(io) == [["tensor", "name", "dtype", "shape", "layout", "scale", "zero-point"],
                           ["input", "args_0", "int8", "1×1×32×32", "NCHW", "0.00392157", "-128"],
                           ["output", "out<0>", "float32", "1×10", "-", "-", "-"]]
    assert "out&lt;0&gt;" in io


def test_size_section_has_the_table_and_one_stacked_bar_per_file():
    page = render_html(make_full_report())
    sizes = section(page, "bytes")
    rows = rows_of(sizes)
    assert rows[0] == ["part", "fp32 original", "share", "compressed", "share"]
    assert [row[0] for row in rows[1:]] == list(BEFORE) + ["total"]
    assert rows[1] == ["weights", "892,088 B", "94.6%", "223,160 B", "79.4%"]
    assert rows[3] == ["quantization", "0 B", "0.0%", "30,520 B", "10.9%"]
    assert rows[-1] == ["total", "943,300 B", "100.0%", "281,056 B", "100.0%"]
    svg = sizes[sizes.index("<svg"):sizes.index("</svg>")]
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="\d+" width="([\d.]+)"', svg)]
    assert len(widths) == 5 + 6  # zero-byte parts draw nothing: 5 parts before, 6 after
    # Both bars on the original's scale: the compressed bar is 281,056 / 943,300 of its length.
    assert sum(widths[5:]) / sum(widths[:5]) == pytest.approx(281_056 / 943_300, abs=1e-4)
    assert "compressed: quantization 30,520 B (10.9%)" in svg
    assert 'viewBox="0 0 1000 ' in svg and "<image" not in svg and "href" not in svg


def test_int8_section_shows_delegation_float_ops_remedies_and_sensitivity():
    int8 = section(render_html(make_full_report()), "int8")
    assert "XNNPACK takes <b>38 of 40</b> ops in 2 partitions; left out: MEAN:float32, GATHER:int8." in int8
    float_start, remedies_start = int8.index("Ops kept float"), int8.index("Accuracy remedies tried")
    sensitivity_start = int8.index("Per-layer sensitivity")
    assert rows_of(int8[float_start:remedies_start])[1:] == [
        ["MEAN", "pool<1>", "kept float: XNNPACK has no int8 kernel for it"],
        ["CONV_2D", "conv_3", "computes in float"]]
    assert rows_of(int8[remedies_start:sensitivity_start])[1:] == [
        ["plain", "24.1", "90.00%", "yes", ""], ["clip", "27.4", "95.00%", "yes", ""],
        ["int16", "–", "–", "no", "no <int16> kernel"]]
    assert "Remedies in the artifact: clip (accuracy thresholds met)." in int8
    assert rows_of(int8[sensitivity_start:])[1:] == [  # worst first, though the report's order was not
        ["x/very/long/tensor/name;", "CONV_2D", "18.2", "19.0", "int16"],
        ["features.1.0", "DEPTHWISE_CONV_2D", "25.0", "120.0", "int8"],
        ["features.8", "ADD", "31.8", "44.7", "int8"]]


def test_sections_are_left_out_when_their_data_is_missing():
    page = render_html(make_report())  # an older report: no io, no size_breakdown, int8 without remedies
    assert not {"io", "bytes", "int8"} & parse(page).ids
    assert "Where the bytes go" not in page and "real value" not in page
    onnx = make_full_report()
    onnx["steps"][1] = {"name": "int8", "seconds": 1.0, "quantizer": "onnxruntime.quantization", "format": "QDQ"}
    onnx["io"], onnx["compressed"]["size_breakdown"] = None, None
    page = render_html(onnx)
    assert not {"io", "int8"} & parse(page).ids
    assert [row[0] for row in rows_of(section(page, "bytes"))][-1] == "total"
    assert "compressed" not in rows_of(section(page, "bytes"))[0]  # only the file that has a breakdown
    odd = make_full_report()  # malformed pieces render what they can
    odd["io"] = {"layout": "nchw", "inputs": "?"}
    odd["steps"][1] = {"name": "int8", "remedies": {"tried": [], "sensitivity": None}, "delegation": None}
    page = render_html(odd)
    assert 'id="io"' not in page and "Accuracy remedies tried" not in page and 'id="int8"' in page


def test_real_int8_run_renders_its_io_bytes_and_int8_sections(tiny_workspace):
    from click.testing import CliRunner

    from compressor.cli.main import cli

    result = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--data", "calib.npz", "--eval",
                                      "test.npz", "--target", "cortex-m7", "--out", "m7", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    out = tiny_workspace / "m7"
    report, page = json.loads((out / "report.json").read_text()), (out / "report.html").read_text()
    (inp,) = report["io"]["inputs"]
    assert rows_of(section(page, "io"))[1][5:] == [f"{inp['scale']:.6g}", str(inp["zero_point"])]
    assert rows_of(section(page, "bytes"))[-1] == [
        "total", f"{(out / 'model_float.tflite').stat().st_size:,} B", "100.0%",
        f"{(out / 'model.tflite').stat().st_size:,} B", "100.0%"]
    int8 = section(page, "int8")
    worst = min(report_step(report, "int8")["remedies"]["sensitivity"], key=lambda row: row["sqnr_db"])
    first_row = rows_of(int8[int8.index("Per-layer sensitivity"):])[1]
    assert first_row[1:3] == [worst["op"], f"{worst['sqnr_db']:.1f}"]


def report_step(report: dict, name: str) -> dict:
    return next(step for step in report["steps"] if step["name"] == name)


def test_warnings_are_grouped_by_kind_with_count_and_effect_and_folded():
    report = make_report()
    report["estimate"]["channel_padding"] = {"layers": 17, "latency_ms": 0.85, "unpadded_latency_ms": 0.8,
                                             "extra_ms": 0.05, "latency_increase_percent": 6.25}
    report["warnings"] = [f"android-arm64: conv{k}: 12 output channels, not a multiple of 16 on x: the kernels "
                          f"pad them, costed as 20,000 MACs instead of 15,000" for k in range(17)] + ["something else"]
    page = render_html(report)
    section = page[page.index('id="warnings"'):]
    section = section[:section.index("</section>")]
    assert "18 warnings of 2 kinds" in section
    assert "17 × layers pad channels to the kernel tile: +6% estimated latency on android-arm64" in section
    assert section.count("<details>") == 1 and section.count("conv16") == 1
