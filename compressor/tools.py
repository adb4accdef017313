"""The other commands as functions: ``profile``, ``bench``, ``check`` (``compress profile`` etc.).

    import compressor
    p = compressor.profile("out/model_int8.tflite", "cortex-m7")
    p.latency_ms, p.peak_ram_bytes
    compressor.bench("out/model_int8.tflite", runs=50).median_ms
    verdicts = compressor.check("out/report.json", {"max_latency_ms": 20, "max_size": "250KB"})

Each imports what it needs when called (``import compressor`` stays cheap) and raises a
``CompressorError`` for bad input; none exits the process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["bench", "check", "profile"]


def profile(artifact: str | os.PathLike, target: Any, input_shape: Any = None, *, threads: int | None = None):
    """Cost a ``.tflite`` / ``.onnx`` on ``target`` (a name, a .toml path or a TargetProfile):
    a ``measure.estimate.ArtifactEstimate`` (latency_ms, peak_ram_bytes, flash_bytes, energy_mj, warnings).

    ``input_shape`` as ``compress profile --input-shape`` takes it: ``"1,3,48,320"`` or
    ``"1,512;2,1,128"`` (one per input), a shape ``(1, 3, 48, 320)``, or one shape per input;
    it fixes dynamic dims and must fit the dims the file records (a ``ConfigError`` naming the
    input otherwise).  ``threads``: a CPU target's runtime threads (``--threads``).
    """
    from .measure.estimate import estimate_artifact

    return estimate_artifact(Path(artifact), target, strict=True, input_shapes=_shapes(input_shape), threads=threads)


def bench(artifact: str | os.PathLike, *, runs: int = 50, warmup: int = 5, threads: int = 1, input_shape: Any = None):
    """Time ``artifact`` in its runtime on this machine: a ``measure.bench.BenchResult``;
    ``input_shape`` as ``profile`` takes it."""
    from .measure.bench import bench_artifact

    return bench_artifact(Path(artifact), runs=runs, warmup=warmup, threads=threads, input_shapes=_shapes(input_shape))


def _shapes(input_shape: Any) -> tuple[tuple[int, ...], ...] | None:
    """``--input-shape`` text, one shape, or one shape per input -> one shape per input."""
    from .data import parse_input_shapes

    if input_shape is None:
        return None
    if isinstance(input_shape, str):
        return parse_input_shapes(input_shape)
    items = tuple(input_shape)
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        items = (items,)  # one input's shape
    return parse_input_shapes(";".join(",".join(map(str, shape)) if shape else "()" for shape in items))


def check(report: Any, budgets: Any, *, baseline: Any = None, max_regression: float | None = None) -> list:
    """Verdicts of ``report`` (a report dict, a ``CompressResult``, a report.json or its folder)
    against ``budgets`` (a ``Budgets``, a budgets .toml, or a mapping such as
    ``{"max_latency_ms": 20, "max_size": "250KB"}``); ``all(v.passed is not False for v in ...)``."""
    from .gate.budgets import Budgets, budgets_from_table, load_budgets
    from .gate.verdicts import check_report

    data = _report_dict(report)
    if isinstance(budgets, Mapping):
        budgets = budgets_from_table(budgets)
    elif isinstance(budgets, (str, os.PathLike)):
        budgets = load_budgets(Path(budgets), target=data.get("target"))
    elif not isinstance(budgets, Budgets):
        raise ConfigError("budgets", budgets, "a Budgets, a budgets .toml path or a mapping of budgets")
    base = _report_dict(baseline) if baseline is not None else None
    return check_report(data, budgets, baseline=base, max_regression=max_regression)


def _report_dict(report: Any) -> dict[str, Any]:
    from .api import CompressResult
    from .gate.verdicts import load_report

    if isinstance(report, CompressResult):
        return report.report
    if isinstance(report, Mapping):
        return dict(report)
    path = Path(report)
    return load_report(path / "report.json" if path.is_dir() else path)
