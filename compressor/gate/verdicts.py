"""Check a report against budgets and a baseline: one ``Verdict`` per budget or metric.

``check_report(report, budgets, baseline=..., max_regression=...)`` is pure: it reads the
report fields each budget maps to (the README's report.json schema 1) and says, for each,
whether it holds and by how much it is over.  Budgets of the "max" direction fail when the
value is above the limit; "min" budgets (accuracy, agreement, SQNR) when it is below.  With a
baseline report every metric both reports carry is also compared: a "max" metric may grow
and a "min" metric may shrink by at most ``max_regression`` of its baseline value.

A budget whose field the report does not carry (no ``--eval`` accuracy, or an artifact
checked without a run) gives a "skipped" verdict saying why; skipped verdicts neither pass
nor fail.  ``exit_code`` turns verdicts into the CLI's code: 1 if any failed, 2 if nothing
could be checked, else 0.

A report whose own ``status`` is not "ok" (the compress run's verification FAILED: an output
below its SQNR or agreement threshold) gives a failing "status" verdict first, whatever the
budgets say; ``allow_failed`` (``--allow-failed``) leaves it out.  ``min_sqnr_db`` reads the
worst output's SQNR (``compressed.outputs[].sqnr_db``); a report written before per-output
verification has only ``compressed.sqnr_db``, which was already the minimum over outputs.

Around it: ``load_report`` (a report.json, validated), ``report_from_artifact`` (a
.tflite/.onnx profiled on a target by ``profile.estimate_artifact``, the same profile as
the compress pipeline's, giving a report-like dict with ``compressed.size_bytes`` and ``estimate``), and ``write_junit`` (one JUnit testcase per verdict, written atomically).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from .budgets import Budgets
from ..errors import ConfigError, DataError
from ..files import ARTIFACT_SUFFIXES

__all__ = [
    "ARTIFACT_SUFFIXES",
    "METRICS",
    "WORST_SQNR_FIELD",
    "Metric",
    "Verdict",
    "check_report",
    "exit_code",
    "format_verdict",
    "load_report",
    "report_number",
    "report_from_artifact",
    "write_junit",
]

_KINDS = ("budget", "regression", "skipped", "status")
# The worst output's SQNR: the minimum over compressed.outputs, or (older reports) compressed.sqnr_db.
WORST_SQNR_FIELD = "compressed.outputs[].sqnr_db"


@dataclass(frozen=True)
class Metric:
    budget: str  # the budget key that limits it
    field: str  # dotted report field
    direction: str  # "max": lower is better; "min": higher is better
    unit: str  # "bytes", "ms", "mJ" or "fraction"


METRICS: tuple[Metric, ...] = (
    Metric("max_size", "compressed.size_bytes", "max", "bytes"),
    Metric("max_flash", "estimate.flash_bytes", "max", "bytes"),
    Metric("max_peak_ram", "estimate.peak_ram_bytes", "max", "bytes"),
    Metric("max_latency_ms", "estimate.latency_ms", "max", "ms"),
    Metric("max_energy_mj", "estimate.energy_mj", "max", "mJ"),
    Metric("min_accuracy", "compressed.accuracy", "min", "fraction"),
    Metric("min_agreement", "compressed.agreement", "min", "fraction"),
    Metric("min_sqnr_db", WORST_SQNR_FIELD, "min", "dB"),
)
# Why a field can be missing, said in the skipped verdict.
_MISSING_HINTS = {
    "compressed.accuracy": "accuracy comes only from a compress run with --eval; an artifact alone has none",
    "compressed.agreement": "agreement comes only from a compress run verifying a classifier; an artifact alone has none",
    WORST_SQNR_FIELD: "SQNR comes only from a compress run's verification; an artifact alone has none",
}


@dataclass(frozen=True)
class Verdict:
    kind: str  # "budget" | "regression" | "skipped" | "status"
    metric: str  # the budget key ("max_size"); for regressions the key of the metric's budget
    field: str  # the report field checked ("compressed.size_bytes")
    unit: str
    actual: float | None
    limit: float | None  # the budget, or baseline × (1 ± max_regression)
    passed: bool | None  # None when skipped
    over_by: float | None = None  # how far past the limit, in ``unit``; 0 when within
    over_by_relative: float | None = None  # over_by / limit
    baseline: float | None = None  # regressions only
    reason: str | None = None  # skipped only

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ConfigError("verdict.kind", self.kind, f"one of {_KINDS}")
        if (self.kind == "skipped") != (self.passed is None):
            raise ConfigError("verdict.passed", self.passed, "None exactly when skipped")

    @property
    def name(self) -> str:
        """A short unique name: the budget key, "status", or "regression FIELD"."""
        return f"regression {self.field}" if self.kind == "regression" else self.metric

    @property
    def title(self) -> str:
        """The name with the report field it reads: "max_size (compressed.size_bytes)"."""
        return self.name if self.kind in ("regression", "status") else f"{self.metric} ({self.field})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"name": self.name}


def _field(report: dict[str, Any], dotted: str) -> Any:
    value: Any = report
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def report_number(report: dict[str, Any], dotted: str) -> float | None:
    if dotted == WORST_SQNR_FIELD:
        return _worst_sqnr(report)
    value = _field(report, dotted)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(dotted, value, "a finite number or null")
    return value


def _worst_sqnr(report: dict[str, Any]) -> float | None:
    outputs = _field(report, "compressed.outputs")
    if not isinstance(outputs, list) or not outputs:
        return report_number(report, "compressed.sqnr_db")
    values = []
    for index, row in enumerate(outputs):
        value = row.get("sqnr_db") if isinstance(row, dict) else row
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"compressed.outputs[{index}].sqnr_db", value, "a finite number")
        values.append(value)
    return min(values)


def _status_verdict(report: dict[str, Any]) -> Verdict | None:
    """A failing verdict for a report whose verification FAILED; None for "ok" or no status."""
    status = report.get("status")
    if status is None or status == "ok":
        return None
    failed = [f"output {o.get('index')} ({o.get('name')})" for o in _field(report, "compressed.outputs") or []
              if isinstance(o, dict) and o.get("status") not in (None, "ok")]
    why = f": {', '.join(failed)} below the run's thresholds" if failed else ""
    return Verdict("status", "status", "status", "", None, None, False,
                   reason=f"the compress run's verification says {status}{why} (see the report's warnings)")


def _over(actual: float, limit: float, direction: str) -> tuple[bool, float, float | None]:
    over_by = actual - limit if direction == "max" else limit - actual
    over_by = max(over_by, 0.0)
    relative = over_by / limit if limit else (None if over_by else 0.0)
    return over_by == 0.0, over_by, relative


def check_report(report: dict[str, Any], budgets: Budgets, *, baseline: dict[str, Any] | None = None,
                 max_regression: float | None = None, allow_failed: bool = False) -> list[Verdict]:
    """A failing "status" verdict for a FAILED report (unless ``allow_failed``), one verdict per
    budget set (in ``METRICS`` order), then one per metric compared to ``baseline``.  Pure: no
    I/O.  ``max_regression`` defaults to ``budgets.max_regression``, then 0 (no worsening
    allowed) when a baseline is given."""
    status = None if allow_failed else _status_verdict(report)
    verdicts = [status] if status is not None else []
    for metric in METRICS:
        limit = budgets.limit(metric.budget)
        if limit is None:
            continue
        actual = report_number(report, metric.field)
        if actual is None:
            hint = _MISSING_HINTS.get(metric.field, "the report has no estimate (run with the estimate pass)")
            verdicts.append(Verdict("skipped", metric.budget, metric.field, metric.unit, None, limit, None,
                                    reason=f"cannot check: no {metric.field} in the report ({hint})"))
            continue
        passed, over_by, relative = _over(actual, limit, metric.direction)
        verdicts.append(Verdict("budget", metric.budget, metric.field, metric.unit, actual, limit, passed,
                                over_by, relative))
    if baseline is None:
        if max_regression is not None:
            raise ConfigError("max_regression", max_regression, "used together with --baseline")
        return verdicts
    allowed = max_regression if max_regression is not None else budgets.max_regression or 0.0
    if not 0 <= allowed:
        raise ConfigError("max_regression", allowed, "a fraction >= 0")
    for metric in METRICS:
        before, actual = report_number(baseline, metric.field), report_number(report, metric.field)
        if before is None or actual is None:
            continue
        limit = before * (1 + allowed) if metric.direction == "max" else before * (1 - allowed)
        passed, over_by, relative = _over(actual, limit, metric.direction)
        verdicts.append(Verdict("regression", metric.budget, metric.field, metric.unit, actual, limit, passed,
                                over_by, relative, baseline=before))
    return verdicts


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """1 if any verdict failed, 2 if none could be checked (all skipped, or none), else 0."""
    verdicts = list(verdicts)
    if any(v.passed is False for v in verdicts):
        return 1
    return 0 if any(v.passed for v in verdicts) else 2


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        text = f"{int(round(value)):,} B"
        for name, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
            if abs(value) >= size:
                return f"{text} ({value / size:.1f} {name})"
        return text
    if unit == "fraction":
        return f"{value:.4f} ({100 * value:.2f}%)"
    if unit == "dB":
        return f"{value:.2f} dB"
    return f"{value:.4g} {unit}"


def format_verdict(verdict: Verdict) -> str:
    """One line: status, metric, field, actual, limit and how far over."""
    if verdict.kind == "skipped":
        return f"SKIP {verdict.name}: {verdict.reason}"
    if verdict.kind == "status":
        return f"FAIL status: {verdict.reason}"
    status = "ok  " if verdict.passed else "FAIL"
    relation = ">=" if _direction(verdict.metric) == "min" else "<="
    if verdict.kind == "regression":
        change = (verdict.actual - verdict.baseline) / verdict.baseline if verdict.baseline else 0.0
        where = (f"{_show(verdict.actual, verdict.unit)} vs baseline {_show(verdict.baseline, verdict.unit)} "
                 f"({change:+.1%}), limit {relation} {_show(verdict.limit, verdict.unit)}")
    else:
        where = f"{_show(verdict.actual, verdict.unit)}, budget {relation} {_show(verdict.limit, verdict.unit)}"
    line = f"{status} {verdict.title}: {where}"
    if not verdict.passed:
        word = "under" if _direction(verdict.metric) == "min" else "over"
        amount = (f"{100 * verdict.over_by:.2f} pp" if verdict.unit == "fraction"
                  else _show(verdict.over_by, verdict.unit).split(" (")[0])
        limit_name = "limit" if verdict.kind == "regression" else "budget"
        relative = (f" ({verdict.over_by_relative:.1%} of the {limit_name})"
                    if verdict.over_by_relative is not None else "")
        line += f", {word} by {amount}{relative}"
    return line


def _direction(budget: str) -> str:
    return next(m.direction for m in METRICS if m.budget == budget)


# ---------------------------------------------------------------------------- inputs


def load_report(path: Path | str) -> dict[str, Any]:
    """A compress ``report.json`` (schema 1), with the fields budgets read checked to be numbers."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(path, "report not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the report: {error}") from None
    except json.JSONDecodeError as error:
        raise DataError(path, f"not JSON ({error.msg} at line {error.lineno}); expected a compress "
                              f"report.json or a {'/'.join(ARTIFACT_SUFFIXES)} artifact") from None
    if not isinstance(report, dict) or report.get("schema") != 1:
        raise DataError(path, "not a compress report.json: it has no \"schema\": 1")
    for metric in METRICS:
        try:
            report_number(report, metric.field)
        except ConfigError as error:
            raise DataError(path, str(error)) from None
    target = report.get("target")
    if not isinstance(target, str) or not target:
        raise DataError(path, f"\"target\": got {target!r}, expected the target's name")
    return report


