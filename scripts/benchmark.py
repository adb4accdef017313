"""Benchmark the whole job on the zoo: fp32 vs int8, measured in one run on this host.

Usage:
    python scripts/benchmark.py                       # every zoo model, TFLite
    python scripts/benchmark.py --formats tflite,onnx # also the ONNX route (ORT latency)
    python scripts/benchmark.py --models vgg_digits --runs 50 --json

For each zoo model it runs `compress` as a user would (a subprocess, wall time measured),
then times the fp32 and int8 artifacts in their runtime with 1 thread, interleaved
(fp32, int8, fp32, ...) after a warm-up, and reports medians: on a shared, noisy machine
only ratios measured in the same run mean anything. The CPU model and SIMD flags are
printed with the table, since host int8/fp32 ratios differ between CPUs and are never
phone figures (the target estimate in the report is for that).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
_SIMD_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm", "sve")


def cpu_description() -> str:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            if key.strip() in ("flags", "Features"):
                flags.update(value.split())
    except OSError:
        pass
    simd = [flag for flag in _SIMD_FLAGS if flag in flags]
    return f"{model} [{' '.join(simd) or 'no SIMD flags read'}]"


def time_help(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "compressor.cli", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_interleaved(paths: list[Path], x: np.ndarray, *, runs: int, warmup: int) -> list[float]:
    """Median ms per inference of each artifact, runs interleaved so drift hits all alike."""
    from compressor.runtime import open_runtime

    runners = [open_runtime(path, num_threads=1) for path in paths]
    sample = [x[:1]]
    for runner in runners:
        for _ in range(warmup):
            runner.run(sample)
    samples: list[list[float]] = [[] for _ in runners]
    for _ in range(runs):
        for k, runner in enumerate(runners):
            start = time.perf_counter()
            runner.run(sample)
            samples[k].append((time.perf_counter() - start) * 1e3)
    return [statistics.median(s) for s in samples]


def benchmark_model(name: str, fmt: str, workdir: Path, *, runs: int, warmup: int) -> dict:
    from compressor.zoo import data_path, weights_path

    out = workdir / f"{name}-{fmt}"
    command = [sys.executable, "-m", "compressor.cli", str(weights_path(name)), "--target", "android-arm64",
               "--format", fmt, "--data", str(data_path("train")), "--eval", str(data_path("test")),
               "--out", str(out), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall_s = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"compress failed on {name} ({fmt}): {done.stderr.strip()}")
    report = json.loads((out / "report.json").read_text())
    x = np.load(data_path("test"))["x"]
    fp32_ms, int8_ms = time_interleaved([out / report["float_artifact"], out / report["artifact"]], x,
                                        runs=runs, warmup=warmup)
    o, c = report["original"], report["compressed"]
    return {"model": name, "format": fmt, "status": report["status"],
            "fp32_bytes": o["size_bytes"], "int8_bytes": c["size_bytes"],
            "size_ratio": c["size_bytes"] / o["size_bytes"],
            "fp32_accuracy": o["accuracy"], "int8_accuracy": c["accuracy"],
            "accuracy_drop_points": 100 * (o["accuracy"] - c["accuracy"]),
            "agreement": c["agreement"], "sqnr_db": c["sqnr_db"],
            "fp32_ms": fp32_ms, "int8_ms": int8_ms, "int8_over_fp32": int8_ms / fp32_ms,
            "estimate_ms": report["estimate"]["latency_ms"], "compress_wall_s": wall_s}


def print_table(rows: list[dict], cpu: str, help_s: float) -> None:
    header = ("model", "fmt", "fp32 KB", "int8 KB", "size", "acc fp32", "acc int8", "drop pt",
              "agree", "SQNR dB", "fp32 ms", "int8 ms", "int8/fp32", "est ms A76", "compress s")
    print(f"CPU: {cpu}; runtimes run 1 thread, medians of interleaved runs")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = (r["model"], r["format"], f"{r['fp32_bytes'] / 1e3:.1f}", f"{r['int8_bytes'] / 1e3:.1f}",
                 f"{r['size_ratio']:.2f}x", f"{100 * r['fp32_accuracy']:.2f}%", f"{100 * r['int8_accuracy']:.2f}%",
                 f"{r['accuracy_drop_points']:+.2f}", f"{100 * r['agreement']:.2f}%", f"{r['sqnr_db']:.1f}",
                 f"{r['fp32_ms']:.3f}", f"{r['int8_ms']:.3f}", f"{r['int8_over_fp32']:.2f}x",
                 f"{r['estimate_ms']:.3f}", f"{r['compress_wall_s']:.1f}")
        print("| " + " | ".join(cells) + " |")
    print(f"\n`compress --help`: {help_s:.2f} s (median of 5)")


def main(argv: list[str] | None = None) -> int:
    from compressor.zoo import ZOO

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(ZOO), help="comma-separated zoo names")
    parser.add_argument("--formats", default="tflite", help="tflite, onnx or both, comma-separated")
    parser.add_argument("--runs", type=int, default=100, help="timed runs per artifact")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.models.split(","):
            for fmt in args.formats.split(","):
                rows.append(benchmark_model(name, fmt, Path(workdir), runs=args.runs, warmup=args.warmup))
    cpu, help_s = cpu_description(), time_help()
    if args.json:
        print(json.dumps({"cpu": cpu, "help_seconds": help_s, "rows": rows}, indent=2))
    else:
        print_table(rows, cpu, help_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
