"""The corpus judges classifiers on enough real images: at least 64 evaluation crops, none of
them a calibration image (scripts/real_models.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("real_models", REPO / "scripts" / "real_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_models"] = module
    spec.loader.exec_module(module)
    return module


def test_classifiers_get_at_least_64_eval_images_apart_from_calibration(tmp_path):
    script = _load_script()
    classifiers = [s for s in script.CORPUS if "classifier" in s.kind]
    assert classifiers and all(s.eval_count >= 64 for s in classifiers)
    spec = classifiers[0]
    # tmp_path has no images/: the two real photos inside scikit-learn's wheel stand in (as in CI)
    images = spec.inputs(tmp_path, 32 + spec.eval_count)
    calibration, evaluation = images[:32], images[32:]
    assert len(evaluation) == spec.eval_count and np.all(np.isfinite(images))
    flat_cal = calibration.reshape(32, -1)
    for image in evaluation.reshape(spec.eval_count, -1):  # no eval image is a calibration image
        assert np.min(np.abs(flat_cal - image).max(axis=1)) > 1e-3
    assert np.array_equal(spec.inputs(tmp_path, 32), calibration)  # seeded: calibration is the same set
