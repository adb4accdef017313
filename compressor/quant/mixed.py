"""Mixed precision by measurement: the fewest float layers that buy the most, until the bar is met.

When a quantized graph misses the accuracy bar, keeping some layers float buys SQNR, and costs
speed (static int8: a float op leaves XNNPACK's int8 kernels for its float ones, with a
QUANTIZE / DEQUANTIZE at each border, one delegate either way) or bytes (dynamic-range and
weight-only: float weights).  Which layers pay is measured, not guessed from per-tensor
statistics: the per-op SQNR of a tensor (sensitivity.py) misses a layer whose small error the
layers after it amplify.  Real MobileNetV2 (ImageNet weights): the first depthwise conv has 288
weights and its own output loses little, yet int8 weights of it alone take the logits to 23.6 dB
(torch simulation), and keeping it float is worth 1.6 dB in static int8, the most of any op;
MTCNN PNet's box head in dynamic-range int8: its first conv (270 weights) float 24.0 -> 27.8 dB.

The search, given ``build(float_layers) -> (worst output SQNR dB, worst class agreement or None)``:

1. each candidate layer is measured alone (kept float, everything else as the base), in the
   caller's order, at most ``max_trials`` and for at most half the time to ``deadline``: its
   gain in dB over the base;
2. layers that gained at least ``min_gain_db`` are ranked by gain per cost (the caller's cost
   model: the op's float MACs and border tensors for static int8, the weight elements for the
   weight-quantizing schemes);
3. they are added in that order, each kept only when the whole set gains ``min_gain_db`` again,
   until the thresholds are met (then stop: no float layer beyond need), skipping any that would
   pass the cost cap; with a soft cap (static int8's MAC share), a set over it is still taken
   when it alone meets the bar, with a hard one (a size budget) never.

Bounded: at most ``max_trials`` measurements plus one build per ranked layer, and ``deadline``.
The caller's ``build`` is deterministic, so the same inputs keep the same layers (the deadline
only cuts the search short on a machine too slow for it, and the result says so in ``stopped``).

The result says which layers were kept float and what each bought (``rows``), so the report can
name every float layer with its reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MIN_GAIN_DB", "MOVE_OPS", "MixedResult", "float_units", "keep_float_by_gain", "with_producers",
           "worst_output_ancestors"]

# A layer whose float copy gains less than this is evaluation noise (64 samples: ~0.05 dB run to run).
MIN_GAIN_DB = 0.1

# Ops that copy, reorder or select values: their output's int8 grid is their input's, so a
# precise input needs the op before them precise too.
MOVE_OPS = frozenset({"RESHAPE", "TRANSPOSE", "SQUEEZE", "EXPAND_DIMS", "PAD", "PADV2", "MAX_POOL_2D",
                       "SLICE", "STRIDED_SLICE", "GATHER", "CONCATENATION", "SPLIT"})

Build = Callable[[tuple[str, ...]], tuple[float, float | None]]


@dataclass(frozen=True)
class MixedResult:
    float_layers: tuple[str, ...]  # kept float, in the order added
    sqnr_db: float
    agreement: float | None
    met: bool
    rows: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # one per measured candidate
    trials: int = 0
    skipped: str | None = None  # why the search stopped early (time, trials)

    def to_dict(self) -> dict[str, Any]:
        return {"float_layers": list(self.float_layers), "sqnr_db": _finite(self.sqnr_db),
                "agreement": self.agreement, "met": self.met, "trials": self.trials,
                "layers": [dict(row) for row in self.rows], "stopped": self.skipped}


def keep_float_by_gain(build: Build, candidates: dict[str, tuple[str, ...]], cost: Callable[[tuple[str, ...]], float],
                       *, base: tuple[float, float | None], met: Callable[[float, float | None], bool],
                       max_cost: float, max_trials: int = 48, deadline: float | None = None,
                       hard_cap: bool = False, min_gain_db: float = MIN_GAIN_DB) -> MixedResult:
    """Layers to keep float (module docstring).  ``candidates``: label (a module path) -> the op
    names kept float together for it (an op with the ops that write its inputs: a precise op
    behind an int8 input gains nothing), in the order to measure them.  ``base`` is the (SQNR,
    agreement) with none of them float; ``cost(names)`` the caller's estimate of what keeping
    ``names`` float costs; the kept ones cost at most ``max_cost`` together, unless (without
    ``hard_cap``) only a set over it meets the bar.  A layer is kept only for ``min_gain_db`` or
    more (alone, and again in the set)."""
    base_sqnr, base_agreement = _clean(base[0]), base[1]
    rows: list[dict[str, Any]] = []
    trials, stopped = 0, None

    def out_of_time() -> str | None:
        return "time budget" if deadline is not None and time.monotonic() > deadline else None

    # measuring takes at most half the time, so the greedy part has the rest
    halfway = None if deadline is None else (time.monotonic() + deadline) / 2
    for label, names in candidates.items():
        late = halfway is not None and time.monotonic() > halfway
        stopped = "time budget (half)" if late else (f"{max_trials} candidates measured" if trials >= max_trials else None)
        if stopped:
            break
        trials += 1
        sqnr_db, _ = build(names)
        rows.append({"layer": label, "ops": list(names), "gain_db_alone": _round(_clean(sqnr_db) - base_sqnr),
                     "cost": float(cost(names)), "kept": False})
    ranked = sorted((row for row in rows if row["gain_db_alone"] is not None and row["gain_db_alone"] >= min_gain_db),
                    key=lambda row: row["gain_db_alone"] / max(row["cost"], 1.0), reverse=True)
    chosen: list[str] = []
    best = (base_sqnr, base_agreement)
    # Within the cap, best gain per cost first; then, only if the bar is still missed, a set over
    # the cap that meets it (a net whose loss sits in most of its MACs: the report shows the cost).
    over_cap = [] if hard_cap else [row for row in ranked if cost(tuple(row["ops"])) > max_cost]
    for capped, order in ((True, [row for row in ranked if row not in over_cap]), (False, over_cap)):
        for row in order:
            if met(*best) or stopped == "time budget":
                break
            added = tuple(name for name in row["ops"] if name not in chosen)
            if not added:
                continue
            if capped and cost((*chosen, *added)) > max_cost:
                row["note"] = "over the cost cap"
                continue
            stopped = out_of_time() or stopped
            if stopped == "time budget":
                break
            trials += 1
            sqnr_db, agreement = build((*chosen, *added))
            sqnr_db = _clean(sqnr_db)
            row["sqnr_db_with"] = _round(sqnr_db)
            if (met(sqnr_db, agreement) and not met(*best)) or (capped and sqnr_db >= best[0] + min_gain_db):
                chosen += added
                row["kept"], row["gain_db"] = True, _round(sqnr_db - best[0])
                best = (sqnr_db, agreement)
            elif not capped:
                row["note"] = "over the cost cap, and it does not meet the bar"
    return MixedResult(tuple(chosen), best[0], best[1], bool(met(*best)), tuple(rows), trials, stopped)


def _clean(value: float | None) -> float:
    return float(value) if value is not None and not math.isnan(value) else -math.inf


def _round(value: float) -> float | None:
    return round(value, 3) if math.isfinite(value) else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def worst_output_ancestors(rows: list[dict], by_name: dict[str, dict]) -> set[str]:
    """The ops the worst graph output depends on (itself included).

    Outputs are the rows no other row reads; with several (a detector's box, landmark and score
    heads), the one with the lowest SQNR is the one the candidate is judged by, and precision
    spent on a layer that only feeds the others buys nothing.  One output: every op."""
    read = {name for row in rows for name in row["inputs"]}
    sinks = [row for row in rows if row["name"] not in read]
    if len(sinks) < 2:
        return set(by_name)
    worst = min(sinks, key=lambda row: row["sqnr_db"])
    names, pending = set(), [worst["name"]]
    while pending:
        name = pending.pop()
        if name in names or name not in by_name:
            continue
        names.add(name)
        pending += by_name[name]["inputs"]
    return names


def with_producers(row: dict, by_name: dict[str, dict], eligible: Callable[[dict], bool]) -> list[str]:
    names, pending = [row["name"]], list(row["inputs"])
    while pending:
        producer = by_name[pending.pop(0)]
        if producer["name"] in names or not eligible(producer):
            continue
        names.append(producer["name"])
        if producer["op"] in MOVE_OPS:
            pending += producer["inputs"]
    return names


def float_units(rows: list[dict], *, eligible: Callable[[dict], bool], exact_db: float) -> dict[str, tuple[str, ...]]:
    """Candidates for ``keep_float_by_gain`` from ``layer_sensitivity`` rows: every eligible op the
    worst output depends on that loses anything, with the eligible ops that write its inputs, worst
    own loss first; label -> op names.  Move ops count: a RESHAPE at the graph input whose int8
    range clips the input holds the loss of everything after it."""
    by_name = {row["name"]: row for row in rows}
    on_path = worst_output_ancestors(rows, by_name)
    units: dict[str, tuple[str, ...]] = {}
    for row in sorted(rows, key=lambda row: row["own_sqnr_db"]):
        if row["name"] not in on_path or not eligible(row) or row["own_sqnr_db"] >= exact_db:
            continue
        names = _with_float_producers(row, by_name, eligible)
        if names in units.values():
            continue
        label, count = f"{row['layer'] or row['name']} ({row['op']})", 1
        while label in units:
            count += 1
            label = f"{row['layer'] or row['name']} ({row['op']} #{count})"
        units[label] = names
    return units


def _with_float_producers(row: dict, by_name: dict[str, dict], eligible: Callable[[dict], bool]) -> tuple[str, ...]:
    """``row``'s op with the ops that write its inputs (as ``with_producers``), looking through ops
    already float as through move ops: a float LeakyReLU between two convs passes on whatever
    precision the conv before it gives it, so that conv belongs to the unit too."""
    names, seen, pending = [row["name"]], {row["name"]}, list(row["inputs"])
    while pending:
        producer = by_name.get(pending.pop(0))
        if producer is None or producer["name"] in seen:
            continue
        seen.add(producer["name"])
        if producer["dtype"] == "float32":
            pending += producer["inputs"]
            continue
        if not eligible(producer):
            continue
        names.append(producer["name"])
        if producer["op"] in MOVE_OPS:
            pending += producer["inputs"]
    return tuple(names)
