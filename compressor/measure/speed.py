"""Is an int8 file slower than the float file it came from?  Measured, on this host, in LiteRT.

    comparison = compare_latency({"int8": "model.tflite", "fp32": "model_float.tflite"}, baseline="fp32")
    comparison.ratio("int8"), comparison.slower("int8"), comparison.describe("int8")

Why measured and not estimated: the slowness this catches comes from what the runtime does
with an op, not from its arithmetic.  Silero VAD's STFT is a 1-input-channel conv that the
converter writes as a DEPTHWISE_CONV_2D; dynamic-range int8 makes it a hybrid op (int8
weights, float activations) that XNNPACK has no kernel for, so it runs on LiteRT's reference
kernel outside the delegate: 0.149 ms against the fp32 file's 0.093 ms (1.6x), while the cost
model, which sees int8 MACs, predicts the int8 file faster.  Every file runs in the same
process, one thread, taking turns (``bench.time_interleaved``), and the medians after warm-up
are compared, so load on a shared machine hits them alike.  The figures are this host's (its
CPU is named in ``cpu``); what carries over to a phone's LiteRT is which ops XNNPACK takes.

A file counts as slower only beyond ``SLOWER_MARGIN`` (medians of the same file in two
interleaved rounds differed by up to 3% here, on a shared 2-core machine).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bench import cpu_description, open_invoker, time_interleaved

__all__ = ["LatencyComparison", "SLOWER_MARGIN", "compare_latency"]

# A file is "slower" than the baseline when its median exceeds the baseline's by more than this share.
SLOWER_MARGIN = 0.05
# Time spent timing, per comparison: small models get many rounds, big ones at least MIN_ROUNDS.
BUDGET_SECONDS = 3.0
MIN_ROUNDS, MAX_ROUNDS, WARMUP_ROUNDS = 5, 200, 3


@dataclass(frozen=True)
class LatencyComparison:
    median_ms: dict[str, float]  # name -> median milliseconds per run
    baseline: str  # the name the others are compared with (the fp32 file)
    rounds: int
    cpu: str

    def ratio(self, name: str) -> float:
        return self.median_ms[name] / self.median_ms[self.baseline]

    def slower(self, name: str) -> bool:
        return self.ratio(name) > 1.0 + SLOWER_MARGIN

    def describe(self, name: str) -> str:
        return (f"{self.median_ms[name]:.3f} ms against fp32 {self.median_ms[self.baseline]:.3f} ms "
                f"({self.ratio(name):.2f}x; this host, LiteRT 1 thread, interleaved medians of {self.rounds})")

    def to_dict(self) -> dict[str, Any]:
        return {"median_ms": {k: round(v, 4) for k, v in self.median_ms.items()}, "baseline": self.baseline,
                "ratio": {k: round(self.ratio(k), 3) for k in self.median_ms if k != self.baseline},
                "slower_margin": SLOWER_MARGIN, "rounds": self.rounds, "cpu": self.cpu,
                "runtime": "litert", "threads": 1}


def compare_latency(paths: dict[str, Path | str], *, baseline: str,
                    budget_seconds: float = BUDGET_SECONDS) -> LatencyComparison:
    """Median latency of every file in ``paths`` (name -> .tflite), measured interleaved on one thread.

    One untimed run of each sizes the number of rounds to ``budget_seconds`` (between
    MIN_ROUNDS and MAX_ROUNDS), after WARMUP_ROUNDS rounds (first-run allocation, XNNPACK
    weight packing).  Inputs are the same seeded random data for every file (bench.make_inputs):
    the ops timed here do not branch on values.
    """
    if baseline not in paths:
        raise KeyError(f"baseline {baseline!r} is not one of {sorted(paths)}")
    names = list(paths)
    invokers = [open_invoker(Path(paths[name]), threads=1) for name in names]
    start = time.perf_counter()
    for invoke in invokers:
        invoke()
    one_round = max(time.perf_counter() - start, 1e-6)
    rounds = int(min(MAX_ROUNDS, max(MIN_ROUNDS, budget_seconds / one_round - WARMUP_ROUNDS)))
    times = time_interleaved(invokers, runs=rounds, warmup=WARMUP_ROUNDS)
    return LatencyComparison({name: statistics.median(t) for name, t in zip(names, times)}, baseline, rounds,
                             cpu_description())
