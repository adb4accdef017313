"""The ``int8`` pass for `.tflite`: quantize (int8_tflite.py) with the safety net around it.

One run: the plain recipe and, short of ``int8.min_sqnr_db`` / ``int8.min_agreement``, the
remedies then the other schemes (quant/); on CPU targets float for ops XNNPACK has no kernel
for, timed against fp32; on MCU/NPU targets a fully int8 graph or an error naming the float op.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Int8Config
from ..data import calibration_samples, sample_count
from ..errors import ConfigError, ExportError
from ..quant.int16_layers import check_int16_target, int16_allowed, int16_ops, resolve_int16_layers
from ..quant.scheme_speed import measure_speed
from ..quant.tflite_int8 import (MIN_CALIBRATION_SAMPLES, Int8Tweaks, bounded_samples, float_ops, layers_by_name,
                                 quantize_tflite, supports_int16)
from ..artifact import Artifact, Context, PassBase, replace
from .verify_outputs import candidate_evaluator, short_of_the_bar
from ..tflite.names import layer_paths
from ..targets.types import TargetProfile

# quantize_tflite, Int8Tweaks and supports_int16 are int8_tflite's, int16_allowed int16_layers'; importable from here.
__all__ = ["MIN_CALIBRATION_SAMPLES", "Int8Tweaks", "QuantizeTflite", "bounded_samples", "check_fully_int8",
           "float_allowed", "int16_allowed", "quantize_tflite", "resolve_io", "supports_int16"]


def resolve_io(io: str, target: TargetProfile) -> str:
    """``--io auto``: float on CPU targets, int8 where the device computes int8 end to end."""
    if io != "auto":
        return io
    return "int8" if target.kind in ("mcu", "npu") else "float"


def float_allowed(target: TargetProfile) -> bool:
    return target.compute.float_allowed


def check_fully_int8(path: Path, left_float: list[dict[str, Any]], target: TargetProfile) -> None:
    """An MCU/NPU target computes int8 only: a float op left in the graph is an error naming it."""
    if not left_float or float_allowed(target):
        return
    names = ", ".join(f"{op['op']} ({op['name'][:80]})" for op in left_float[:3])
    more = f" and {len(left_float) - 3} more" if len(left_float) > 3 else ""
    raise ExportError(f"{path.name}: {target.name} runs int8 only, but "
                      f"{len(left_float)} op(s) stayed float after quantization: {names}{more}; the quantizer "
                      "could not quantize them (rewrite that op in the model, or pick a CPU target)")


# Evaluation samples each remedy and fallback candidate runs on (against the model being quantized):
# the first ones verify judges the artifact on (verify.max_samples), at most this many.  Judged on
# fewer samples than verify's, a candidate's verdict can differ from verify's: a dynamic-range file of
# real EfficientNet-Lite0 (made while building its bias correction) had 63/64 top-1 agreement on its
# first 64 eval crops (0.97 met) and 77/80 on all 80 (failed).  Past this many (a user's large eval set) candidates cost too much.
REMEDY_EVAL_SAMPLES = 256
# Output SQNR a per-tensor depthwise file may lose against per-channel and still be kept: 1 dB (~26% more
# noise; pruned MobileNetV2 lost 0.83 dB, unpruned 0.02); a collapse (VGG's 1-channel stem: -3.7 dB) is refused.
SHRINK_MAX_LOSS_DB = 1.0
FALLBACK_ROUNDS = 3  # rounds of "keep the ops XNNPACK left out in float, re-quantize": one is usually enough
_RANGE_WORDS = {"min_max": "min/max over all samples",
                "moving_average": "moving average of each sample's min/max (factor 0.95)",
                "percentile": "min/max clipped at the 99.99th percentile of |activation|"}
@dataclass(frozen=True)
class QuantizeTflite(PassBase):
    """int8 with the safety net: remedies when accuracy falls short, float where int8 would be slow."""

    config: Int8Config
    seed: int = 0
    name: str = "int8"
    requires: tuple[str, ...] = ("path",)

    def check(self, artifact: Artifact, context: Context) -> None:
        check_int16_target(self.config.int16_ops, context.target)  # before any pass runs; names need the file

    def run(self, artifact: Artifact, context: Context) -> tuple[Artifact, dict[str, Any]]:
        from ..quant.remedies import quantize_with_remedies
        from ..quant.tflite_int8 import Calibration, compute_op_count

        target, config = context.target, self.config
        io = resolve_io(config.io, target)
        samples, cost = bounded_samples(calibration_samples(context.calibration_x, config.calibration_samples,
                                                            self.seed, layout=artifact.layout),
                                        compute_op_count(artifact.path), config.calibration_budget)
        # Ranges once per float file, for every step below, by the method the config names or,
        # with "auto", the one measured best on this model (quant/range_method.py).
        calibration = Calibration(samples, io=io, method="min_max" if config.calibration == "auto"
                                  else config.calibration)
        user_float = self._float_layers(artifact.path, target)
        user_int16 = resolve_int16_layers(artifact.path, config.int16_ops, target)  # --int16-ops
        out_path = context.workdir / "model.tflite"
        # the samples verify judges on, up to the cap
        judged = min(REMEDY_EVAL_SAMPLES, context.recipe.verify.max_samples, sample_count(context.eval_x))
        evaluate = candidate_evaluator(artifact, context, judged)
        base = Int8Tweaks(float_layers=tuple(t for ts in user_float.values() for t in ts),
                          int16_layers=tuple(t for ts in user_int16.values() for t in ts))
        range_choice = None
        if config.calibration == "auto":
            from ..quant.range_method import choose_range_method

            range_choice = choose_range_method(
                artifact.path, out_path, calibration, evaluate, per_channel=config.per_channel, io=io,
                tweaks=base, min_sqnr_db=config.min_sqnr_db, min_agreement=config.min_agreement,
                seconds=config.search_seconds / 4)
        remedies = quantize_with_remedies(
            artifact.path, out_path, samples, evaluate=evaluate, per_channel=config.per_channel,
            io=io, allow_int16=int16_allowed(target), allow_float=float_allowed(target),
            min_sqnr_db=config.min_sqnr_db, min_agreement=config.min_agreement,
            base=base, calibration=calibration, search_seconds=config.search_seconds,
            source_path=context.workdir / "model_float_remedied.tflite")
        # Every later step re-quantizes from the float file, weight granularity and tweaks the kept
        # candidate came from, so the shipped file carries every remedy the report lists.
        source = remedies.source or artifact.path
        scheme, fallback = "static_int8", None
        # Another scheme only when static int8 stays under the bar after the remedies as verify judges
        # outputs: SQNR for regressions, agreement (verify's FAILED line) for class scores.  Float
        # compute runs outside XNNPACK's int8 kernels (random-weight DS-CNN: 1 -> 5 partitions; real
        # MobileNetV2, logits at 19 dB, 100% agreement: dynamic-range 2.2x slower than fp32).
        if remedies.sqnr_db < config.min_sqnr_db and config.fallback_schemes and short_of_the_bar(
                out_path, artifact, context, config.min_sqnr_db, judged):
            from ..quant.fallback import try_fallback_schemes

            scheme, fallback = try_fallback_schemes(artifact.path, out_path, calibration, remedies, evaluate, target,
                                                    config, context.recipe.verify.min_agreement)
        range_facts = range_choice or {"method": calibration.method, "tried": "set by int8.calibration"}
        if scheme != "static_int8":
            shipped, facts = self._shipped_scheme(artifact, out_path, scheme, fallback, remedies, cost, calibration,
                                                  target)
            return shipped, {**facts, "range_method": range_facts, "candidate_samples": judged}
        tweaks, shrunk = remedies.tweaks, None
        requantize = _Requantize(source, out_path, calibration, io, remedies.per_channel)
        if config.shrink_depthwise and remedies.per_channel:
            tweaks, shrunk = self._shrink_depthwise(requantize, remedies, evaluate)
        delegation, for_speed, islands = None, [], []
        if target.kind == "cpu":
            allowed = config.float_fallback and float_allowed(target)
            # layers the user asked int16 for stay int16 even where XNNPACK leaves them out
            keep = frozenset(t for ts in user_int16.values() for t in ts)
            delegation, for_speed, tweaks = self._keep_slow_ops_float(requantize, tweaks, allowed=allowed, keep=keep)
            if allowed:
                delegation, islands = self._float_islands(requantize, tweaks, target, delegation, keep=keep)
        left_float = float_ops(out_path)
        check_fully_int8(out_path, left_float, target)
        speed = measure_speed(out_path, artifact.path, scheme) if target.kind == "cpu" else {}  # scheme_speed.py
        facts = {"quantizer": "ai-edge-quantizer", "recipe": "static_wi8_ai8", "scheme": scheme,
                 "scheme_why": "static int8 met the accuracy thresholds" if remedies.met else None,
                 "fallback": fallback, "calibration": _RANGE_WORDS[calibration.method],
                 "range_method": range_facts,
                 "calibration_cost": {**cost, "runs": calibration.log},
                 "float_source": _source_facts(source, artifact.path, remedies),
                 "weights": "int8 per-channel" if remedies.per_channel else "int8 per-tensor",
                 "activations": "int8", "io": "int8" if io == "int8" else "float32",
                 "calibration_samples": len(samples), "candidate_samples": judged, "float_ops": left_float,
                 "float_ops_requested": user_float or None, "float_for_speed": for_speed,
                 "int16_ops": int16_ops(out_path), "int16_ops_requested": user_int16 or None,
                 "float_islands": islands, "depthwise_per_tensor": shrunk,
                 "remedies": _remedy_facts(remedies),
                 "delegation": _delegation_facts(delegation), "latency_vs_fp32": speed.get("latency_vs_fp32"),
                 "warnings": [*_warnings(remedies, delegation, config), *speed.get("warnings", [])]}
        return replace(artifact, path=out_path, quantized=True), facts

    def _float_layers(self, float_path: Path, target: TargetProfile) -> dict[str, list[str]]:
        """``--float-ops`` names -> the ops' first output tensors in the float file."""
        if not self.config.float_ops:
            return {}
        if not float_allowed(target):
            raise ConfigError("int8.float_ops", ",".join(self.config.float_ops),
                              f"no float ops on {target.name}: it runs int8 only")
        return layers_by_name(float_path, self.config.float_ops)

    def _shrink_depthwise(self, requantize: "_Requantize", remedies: Any,
                          evaluate) -> tuple[Int8Tweaks, dict[str, Any] | None]:
        """One weight scale per depthwise filter instead of one per channel, where that costs nothing.

        A depthwise layer's per-channel scales and zero-points (plus its bias's) take 24 bytes
        a channel: a quarter of a MobileNetV2 int8 file's bytes after stripping were
        quantization parameters.  Per-tensor depthwise weights can collapse accuracy
        (PITFALLS.md), so the smaller file is kept only when its output SQNR stays within
        ``SHRINK_MAX_LOSS_DB`` of the per-channel one and top-1 agreement does not drop.
        """
        import os

        from ..errors import CompressorError
        from ..files import sibling_temp
        from ..tflite.names import ops_by_layer

        out_path = requantize.out_path
        if "DEPTHWISE_CONV_2D" not in {op for op, _, _ in ops_by_layer(requantize.source)}:
            return remedies.tweaks, None
        tweaks = replace(remedies.tweaks, per_tensor_ops=("DEPTHWISE_CONV_2D",))
        with sibling_temp(out_path, ".tflite") as candidate:
            try:
                requantize.write(candidate, tweaks)
            except CompressorError as error:  # the quantizer refused the mix: per-channel stays
                return remedies.tweaks, {"kept": False, "note": str(error)[:200]}
            sqnr_db, agreement = evaluate(candidate)
            facts = {"sqnr_db": round(float(sqnr_db), 3), "sqnr_db_per_channel": round(float(remedies.sqnr_db), 3),
                     "size_bytes": candidate.stat().st_size, "size_bytes_per_channel": out_path.stat().st_size}
            kept = (sqnr_db >= remedies.sqnr_db - SHRINK_MAX_LOSS_DB
                    and facts["size_bytes"] < facts["size_bytes_per_channel"]
                    and (agreement is None or remedies.agreement is None or agreement >= remedies.agreement))
            facts["kept"] = bool(kept)
            if kept:
                os.replace(candidate, out_path)
                return tweaks, facts
            return remedies.tweaks, facts

    def _keep_slow_ops_float(self, requantize: "_Requantize", tweaks: Int8Tweaks, *, allowed: bool,
                             keep: frozenset[str] = frozenset()) -> tuple[Any, list[dict[str, Any]], Int8Tweaks]:
        """Re-quantize with the int8 ops XNNPACK leaves out kept in float, until none is left out.

        An int8 op outside the delegate splits the graph and runs on slow reference-style
        kernels (MobileNetV3's HARD_SWISH, LayerNorm's RSQRT: int8 2-5x slower than float);
        the same op in float runs inside XNNPACK at float speed.
        """
        from ..measure.delegation import inspect_delegation

        delegation, moved = inspect_delegation(requantize.out_path), []
        for _ in range(FALLBACK_ROUNDS if allowed else 0):
            slow = [node for node in delegation.not_delegated
                    if node["dtype"] in ("int8", "int16", "uint8") and node["name"] not in keep]
            known = set(tweaks.float_layers)
            names = [node["name"] for node in slow if node["name"] not in known]
            if not names:
                break
            wider = replace(tweaks, float_layers=(*tweaks.float_layers, *names),
                            int16_layers=tuple(n for n in tweaks.int16_layers if n not in names))
            if not requantize(wider):
                break  # the quantizer cannot take this split: the artifact stays as it was
            tweaks = wider
            moved += [{"op": node["op"], "name": node["name"], "layers": layer_paths(node["name"])} for node in slow]
            delegation = inspect_delegation(requantize.out_path)
        return delegation, moved, tweaks

    def _float_islands(self, requantize: "_Requantize", tweaks: Int8Tweaks, target: TargetProfile,
                       delegation: Any, *, keep: frozenset[str] = frozenset()) -> tuple[Any, list[dict[str, Any]]]:
        """Keep float the int8 islands the target's cost model says do not pay (quant/islands.py)."""
        from ..measure.delegation import inspect_delegation
        from ..quant.islands import costly_islands

        islands = [i for i in costly_islands(requantize.source, requantize.out_path, target) if i["name"] not in keep]
        if not islands:
            return delegation, []
        tweaks = replace(tweaks, float_layers=(*tweaks.float_layers, *(i["name"] for i in islands)))
        if not requantize(tweaks):
            return delegation, []
        return inspect_delegation(requantize.out_path), [{**i, "layers": layer_paths(i["name"])} for i in islands]

    def _shipped_scheme(self, artifact: Artifact, out_path: Path, scheme: str, fallback: dict[str, Any],
                        remedies: Any, cost: dict[str, Any], calibration: Any,
                        target: TargetProfile) -> tuple[Artifact, dict[str, Any]]:
        """Facts for an artifact of a fallback scheme (no float-for-speed steps: they re-quantize static int8)."""
        from collections import Counter

        from ..measure.delegation import inspect_delegation
        from ..quant.schemes import SCHEMES

        delegation = inspect_delegation(out_path) if target.kind == "cpu" else None
        speed = fallback.get("speed") or {}
        float_counts = Counter(op["op"] for op in float_ops(out_path))
        note = (f"int8: shipped {scheme} ({SCHEMES[scheme][1]}): {fallback['why']}; "
                f"{sum(float_counts.values())} op(s) compute in float")
        facts = {"quantizer": "ai-edge-quantizer", "recipe": SCHEMES[scheme][0], "scheme": scheme,
                 "scheme_why": fallback["why"], "fallback": fallback,
                 "calibration_cost": {**cost, "runs": calibration.log},
                 "float_source": _source_facts(artifact.path, artifact.path, None),
                 "weights": "int8 per-channel", "activations": SCHEMES[scheme][1], "io": "float32",
                 "calibration_samples": cost["samples"], "float_ops": [], "float_op_counts": dict(float_counts),
                 "float_layers": fallback.get("float_layers", []), "bias_correction": fallback.get("bias_correction"),
                 "float_ops_requested": None, "float_for_speed": speed.get("float_for_speed", []),
                 "float_islands": [], "depthwise_per_tensor": None, "remedies": _remedy_facts(remedies),
                 "delegation": _delegation_facts(delegation), "latency_vs_fp32": speed.get("latency_vs_fp32"),
                 "warnings": [note, *_delegation_warnings(delegation), *speed.get("warnings", [])]}
        return replace(artifact, path=out_path, quantized=True), facts


