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


def profile(artifact: str | os.PathLike, target: Any, input_shape: tuple[int, ...] | None = None):
    """Cost a ``.tflite`` / ``.onnx`` on ``target`` (a name, a .toml path or a TargetProfile):
    a ``measure.estimate.ArtifactEstimate`` (latency_ms, peak_ram_bytes, flash_bytes, energy_mj, warnings).

    ``input_shape`` (with batch) is checked against the artifact's first input: the cost
    models read the shapes the file records, so a file with other or dynamic dimensions
    is refused rather than costed on a guess.
    """
    from .graph.read import read_graph
    from .measure.estimate import estimate_artifact

    graph = read_graph(Path(artifact))
    if input_shape is not None:
        recorded = tuple(graph.tensors[graph.inputs[0]].shape or ())
        if tuple(input_shape) != recorded:
            raise ConfigError("input_shape", ",".join(map(str, input_shape)),
                              f"the shape {Path(artifact).name} records for its input, "
                              f"{','.join(map(str, recorded))} (re-export the model at the shape you want costed)")
    return estimate_artifact(Path(artifact), target, graph=graph, strict=True)


def bench(artifact: str | os.PathLike, *, runs: int = 50, warmup: int = 5, threads: int = 1):
    """Time ``artifact`` in its runtime on this machine: a ``measure.bench.BenchResult``."""
    from .measure.bench import bench_artifact

    return bench_artifact(Path(artifact), runs=runs, warmup=warmup, threads=threads)


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
