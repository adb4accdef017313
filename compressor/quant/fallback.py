"""When static int8 stays short of the bar after the remedies: the other schemes, tried and chosen.

The int8 pass (passes/quantize_tflite.py) calls ``try_fallback_schemes`` when static int8, as
verify judges it, misses ``int8.min_sqnr_db`` after every remedy.  On targets that run float
(CPUs) the schemes of schemes.py are tried in order, each measured against the model (the
caller's ``evaluate``), judged as verify judges (``verify.min_agreement`` for class outputs,
``int8.fallback_min_sqnr_db`` for the rest), then pushed toward the int8 bar; on CPU targets the
chosen file keeps float what XNNPACK has no kernel for and is timed against fp32
(scheme_speed.py).  An integer-only target keeps static int8 and the reason says why.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from ..config import Int8Config
from ..targets.types import TargetProfile
from .int16_layers import int16_allowed

__all__ = ["try_fallback_schemes"]


def try_fallback_schemes(float_path: Path, out_path: Path, calibration: Any, remedies: Any,
                         evaluate: Callable[[Path], tuple[float, float | None]], target: TargetProfile,
                         config: Int8Config, min_agreement: float) -> tuple[str, dict[str, Any]]:
    """The scheme that ships (written to ``out_path`` unless it is static int8, which is there
    already) and the facts behind the choice: every trial, the per-layer measurements, the speed
    comparison and one sentence saying why."""
    from ..measure.delegation import inspect_delegation
    from .scheme_speed import describe_float_layers, speed_up_scheme
    from .schemes import splitting_ops, try_schemes

    short = f"static int8 reached {remedies.sqnr_db:.1f} dB after the remedies (bar {config.min_sqnr_db:g} dB)"
    if not target.compute.float_allowed:
        return "static_int8", {"tried": [], "why": f"{short}; {target.name} runs integer kernels only, so "
                               "dynamic-range and weight-only int8 (float compute) cannot run there"}
    temps: list[Path] = []

    def temp(suffix: str) -> Path:
        handle, name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=suffix, dir=out_path.parent)
        os.close(handle)
        temps.append(Path(name))
        return Path(name)

    bar, speed = config.fallback_min_sqnr_db, None
    baseline = inspect_delegation(out_path).partitions if target.kind == "cpu" else 0

    def met(sqnr_db: float, agreement: float | None) -> bool:
        return sqnr_db >= bar and (agreement is None or agreement >= min_agreement)

    try:
        path, best, trials, sensitivity = try_schemes(
            float_path, temp, calibration=calibration, evaluate=evaluate, allow_int16=int16_allowed(target),
            met=met, goal=lambda sqnr_db, agreement: sqnr_db >= config.min_sqnr_db and (
                agreement is None or agreement >= min_agreement),
            deadline=time.monotonic() + config.search_seconds,
            left_out=lambda path: splitting_ops(path, baseline) if target.kind == "cpu" else ())
        better = best is not None and (best.met or best.sqnr_db > remedies.sqnr_db + 3.0)
        if better and target.kind == "cpu":  # float where XNNPACK has no hybrid kernel; timed against fp32
            path, best, speed = speed_up_scheme(float_path, path, best, temp=temp, calibration=calibration,
                                                evaluate=evaluate, met=met)
        scheme = best.scheme if best is not None else None
        if better:
            os.replace(path, out_path)
    finally:
        for path in temps:
            path.unlink(missing_ok=True)
    rows = [t.to_dict() for t in trials]
    if not better:
        return "static_int8", {"tried": rows, "layer_sensitivity": sensitivity,
                               "why": f"{short}; no other scheme did better, static int8 ships"}
    kept = describe_float_layers(best, (speed or {}).get("layers_for_speed", []))
    corrected = " (biases corrected for its int8 weights)" if best.bias_corrected else ""
    reached = f"{best.sqnr_db:.1f} dB" + (f", top-1 agreement {best.agreement:.4f}" if best.agreement is not None else "")
    wanted = f"{bar:g} dB" + (f" and top-1 agreement {min_agreement:g}" if best.agreement is not None else "")
    if best.met:
        why = f"{short}; {scheme}{corrected}{kept} reached {reached} (bar {wanted}), the fastest scheme that did"
    else:
        why = f"{short}; no scheme reached {wanted}, {scheme}{corrected}{kept} came closest ({reached})"
    if speed and speed.get("replaced"):
        why += f"; then {speed['replaced']}"
    return scheme, {"tried": rows, "float_layers": list(best.float_layers), "bias_correction": best.bias_corrected,
                    "layer_sensitivity": sensitivity, "speed": speed, "why": why}
