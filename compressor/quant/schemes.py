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

When dynamic-range or weight-only int8 still falls short, its weight layers are measured one
at a time, smallest first (only that layer's weights int8, the rest float: the SQNR it alone
costs); a layer that alone misses the thresholds is kept float as soon as it is found and the
scheme tried again; when every layer is measured and it still misses, the rest are kept float
worst first.  Float weights stay under ``MAX_FLOAT_WEIGHT_SHARE`` of all weight elements.  A
"layer" is one weight tensor with every op that reads it (an LSTM's recurrent matmul, called
once per step, is one layer).  Why: one small matmul can hold all the loss.  resemblyzer's
speaker encoder takes raw mel *power* (columns spanning 0.01 to 40), and its first LSTM layer's
input weights are large exactly where the inputs are small: int8 weights of that 40 x 1024
matmul alone take the embedding to 1.6 dB SQNR (per-channel scales; 0.3 dB per-tensor), while
every other weight in int8 costs 18.7 dB together (torch simulation, 16 eval partials).  With
the LSTM rewritten (model/recurrent.py) that matmul is one op over all steps, so keeping it
float costs 160 kB of the file and one float matmul.

Each weight-quantizing scheme's first file is also made with bias correction (scheme_file.py:
every int8 layer's float bias absorbs the mean output shift its rounded weights make) and the
better of the two, as measured, sets whether that scheme's later files are corrected; both are
listed.  Real EfficientNet-Lite0, dynamic-range with its depthwise convs float: 21.6 -> 26.4 dB.

An MCU or NPU runs integer kernels only: there no scheme is tried and the int8 step says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from ..errors import CompressorError
from .scheme_file import SCHEMES, quantize_scheme, weight_layers
from .tflite_int8 import Calibration

__all__ = ["MAX_FLOAT_WEIGHT_SHARE", "SCHEMES", "SchemeTrial", "quantize_scheme", "splitting_ops", "try_schemes",
           "weight_layers"]

_FALLBACK_ORDER = ("dynamic_range", "int16_activations", "weight_only")
# Schemes whose layers can be kept float one by one (float activations around them already).
_FLOAT_CAPABLE = ("dynamic_range", "weight_only")
# Float weights a scheme may keep, as a share of all weight elements: at 25% the weights stay
# under ~0.44x their fp32 bytes (0.75 x 1/4 + 0.25), still well short of fp32.
MAX_FLOAT_WEIGHT_SHARE = 0.25
# Float weights the search toward the int8 bar may add to a scheme that already ships: at 5% the
# file grows by under 0.04x of the fp32 weights (0.95 x 1/4 + 0.05 = 0.29x all told, under 0.30x).
MAX_GOAL_FLOAT_WEIGHT_SHARE = 0.05
# ... and each layer it keeps float must buy this much (resemblyzer: 65k float weights for 0.1 dB is
# not worth 200 kB; PNet's first conv bought 3.8 dB for 270).
GOAL_MIN_GAIN_DB = 1.0
# Layers measured one at a time, smallest first (the cheapest to keep float): bounds the time
# (each is one quantization and one evaluation: ~4 s CPU on the 8,000-op unrolled LSTM).
MAX_MEASURED_LAYERS = 24


@dataclass(frozen=True)
class SchemeTrial:
    scheme: str
    sqnr_db: float | None
    agreement: float | None
    size_bytes: int | None
    seconds: float
    met: bool
    error: str | None = None
    float_layers: tuple[str, ...] = ()  # module paths (else tensor names) of the layers kept float
    search: dict[str, Any] | None = None  # the measured float-layer search toward the int8 bar (mixed.py)
    float_for_speed: tuple[str, ...] = ()  # of float_layers: those the runtime has no kernel for in this scheme
    bias_corrected: bool = False  # the int8 weights' mean output shift absorbed by the float biases (scheme_file.py)

    def float_reasons(self) -> str:
        """Why each float layer is float: what it bought in the measured search toward the int8
        bar, else that it alone missed the thresholds (``_float_search``)."""
        bought = {row["layer"]: row.get("gain_db") for row in (self.search or {}).get("layers", []) if row.get("kept")}
        speed = [name for name in self.float_layers if name in self.float_for_speed]
        notes = [f"{name}: +{bought[name]:.1f} dB" if bought.get(name) is not None else f"{name}: lost most alone"
                 for name in self.float_layers if name not in self.float_for_speed]
        if speed:
            notes.append(f"{len(speed)} layer(s) XNNPACK has no {self.scheme} kernel for, float inside the delegate: "
                         + ", ".join(speed))
        return "; ".join(notes)

    def to_dict(self) -> dict[str, Any]:
        row = {"scheme": self.scheme, "recipe": SCHEMES[self.scheme][0],
               "sqnr_db": None if self.sqnr_db is None else round(self.sqnr_db, 3),
               "agreement": self.agreement, "size_bytes": self.size_bytes, "seconds": round(self.seconds, 2),
               "met": self.met}
        if self.error:
            row["error"] = self.error
        if self.float_layers:
            row["float_layers"] = list(self.float_layers)
        if self.search is not None:
            row["search"] = self.search
        if self.float_for_speed:
            row["float_for_speed"] = list(self.float_for_speed)
        if self.scheme in _FLOAT_CAPABLE:
            row["bias_correction"] = self.bias_corrected
        return row


