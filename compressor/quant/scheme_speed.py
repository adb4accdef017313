"""Never ship an int8 file slower than fp32 without saying so: the fallback schemes' speed, made and measured.

A fallback scheme (schemes.py) computes some ops in float around int8 weights.  XNNPACK, the
CPU delegate LiteRT runs, has no kernel for some of those hybrid ops: a dynamic-range
DEPTHWISE_CONV_2D (int8 weights, float activations) stays on LiteRT's reference kernel.  Silero
VAD's STFT (a 1 -> 258 channel conv over the raw audio, a depthwise conv to the converter) shipped
that way at 1.6x its fp32 latency: the one op took more time than the whole fp32 file.  Two
steps, on CPU targets:

1. ``keep_undelegated_float``: every conv / fully-connected op the fp32 file's delegate takes
   but the scheme's file leaves out is kept float (float runs inside XNNPACK), the file
   re-quantized and re-evaluated (Silero: 0.73x fp32, the SQNR unchanged).  Decided by what the
   runtime delegates, so the same inputs give the same file.
2. ``measure_speed``: the shipped file against the fp32 file, in LiteRT on this host, one thread,
   interleaved medians (measure/speed.py).  A file still clearly slower (``CLEARLY_SLOWER``)
   is replaced by weight-only int8 (float compute: fp32 speed, a quarter of the weight bytes)
   when that holds the accuracy bar and measures not slower; otherwise it ships and the report
   and a warning say so, with both latencies.  Host figures: what carries over to a phone's
   LiteRT is which ops XNNPACK leaves out, not the ratio.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from ..errors import CompressorError
from .schemes import SchemeTrial, quantize_scheme, weight_layers

__all__ = ["CLEARLY_SLOWER", "FLOAT_OPS_SCHEMES", "describe_float_layers", "keep_undelegated_float", "measure_speed", "speed_up_scheme",
           "speed_verdict"]

# Off: a choice made on a timing makes the artifact depend on the machine's load (the LSTM test
# shipped weight_only instead of dynamic_range under the full suite), and the same inputs must give
# the same file.  The timing is still measured and a slower file still says so (speed_verdict).
REPLACE_BY_TIMING = False
# A scheme's file measured above this multiple of fp32 is replaced by weight-only int8 when that
# holds: far above the timing noise (medians of one file differ by <= 3% between rounds here), so
# the choice does not flip between runs of the same inputs.
CLEARLY_SLOWER = 1.2
# Schemes whose float ops quantize_scheme honours (float activations around them already).
FLOAT_OPS_SCHEMES = ("dynamic_range", "weight_only")


def keep_undelegated_float(float_path: Path, path: Path, trial: SchemeTrial, *, temp: Callable[[str], Path],
                           calibration: Any, evaluate: Callable, met: Callable
                           ) -> tuple[Path, SchemeTrial, list[dict[str, Any]]]:
    """``path`` (``trial``'s file) again with the compute ops XNNPACK leaves out of it, but not
    out of ``float_path``, kept float; the same file and trial when there are none or the
    quantizer refuses the split.  Returns the path, its trial and one row per op moved."""
    from ..measure.delegation import undelegated_compute_ops
    from ..tflite.names import layer_paths

    if trial.scheme not in FLOAT_OPS_SCHEMES:  # int16 activations: quantize_scheme keeps no op float
        return path, trial, []
    slow = undelegated_compute_ops(path, float_path)
    if not slow:
        return path, trial, []
    layers = weight_layers(float_path)
    names = {node["name"] for node in slow}
    moved_layers = tuple(name for name, layer in layers.items() if names & set(layer["ops"])
                         and name not in trial.float_layers)
    float_ops = tuple(sorted({*(op for name in trial.float_layers for op in layers.get(name, {}).get("ops", ())),
                               *names}))
    candidate, start = temp(f".{trial.scheme}.delegated.tflite"), time.monotonic()
    try:
        quantize_scheme(float_path, candidate, trial.scheme, calibration=calibration, float_ops=float_ops,
                        bias_correction=trial.bias_corrected)
        sqnr_db, agreement = evaluate(candidate)
    except CompressorError:
        return path, trial, []
    kept = SchemeTrial(trial.scheme, float(sqnr_db), None if agreement is None else float(agreement),
                       candidate.stat().st_size, time.monotonic() - start, bool(met(sqnr_db, agreement)),
                       float_layers=(*trial.float_layers, *moved_layers), bias_corrected=trial.bias_corrected)
    if trial.met and not kept.met:  # float for speed must not cost the bar (it adds no rounding: rare)
        return path, trial, []
    return candidate, kept, [{"op": node["op"], "name": node["name"], "layers": layer_paths(node["name"])}
                             for node in slow]


def measure_speed(shipped: Path, fp32: Path, scheme: str) -> dict[str, Any]:
    """The shipped file's latency against fp32's (``latency_vs_fp32``) and, when it is slower, a
    ``warnings`` line with both figures."""
    from ..measure.speed import compare_latency

    try:
        comparison = compare_latency({scheme: shipped, "fp32": fp32}, baseline="fp32")
    except CompressorError as error:  # a file the runtime cannot time: verify reports it, not this
        return {"error": str(error)[:200]}
    return speed_verdict({}, comparison, scheme)


def speed_up_scheme(float_path: Path, path: Path, trial: SchemeTrial, *, temp: Callable[[str], Path],
                    calibration: Any, evaluate: Callable, met: Callable
                    ) -> tuple[Path, SchemeTrial, dict[str, Any]]:
    """Steps 1 and 2 of the module docstring for a fallback scheme's best file: the file and trial
    to ship, and facts (ops kept float for speed, the latency comparison, what was tried)."""
    from ..measure.speed import compare_latency

    before = trial.float_layers
    path, trial, moved = keep_undelegated_float(float_path, path, trial, temp=temp, calibration=calibration,
                                                evaluate=evaluate, met=met)
    facts: dict[str, Any] = {"float_for_speed": moved,
                             "layers_for_speed": [name for name in trial.float_layers if name not in before]}
    try:
        first = compare_latency({trial.scheme: path, "fp32": float_path}, baseline="fp32")
    except CompressorError as error:
        return path, trial, {**facts, "error": str(error)[:200]}
    facts["measured"] = [{"scheme": trial.scheme, **first.to_dict()}]
    if not REPLACE_BY_TIMING or trial.scheme == "weight_only" or first.ratio(trial.scheme) <= CLEARLY_SLOWER:
        return path, trial, speed_verdict(facts, first, trial.scheme)
    candidate, start = temp(".weight_only.speed.tflite"), time.monotonic()
    layers = weight_layers(float_path)
    float_ops = tuple(op for name in trial.float_layers for op in layers.get(name, {}).get("ops", ()))
    try:
        quantize_scheme(float_path, candidate, "weight_only", calibration=calibration, float_ops=float_ops,
                        bias_correction=trial.bias_corrected)
        sqnr_db, agreement = evaluate(candidate)
        second = compare_latency({"weight_only": candidate, "fp32": float_path}, baseline="fp32")
    except CompressorError as error:
        return path, trial, {**speed_verdict(facts, first, trial.scheme), "weight_only_error": str(error)[:200]}
    facts["measured"].append({"scheme": "weight_only", "sqnr_db": round(float(sqnr_db), 3), **second.to_dict()})
    if met(sqnr_db, agreement) and not second.slower("weight_only"):
        facts["replaced"] = (f"{trial.scheme} ran {first.describe(trial.scheme)}; weight_only holds the bar at "
                             f"{float(sqnr_db):.1f} dB and runs {second.describe('weight_only')}")
        trial = SchemeTrial("weight_only", float(sqnr_db), None if agreement is None else float(agreement),
                            candidate.stat().st_size, time.monotonic() - start, True,
                            float_layers=trial.float_layers, bias_corrected=trial.bias_corrected)
        return candidate, trial, speed_verdict(facts, second, "weight_only")
    return path, trial, speed_verdict(facts, first, trial.scheme)


def speed_verdict(facts: dict[str, Any], comparison: Any, scheme: str) -> dict[str, Any]:
    """The shipped scheme's latency against fp32 and, when slower, the warning that says so."""
    facts = {**facts, "latency_vs_fp32": {**comparison.to_dict(), "slower_than_fp32": comparison.slower(scheme)}}
    if comparison.slower(scheme):
        facts["warnings"] = [f"int8: the shipped {scheme} file runs slower than fp32: {comparison.describe(scheme)}; "
                             "no int8 scheme tried ran faster at the accuracy bar"]
    return facts


def describe_float_layers(trial: SchemeTrial, for_speed: list[str]) -> str:
    """" with ... float (why)" for a shipped fallback's float layers: those the search kept (with
    what each bought, ``SchemeTrial.float_reasons``) and those kept float for speed."""
    speed = [name for name in for_speed if name not in trial.float_for_speed]
    lost = [name for name in trial.float_layers if name not in speed]
    parts = []
    if lost:
        reasons = trial.float_reasons() if not speed else "the layers that lost most alone"
        parts.append(f"{', '.join(lost)} kept float ({reasons})")
    if speed:
        parts.append(f"{', '.join(speed)} float (XNNPACK has no {trial.scheme} kernel for it)")
    return f" with {' and '.join(parts)}" if parts else ""
