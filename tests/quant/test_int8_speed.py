"""No slow int8 islands: exact rewrites before export, float fallback for ops XNNPACK leaves out,
and stripping that keeps outputs and per-op names."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from compressor.cli.main import cli
from tests.helpers import import_source

NETS = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class SwishNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1)
            self.act = nn.Hardswish()
            self.head = nn.Linear(16, 4)

        def forward(self, x):
            return self.head(self.act(self.conv(x)).mean(dim=(2, 3)))


    class DwNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 32, 3, padding=1)
            self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
            self.pw = nn.Conv2d(32, 32, 1)
            self.head = nn.Linear(32, 4)

        def forward(self, x):
            return self.head(self.pw(self.dw(self.stem(x).relu()).relu()).relu().mean(dim=(2, 3)))


    class NormNet(nn.Module):
        """A token MLP with LayerNorm: RSQRT / SQUARED_DIFFERENCE have no int8 XNNPACK kernel."""

        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 32)
            self.norm = nn.LayerNorm(32)
            self.head = nn.Linear(32, 4)

        def forward(self, x):
            return self.head(self.norm(self.fc1(x)).relu().mean(dim=1))
''')


@pytest.fixture
def nets(tmp_path, monkeypatch):
    speednets = import_source(tmp_path, monkeypatch, "speednets", NETS)
    torch.manual_seed(0)
    torch.save(speednets.SwishNet().state_dict(), tmp_path / "swish.pt")
    torch.save(speednets.NormNet().state_dict(), tmp_path / "norm.pt")
    torch.save(speednets.DwNet().state_dict(), tmp_path / "dw.pt")
    return tmp_path


def compress(*args):
    result = CliRunner().invoke(cli, [*args, "--min-agreement", "0", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    return result


def steps_of(directory):
    report = json.loads((directory / "report.json").read_text())
    return report, {s["name"]: s for s in report["steps"]}


def test_hardswish_is_rewritten_and_the_int8_graph_is_one_partition(nets):
    compress("swish.pt", "--arch", "speednets:SwishNet", "--input-shape", "1,3,16,16", "--target", "host-x86",
             "--out", "sw")
    report, steps = steps_of(nets / "sw")
    assert [r["rewrite"] for r in steps["rewrite"]["rewrites"]] == ["hardswish_as_mul"]
    assert steps["rewrite"]["max_relative_error"] < 1e-5
    delegation = steps["int8"]["delegation"]
    assert delegation["partitions"] == 1 and delegation["not_delegated"] == []
    assert steps["int8"]["float_for_speed"] == []


def test_ops_xnnpack_cannot_run_in_int8_stay_float_on_a_cpu(nets):
    compress("norm.pt", "--arch", "speednets:NormNet", "--input-shape", "1,8,16", "--target", "host-x86",
             "--out", "ln")
    report, steps = steps_of(nets / "ln")
    int8 = steps["int8"]
    assert int8["float_for_speed"], int8["delegation"]  # LayerNorm's int8 ops were moved to float
    assert int8["delegation"]["not_delegated"] == [] and int8["delegation"]["partitions"] == 1
    listed = {op["name"] for op in int8["float_ops"]}
    assert {op["name"] for op in int8["float_for_speed"]} <= listed  # every float op is in the report
    # islands moved to float are those the target's cost model says int8 does not pay for
    assert all(i["int8_ms"] >= i["float_ms"] for i in int8["float_islands"])
    assert {i["name"] for i in int8["float_islands"]} <= listed
    assert report["compressed"]["sqnr_db"] > 20


def test_fallback_can_be_turned_off_and_then_reports_the_split(nets):
    (nets / "recipe.toml").write_text("[int8]\nfloat_fallback = false\n")
    compress("norm.pt", "--arch", "speednets:NormNet", "--input-shape", "1,8,16", "--target", "host-x86",
             "--recipe", "recipe.toml", "--out", "off")
    report, steps = steps_of(nets / "off")
    assert steps["int8"]["float_for_speed"] == [] and steps["int8"]["delegation"]["partitions"] > 1
    assert any("outside XNNPACK" in w for w in report["warnings"])


def test_strip_keeps_outputs_and_the_report_keeps_op_names(tiny_workspace):
    compress("tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64", "--data", "calib.npz",
             "--out", "st")
    report, steps = steps_of(tiny_workspace / "st")
    strip = steps["strip"]
    assert strip["kept"] and strip["outputs_identical"] and strip["size_after_bytes"] < strip["size_before_bytes"]
    assert report["compressed"]["size_bytes"] == strip["size_after_bytes"]
    assert strip["breakdown_before"]["names"] > 0
    names = [op["name"] for op in report["estimate"]["per_op"]]
    assert not any(n.startswith("t") and n[1:].isdigit() for n in names), names
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(str(tiny_workspace / "st" / "model.tflite")).get_signature_runner()
    out = runner(args_0=np.zeros((1, 1, 16, 16), np.float32))
    assert list(out) == ["output_0"]  # signature names survive the strip


def test_per_tensor_depthwise_is_kept_only_when_it_costs_no_accuracy(nets):
    compress("dw.pt", "--arch", "speednets:DwNet", "--input-shape", "1,3,16,16", "--target", "host-x86",
             "--out", "dw")
    report, steps = steps_of(nets / "dw")
    shrink = steps["int8"]["depthwise_per_tensor"]
    assert shrink is not None and shrink["size_bytes"] < shrink["size_bytes_per_channel"]
    within = shrink["sqnr_db"] >= shrink["sqnr_db_per_channel"] - 1.0
    assert shrink["kept"] == within
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray((nets / "dw" / "model.tflite").read_bytes()), 0)
    sub = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    dw = next(op for op in sub.operators if codes[op.opcodeIndex] == schema.BuiltinOperator.DEPTHWISE_CONV_2D)
    scales = sub.tensors[dw.inputs[1]].quantization.scale
    assert (len(scales) == 1) == shrink["kept"]


@pytest.mark.parametrize("width,island", [(16, True), (512, False)])
def test_an_int8_layer_between_float_ops_stays_int8_only_where_it_pays(width, island, tmp_path):
    """The island rule weighs the conversions against the layer: a 512x512 FC pays for its
    QUANTIZE/DEQUANTIZE on host-x86's cost model, a 16x16 one does not."""
    from compressor.quant.islands import costly_islands
    from compressor.quant.tflite_int8 import Int8Tweaks, quantize_tflite
    from compressor.passes.export_tflite import export_tflite
    from compressor.targets.load import load_target
    from compressor.tflite.names import ops_by_layer

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.LayerNorm(width)
            self.fc = torch.nn.Linear(width, width)

        def forward(self, x):
            return torch.nn.functional.gelu(self.fc(self.norm(x)))

    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((8, 4, width)).astype(np.float32)
    float_path, int8_path = tmp_path / "f.tflite", tmp_path / "q.tflite"
    export_tflite(Block().eval(), (torch.from_numpy(x[:1]),), float_path)
    keep_float = tuple(name for op, name, _ in ops_by_layer(float_path) if op != "FULLY_CONNECTED")
    quantize_tflite(float_path, int8_path, [[x[i:i + 1]] for i in range(8)], per_channel=True,
                    tweaks=Int8Tweaks(float_layers=keep_float))
    # an AVX-512 VNNI CPU's rates (on an AVX2-only one int8 runs at fp32's speed: the 512 FC does not pay either)
    found = costly_islands(float_path, int8_path, load_target("host-x86", cpu_identity="AuthenticAMD family 26 model 2"))
    assert [i["op"] for i in found] == (["FULLY_CONNECTED"] if island else [])