def try_schemes(float_path: Path, temp: Callable[[str], Path], *, calibration: Calibration,
                evaluate: Callable[[Path], tuple[float, float | None]], met: Callable[[float, float | None], bool],
                allow_int16: bool, per_channel: bool = True,
                goal: Callable[[float, float | None], bool] | None = None, deadline: float | None = None,
                left_out: Callable[[Path], tuple[str, ...]] | None = None,
                ) -> tuple[Path | None, SchemeTrial | None, list[SchemeTrial], list[dict[str, Any]]]:
    """Try the fallback schemes in order until one meets the thresholds.

    ``temp(suffix)`` gives a temporary path (the caller deletes it); ``met(sqnr_db, agreement)``
    is the caller's thresholds.  Returns the path of the best trial and the trial (meeting the
    thresholds first, then by SQNR; None if every scheme failed to quantize), every trial, and
    the per-layer measurements behind any layers kept float (worst first).  ``goal``: a higher
    bar (the int8 one) that a scheme meeting ``met`` keeps going for, with float layers chosen
    by measured gain per float weight (mixed.py; until ``deadline``): MTCNN PNet's box head in
    dynamic-range int8 went 24.0 -> 27.8 dB with its 270-weight first conv float.  ``left_out(path)``:
    the ops (first output tensor names) the runtime would run outside its delegate, splitting the
    graph; their layers are kept float in dynamic-range and weight-only trials (``float_for_speed``):
    XNNPACK has no hybrid depthwise kernel, and real MobileNetV2 in dynamic-range split 18 ways at
    2.2x fp32; with its 17 depthwise convs float, one partition, 26.3 dB.
    """
    trials: list[SchemeTrial] = []
    sensitivity: list[dict[str, Any]] = []
    best: tuple[Path, SchemeTrial] | None = None
    speed_layers: dict[str, tuple[str, ...]] = {}  # per scheme: layers kept float for the delegate
    corrected: dict[str, bool] = {}  # per scheme: bias correction kept (measured on its first file)

    def run(scheme: str, suffix: str, **kwargs) -> SchemeTrial:
        nonlocal best
        path = temp(suffix)
        known = speed_layers.get(scheme, ())
        if known:  # found on this scheme's first trial: no new delegation check (a child process each)
            kwargs["layers"] = kwargs.get("layers") or weight_layers(float_path)
            kwargs["float_layers"] = (*kwargs.get("float_layers", ()),
                                      *(n for n in known if n not in kwargs.get("float_layers", ())))
        kwargs["bias_correction"] = corrected.get(scheme, False)
        trial = _trial(float_path, path, scheme, calibration, evaluate, met, per_channel=per_channel, **kwargs)
        first = scheme not in speed_layers and trial.error is None and scheme in _FLOAT_CAPABLE
        names = left_out(path) if first and left_out is not None else ()
        if first:
            speed_layers[scheme] = ()
        if known:
            trial = replace(trial, float_for_speed=known)
        if names:  # ops the runtime has no kernel for in this scheme: float, inside the delegate
            layers = kwargs.pop("layers", None) or weight_layers(float_path)
            speed = tuple(n for n, layer in layers.items() if set(layer["ops"]) & set(names)
                          and n not in trial.float_layers)
            speed_layers[scheme] = speed
            if speed:
                kwargs.pop("float_layers", None)
                trial = replace(_trial(float_path, path, scheme, calibration, evaluate, met, per_channel=per_channel,
                                       float_layers=(*trial.float_layers, *speed), layers=layers, **kwargs),
                                float_for_speed=(*trial.float_for_speed, *speed))
        if scheme not in corrected and trial.error is None and scheme in _FLOAT_CAPABLE:
            # the scheme's first file again with its biases corrected; the better one sets the scheme's choice
            other_path = temp(f".{scheme}.bias.tflite")
            other = replace(_trial(float_path, other_path, scheme, calibration, evaluate, met, per_channel=per_channel,
                                   float_layers=trial.float_layers, bias_correction=True,
                                   layers=weight_layers(float_path) if trial.float_layers else None),
                            float_for_speed=trial.float_for_speed)
            corrected[scheme] = other.error is None and (other.met, other.sqnr_db) > (trial.met, trial.sqnr_db)
            trials.append(trial if corrected[scheme] else other)  # the one not kept, for the report
            if corrected[scheme]:
                path, trial = other_path, other
        trials.append(trial)
        if trial.error is None and (best is None or (trial.met, trial.sqnr_db) > (best[1].met, best[1].sqnr_db)):
            best = (path, trial)
        return trial

    for scheme in _FALLBACK_ORDER:
        if scheme == "int16_activations" and not allow_int16:
            continue
        trial = run(scheme, f".{scheme}.tflite")
        if trial.error is None and not trial.met and scheme in _FLOAT_CAPABLE:
            layers = weight_layers(float_path)
            for float_layers in _float_search(float_path, temp, scheme, layers, evaluate, met, sensitivity,
                                              calibration=calibration, bias_correction=corrected.get(scheme, False)):
                trial = run(scheme, f".{scheme}.float{len(float_layers)}.tflite", float_layers=float_layers,
                            layers=layers)
                if trial.met:
                    break
        if trial.met:
            break
    if best is not None and goal is not None and best[1].met and best[1].scheme in _FLOAT_CAPABLE \
            and not goal(best[1].sqnr_db, best[1].agreement):
        found = _toward_goal(float_path, temp, best[1], evaluate, goal, deadline, calibration)
        if found is not None:
            trial = run(best[1].scheme, f".{best[1].scheme}.goal.tflite", float_layers=found[0], layers=found[1])
            trials[-1] = replace(trial, search=found[2])
            if best[1] is trial:
                best = (best[0], trials[-1])
    if best is None:
        return None, None, trials, sorted(sensitivity, key=lambda row: row["sqnr_db_alone"])
    return best[0], best[1], trials, sorted(sensitivity, key=lambda row: row["sqnr_db_alone"])


