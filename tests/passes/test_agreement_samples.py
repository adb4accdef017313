"""Top-1 agreement says how many samples it was counted on, and warns when one miss crosses the bar."""

from __future__ import annotations

import numpy as np

from compressor.passes.verify_outputs import Verification, compare_outputs, judge_outputs


def _verification(samples: int, misses: int, *, min_agreement: float = 0.97) -> Verification:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(samples, 10)).astype(np.float32)
    actual = reference.copy()
    for i in range(misses):  # swap the top two classes of the first `misses` samples
        top = np.argsort(actual[i])[-2:]
        actual[i, top] = actual[i, top[::-1]]
    outputs = judge_outputs([compare_outputs("logits", reference, actual)], [reference], [actual],
                            label_classes=None, named={0}, min_sqnr_db=15.0, min_agreement=min_agreement)
    return Verification(samples, "eval", "LiteRT", outputs, None, None, min_agreement, {"inputs": [], "outputs": []})


def test_the_sample_count_is_reported_with_the_agreement():
    facts = _verification(16, 1).to_dict()
    row = facts["outputs"][0]
    assert row["agreement"] == 15 / 16 and row["agreement_samples"] == 16


def test_sixteen_samples_cannot_judge_a_097_bar():
    verification = _verification(16, 0)
    assert verification.passed  # 16/16
    (warning,) = verification.sample_warnings()
    assert "16 sample" in warning and "15/16" in warning and "at least 34" in warning
    assert verification.to_dict()["warnings"] == [warning]  # the verify step's warnings reach the report notes


def test_enough_samples_give_no_warning_and_one_miss_passes():
    verification = _verification(80, 1)
    assert verification.sample_warnings() == []
    assert verification.passed and verification.outputs[0].agreement == 79 / 80


def test_regression_outputs_have_no_agreement_warning():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(4, 3)).astype(np.float32)
    outputs = judge_outputs([compare_outputs("box", reference, reference)], [reference], [reference],
                            label_classes=None, named=set(), min_sqnr_db=15.0, min_agreement=0.97)
    verification = Verification(4, "eval", "LiteRT", outputs, None, None, 0.97, {"inputs": [], "outputs": []})
    assert outputs[0].agreement is None and verification.sample_warnings() == []
