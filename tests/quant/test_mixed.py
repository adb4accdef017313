"""Mixed precision by measurement (quant/mixed.py): float layers chosen by measured gain per cost,
stopping at the bar; and, end to end, a two-head net whose box head misses the bar in static int8
ships static int8 with the box head's layers float, named in the report, float in the file."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from compressor.quant.mixed import keep_float_by_gain
from tests.helpers import compress_pt2


def _additive(noise: dict[str, float], *, floor: float = 1e-4):
    """A fake graph whose output noise is the sum of its layers' noise powers (signal 1)."""
    built: list[tuple[str, ...]] = []

    def build(names):
        built.append(tuple(names))
        nsr = floor + sum(power for name, power in noise.items() if name not in names)
        return -10.0 * math.log10(nsr), None

    return build, built


def test_best_gain_per_cost_first_and_stop_at_the_bar():
    noise = {"a": 0.01, "b": 0.01, "c": 0.001}
    build, built = _additive(noise)
    base = build(())[0]
    costs = {"a": 100.0, "b": 10.0, "c": 1.0}
    result = keep_float_by_gain(build, {n: (n,) for n in noise}, lambda names: sum(costs[n] for n in names),
                                base=(base, None), met=lambda s, a: s >= 19.0, max_cost=1000.0)
    # b and a gain the same, b costs a tenth: b first; then 10*log10(1/(0.0111)) = 19.5 dB meets 19
    assert result.float_layers[0] == "b"
    assert result.met and result.sqnr_db >= 19.0
    assert "a" not in result.float_layers  # not needed once the bar held
    rows = {row["layer"]: row for row in result.rows}
    assert rows["a"]["gain_db_alone"] > 2.0 and rows["c"]["gain_db_alone"] < rows["a"]["gain_db_alone"]


def test_the_cost_cap_is_kept_unless_only_an_expensive_set_meets_the_bar():
    noise = {"cheap": 0.002, "dear": 0.05}
    build, _ = _additive(noise)
    base = build(())[0]
    costs = {"cheap": 1.0, "dear": 100.0}
    capped = keep_float_by_gain(build, {n: (n,) for n in noise}, lambda names: sum(costs[n] for n in names),
                                base=(base, None), met=lambda s, a: s >= 45.0, max_cost=10.0)
    assert capped.float_layers == ("cheap",) and not capped.met  # floor 1e-4: nothing reaches 45 dB
    rescued = keep_float_by_gain(build, {n: (n,) for n in noise}, lambda names: sum(costs[n] for n in names),
                                 base=(base, None), met=lambda s, a: s >= 20.0, max_cost=10.0)
    assert "dear" in rescued.float_layers and rescued.met
    hard = keep_float_by_gain(build, {n: (n,) for n in noise}, lambda names: sum(costs[n] for n in names),
                              base=(base, None), met=lambda s, a: s >= 20.0, max_cost=10.0, hard_cap=True)
    assert hard.float_layers == ("cheap",) and not hard.met  # a size cap holds whatever the bar says


def test_a_layer_that_gains_nothing_stays_int8():
    build, _ = _additive({"a": 0.05, "b": 0.0})
    result = keep_float_by_gain(build, {"a": ("a",), "b": ("b",)}, lambda names: 1.0 * len(names),
                                base=(build(())[0], None), met=lambda s, a: s >= 30.0, max_cost=10.0)
    assert result.float_layers == ("a",)


class _TwoHeads(nn.Module):
    """A score head that quantizes well and a box head with one channel 1000x the others between
    two convs (a LeakyReLU between them: TFLite keeps it as its own op, so no equalization), both
    reading the input: static int8 ~18 dB on the box head, ~40 dB on the scores."""

    def __init__(self):
        super().__init__()
        self.box1 = nn.Conv2d(1, 8, 3, padding=1)
        self.act = nn.LeakyReLU(0.01)
        self.box2 = nn.Conv2d(8, 8, 3, padding=1)
        self.box = nn.Linear(8, 4)
        self.score1 = nn.Conv2d(1, 8, 3, padding=1)
        self.score = nn.Linear(8, 2)
        with torch.no_grad():
            self.box1.weight[0] *= 1e3
            self.box1.bias[0] *= 1e3
            self.box2.weight[:, 0] *= 1e-3

    def forward(self, x):
        b = torch.relu(self.box2(self.act(self.box1(x))))
        s = torch.relu(self.score1(x))
        return self.box(b.mean(dim=(2, 3))), torch.softmax(self.score(s.mean(dim=(2, 3))), dim=1)


