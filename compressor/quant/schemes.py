"""The safety net past static int8: other quantization schemes, each measured, when full int8 cannot hold.

Static int8 (int8 weights, int8 activations with ranges calibrated on data) is the scheme
every target runs fastest; the remedies (remedies.py) try to make it hold.  Some graphs it
cannot: an LSTM that litert-torch unrolls over 160 steps re-quantizes its gates' activations
at every step, and the error compounds through the recurrence (resemblyzer's speaker
encoder: 0.4 dB output SQNR in static int8, remedies or not).  Then, on targets that run
float (CPUs), these schemes are tried in this order, and the first that meets the
thresholds ships:

1. ``dynamic_range``: int8 weights, float activations quantized on the fly per op, int8
   compute (ai-edge-quantizer's ``dynamic_wi8_afp32``).  No calibration; about as fast as
   static int8 where the work is in FULLY_CONNECTED / CONV_2D (the LSTM: 0.37x fp32 latency).
2. ``int16_activations``: int8 weights, int16 activations everywhere (``static_wi8_ai16``),
   only on targets whose profile lists int16 kernels; reuses the calibrated ranges.
3. ``weight_only``: int8 weights stored, dequantized to float at load (``weight_only_wi8_afp32``):
   the float model's accuracy at about a quarter of its weight bytes, float speed.

An MCU or NPU runs integer kernels only: there no scheme is tried and the int8 step says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..capture import captured_output
from ..errors import CompressorError, ExportError
from .tflite_int8 import Calibration, quantize_tflite

__all__ = ["SCHEMES", "SchemeTrial", "quantize_scheme", "try_schemes"]

# name -> (ai-edge-quantizer recipe it follows, what it computes in)
SCHEMES: dict[str, tuple[str, str]] = {
    "static_int8": ("static_wi8_ai8", "int8 weights, int8 activations (calibrated)"),
    "dynamic_range": ("dynamic_wi8_afp32", "int8 weights, activations quantized to int8 on the fly per op"),
    "int16_activations": ("static_wi8_ai16", "int8 weights, int16 activations (calibrated)"),
    "weight_only": ("weight_only_wi8_afp32", "int8 weights dequantized to float at load, float compute"),
}
_FALLBACK_ORDER = ("dynamic_range", "int16_activations", "weight_only")


@dataclass(frozen=True)
class SchemeTrial:
    scheme: str
    sqnr_db: float | None
    agreement: float | None
    size_bytes: int | None
    seconds: float
    met: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        row = {"scheme": self.scheme, "recipe": SCHEMES[self.scheme][0],
               "sqnr_db": None if self.sqnr_db is None else round(self.sqnr_db, 3),
               "agreement": self.agreement, "size_bytes": self.size_bytes, "seconds": round(self.seconds, 2),
               "met": self.met}
        if self.error:
            row["error"] = self.error
        return row


def quantize_scheme(float_path: Path, out_path: Path, scheme: str, *, calibration: Calibration,
                    per_channel: bool = True) -> None:
    """Write ``float_path`` quantized with ``scheme`` (a key of SCHEMES other than static_int8)."""
    if scheme == "int16_activations":
        quantize_tflite(float_path, out_path, calibration.samples, per_channel=per_channel, io="float",
                        calibration=calibration, activation_bits=16)
        return
    try:
        with captured_output():
            from ai_edge_quantizer import quantizer, recipe

            recipes = {"dynamic_range": recipe.dynamic_wi8_afp32, "weight_only": recipe.weight_only_wi8_afp32}
            result = quantizer.Quantizer(str(float_path), recipes[scheme]()).quantize()
            result.export_model(str(out_path), overwrite=True)
    except Exception as error:
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise ExportError(f"{Path(float_path).name}: ai-edge-quantizer failed on {SCHEMES[scheme][0]}: "
                          f"{type(error).__name__}: {first}") from error


def try_schemes(float_path: Path, temp: Callable[[str], Path], *, calibration: Calibration,
                evaluate: Callable[[Path], tuple[float, float | None]], met: Callable[[float, float | None], bool],
                allow_int16: bool, per_channel: bool = True) -> tuple[Path | None, str | None, list[SchemeTrial]]:
    """Try the fallback schemes in order until one meets the thresholds.

    ``temp(suffix)`` gives a temporary path (the caller deletes it); ``met(sqnr_db, agreement)``
    is the caller's thresholds.  Returns the path and name of the best trial (meeting the
    thresholds first, then by SQNR; None if every scheme failed to quantize) and every trial.
    """
    trials: list[SchemeTrial] = []
    best: tuple[Path, str, SchemeTrial] | None = None
    for scheme in _FALLBACK_ORDER:
        if scheme == "int16_activations" and not allow_int16:
            continue
        path, start = temp(f".{scheme}.tflite"), time.monotonic()
        try:
            quantize_scheme(float_path, path, scheme, calibration=calibration, per_channel=per_channel)
            sqnr_db, agreement = evaluate(path)
        except CompressorError as error:
            trials.append(SchemeTrial(scheme, None, None, None, time.monotonic() - start, False, str(error)[:200]))
            continue
        trial = SchemeTrial(scheme, float(sqnr_db), None if agreement is None else float(agreement),
                            path.stat().st_size, time.monotonic() - start, bool(met(sqnr_db, agreement)))
        trials.append(trial)
        if best is None or (trial.met, trial.sqnr_db) > (best[2].met, best[2].sqnr_db):
            best = (path, scheme, trial)
        if trial.met:
            break
    if best is None:
        return None, None, trials
    return best[0], best[1], trials
