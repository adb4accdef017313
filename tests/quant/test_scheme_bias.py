"""Bias correction of the fallback schemes' int8 weights (quant/scheme_file.py, bias_correct.py), and
the int8 step judging its candidates on the samples verify judges (passes/quantize_tflite.py).

Dynamic-range and weight-only int8 keep float biases beside int8 weights; rounding the weights
shifts each layer's output by (W_q - W) E[x], which the float bias can absorb.  The net: convs
with one large tap per filter (coarse int8 steps for the others) on inputs with a large mean.
"""

from __future__ import annotations

import numpy as np
import torch

from tests.helpers import CoarseConvs, compress_pt2


def _setup(tmp_path):
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.tflite_int8 import Calibration

    torch.manual_seed(0)
    model = CoarseConvs().eval()
    x = np.random.default_rng(0).random((48, 3, 12, 12), dtype=np.float32)
    export_tflite(model, (torch.from_numpy(x[:1]),), tmp_path / "f.tflite")
    with torch.no_grad():
        reference = model(torch.from_numpy(x[32:])).numpy()
    return tmp_path / "f.tflite", x, reference, Calibration([[x[i:i + 1]] for i in range(32)])


def _measure(path, x, reference):
    from compressor.measure.runtime import LiteRTRunner

    out = LiteRTRunner(path).run_batch([x[32:]])[0]
    offset = float(np.abs((out - reference).mean(axis=0)).mean())
    return offset, float(10 * np.log10(np.sum(reference ** 2) / np.sum((out - reference) ** 2)))


def _biases(path):
    from compressor.tflite.flatbuffer import float_constant, op_names, read_model

    model = read_model(path)
    sub, names = model.subgraphs[0], op_names(model)
    return {sub.tensors[op.outputs[0]].name: float_constant(model, sub, int(op.inputs[2]))[1]
            for op in sub.operators if names[op.opcodeIndex] in ("CONV_2D", "FULLY_CONNECTED")}


def test_both_weight_schemes_absorb_the_int8_weights_offset_in_their_biases(tmp_path):
    from compressor.quant.scheme_file import quantize_scheme

    float_path, x, reference, calibration = _setup(tmp_path)
    for scheme in ("weight_only", "dynamic_range"):
        measured = []
        for corrected in (False, True):
            out = tmp_path / f"{scheme}_{corrected}.tflite"
            quantize_scheme(float_path, out, scheme, calibration=calibration, bias_correction=corrected)
            measured.append(_measure(out, x, reference))
        (offset, sqnr_db), (offset_corrected, sqnr_db_corrected) = measured
        assert offset_corrected < 0.5 * offset, (scheme, measured)
        assert sqnr_db_corrected > sqnr_db + 1.0, (scheme, measured)


def test_a_layer_kept_float_keeps_its_bias(tmp_path):
    from compressor.quant.scheme_file import quantize_scheme, weight_layers

    float_path, _, _, calibration = _setup(tmp_path)
    layers = weight_layers(float_path)
    kept = next(name for name in layers if "c1" in name)
    out = tmp_path / "w.tflite"
    quantize_scheme(float_path, out, "weight_only", calibration=calibration, float_ops=tuple(layers[kept]["ops"]),
                    bias_correction=True)
    before, after = _biases(float_path), _biases(out)
    float_op = layers[kept]["ops"][0].encode()
    assert np.array_equal(before[float_op], after[float_op])  # float weights: nothing to correct
    assert all(not np.array_equal(before[name], after[name]) for name in before if name != float_op)