def _toward_goal(float_path: Path, temp: Callable[[str], Path], trial: SchemeTrial, evaluate, goal,
                 deadline: float | None, calibration: Calibration,
                 ) -> tuple[tuple[str, ...], dict[str, dict[str, Any]], dict] | None:
    """More weight layers kept float, chosen by measured gain per float weight element (mixed.py),
    until ``goal`` holds; None when none gains."""
    from .mixed import keep_float_by_gain

    layers = weight_layers(float_path)
    total = sum(layer["elements"] for layer in layers.values()) or 1
    kept = tuple(trial.float_layers)
    path = temp(f".{trial.scheme}.mixed.tflite")

    def build(names: tuple[str, ...]) -> tuple[float, float | None]:
        ops = tuple(op for name in (*kept, *names) for op in layers[name]["ops"])
        try:
            quantize_scheme(float_path, path, trial.scheme, calibration=calibration, float_ops=ops,
                            bias_correction=trial.bias_corrected)
        except CompressorError:
            return float("-inf"), None
        return evaluate(path)

    cap = MAX_GOAL_FLOAT_WEIGHT_SHARE * total  # hard: only layers that fit it are measured
    candidates = {name: (name,) for name in sorted(layers, key=lambda n: layers[n]["elements"])
                  if name not in kept and layers[name]["elements"] <= cap}
    result = keep_float_by_gain(build, candidates, lambda names: float(sum(layers[n]["elements"] for n in names)),
                                base=(trial.sqnr_db or float("-inf"), trial.agreement), met=goal, deadline=deadline,
                                max_cost=cap, max_trials=MAX_MEASURED_LAYERS, hard_cap=True,
                                min_gain_db=GOAL_MIN_GAIN_DB)
    if not result.float_layers:
        return None
    return (*kept, *result.float_layers), layers, result.to_dict()