def _float_conv_weights(path) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path))
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weight = details[op["inputs"][1]]
            if np.dtype(weight["dtype"]) == np.float32:  # output channels first (depthwise: last in TFLite)
                value = interpreter.get_tensor(weight["index"])
                found.append(np.moveaxis(value, 3, 0) if op["op_name"] == "DEPTHWISE_CONV_2D" else value)
    return found


def test_the_box_head_is_kept_float_and_the_file_carries_it(tmp_path):
    torch.manual_seed(0)
    model = _TwoHeads().eval()
    x = np.random.default_rng(0).random((64, 1, 12, 12), dtype=np.float32)
    result, report = compress_pt2(model, x, tmp_path, recipe=None)
    steps = {s["name"]: s for s in report["steps"]}
    int8, verify = steps["int8"], steps["verify"]
    plain = int8["remedies"]["tried"][0]
    assert plain["remedy"] == "plain" and plain["sqnr_db"] < 25.0  # static int8 misses on the box head
    assert int8["scheme"] == "static_int8" and "float" in int8["remedies"]["used"]
    assert report["status"] == "ok" and all(o["sqnr_db"] >= 25.0 for o in verify["outputs"])
    # the float layers are named, with what each bought, and they are the box head's convs
    search = next(t for t in int8["remedies"]["tried"] if t["remedy"] == "float")["search"]
    kept = [row for row in search["layers"] if row["kept"]]
    assert kept and all(row["gain_db"] > 0 for row in kept)
    named = {path for op in int8["float_ops"] for path in op["layers"]}
    assert {"box1", "box2"} <= named and not named & {"score1", "score"}
    assert any("box2" in note for note in report["warnings"])
    # in the shipped file: exactly those two convs have float weights, box1's with its 1000x channel
    weights = _float_conv_weights(result.out_dir / "model.tflite")
    assert len(weights) == 2  # box1 and box2
    peaks = sorted(float(np.abs(w).reshape(w.shape[0], -1).max(axis=1).max() /
                         np.median(np.abs(w).reshape(w.shape[0], -1).max(axis=1))) for w in weights)
    assert peaks[-1] > 100.0  # box1: channel 0 is 1000x the others


class _Depthwise(nn.Module):
    """Three 1x1 conv -> depthwise 3x3 blocks: XNNPACK has no dynamic-range depthwise kernel."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1,
                                                                                           groups=8), nn.ReLU())
                                      for _ in range(3)])

    def forward(self, x):
        return self.blocks(x)


def test_dynamic_range_keeps_the_ops_xnnpack_leaves_out_float_and_runs_in_one_partition(tmp_path):
    from compressor.measure.delegation import inspect_delegation
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.schemes import splitting_ops, try_schemes
    from compressor.quant.tflite_int8 import Calibration

    torch.manual_seed(0)
    model = _Depthwise().eval()
    x = np.random.default_rng(0).random((8, 8, 16, 16), dtype=np.float32)
    float_path = tmp_path / "float.tflite"
    export_tflite(model, (torch.from_numpy(x[:1]),), float_path)
    counter = iter(range(100))
    path, best, trials, _ = try_schemes(
        float_path, lambda suffix: tmp_path / f"t{next(counter)}{suffix}", calibration=Calibration([[x[:1]]]),
        evaluate=lambda p: (40.0, None), met=lambda s, a: True, allow_int16=False,
        left_out=lambda p: splitting_ops(p, inspect_delegation(float_path).partitions))
    assert best.scheme == "dynamic_range"
    assert sorted(best.float_for_speed) == [f"blocks.{i}.2" for i in range(3)]  # the depthwise convs
    assert set(best.float_for_speed) <= set(best.float_layers)
    delegation = inspect_delegation(path)
    assert delegation.partitions == 1 and not delegation.not_delegated
    assert "float inside the delegate" in best.float_reasons()