def test_leaky_relu_is_max_on_int8_only_targets_and_exact():
    from compressor.model.rewrites import LeakyReluAsMax, rewrite_for_int8_

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.LeakyReLU(0.1), torch.nn.Conv2d(8, 4, 1)).eval()
    x = torch.randn(4, 3, 10, 10)
    expected = model(x)
    assert rewrite_for_int8_(model, leaky_relu=False) == []  # CPUs keep the one float op
    done = rewrite_for_int8_(model, leaky_relu=True)
    assert done == [{"rewrite": "leaky_relu_as_max", "where": "1"}] and isinstance(model[1], LeakyReluAsMax)
    assert torch.equal(model(x), expected)


def test_a_leaky_relu_model_is_fully_int8_on_an_mcu(tmp_path, monkeypatch):
    source = ("import torch.nn as nn\n\n\nclass Leaky(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
              "        self.c = nn.Conv2d(1, 8, 3)\n        self.act = nn.LeakyReLU(0.05)\n        self.head = nn.Linear(8, 3)\n\n"
              "    def forward(self, x):\n        return self.head(self.act(self.c(x)).mean(dim=(2, 3)))\n")
    nets = import_source(tmp_path, monkeypatch, "leakynets", source)
    torch.manual_seed(0)
    torch.save(nets.Leaky().state_dict(), tmp_path / "leaky.pt")
    compress("leaky.pt", "--arch", "leakynets:Leaky", "--input-shape", "1,1,12,12", "--target", "cortex-m7",
             "--out", "m7")
    report, steps = steps_of(tmp_path / "m7")
    assert [r["rewrite"] for r in steps["rewrite"]["rewrites"]] == ["leaky_relu_as_max"]
    assert steps["int8"]["float_ops"] == []