def _float_search(float_path: Path, temp: Callable[[str], Path], scheme: str, layers: dict[str, dict[str, Any]],
                  evaluate, met, sensitivity: list[dict[str, Any]], *, calibration: Calibration,
                  bias_correction: bool):
    """Sets of layers to keep float, to try in turn (the caller stops at the first that holds).

    Layers are measured alone (only that layer's weights quantized), smallest first (the
    cheapest to keep float), at most MAX_MEASURED_LAYERS; rows land in ``sensitivity``, shared
    by every scheme.  A layer that alone misses the thresholds must stay float: each such layer
    is added as it is found, and the scheme tried again.  When all are measured and it still
    misses, the rest are added worst first.  Float weights stay under MAX_FLOAT_WEIGHT_SHARE.
    """
    total = sum(layer["elements"] for layer in layers.values()) or 1
    chosen: list[str] = []

    def fits(name: str) -> bool:
        return sum(layers[n]["elements"] for n in (*chosen, name)) <= MAX_FLOAT_WEIGHT_SHARE * total

    measured = {row["layer"] for row in sensitivity}
    for row in sorted(sensitivity, key=lambda r: r["sqnr_db_alone"]):  # measured by an earlier scheme
        if not row["met_alone"] and fits(row["layer"]):
            chosen.append(row["layer"])
    if chosen:
        yield tuple(chosen)
    for name in sorted(layers, key=lambda n: layers[n]["elements"])[:MAX_MEASURED_LAYERS]:
        if name in measured:
            continue
        row = _measure_alone(float_path, temp, scheme, name, layers, evaluate, met, calibration=calibration,
                             bias_correction=bias_correction)
        if row is None:
            continue
        sensitivity.append(row)
        if not row["met_alone"] and fits(name):
            chosen.append(name)
            yield tuple(chosen)
    for row in sorted(sensitivity, key=lambda r: r["sqnr_db_alone"]):
        if row["layer"] not in chosen and fits(row["layer"]):
            chosen.append(row["layer"])
            yield tuple(chosen)


def _measure_alone(float_path: Path, temp: Callable[[str], Path], scheme: str, name: str,
                   layers: dict[str, dict[str, Any]], evaluate, met, *, calibration: Calibration,
                   bias_correction: bool) -> dict[str, Any] | None:
    """The output SQNR with only layer ``name`` quantized by ``scheme``, the rest float."""
    path, start = temp(f".{scheme}.only.tflite"), time.monotonic()
    try:
        quantize_scheme(float_path, path, scheme, calibration=calibration, only_ops=tuple(layers[name]["ops"]),
                        bias_correction=bias_correction)
        sqnr_db, agreement = evaluate(path)
    except CompressorError:
        return None
    finally:
        path.unlink(missing_ok=True)
    return {"layer": name, "scheme": scheme, "sqnr_db_alone": round(float(sqnr_db), 3),
            "met_alone": bool(met(sqnr_db, agreement)), "weight_elements": layers[name]["elements"],
            "seconds": round(time.monotonic() - start, 2)}


def _trial(float_path: Path, path: Path, scheme: str, calibration: Calibration, evaluate, met, *,
           per_channel: bool, float_layers: tuple[str, ...] = (),
           layers: dict[str, dict[str, Any]] | None = None, bias_correction: bool = False) -> SchemeTrial:
    start = time.monotonic()
    float_ops = tuple(op for name in float_layers for op in (layers or {})[name]["ops"])
    try:
        quantize_scheme(float_path, path, scheme, calibration=calibration, per_channel=per_channel,
                        float_ops=float_ops, bias_correction=bias_correction)
        sqnr_db, agreement = evaluate(path)
    except CompressorError as error:
        return SchemeTrial(scheme, None, None, None, time.monotonic() - start, False, str(error)[:200],
                           float_layers=float_layers, bias_corrected=bias_correction)
    return SchemeTrial(scheme, float(sqnr_db), None if agreement is None else float(agreement),
                       path.stat().st_size, time.monotonic() - start, bool(met(sqnr_db, agreement)),
                       float_layers=float_layers, bias_corrected=bias_correction)


def splitting_ops(path: Path, baseline_partitions: int) -> tuple[str, ...]:
    """Ops LiteRT leaves outside XNNPACK in ``path`` when they split it into 3+ more partitions
    than ``baseline_partitions`` (measure/delegation.compute_ops_splitting's rule), by first
    output tensor name: the ``left_out`` of ``try_schemes`` on CPU targets."""
    from ..measure.delegation import inspect_delegation

    delegation = inspect_delegation(path)
    if delegation.partitions <= baseline_partitions + 2:
        return ()
    return tuple(node["name"] for node in delegation.not_delegated)
