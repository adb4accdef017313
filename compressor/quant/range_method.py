"""Pick the activation-range method per model by measuring it (``int8.calibration = "auto"``).

No one range method wins everywhere.  True min/max keeps every value but stretches the int8
step over rare extremes; the moving average (ai-edge-quantizer's default, what the hand route
gets) clips to a typical sample's range; percentile clipping sits between.  Measured on the
zoo, min/max beats the moving average by up to 21 dB (batch-of-1 samples make the average a
single sample's range); on a trained 1-D pitch CNN the moving average was the better one.  So
every method is quantized from the one recorded calibration pass (tflite_int8.Calibration) and
judged by the caller's ``evaluate`` (worst output's SQNR, worst class output's agreement):
a candidate that meets the thresholds beats one that does not, then (class outputs are judged
by their top-1, as verify judges them) the higher agreement, then the higher SQNR; a gain under
0.1 dB (evaluation noise) does not displace the earlier method.  Real MobileNetV2 (ImageNet
weights, photo crops): moving average 17.4 dB at 69% agreement, min/max 14.3 dB at 94%.

Cost is one quantize-and-evaluate per method; when the first one takes more than
``seconds`` / len(methods), the others are skipped and logged (an unrolled LSTM).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..files import sibling_temp
from .tflite_int8 import RANGE_METHODS, Calibration, Int8Tweaks, quantize_tflite

__all__ = ["choose_range_method"]

_MIN_GAIN_DB = 0.1


def choose_range_method(float_path: Path, out_path: Path, calibration: Calibration,
                        evaluate: Callable[[Path], tuple[float, float | None]], *, per_channel: bool, io: str,
                        tweaks: Int8Tweaks, min_sqnr_db: float, min_agreement: float,
                        seconds: float) -> dict[str, Any]:
    """Set ``calibration.method`` to the best of RANGE_METHODS on this model; what was tried.

    ``out_path`` only names where candidates are written (temporary files beside it).
    """
    tried: list[dict[str, Any]] = []
    best: tuple[bool, float, float] | None = None
    chosen = calibration.method
    started = time.monotonic()
    for method in RANGE_METHODS:
        elapsed = time.monotonic() - started
        if tried and elapsed / len(tried) * len(RANGE_METHODS) > seconds:
            tried.append({"method": method, "skipped": f"the first took {elapsed / len(tried):.1f} s of {seconds:g} s"})
            continue
        with sibling_temp(out_path, ".tflite") as candidate:
            quantize_tflite(float_path, candidate, calibration.samples, per_channel=per_channel, io=io,
                            tweaks=tweaks, calibration=_with_method(calibration, method))
            sqnr_db, agreement = evaluate(candidate)
        met = sqnr_db >= min_sqnr_db and (agreement is None or agreement >= min_agreement)
        tried.append({"method": method, "sqnr_db": _finite(sqnr_db), "agreement": agreement})
        score = (met, -1.0 if agreement is None else float(agreement), sqnr_db)
        if best is None or score > (best[0], best[1], best[2] + _MIN_GAIN_DB):
            best, chosen = score, method
    calibration.method = chosen
    return {"method": chosen, "tried": tried}


class _with_method:  # noqa: N801 -- reads as a call: the same Calibration, another method
    def __init__(self, calibration: Calibration, method: str):
        self.calibration, self.method = calibration, method

    def ranges(self, float_path: Path) -> dict[str, Any]:
        return self.calibration.ranges(float_path, self.method)


def _finite(value: float) -> float | None:
    return round(float(value), 3) if math.isfinite(value) else None
