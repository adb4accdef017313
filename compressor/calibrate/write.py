"""``calibrate(traces, target=..., out=...)``: fit a target to measured traces, write the
calibrated profile (loaded back and checked before it replaces anything), return both.

The fit itself is fit.py (pure), the TOML text render.py, reading traces traces.py.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DataError, TargetError
from ..files import write_atomically
from ..targets.load import TargetProfile, load_target
from .fit import Fit, fit_profile
from .render import render_calibrated_toml
from .traces import Trace

__all__ = ["CalibrationResult", "calibrate"]


@dataclass(frozen=True)
class CalibrationResult:
    fit: Fit
    profile: TargetProfile  # the written file, loaded back
    out: Path


def calibrate(traces: Sequence[Trace], *, target: str, out, command: str | None = None) -> CalibrationResult:
    """Fit ``target`` to ``traces`` and write the calibrated profile to ``out`` (temp file, then rename)."""
    out = Path(out)
    if out.suffix != ".toml":
        raise DataError(out, "the calibrated profile must be a .toml file")
    base = load_target(target)
    if out.resolve() == base.path.resolve():
        raise DataError(out, f"would overwrite the base target {base.name}; write the calibrated profile elsewhere")
    fit = fit_profile([obs for trace in traces for obs in trace.observations], base)
    text = render_calibrated_toml(fit, base, name=out.stem, traces=traces, command=command)
    with tempfile.TemporaryDirectory() as folder:  # it must load before it replaces anything
        check = Path(folder) / out.name
        check.write_text(text, encoding="utf-8")
        loaded = load_target(check)
    write_atomically(out, text)
    for (dtype, kind), value in fit.efficiency.items():
        if not math.isclose(loaded.compute.efficiency_of(dtype, kind), float(f"{value:.6g}"), rel_tol=1e-9):
            raise TargetError(f"{out}: efficiency.{dtype}.{kind} loads as {loaded.compute.efficiency_of(dtype, kind)}, "
                              f"not the fitted {value:.6g}")
    return CalibrationResult(fit=fit, profile=replace(loaded, path=out.resolve()), out=out)
