"""Writing a calibrated target profile: the TOML text that records a ``Fit`` over its base profile.

``render_calibrated_toml`` turns a fit into a profile file that ``inherits`` the base target
and overrides only the fitted numbers (the efficiency factors and the dispatch overhead),
with comments saying where they came from: the traces, the command, and the residuals
before and after the fit.  When the base chain has ``[[compute.variants]]``, which would
override the fitted values on a matching CPU, one variant replaces them all and repeats the
fitted values.  Text only, no I/O beyond reading the base chain; ``calibrate.py`` writes the
file (temporary file, then rename) after checking that it loads back.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ..targets.files import resolve_profile
from ..targets.load import TargetProfile
from .fit import Fit
from .traces import Trace

__all__ = ["render_calibrated_toml"]


def _chain_variants(path: Path) -> list[dict]:
    """The ``[[compute.variants]]`` in effect for the profile file at ``path`` (nearest file wins:
    the ``inherits`` merge replaces a list whole)."""
    merged, _ = resolve_profile(path)
    return list(merged.get("compute", {}).get("variants") or [])


def _percent(errors: Sequence[float]) -> str:
    within = sum(abs(e) <= 0.2 for e in errors) / len(errors)
    return (f"median |error| {100 * statistics.median(abs(e) for e in errors):.1f}%, "
            f"worst {100 * max(errors, key=abs):+.1f}%, {100 * within:.0f}% within ±20%")


def render_calibrated_toml(fit: Fit, base: TargetProfile, *, name: str, traces: Sequence[Trace],
                           command: str | None = None, now: datetime | None = None) -> str:
    """A profile file that inherits ``base`` and overrides the fitted numbers, with comments on where they came from."""
    now = now or datetime.now(timezone.utc)
    shipped = base.path.parent.resolve() == _shipped_dir()
    parent = base.name if shipped else str(base.path)
    count = sum(len(t.observations) for t in traces)
    lines = [f"# Calibrated by `compress calibrate` on {now.strftime('%Y-%m-%d %H:%M UTC')}: the efficiency",
             "# factors and dispatch overhead below were FITTED (log-space least squares, see",
             f"# compressor/calibrate.py) to {count} measured timings; all else is {parent}'s.",
             f"# Base: {base.path}" + (f" (CPU variant: {base.variant})" if base.variant else "")]
    if command:
        lines.append(f"# Command: {command}")
    for trace in traces:
        extra = "".join(f", {k} {v}" for k, v in (("threads", trace.threads), ("device", trace.device)) if v)
        lines.append(f"# Trace: {trace.path} ({trace.source}, model {trace.model}, "
                     f"{len(trace.observations)} timings{extra})")
    lines += [f"# Residuals, predicted vs measured, per timing: before {_percent(fit.errors_before)};",
              f"#   after {_percent(fit.errors_after)}.",
              f'name = "{name}"',
              f'description = "{base.name} calibrated on {len(traces)} trace(s), {now.strftime("%Y-%m-%d")}"',
              f'inherits = "{parent}"', "", "[compute]",
              f"dispatch_overhead_us = {fit.dispatch_overhead_us:.6g}  # fitted (was {base.compute.dispatch_overhead_us:g})"]
    by_dtype: dict[str, list[str]] = {}
    for (dtype, kind), value in sorted(fit.efficiency.items()):
        by_dtype.setdefault(dtype, []).append(
            f"{kind} = {value:.6g}  # fitted on {fit.op_counts[(dtype, kind)]} ops "
            f"(was {base.compute.efficiency_of(dtype, kind):g})")
    for dtype, entries in by_dtype.items():
        lines += ["", f"[compute.efficiency.{dtype}]", *entries]
    variants = _chain_variants(base.path)
    if variants:
        # The parent's CPU variants would override the fitted values; one variant replaces
        # them all, repeating the fitted values over the parent's variant that applied here.
        chosen = next((v for v in variants if v.get("description") == base.variant), variants[0])
        lines += ["", "# Replaces the parent's CPU variants, so the fitted values hold on every CPU.",
                  "[[compute.variants]]", f"requires_cpu_flags = {json.dumps(list(chosen['requires_cpu_flags']))}",
                  f"description = {json.dumps(chosen['description'] + ', calibrated')}",
                  f"dispatch_overhead_us = {fit.dispatch_overhead_us:.6g}"]
        if base.variant:
            for dtype, value in sorted(chosen.get("macs_per_cycle", {}).items()):
                lines.append(f"macs_per_cycle.{dtype} = {value!r}")
        efficiency = {d: dict(k) for d, k in (chosen.get("efficiency", {}) if base.variant else {}).items()}
        for (dtype, kind), value in fit.efficiency.items():
            efficiency.setdefault(dtype, {})[kind] = value
        for dtype, kinds in sorted(efficiency.items()):
            for kind, value in sorted(kinds.items()):
                lines.append(f"efficiency.{dtype}.{kind} = {value:.6g}")
    return "\n".join(lines) + "\n"


def _shipped_dir() -> Path:
    from ..files import targets_dir

    return targets_dir().resolve()

