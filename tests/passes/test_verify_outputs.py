import math

import numpy as np
import pytest
import torch

from compressor.passes.verify_outputs import SQNR_CEILING_DB, compare_outputs


def test_metrics_against_hand_computed_values():
    reference = np.array([3.0, 4.0])
    actual = np.array([3.0, 5.0])
    result = compare_outputs("y", reference, actual)
    # signal 9 + 16 = 25, noise 1: SQNR = 10 log10(25) dB
    assert math.isclose(result.sqnr_db, round(10 * math.log10(25), 3))
    assert result.max_abs_error == 1.0
    assert result.mean_abs_error == 0.5
    assert math.isclose(result.cosine, (9 + 20) / (5 * math.sqrt(34)))


def test_identical_outputs_hit_the_ceiling_not_infinity():
    x = np.arange(6, dtype=np.float32)
    result = compare_outputs("y", x, x.copy())
    assert result.sqnr_db == SQNR_CEILING_DB
    assert result.max_abs_error == 0.0
    assert math.isclose(result.cosine, 1.0)


def test_sign_flip_gives_negative_cosine_and_low_sqnr():
    x = np.array([1.0, -2.0, 3.0])
    result = compare_outputs("y", x, -x)
    assert math.isclose(result.cosine, -1.0)
    assert math.isclose(result.sqnr_db, round(10 * math.log10(1 / 4), 3))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_class_outputs_are_softmax_log_softmax_label_width_or_named():
    from compressor.passes.verify_outputs import output_kind

    z = np.random.default_rng(0).standard_normal((16, 5))
    assert output_kind(_softmax(z)) == "softmax"
    assert output_kind(np.log(_softmax(z))) == "log-softmax"
    assert output_kind(1 / (1 + np.exp(-z))) is None  # sigmoid head: independent probabilities
    assert output_kind(z) is None  # logits, an embedding or box offsets: nothing says classes
    assert output_kind(z, label_classes=5) == "labels" and output_kind(z, label_classes=2) is None
    assert output_kind(z, named=True) == "named"
    assert output_kind(z[:, :1], named=True) is None  # one column scores no classes
    assert output_kind(np.zeros((16, 5, 3))) is None
    assert output_kind(np.zeros((4, 640)), label_classes=None) is None  # an autoencoder's reconstruction


def test_label_classes_need_whole_non_negative_labels():
    from compressor.passes.verify_outputs import classes_in_labels

    assert classes_in_labels(np.array([0, 1, 1, 0])) == 2
    assert classes_in_labels(np.array([0.0, 3.0])) == 4
    assert classes_in_labels(np.array([0.5, 1.0])) is None  # regression targets
    assert classes_in_labels(np.array([-1, 2])) is None
    assert classes_in_labels(np.zeros((3, 2))) is None and classes_in_labels(None) is None


def test_classifier_output_by_index_name_or_alias_and_bad_ones_name_the_setting():
    from compressor.errors import ConfigError
    from compressor.passes.verify_outputs import resolve_classifier_outputs

    names, shapes = ["output", "output_1"], [(8, 4), (8, 2)]
    assert resolve_classifier_outputs(("1",), names, shapes) == {1}
    assert resolve_classifier_outputs(("-1", "output"), names, shapes) == {0, 1}
    assert resolve_classifier_outputs(("output_0",), names, shapes) == {0}  # the alias in every format
    with pytest.raises(ConfigError) as missing:
        resolve_classifier_outputs(("3",), names, shapes)
    assert missing.value.field == "verify.classifier_output" and "output_1" in missing.value.expected
    with pytest.raises(ConfigError, match="N×K"):
        resolve_classifier_outputs(("0",), names, [(8, 1), (8, 2)])


def test_box_head_gets_no_agreement_and_the_probability_head_does():
    from compressor.passes.verify_outputs import compare_outputs, judge_outputs

    rng = np.random.default_rng(0)
    box, prob = rng.standard_normal((64, 4)) * 0.1, _softmax(rng.standard_normal((64, 2)) * 4)
    # int8-like noise: the near-tied box offsets change their argmax, the probabilities keep it
    box_got, prob_got = box + rng.standard_normal(box.shape) * 0.01, prob + rng.standard_normal(prob.shape) * 1e-4
    assert np.mean(box.argmax(1) == box_got.argmax(1)) < 0.97  # what the old "first output" rule measured
    comparisons = [compare_outputs("box", box, box_got), compare_outputs("prob", prob, prob_got)]
    judged = judge_outputs(comparisons, [box, prob], [box_got, prob_got], label_classes=None, named=set(),
                           min_sqnr_db=15.0, min_agreement=0.97)
    assert [(o.index, o.kind, o.status) for o in judged] == [(0, "regression", "ok"), (1, "class", "ok")]
    assert judged[0].agreement is None and judged[1].agreement > 0.97 and judged[0].shape == (1, 4)
    strict = judge_outputs(comparisons, [box, prob], [box_got, prob_got], label_classes=None, named=set(),
                           min_sqnr_db=25.0, min_agreement=0.97)
    assert [o.status for o in strict] == ["FAILED", "ok"]  # the box head is ~20 dB
    # A class output is judged by its agreement, not the SQNR floor (a pruned classifier's logits)
    floor = judge_outputs(comparisons, [box, prob], [box_got, prob_got], label_classes=None, named=set(),
                          min_sqnr_db=300.0, min_agreement=0.97)
    assert [o.status for o in floor] == ["FAILED", "ok"] and floor[1].sqnr_db < 300


def test_all_regression_model_with_a_broken_output_fails_on_sqnr(tmp_path):
    """The real runtime: an exported two-output regression net, verified against a reference
    whose second output the artifact does not compute (a broken conversion)."""
    from compressor import compress
    from compressor.config import Recipe
    from compressor.passes.verify_outputs import verify_artifact

    class Heads(torch.nn.Module):
        def __init__(self, scale: float = 1.0):
            super().__init__()
            torch.manual_seed(0)
            self.body, self.embed, self.recon = torch.nn.Linear(16, 32), torch.nn.Linear(32, 8), torch.nn.Linear(32, 16)
            self.scale = scale

        def forward(self, x):
            h = torch.relu(self.body(x))
            return self.embed(h), self.recon(h) * self.scale

    torch.export.save(torch.export.export(Heads().eval(), (torch.zeros(1, 16),)), tmp_path / "heads.pt2")
    x = np.random.default_rng(0).standard_normal((32, 16)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    result = compress(tmp_path / "heads.pt2", target="android-arm64", data=tmp_path / "x.npz", out=tmp_path / "out",
                      recipe=Recipe(passes=("export", "verify")))
    assert result.ok and [o["kind"] for o in result.report["compressed"]["outputs"]] == ["regression"] * 2
    artifact = result.out_dir / result.report["artifact"]
    broken = verify_artifact(artifact, Heads(scale=-0.5).eval(), x, None, data_source="eval", min_agreement=0.97)
    assert not broken.passed and broken.agreement is None
    assert [o.status for o in broken.outputs] == ["ok", "FAILED"] and broken.outputs[1].sqnr_db < 15
    assert broken.summary.index == 1 and "output 1" in broken.failures()[0]