def test_the_scheme_keeps_the_correction_only_when_it_measures_better(tmp_path):
    from compressor.quant.schemes import try_schemes

    float_path, x, reference, calibration = _setup(tmp_path)
    temps = iter(range(1000))

    def temp(suffix):
        return tmp_path / f"t{next(temps)}{suffix}"

    def evaluate(path):
        return _measure(path, x, reference)[1], None

    plain = tmp_path / "plain.tflite"
    from compressor.quant.scheme_file import quantize_scheme

    quantize_scheme(float_path, plain, "dynamic_range", calibration=calibration)
    bar = evaluate(plain)[0] + 0.5  # only the corrected file meets it
    _, best, trials, _ = try_schemes(float_path, temp, calibration=calibration, evaluate=evaluate,
                                     met=lambda sqnr_db, agreement: sqnr_db >= bar, allow_int16=False)
    assert best.scheme == "dynamic_range" and best.bias_corrected and best.met
    assert [t.to_dict()["bias_correction"] for t in trials] == [False, True]  # the plain file is logged too

    def worse_when_corrected(path):  # a judge that prefers the plain file: the correction is dropped
        sqnr_db, agreement = evaluate(path)
        return (sqnr_db - 20.0 if ".bias." in path.name else sqnr_db), agreement

    _, best, trials, _ = try_schemes(float_path, temp, calibration=calibration, evaluate=worse_when_corrected,
                                     met=lambda sqnr_db, agreement: True, allow_int16=False)
    assert best.scheme == "dynamic_range" and not best.bias_corrected
    assert [t.bias_corrected for t in trials] == [True, False]


def test_candidates_are_judged_on_the_samples_verify_judges(tmp_path):
    """80 eval rows: the remedies and fallback judge all 80, as verify does (they judged the first 64:
    a real EfficientNet-Lite0 candidate met 0.97 agreement there, 63/64, and failed on all 80, 77/80)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).eval()
    x = np.random.default_rng(0).standard_normal((112, 8)).astype(np.float32)
    _, report = compress_pt2(model, x, tmp_path, overrides={"int8.search_seconds": 0.0})
    step = next(s for s in report["steps"] if s["name"] == "int8")
    verify = next(s for s in report["steps"] if s["name"] == "verify")
    assert verify["samples"] == 80 and step["candidate_samples"] == 80


class _Repeated(torch.nn.Module):
    """One Linear applied at four steps (as an unrolled recurrent matmul): one weight tensor and one
    bias tensor read by four FULLY_CONNECTED ops, each with its own input mean."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)
        with torch.no_grad():
            self.fc.weight[:, 0] *= 30  # coarse int8 steps for the other columns

    def forward(self, x):
        outputs = []
        for _ in range(4):
            x = torch.relu(self.fc(x + 1.0))
            outputs.append(x)
        return torch.cat(outputs, dim=1)


def test_ops_sharing_one_weight_and_bias_get_one_mean_correction_not_the_sum(tmp_path):
    from compressor.measure.runtime import LiteRTRunner
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.scheme_file import quantize_scheme
    from compressor.quant.tflite_int8 import Calibration

    torch.manual_seed(0)
    model = _Repeated().eval()
    x = np.random.default_rng(0).random((48, 8), dtype=np.float32)
    float_path = tmp_path / "f.tflite"
    export_tflite(model, (torch.from_numpy(x[:1]),), float_path)
    calibration = Calibration([[x[i:i + 1]] for i in range(32)])
    with torch.no_grad():
        reference = model(torch.from_numpy(x[32:])).numpy()
    sqnrs = []
    for corrected in (False, True):
        out = tmp_path / f"w{corrected}.tflite"
        quantize_scheme(float_path, out, "weight_only", calibration=calibration, bias_correction=corrected)
        got = LiteRTRunner(out).run_batch([x[32:]])[0]
        sqnrs.append(10 * np.log10(np.sum(reference ** 2) / np.sum((got - reference) ** 2)))
    before, after = _biases(float_path), _biases(tmp_path / "wTrue.tflite")
    assert len({b.tobytes() for b in before.values()}) == 1  # the four ops read one bias
    shifts = {(after[name] - before[name]).tobytes() for name in after}
    assert len(shifts) == 1  # ... still one bias, corrected once for all four
    assert sqnrs[1] > sqnrs[0] + 1.0, sqnrs  # summed, the four shifts overshot it
