import math

import numpy as np

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


def test_reconstruction_outputs_are_not_scored_as_classes():
    from compressor.passes.verify_outputs import is_classifier

    x = np.zeros((4, 640), np.float32)
    assert not is_classifier(np.zeros((4, 640)), [x])  # an autoencoder's reconstruction
    assert is_classifier(np.zeros((4, 10)), [x])
    assert not is_classifier(np.zeros((4, 1)), [x])