@dataclass(frozen=True)
class _Requantize:
    """Quantize the kept candidate's float file again with other tweaks (ranges from ``calibration``)."""

    source: Path  # the float file the kept candidate came from (equalized / bias-corrected or not)
    out_path: Path
    calibration: Any
    io: str
    per_channel: bool

    def write(self, path: Path, tweaks: Int8Tweaks) -> None:
        quantize_tflite(self.source, path, self.calibration.samples, per_channel=self.per_channel, io=self.io,
                        tweaks=tweaks, calibration=self.calibration)

    def __call__(self, tweaks: Int8Tweaks) -> bool:
        """Into ``out_path``; False (file untouched) when the quantizer cannot (ai-edge-quantizer
        refuses some float/int8 splits)."""
        import os

        from ..errors import CompressorError
        from ..files import sibling_temp

        with sibling_temp(self.out_path, ".tflite") as candidate:
            try:
                self.write(candidate, tweaks)
            except CompressorError:
                return False
            os.replace(candidate, self.out_path)
            return True


def _source_facts(source: Path, original: Path, remedies: Any) -> dict[str, Any]:
    """Which float file the artifact was quantized from, and the remedies written into it."""
    rewritten = [r for r in (remedies.used if remedies is not None else ()) if r in ("equalize", "bias_correction")]
    return {"file": Path(source).name, "is_export": Path(source) == Path(original), "rewritten_by": rewritten}


