"""Warnings grouped by kind, with a count and their effect, for every view of a report.

A report can carry dozens of warnings, most of one kind (17 layers whose channels are not a
multiple of the kernel tile).  ``group_warnings`` sorts them into kinds by their wording, and
states the effect once per kind: for padded channels, the estimated latency on the target
with the padding against without it, as the estimate pass's cost model computed both
(``report["estimate"]["channel_padding"]``, measure/padding.py); nothing is costed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["WarningGroup", "group_warnings"]

# (kind, title, pattern): the first that matches a warning's text takes it.
_KINDS = (
    ("channels", "layers pad channels to the kernel tile", re.compile(r"not a multiple of \d+ on")),
    ("float", "ops still compute in float", re.compile(r"still computes in float|run outside XNNPACK|on the CPU")),
    ("accuracy", "accuracy", re.compile(r"agreement|SQNR|accuracy", re.I)),
    ("data", "data", re.compile(r"--data|--eval|reproducible|calibrat", re.I)),
)


@dataclass(frozen=True)
class WarningGroup:
    kind: str
    title: str
    items: tuple[str, ...]
    effect: str | None

    @property
    def headline(self) -> str:
        text = f"{len(self.items)} × {self.title}" if len(self.items) > 1 else self.items[0]
        return f"{text}: {self.effect}" if self.effect else text


def group_warnings(report: dict[str, Any]) -> list[WarningGroup]:
    """The report's warnings by kind, largest group first; kinds keep the order they first appear."""
    buckets: dict[str, list[str]] = {}
    titles = {kind: title for kind, title, _ in _KINDS}
    for text in report.get("warnings") or []:
        kind = next((k for k, _, pattern in _KINDS if pattern.search(str(text))), "other")
        buckets.setdefault(kind, []).append(str(text))
    groups = [WarningGroup(kind, titles.get(kind, "other warnings"), tuple(items), _effect(kind, items, report))
              for kind, items in buckets.items()]
    return sorted(groups, key=lambda g: -len(g.items))


def _effect(kind: str, items: list[str], report: dict[str, Any]) -> str | None:
    if kind != "channels":
        return None
    padding = (report.get("estimate") or {}).get("channel_padding") or {}
    increase = padding.get("latency_increase_percent")
    if increase is None:
        return None
    shown = f"{increase:.0f}" if abs(increase) >= 1 else f"{increase:.1g}"
    where = f" on {report['target']}" if report.get("target") else ""
    return (f"+{shown}% estimated latency{where} ({padding['latency_ms']:.3f} ms vs "
            f"{padding['unpadded_latency_ms']:.3f} ms unpadded)")
