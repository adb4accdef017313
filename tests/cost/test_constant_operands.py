"""onnxruntime's float binary ops read a constant operand once per output element, as the other:
a [width] bias Add over [rows, width] costs what a full Add does (--probe bias-add), where the
terms had counted the bias's bytes once.  Each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

from compressor.cost.latency import estimate_op_latency
from compressor.cost.tiles import operand_reads
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_probes as mp


def _add(path: Path, *, bias: bool):
    graph = read_graph(mp.build_add_chain(path, 128, 384, 2, bias=bias), as_run=True)
    return [op for op in graph.ops if op.op_type == "Add"][1]


def test_a_bias_is_read_once_per_output_element(tmp_path):
    bias = _add(tmp_path / "bias.onnx", bias=True)
    assert bias.weight_bytes == 384 * 4 and operand_reads(bias) == bias.input_bytes + bias.output_bytes
    full = _add(tmp_path / "full.onnx", bias=False)
    assert operand_reads(full) == full.input_bytes + full.output_bytes == 2 * full.output_bytes


def test_the_zen4_terms_price_the_probe_s_adds_within_15_percent(tmp_path):
    """The committed probe table (its source): every chain's Add within 15 % (0.57-0.78x before)."""
    import json

    table = json.loads((Path(mp.__file__).parent / "data" / "host-x86-probes-bias-add-zen4.json").read_text())
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    for row in table["probes"]["bias-add"]:
        p = row["params"]
        graph = read_graph(mp.build_add_chain(tmp_path / "a.onnx", p["rows"], p["width"], 2, bias=p["bias"]), as_run=True)
        add = [op for op in graph.ops if op.op_type == "Add"][1]
        estimate_us = estimate_op_latency(add, zen4, runtime="onnx").latency_s * 1e6
        assert 0.85 < estimate_us / row["per_add_us"] < 1.15, (p, estimate_us, row["per_add_us"])