def report_from_artifact(path: Path | str, target: str, *, input_shapes=None, threads: int | None = None,
                         input_values: dict[str, float] | None = None) -> dict[str, Any]:
    """A report-like dict for an artifact profiled on ``target``: its file size and the target
    estimate; no accuracy (that needs a compress run with ``--eval``).  ``input_shapes`` fixes
    dynamic input dims, ``threads`` a CPU target's runtime threads, ``input_values`` the inputs an
    If's branch depends on (``estimate_artifact``)."""
    from ..measure.estimate import estimate_artifact

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "artifact not found")
    result = estimate_artifact(path, target, strict=True, input_shapes=input_shapes, threads=threads,
                               input_values=input_values)
    return {
        "schema": 1,
        "target": result.target,
        "artifact": path.name,
        "compressed": {"size_bytes": path.stat().st_size, "accuracy": None, "agreement": None},
        "estimate": result.to_dict(),
    }


# ---------------------------------------------------------------------------- JUnit


def write_junit(verdicts: list[Verdict], path: Path | str, *, suite: str) -> None:
    """A JUnit XML file with one testcase per verdict (failures and skips marked), written to a
    temporary file beside ``path`` and renamed into place."""
    path = Path(path)
    failures = sum(v.passed is False for v in verdicts)
    skipped = sum(v.passed is None for v in verdicts)
    counts = {"tests": str(len(verdicts)), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    root = ET.Element("testsuites", name="compress check", **counts)
    testsuite = ET.SubElement(root, "testsuite", name=suite, time="0", **counts)
    for verdict in verdicts:
        case = ET.SubElement(testsuite, "testcase", classname=f"{suite}.{verdict.kind}",
                             name=verdict.title, time="0")
        line = format_verdict(verdict)
        if verdict.passed is None:
            ET.SubElement(case, "skipped", message=verdict.reason or "")
        elif not verdict.passed:
            ET.SubElement(case, "failure", message=line, type=verdict.kind).text = line
        ET.SubElement(case, "system-out").text = line
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    from ..files import write_atomically

    write_atomically(path, data)
