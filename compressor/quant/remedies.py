"""Int8 accuracy remedies: when plain int8 falls short, try the standard fixes in order.

The chain (each step re-quantizes the float `.tflite` with ``quantize_tflite``, starting from
the best artifact so far, and the chain stops at the first that meets the thresholds):

1. ``plain``: the configured recipe (min/max calibration, per-channel weights by default);
2. ``per_channel``: per-channel int8 weights everywhere (only if the caller asked for
   per-tensor: per-tensor weight scales can crush small channels, PITFALLS.md);
3. ``equalize``: cross-layer equalization of conv pairs in the float file (Nagel et al. 2019,
   equalize_tflite.py): exact in float, it evens out the channel ranges between two convs
   (an outlier channel in one conv's output no longer sets the int8 step for all of them);
4. ``bias_correction``: each conv/linear bias shifted by the mean output error its int8
   weights will make, (W_q - W) E[x], with E[x] measured on the calibration data
   (bias_correct_tflite.py);
5. ``percentile``: each activation's range clipped at the 99.99th percentile of its
   magnitude on the calibration samples (min <= 0 <= max kept), so that rare outliers stop
   stretching the int8 step for every other value (percentile calibration, as compared
   with max and entropy calibration in Wu et al. 2020, "Integer Quantization for Deep
   Learning Inference", arXiv:2004.09602);
6. ``int16``: int16 activations (int16x8 kernels) for the ``max_layers`` layers that lose
   most by themselves (``own_sqnr_db`` of ``layer_sensitivity``) and whose op the quantizer
   can run with int16 activations, together with the ops that write their inputs (see
   ``_worst_layers``; only with ``allow_int16``: not every target has int16x8 kernels);
7. ``float``: layers left in float32, chosen by measurement (mixed.py: each candidate alone,
   then best gain per MAC first until the thresholds hold; only with ``allow_float``: an NPU or
   MCU may not run float ops at all).

A remedy is kept only if it gains over the best so far; later ones build on what was kept
(int16 and float, which cost speed and bytes, must gain 3 dB or meet the thresholds).

The float files equalization and bias correction write stand in for the original in the
later steps (percentile ranges, sensitivity): they compute the same function up to the
bias shift the correction puts there on purpose.  The kept candidate's float file is moved
to ``source_path`` and named in the result (``source``, with ``per_channel`` and ``tweaks``),
so every later re-quantization (per-tensor depthwise, float for speed, float islands) starts
from the file the kept artifact came from and the shipped file keeps every remedy reported.

Cost is bounded.  Activation ranges are calibrated once per float file (``Calibration``)
and reused by every candidate; with ``deadline`` (a ``time.monotonic()`` value) a remedy whose
predicted cost (the plain candidate's quantize-and-evaluate seconds, plus one calibration
when it needs a new float file) would overrun it is skipped and logged as skipped, so an
unrolled recurrent net with thousands of ops does not re-quantize for minutes.

``evaluate(path) -> (sqnr_db, agreement or None)`` is the caller's: it runs a candidate
artifact against the original model on evaluation data and returns the *worst* output's
SQNR and the worst class output's agreement (verify_outputs.candidate_evaluator), never an
average: a 4-value box head at 20 dB beside two heads at 37 dB is a 20 dB candidate.  The best candidate (meeting the
thresholds first, then SQNR) is always left at ``out_path``; candidates are written to
temporary files next to it and the chosen one is renamed into place, so ``out_path`` never
holds a half-written file.

Measured on the zoo (digits, 200 calibration samples): plain int8 gives 38.0-38.7 dB, so the
chain stops there; percentile clipping costs 1-5 dB on these nets (their min/max ranges have
no outliers), int16 or float for the 3 worst layers gains 0-2.6 dB (the error is spread over
all layers).  On a net with one channel 1000x the others (tests) plain int8 gives 17.5 dB,
int16 for the worst layers 39 dB, float for them 49 dB.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CompressorError, ConfigError, ExportError
from .tflite_int8 import Calibration, Int8Tweaks, float_ops, quantize_tflite, supports_int16
from .mixed import float_units, keep_float_by_gain, with_producers, worst_output_ancestors
from .sensitivity import EXACT_SQNR_DB, PERCENTILE, layer_sensitivity, percentile_ranges

__all__ = ["PERCENTILE", "RemedyResult", "percentile_ranges", "quantize_with_remedies"]

_TOP_ROWS = 10  # sensitivity rows kept in the result
# Float ops worth at most this share of the MACs (XNNPACK float ~2.2x its int8 on MobileNetV2: 3/4 of
# the MACs float lands near 0.86x fp32), no layer over this share of the weights (float share f
# costs ~0.75 f of the fp32 size: 6% keeps ~0.30x; a random MLP kept two FCs float for +3.5 dB at
# 0.55x), the latter only above SIZE_BAR_PARAMS (a tiny net's one sensitive layer may be most of it).
MAX_FLOAT_MAC_SHARE, MAX_FLOAT_WEIGHT_SHARE, SIZE_BAR_PARAMS = 0.75, 0.06, 100_000
# No float search when static int8 is this far under the bar (noise ~ the signal's tenth or more at
# 25 dB): an unrolled LSTM (0.5 dB) compounds its error over the steps; the fallback schemes take it.
FLOAT_SEARCH_GAP_DB = 15.0
_MIN_GAIN_DB = 0.1  # a remedy must gain more (or newly meet the thresholds): less is evaluation noise
# int16/float layers cost speed and bytes: short of the thresholds they must buy this much (DS-CNN: 4 float, 1 dB).
_COSTLY_MIN_GAIN_DB = 3.0
Evaluate = Callable[[Path], tuple[float, float | None]]


@dataclass(frozen=True)
class RemedyResult:
    """What the chain tried and what it kept; the artifact itself is at ``out_path``."""

    tried: tuple[dict, ...]  # {"remedy", "sqnr_db", "agreement", "kept"} (+ "layers" / "error")
    used: tuple[str, ...]  # remedies in the kept artifact, in the order applied
    per_channel: bool
    int16_layers: tuple[str, ...]  # tensor names of the ops with int16 activations
    float_layers: tuple[str, ...]  # tensor names of the ops left in float32
    sensitivity: tuple[dict, ...]  # layer_sensitivity rows of the kept artifact, worst 10
    sqnr_db: float
    agreement: float | None
    met: bool
    tweaks: Int8Tweaks = field(default_factory=Int8Tweaks)  # all departures of the kept artifact
    source: Path | None = None  # the float file the kept artifact was quantized from

    def to_dict(self) -> dict:
        return {"tried": [dict(row) for row in self.tried], "used": list(self.used),
                "per_channel": self.per_channel, "int16_layers": list(self.int16_layers),
                "float_layers": list(self.float_layers), "sensitivity": [dict(row) for row in self.sensitivity],
                "sqnr_db": _finite(self.sqnr_db), "agreement": self.agreement, "met": self.met}


@dataclass(frozen=True)
class _Candidate:
    per_channel: bool
    tweaks: Int8Tweaks = field(default_factory=Int8Tweaks)
    source: Path | None = None  # the float file it is quantized from (None: the chain's; CLE writes another)
    used: tuple[str, ...] = ()
    path: Path | None = None
    sqnr_db: float = -math.inf
    agreement: float | None = None


@dataclass(frozen=True)
class _Thresholds:
    min_sqnr_db: float
    min_agreement: float

    def met(self, candidate: _Candidate) -> bool:
        agreement_ok = candidate.agreement is None or candidate.agreement >= self.min_agreement
        return candidate.sqnr_db >= self.min_sqnr_db and agreement_ok

    def better(self, candidate: _Candidate, best: _Candidate, *, costly: bool = False) -> bool:
        """Whether ``candidate`` should replace ``best``.  A costly remedy (int16, float) on
        outputs whose SQNR is already above the bar must buy _COSTLY_MIN_GAIN_DB whatever the
        agreement says: a near-tie sample flipping on untrained logits is not worth a float layer."""
        if costly and best.sqnr_db >= self.min_sqnr_db:
            return candidate.sqnr_db > best.sqnr_db + _COSTLY_MIN_GAIN_DB
        if self.met(candidate) != self.met(best):
            return self.met(candidate)
        return candidate.sqnr_db > best.sqnr_db + (_COSTLY_MIN_GAIN_DB if costly else _MIN_GAIN_DB)


def _worst_layers(rows: list[dict], count: int, *, eligible: Callable[[dict], bool]) -> tuple[str, ...]:
    """The ``count`` eligible layers with the lowest own SQNR (ops that lose nothing skipped) among
    those the worst output depends on, each with the eligible ops that produce its inputs (an
    op's loss is often made when its input is stored in int8: mixed.with_producers)."""
    by_name = {row["name"]: row for row in rows}
    on_path = worst_output_ancestors(rows, by_name)
    losing = [row for row in rows if eligible(row) and row["own_sqnr_db"] < EXACT_SQNR_DB and row["name"] in on_path]
    chosen: list[str] = []
    for row in sorted(losing, key=lambda row: row["own_sqnr_db"])[:count]:
        chosen += [name for name in with_producers(row, by_name, eligible) if name not in chosen]
    return tuple(chosen)


class _Chain:
    """Runs the remedies: owns the temporary files, the thresholds and the log of tries."""

    def __init__(self, float_path: Path, out_path: Path, samples: list[list[np.ndarray]], *,
                 evaluate: Evaluate, io: str, thresholds: _Thresholds, max_layers: int, allow_float: bool = True,
                 calibration: Calibration, deadline: float | None = None):
        self.float_path, self.out_path, self.samples = float_path, out_path, samples
        self.allow_float, self.calibration, self.deadline = allow_float, calibration, deadline
        self.evaluate, self.io, self.thresholds, self.max_layers = evaluate, io, thresholds, max_layers
        self.tried: list[dict] = []
        self.temp_paths: list[Path] = []
        self._rows: dict[Path, list[dict]] = {}
        self.build_seconds = 0.0  # quantize + evaluate of the plain candidate, calibration excluded
        self.search_seconds: float | None = None  # the float search's own time budget

    def affordable(self, remedy: str, *, new_source: bool = False, log: bool = True) -> bool:
        """Whether ``remedy`` fits before the deadline; if not, it is logged as skipped."""
        if self.deadline is None:
            return True
        predicted = self.build_seconds + (self.calibration.seconds() if new_source else 0.0)
        left = self.deadline - time.monotonic()
        if predicted <= left or not log:
            return predicted <= left
        self.tried.append({"remedy": remedy, "sqnr_db": None, "agreement": None, "kept": False,
                           "skipped": f"time budget: ~{predicted:.0f} s predicted, {max(left, 0.0):.0f} s left"})
        return False

    def source(self, candidate: _Candidate) -> Path:
        return candidate.source or self.float_path

    def _temp(self, suffix: str) -> Path:
        handle, name = tempfile.mkstemp(prefix=f".{self.out_path.name}.", suffix=suffix, dir=self.out_path.parent)
        os.close(handle)
        self.temp_paths.append(Path(name))
        return Path(name)

    def equalized(self) -> tuple[Path, list[dict]] | tuple[None, list]:
        """The float file with cross-layer equalization (equalize_tflite.py), when a pair applies."""
        from .equalize import equalize_tflite

        path = self._temp(".cle.tflite")
        pairs = equalize_tflite(self.float_path, path)
        return (path, pairs) if pairs else (None, [])

    def bias_corrected(self, source: Path) -> tuple[Path, list[dict]] | tuple[None, list]:
        """``source`` with each layer's bias shifted against its int8 rounding (bias_correct_tflite.py)."""
        from .bias_correct import bias_correct_tflite

        path = self._temp(".bc.tflite")
        layers = bias_correct_tflite(source, path, self.samples)
        return (path, layers) if layers else (None, [])

    def sensitivity(self, candidate: _Candidate) -> list[dict]:
        assert candidate.path is not None
        if candidate.path not in self._rows:
            self._rows[candidate.path] = layer_sensitivity(self.source(candidate), candidate.path, self.samples)
        return self._rows[candidate.path]

    def float_search(self, best: _Candidate) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Layers to keep float, measured (mixed.py): each candidate on the worst output's path
        alone, then the best gain per cost first until the thresholds are met; float MACs stay
        under MAX_FLOAT_MAC_SHARE.  Its own time: ``search_seconds`` again, from now."""
        from ..graph.read import read_graph

        taken = set(best.tweaks.float_layers)
        ops = {op.name: op for op in read_graph(self.source(best)).ops}
        weights = sum(op.weight_bytes for op in ops.values())
        budget = MAX_FLOAT_WEIGHT_SHARE * weights if weights > 4 * SIZE_BAR_PARAMS else math.inf
        units = float_units(self.sensitivity(best), exact_db=EXACT_SQNR_DB,
                            eligible=lambda row: row["dtype"] != "float32" and row["name"] not in taken
                            and getattr(ops.get(row["name"]), "weight_bytes", 0) <= budget)
        path = self._temp(".mixed.tflite")

        def cost(names: tuple[str, ...]) -> float:  # float MACs, plus the tensors at the borders
            return float(sum(ops[n].macs + ops[n].input_bytes + ops[n].output_bytes for n in set(names) if n in ops))

        def build(names: tuple[str, ...]) -> tuple[float, float | None]:
            tweaks = replace(best.tweaks, float_layers=(*best.tweaks.float_layers, *names),
                             int16_layers=tuple(n for n in best.tweaks.int16_layers if n not in names))
            try:
                quantize_tflite(self.source(best), path, self.samples, per_channel=best.per_channel, io=self.io,
                                tweaks=tweaks, calibration=self.calibration)
            except CompressorError:
                return -math.inf, None
            return self.evaluate(path)

        deadline = None if self.search_seconds is None else time.monotonic() + self.search_seconds
        result = keep_float_by_gain(build, units, cost, base=(best.sqnr_db, best.agreement), deadline=deadline,
                                    met=lambda sqnr_db, agreement: self.thresholds.met(
                                        _Candidate(True, sqnr_db=sqnr_db, agreement=agreement)),
                                    max_cost=MAX_FLOAT_MAC_SHARE * sum(op.macs for op in ops.values()))
        return result.float_layers, result.to_dict()

    def build(self, candidate: _Candidate) -> _Candidate:
        """Quantize and evaluate ``candidate`` into a new temporary file."""
        path = self._temp(".tflite")
        self.calibration.ranges(self.source(candidate))  # timed apart: it is paid once per float file
        start = time.monotonic()
        quantize_tflite(self.source(candidate), path, self.samples, per_channel=candidate.per_channel, io=self.io,
                        tweaks=candidate.tweaks, calibration=self.calibration)
        if not self.allow_float and candidate.tweaks != Int8Tweaks():
            left = [op["op"] for op in float_ops(path)]
            if left:  # e.g. an op the quantizer cannot give int16 activations stays float instead
                raise ExportError(f"{path.name}: left {', '.join(left)} in float on a target that runs none")
        sqnr_db, agreement = self.evaluate(path)
        sqnr_db = float(sqnr_db) if sqnr_db is not None and not math.isnan(sqnr_db) else -math.inf
        self.build_seconds = max(self.build_seconds, time.monotonic() - start)
        return replace(candidate, path=path, sqnr_db=sqnr_db,
                       agreement=None if agreement is None else float(agreement))

    def start(self, candidate: _Candidate) -> _Candidate:
        """The plain recipe: its failure is the caller's error, there is nothing to fall back on."""
        built = self.build(candidate)
        self.tried.append({"remedy": "plain", "sqnr_db": _finite(built.sqnr_db), "agreement": built.agreement,
                           "kept": True})
        return built

    def attempt(self, best: _Candidate, remedy: str, candidate: _Candidate | None, layers: tuple[str, ...] = ()
                ) -> _Candidate:
        """Try ``candidate`` (None: the remedy does not apply); return the better of it and ``best``.

        "kept" in the log: the candidate beat the best so far, so later remedies build on it.
        """
        if candidate is None:
            return best
        entry: dict[str, Any] = {"remedy": remedy, "sqnr_db": None, "agreement": None, "kept": False}
        if layers:
            entry["layers"] = list(layers)
        self.tried.append(entry)
        try:
            built = self.build(replace(candidate, used=(*best.used, remedy)))
        except CompressorError as error:  # e.g. the quantizer cannot take one layer in int16
            entry["error"] = str(error)
            return best
        entry.update(sqnr_db=_finite(built.sqnr_db), agreement=built.agreement)
        entry["kept"] = self.thresholds.better(built, best, costly=remedy in ("int16", "float"))
        return built if entry["kept"] else best


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@contextlib.contextmanager
def _cleaned(chain: _Chain) -> Iterator[_Chain]:
    try:
        yield chain
    finally:
        for path in chain.temp_paths:
            path.unlink(missing_ok=True)


def _remedies(chain: _Chain, best: _Candidate, *, allow_int16: bool, allow_float: bool) -> Iterator[_Candidate]:
    """Steps 2-5 of the module docstring, each applied to the best candidate so far."""
    if not best.per_channel and chain.affordable("per_channel"):
        best = chain.attempt(best, "per_channel", replace(best, per_channel=True))
        yield best
    if chain.affordable("equalize", new_source=True):
        source, pairs = chain.equalized()
        best = chain.attempt(best, "equalize", replace(best, source=source) if source is not None else None,
                             tuple(p["tensor"] for p in pairs))
        yield best
    if chain.affordable("bias_correction", new_source=True):
        source, layers = chain.bias_corrected(chain.source(best))
        best = chain.attempt(best, "bias_correction", replace(best, source=source) if source is not None else None,
                             tuple(row["tensor"] for row in layers))
        yield best
    if chain.affordable("percentile", new_source=True):  # a pass over every tensor, as calibration
        overrides = percentile_ranges(chain.source(best), chain.samples)
        best = chain.attempt(best, "percentile", replace(best, tweaks=replace(best.tweaks, range_overrides=overrides))
                             if overrides else None)
        yield best
    # int16 and float need the per-layer sensitivity: two runs over every tensor, as calibration
    if allow_int16 and chain.affordable("int16", new_source=True):
        taken = {*best.tweaks.int16_layers, *best.tweaks.float_layers}
        layers = _worst_layers(chain.sensitivity(best), chain.max_layers,
                               eligible=lambda row: row["name"] not in taken and supports_int16(row["op"]))
        tweaks = replace(best.tweaks, int16_layers=(*best.tweaks.int16_layers, *layers))
        best = chain.attempt(best, "int16", replace(best, tweaks=tweaks) if layers else None, layers)
        yield best
    if not allow_float or not chain.affordable("float", new_source=True):
        return
    if best.sqnr_db < chain.thresholds.min_sqnr_db - FLOAT_SEARCH_GAP_DB:
        chain.tried.append({"remedy": "float", "sqnr_db": None, "agreement": None, "kept": False, "skipped":
                            f"{best.sqnr_db:.1f} dB is over {FLOAT_SEARCH_GAP_DB:g} dB under the bar: the signal is lost"})
    else:
        layers, search = chain.float_search(best)
        tweaks = replace(best.tweaks, float_layers=(*best.tweaks.float_layers, *layers),
                         int16_layers=tuple(n for n in best.tweaks.int16_layers if n not in layers))
        best = chain.attempt(best, "float", replace(best, tweaks=tweaks) if layers else None, layers)
        if not layers:
            chain.tried.append({"remedy": "float", "sqnr_db": None, "agreement": None, "kept": False})
        chain.tried[-1]["search"] = search
        yield best


def quantize_with_remedies(float_path: Path, out_path: Path, samples: list[list[np.ndarray]], *,
                           evaluate: Evaluate, per_channel: bool = True, io: str = "float",
                           allow_int16: bool, allow_float: bool, min_sqnr_db: float = 25.0,
                           min_agreement: float = 0.99, max_layers: int = 3,
                           base: Int8Tweaks | None = None, calibration: Calibration | None = None,
                           search_seconds: float | None = None, source_path: Path | None = None) -> RemedyResult:
    """Quantize ``float_path`` to ``out_path``, trying the remedies until the thresholds are met.

    ``samples``: calibration inputs as ``quantize_tflite`` takes them.  ``evaluate(path)``
    returns the candidate's (SQNR dB, top-1 agreement or None) against the original model.
    ``base``: departures every candidate keeps (e.g. layers the user asked to keep in float).
    ``calibration``: ranges shared with the caller's later re-quantizations.
    ``search_seconds``: time the remedies may take after the plain candidate (None: no bound).
    ``source_path``: where the kept candidate's float file is moved when a remedy rewrote it
    (equalization, bias correction); the result's ``source`` names the file either way.
    """
    float_path, out_path = Path(float_path), Path(out_path)
    if max_layers < 1:
        raise ConfigError("max_layers", max_layers, "at least 1")
    if not samples:
        raise ConfigError("samples", len(samples), "at least one calibration sample")
    thresholds = _Thresholds(min_sqnr_db, min_agreement)
    calibration = calibration or Calibration(samples, io=io)
    with _cleaned(_Chain(float_path, out_path, samples, evaluate=evaluate, io=io, thresholds=thresholds,
                         max_layers=max_layers, allow_float=allow_float, calibration=calibration)) as chain:
        best = chain.start(_Candidate(per_channel, tweaks=base or Int8Tweaks()))
        if search_seconds is not None:
            chain.deadline = time.monotonic() + search_seconds
        chain.search_seconds = search_seconds
        if not thresholds.met(best):
            for best in _remedies(chain, best, allow_int16=allow_int16, allow_float=allow_float):
                if thresholds.met(best):
                    break
        rows = chain.sensitivity(best) if chain.affordable("sensitivity", new_source=True, log=False) else []
        assert best.path is not None
        os.replace(best.path, out_path)
        source = float_path
        if best.source is not None and source_path is not None:
            source = Path(source_path)
            os.replace(best.source, source)
    return RemedyResult(tuple(chain.tried), best.used, best.per_channel, best.tweaks.int16_layers,
                        best.tweaks.float_layers, tuple(rows[:_TOP_ROWS]), best.sqnr_db, best.agreement,
                        thresholds.met(best), best.tweaks, source)
