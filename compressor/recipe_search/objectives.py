"""What a trial scored and whether it fits: objectives from a report, budgets through ``compress check``.

A trial keeps only the report fields the budgets read (``METRIC_FIELDS``), so feasibility can
be recomputed from the study alone when the budgets change on resume: ``report_view`` rebuilds
the report-shaped dict ``gate.verdicts.check_report`` reads, and the verdicts are exactly
those ``compress check`` would give the trial's report.json.

The objectives (Optuna directions in ``DIRECTIONS``): the score (held-out top-1 accuracy, or
top-1 agreement with the original when --eval has no labels) up; estimated latency, flash, peak
RAM and energy on the target down.  A trial is feasible when its verification passed (status
"ok") and no budget verdict failed or was skipped.  ``margins`` are Optuna's constraint values:
signed relative distance to each limit, <= 0 inside, set on each trial before it is told.
Optuna keeps them with the trial; when budgets change on resume, the recorded trials keep the
values the sampler saw, while feasibility, the chosen trial and the exit code are recomputed.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..gate.budgets import Budgets
from ..gate.verdicts import METRICS, WORST_SQNR_FIELD, Verdict, check_report, format_verdict, report_number

__all__ = [
    "DIRECTIONS",
    "METRIC_FIELDS",
    "OBJECTIVES",
    "choose_best",
    "closest_to_budgets",
    "is_feasible",
    "margins",
    "metrics_from_report",
    "objective_values",
    "pareto_front",
    "report_view",
    "verdicts_for",
]

# Report field -> the flat key a trial stores it under.
METRIC_FIELDS = {metric.field: "worst_output_sqnr_db" if metric.field == WORST_SQNR_FIELD else metric.field.replace(".", "_")
                 for metric in METRICS}
OBJECTIVES = ("score", "estimate_latency_ms", "estimate_flash_bytes", "estimate_peak_ram_bytes",
              "estimate_energy_mj")
DIRECTIONS = ("maximize", "minimize", "minimize", "minimize", "minimize")


def metrics_from_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """The flat metrics a trial keeps: each budgeted field, the score and which it is."""
    metrics: dict[str, Any] = {key: report_number(dict(report), dotted) for dotted, key in METRIC_FIELDS.items()}
    # Accuracy with labels, else top-1 agreement of a class output, else (regressions,
    # embeddings) the worst output's SQNR against the original.
    for kind, key in (("accuracy", "compressed_accuracy"), ("agreement", "compressed_agreement"),
                      ("sqnr_db", "worst_output_sqnr_db")):
        if metrics[key] is not None:
            metrics["score_kind"], metrics["score"] = kind, metrics[key]
            break
    else:
        metrics["score_kind"], metrics["score"] = "accuracy", None
    metrics["original_accuracy"] = (report.get("original") or {}).get("accuracy")
    metrics["status"] = report.get("status")
    return metrics


def report_view(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A report-shaped dict holding the stored metrics, for ``check_report``."""
    view: dict[str, Any] = {}
    for dotted, key in METRIC_FIELDS.items():
        if dotted == WORST_SQNR_FIELD:
            if metrics.get(key) is not None:
                view.setdefault("compressed", {})["outputs"] = [{"sqnr_db": metrics[key]}]
            continue
        section, name = dotted.split(".")
        view.setdefault(section, {})[name] = metrics.get(key)
    return view


def verdicts_for(metrics: Mapping[str, Any], budgets: Budgets) -> list[Verdict]:
    return check_report(report_view(metrics), budgets)


def objective_values(metrics: Mapping[str, Any]) -> list[float]:
    """The values told to Optuna, in ``OBJECTIVES`` order; ``ValueError`` naming a missing one."""
    values = []
    for key in OBJECTIVES:
        value = metrics.get(key)
        if value is None:
            raise ValueError(f"the trial's report has no {key.replace('_', '.', 1)}")
        values.append(float(value))
    return values


def margins(verdicts: Iterable[Verdict], metrics: Mapping[str, Any]) -> dict[str, float]:
    """Constraint values by name (Optuna's ``Trial.set_constraint``), <= 0 inside: per budget set,
    (actual - limit) / limit for "max" budgets and (limit - actual) / limit for "min" ones, 1 when
    it was skipped; and "verified": 0 when verification passed, 1 when the report is FAILED."""
    directions = {metric.budget: metric.direction for metric in METRICS}
    values: dict[str, float] = {}
    for verdict in verdicts:
        if verdict.kind == "regression":
            continue
        if verdict.passed is None or verdict.actual is None or verdict.limit is None:
            values[verdict.metric] = 1.0
            continue
        signed = (verdict.actual - verdict.limit if directions[verdict.metric] == "max"
                  else verdict.limit - verdict.actual)
        values[verdict.metric] = signed / verdict.limit if verdict.limit else signed
    values["verified"] = 0.0 if metrics.get("status") == "ok" else 1.0
    return values


def is_feasible(verdicts: Iterable[Verdict], metrics: Mapping[str, Any]) -> bool:
    verdicts = list(verdicts)
    return metrics.get("status") == "ok" and all(verdict.passed is True for verdict in verdicts)


def choose_best(trials: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The feasible trial with the highest score; ties: lowest estimated latency, then first run."""
    feasible = [t for t in trials if t.get("feasible")]
    if not feasible:
        return None
    return min(feasible, key=lambda t: (-t["metrics"]["score"], t["metrics"]["estimate_latency_ms"], t["number"]))


def closest_to_budgets(trials: Iterable[Mapping[str, Any]], budgets: Budgets) -> tuple[Mapping[str, Any], str] | None:
    """The completed trial missing its budgets by the least (sum of relative overshoots), with why."""
    scored = []
    for trial in trials:
        if trial.get("status") != "complete":
            continue
        verdicts = verdicts_for(trial["metrics"], budgets)
        over = sum(max(m, 0.0) for m in margins(verdicts, trial["metrics"]).values())
        scored.append((over, trial["number"], trial, verdicts))
    if not scored:
        return None
    _, _, trial, verdicts = min(scored, key=lambda item: item[:2])
    reasons = [format_verdict(v) for v in verdicts if v.passed is not True]
    if trial["metrics"].get("status") != "ok":
        reasons.append(f"verification {trial['metrics'].get('status')}")
    return trial, "; ".join(reasons)


def pareto_front(trials: Iterable[Mapping[str, Any]]) -> list[int]:
    """Numbers of the completed trials no other beats on both score (up) and latency (down)."""
    points = [(t["number"], t["metrics"]["score"], t["metrics"]["estimate_latency_ms"])
              for t in trials if t.get("status") == "complete" and t["metrics"].get("score") is not None]
    front = []
    for number, score, latency in points:
        dominated = any(s >= score and l <= latency and (s > score or l < latency) for _, s, l in points)
        if not dominated:
            front.append(number)
    return sorted(front)