def _remedy_facts(remedies: Any) -> dict[str, Any]:
    facts = remedies.to_dict()
    # worst layers first, by module path; the tensor lists of each row stay out of the report
    facts["sensitivity"] = [{k: v for k, v in row.items() if k != "inputs"} for row in facts["sensitivity"]]
    return facts


def _delegation_facts(delegation: Any) -> dict[str, Any] | None:
    if delegation is None:
        return None
    facts = delegation.to_dict()
    facts.pop("path", None)  # a temporary directory: not part of a reproducible report
    return facts


def _warnings(remedies: Any, delegation: Any, config: Int8Config) -> list[str]:
    notes = []
    if remedies.used:
        notes.append(f"int8: plain int8 fell below {config.min_sqnr_db:g} dB SQNR / {config.min_agreement:g} "
                     f"agreement; used {', '.join(remedies.used)} (now {remedies.sqnr_db:.1f} dB)")
    elif not remedies.met:
        notes.append(f"int8: output SQNR {remedies.sqnr_db:.1f} dB is below {config.min_sqnr_db:g} dB and no "
                     "remedy improved it; see the int8 step's remedies and sensitivity")
    return notes + _delegation_warnings(delegation)


def _delegation_warnings(delegation: Any) -> list[str]:
    if delegation is None or not delegation.not_delegated:
        return []
    left = ", ".join(delegation.ops_left_out()[:6])
    return [f"int8: {len(delegation.not_delegated)} op(s) run outside XNNPACK ({left}); "
            f"{delegation.partitions} partitions"]
