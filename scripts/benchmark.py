"""Benchmark the whole job on the zoo: fp32 vs int8, measured in one run on this host.

Usage:
    python scripts/benchmark.py                       # every zoo model, TFLite
    python scripts/benchmark.py --formats tflite,onnx # also the ONNX route (ORT latency)
    python scripts/benchmark.py --models vgg_digits --runs 50 --json
    python scripts/benchmark.py --prune channels:0.5                    # channel-pruning rows too
    python scripts/benchmark.py --prune unstructured:0.8,2:4            # sparse-weight table + targets
    python scripts/benchmark.py --dsconv 'auto;all:1'                  # depthwise-separable rows too

For each zoo model it runs `compress` as a user would (a subprocess, wall time measured),
then times the fp32 and int8 artifacts in their runtime with 1 thread, interleaved
(fp32, int8, fp32, ...) after a warm-up, and reports medians: on a shared, noisy machine
only ratios measured in the same run mean anything. The CPU model and SIMD flags are
printed with the table, since host int8/fp32 ratios differ between CPUs and are never
phone figures (the target estimate in the report is for that).

Unstructured and 2:4 pruning get their own table: the sizes the `sparsify` pass reports
(dense int8 file, TFLite sparse file, gzip / zstd of the shipped one) against the unpruned
float export, accuracy, and the must-show targets as PASS/FAIL lines under it.  Latency is
still timed against the unpruned int8 file: LiteRT densifies sparse weights at load.
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
SPARSE_METHODS = ("unstructured", "2:4")  # the --prune methods the sparsify pass follows
# Must-show targets of the sparse table, (label, row key, upper bound), checked for models with
# more than SPARSE_TARGETS_MIN_PARAMS parameters (smaller ones have little to strip).
SPARSE_TARGETS = (("gzip/fp32", "gzip_over_fp32", 0.12), ("sparse/dense", "sparse_over_dense", 0.6),
                  ("drop pt", "accuracy_drop_points", 1.0), ("|achieved-requested|", "achieved_error", 0.02))
SPARSE_TARGETS_MIN_PARAMS = 200_000


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
    """Median ms per inference of each artifact on ``x``'s first sample, taking turns in blocks
    (``compressor.measure.bench.time_interleaved``) so drift hits all alike."""
    from compressor.measure.bench import time_interleaved as take_turns
    from compressor.measure.runtime import open_runtime

    sample = [x[:1]]
    runners = [open_runtime(path, num_threads=1) for path in paths]
    invokers = [lambda runner=runner: runner.run(sample) for runner in runners]
    return [statistics.median(s) for s in take_turns(invokers, runs=runs, warmup=warmup)]


def benchmark_model(name: str, fmt: str, workdir: Path, *, runs: int, warmup: int) -> dict:
    from compressor.zoo import data_path

    out = workdir / f"{name}-{fmt}"
    try:
        report, wall_s = _compress(name, out, ["--format", fmt])
    except RuntimeError as error:
        raise SystemExit(f"compress failed on {name} ({fmt}): {error}") from None
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


def _compress(name: str, out: Path, extra: list[str]) -> tuple[dict, float]:
    from compressor.zoo import data_path, weights_path

    command = [sys.executable, "-m", "compressor.cli", str(weights_path(name)), "--target", "android-arm64",
               "--data", str(data_path("train")), "--eval", str(data_path("test")), "--out", str(out), "--quiet",
               *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall_s = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return json.loads((out / "report.json").read_text()), wall_s


def _base_run(name: str, workdir: Path) -> tuple[Path, dict]:
    """The plain int8 tflite run of ``name`` (made once per workdir): its folder and report."""
    base_out = workdir / f"{name}-tflite"
    if not (base_out / "report.json").is_file():
        _compress(name, base_out, ["--format", "tflite"])
    return base_out, json.loads((base_out / "report.json").read_text())


def _step(report: dict, name: str) -> dict | None:
    return next((step for step in report["steps"] if step["name"] == name), None)


def sparse_row(report: dict, out: Path, int8_ms: float, pruned_ms: float, wall_s: float) -> dict:
    """The sparse-table facts of one unstructured / 2:4 compress run into ``out``: dense and sparse
    sizes from its sparsify step, gzip / zstd of the final artifact (later passes may rewrite it)."""
    from compressor.files import ota_sizes

    prune, sparsify = _step(report, "prune"), _step(report, "sparsify")
    if prune is None or sparsify is None:
        return {"error": "the report has no prune or sparsify step"}
    o, c, final = report["original"], report["compressed"], ota_sizes(out / report["artifact"])
    return {"status": report["status"], "params": o["params"], "requested": prune["requested"],
            "achieved": prune["achieved"], "achieved_error": abs(prune["achieved"] - prune["requested"]),
            "layers_pruned": len(prune["layers"]), "layers_skipped": [s["name"] for s in prune["skipped"]],
            "fp32_bytes": o["size_bytes"], "dense_bytes": sparsify["dense_size_bytes"],
            "sparse_bytes": sparsify["sparse_size_bytes"],
            "sparse_over_dense": sparsify["sparse_size_bytes"] / sparsify["dense_size_bytes"],
            "sparse_kept": sparsify["kept"], "artifact_bytes": c["size_bytes"],
            "gzip_bytes": final["gzip"], "zstd_bytes": final["zstd"], "gzip_over_fp32": final["gzip"] / o["size_bytes"],
            "ota_bytes": sparsify["ota_bytes"], "outputs_identical": sparsify["outputs_identical"],
            "fp32_accuracy": o["accuracy"], "pruned_accuracy": c["accuracy"],
            "accuracy_drop_points": 100 * (o["accuracy"] - c["accuracy"]),
            "int8_ms": int8_ms, "pruned_ms": pruned_ms, "latency_ratio": pruned_ms / int8_ms,
            "recovery_s": (prune.get("recovery") or {}).get("seconds"), "compress_wall_s": wall_s}


def benchmark_pruning(name: str, spec: str, workdir: Path, *, runs: int, warmup: int) -> dict:
    """One pruning spec + int8 against the unpruned int8 artifact, both timed interleaved here."""
    from compressor.files import gzip_size
    from compressor.zoo import data_path

    base_out, base = _base_run(name, workdir)
    out = workdir / f"{name}-{spec.replace(':', '_')}"
    row: dict = {"model": name, "prune": spec, "method": spec if spec == "2:4" else spec.partition(":")[0]}
    try:
        report, wall_s = _compress(name, out, ["--format", "tflite", "--prune", spec])
    except RuntimeError as error:
        return {**row, "error": str(error)}
    x = np.load(data_path("test"))["x"]
    base_ms, pruned_ms = time_interleaved([base_out / base["artifact"], out / report["artifact"]], x,
                                          runs=runs, warmup=warmup)
    if row["method"] in SPARSE_METHODS:
        return {**row, **sparse_row(report, out, base_ms, pruned_ms, wall_s)}
    prune = _step(report, "prune")
    o, c, b = report["original"], report["compressed"], base["compressed"]
    artifact = out / report["artifact"]
    return {**row, "status": report["status"], "achieved": prune["achieved"],
            "params_before": prune["params_before"], "params_after": prune["params_after"],
            "macs_ratio": prune["macs_after"] / prune["macs_before"],
            "graph_macs_ratio": c["macs"] / b["macs"],
            "fp32_bytes": o["size_bytes"], "int8_bytes": b["size_bytes"], "pruned_bytes": c["size_bytes"],
            "pruned_gzip_bytes": gzip_size(artifact), "int8_gzip_bytes": gzip_size(base_out / base["artifact"]),
            "fp32_accuracy": o["accuracy"], "pruned_accuracy": c["accuracy"],
            "accuracy_drop_points": 100 * (o["accuracy"] - c["accuracy"]),
            "int8_ms": base_ms, "pruned_ms": pruned_ms, "latency_ratio": pruned_ms / base_ms,
            "recovery_s": (prune.get("recovery") or {}).get("seconds"), "compress_wall_s": wall_s}


def print_markdown_header(header: tuple[str, ...]) -> None:
    print_markdown_row(header)
    print("|" + "---|" * len(header))


def print_markdown_row(cells) -> None:
    print("| " + " | ".join(cells) + " |")


def print_prune_table(rows: list[dict]) -> None:
    header = ("model", "prune", "achieved", "params", "MACs x", "fp32 KB", "int8 KB", "pruned KB", "gzip KB",
              "gzip/fp32", "acc fp32", "acc pruned", "drop pt", "int8 ms", "pruned ms",
              "latency x", "recovery s", "compress s")
    print("\nPruning + int8 vs the unpruned int8 artifact (LiteRT, 1 thread, interleaved medians)")
    print_markdown_header(header)
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | {r['prune']} | error: {r['error']} |")
            continue
        cells = (r["model"], r["prune"], f"{100 * r['achieved']:.1f}%", f"{r['params_before']:,}->{r['params_after']:,}",
                 f"{r['macs_ratio']:.2f}x", f"{r['fp32_bytes'] / 1e3:.1f}", f"{r['int8_bytes'] / 1e3:.1f}",
                 f"{r['pruned_bytes'] / 1e3:.1f}", f"{r['pruned_gzip_bytes'] / 1e3:.1f}",
                 f"{r['pruned_gzip_bytes'] / r['fp32_bytes']:.3f}x",
                 f"{100 * r['fp32_accuracy']:.2f}%", f"{100 * r['pruned_accuracy']:.2f}%",
                 f"{r['accuracy_drop_points']:+.2f}", f"{r['int8_ms']:.3f}", f"{r['pruned_ms']:.3f}",
                 f"{r['latency_ratio']:.2f}x", f"{r['recovery_s'] or 0:.1f}", f"{r['compress_wall_s']:.1f}")
        print_markdown_row(cells)


def print_sparse_table(rows: list[dict]) -> None:
    header = ("model", "method", "requested", "achieved", "fp32 tflite KB", "dense int8 KB", "sparse int8 KB",
              "sparse/dense", "gzip KB", "gzip/fp32", "zstd KB", "acc fp32", "acc pruned int8", "drop pt",
              "outputs identical", "int8 ms dense (unpruned int8)", "int8 ms pruned", "recovery s", "compress s")
    print("\nUnstructured / 2:4 pruning + int8 + TFLite sparse weights; fp32 = unpruned float export, "
          "gzip/zstd = the shipped file (LiteRT, 1 thread, interleaved medians)")
    print_markdown_header(header)
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | {r['prune']} | error: {r['error']} |")
            continue
        identical = {True: "yes", False: "no", None: "-"}[r["outputs_identical"]]
        cells = (r["model"], r["method"], f"{100 * r['requested']:.1f}%", f"{100 * r['achieved']:.1f}%",
                 f"{r['fp32_bytes'] / 1e3:.1f}", f"{r['dense_bytes'] / 1e3:.1f}", f"{r['sparse_bytes'] / 1e3:.1f}",
                 f"{r['sparse_over_dense']:.3f}", f"{r['gzip_bytes'] / 1e3:.1f}", f"{r['gzip_over_fp32']:.3f}",
                 f"{r['zstd_bytes'] / 1e3:.1f}", f"{100 * r['fp32_accuracy']:.2f}%", f"{100 * r['pruned_accuracy']:.2f}%",
                 f"{r['accuracy_drop_points']:+.2f}", identical + ("" if r["sparse_kept"] else " (dense kept)"),
                 f"{r['int8_ms']:.3f}", f"{r['pruned_ms']:.3f}", f"{r['recovery_s'] or 0:.1f}",
                 f"{r['compress_wall_s']:.1f}")
        print_markdown_row(cells)
    print(f"\nTargets (models over {SPARSE_TARGETS_MIN_PARAMS:,} params):")
    print("\n".join(sparse_target_lines(rows)) or "none checked")


def sparse_target_lines(rows: list[dict]) -> list[str]:
    """One PASS/FAIL line per must-show target and row of a model over SPARSE_TARGETS_MIN_PARAMS params."""
    lines = []
    for r in rows:
        if "error" in r:
            lines.append(f"FAIL {r['model']} {r['prune']}: compress failed ({r['error']})")
        elif r["params"] > SPARSE_TARGETS_MIN_PARAMS:
            # The size targets are the for unstructured:0.8; at 2:4 half the weights stay, and
            # TFLite's sparse format (a value and an index per kept weight) cannot beat dense there.
            targets = SPARSE_TARGETS if r["prune"].startswith("unstructured") else SPARSE_TARGETS[2:]
            lines.extend(f"{'PASS' if r[key] <= bound else 'FAIL'} {r['model']} {r['prune']}: "
                         f"{label} {r[key]:.3f} <= {bound:g}" for label, key, bound in targets)
    return lines


def benchmark_dsconv(name: str, spec: str, workdir: Path, *, runs: int, warmup: int) -> dict:
    """``--dsconv MODE[:RANK]`` + int8 against the unsubstituted int8 artifact, timed interleaved here."""
    from compressor.zoo import data_path

    base_out, base = _base_run(name, workdir)
    mode, _, rank = spec.partition(":")
    out = workdir / f"{name}-dsconv-{spec.replace(':', '_').replace(',', '+')}"
    row: dict = {"model": name, "dsconv": spec}
    try:
        report, wall_s = _compress(name, out, ["--format", "tflite", "--dsconv", mode, "--dsconv-rank", rank or "auto"])
    except RuntimeError as error:
        return {**row, "error": str(error)}
    x = np.load(data_path("test"))["x"]
    base_ms, ds_ms = time_interleaved([base_out / base["artifact"], out / report["artifact"]], x, runs=runs, warmup=warmup)
    step = next(s for s in report["steps"] if s["name"] == "dsconv")
    o, c, b = report["original"], report["compressed"], base["compressed"]
    return {**row, "status": report["status"], "substituted": step["substituted"],
            "ranks": ",".join(str(layer["rank"]) for layer in step["layers"] if layer["rank"]),
            "macs_ratio": c["macs"] / o["macs"], "fp32_accuracy": o["accuracy"], "int8_accuracy": b["accuracy"],
            "dsconv_accuracy": c["accuracy"], "accuracy_drop_points": 100 * (o["accuracy"] - c["accuracy"]),
            "int8_ms": base_ms, "dsconv_ms": ds_ms, "latency_ratio": ds_ms / base_ms,
            "est_int8_ms": base["estimate"]["latency_ms"], "est_dsconv_ms": report["estimate"]["latency_ms"],
            "recovery_s": (step.get("recovery") or {}).get("seconds"), "compress_wall_s": wall_s}


def print_dsconv_table(rows: list[dict]) -> None:
    header = ("model", "dsconv", "layers", "ranks", "MACs x", "acc fp32", "acc int8", "acc dsconv+int8", "drop pt",
              "int8 ms", "dsconv ms", "latency x", "est int8 ms", "est dsconv ms", "recovery s", "compress s")
    print("\nDepthwise-separable substitution + int8 vs the unsubstituted int8 artifact "
          "(LiteRT, 1 thread, interleaved medians; est = android-arm64 cost model)")
    print_markdown_header(header)
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | {r['dsconv']} | error: {r['error']} |")
            continue
        cells = (r["model"], r["dsconv"], str(r["substituted"]), r["ranks"] or "-", f"{r['macs_ratio']:.3f}x",
                 f"{100 * r['fp32_accuracy']:.2f}%", f"{100 * r['int8_accuracy']:.2f}%",
                 f"{100 * r['dsconv_accuracy']:.2f}%", f"{r['accuracy_drop_points']:+.2f}", f"{r['int8_ms']:.4f}",
                 f"{r['dsconv_ms']:.4f}", f"{r['latency_ratio']:.2f}x", f"{r['est_int8_ms']:.4f}",
                 f"{r['est_dsconv_ms']:.4f}", f"{r['recovery_s'] or 0:.1f}", f"{r['compress_wall_s']:.1f}")
        print_markdown_row(cells)


def print_table(rows: list[dict], cpu: str, help_s: float) -> None:
    header = ("model", "fmt", "fp32 KB", "int8 KB", "size", "acc fp32", "acc int8", "drop pt",
              "agree", "SQNR dB", "fp32 ms", "int8 ms", "int8/fp32", "est ms A76", "compress s")
    print(f"CPU: {cpu}; runtimes run 1 thread, medians of interleaved runs")
    print_markdown_header(header)
    for r in rows:
        cells = (r["model"], r["format"], f"{r['fp32_bytes'] / 1e3:.1f}", f"{r['int8_bytes'] / 1e3:.1f}",
                 f"{r['size_ratio']:.2f}x", f"{100 * r['fp32_accuracy']:.2f}%", f"{100 * r['int8_accuracy']:.2f}%",
                 f"{r['accuracy_drop_points']:+.2f}", f"{100 * r['agreement']:.2f}%", f"{r['sqnr_db']:.1f}",
                 f"{r['fp32_ms']:.3f}", f"{r['int8_ms']:.3f}", f"{r['int8_over_fp32']:.2f}x",
                 f"{r['estimate_ms']:.3f}", f"{r['compress_wall_s']:.1f}")
        print_markdown_row(cells)
    print(f"\n`compress --help`: {help_s:.2f} s (median of 5)")


def main(argv: list[str] | None = None) -> int:
    from compressor.zoo import ZOO

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(ZOO), help="comma-separated zoo names")
    parser.add_argument("--formats", default="tflite", help="tflite, onnx or both, comma-separated")
    parser.add_argument("--runs", type=int, default=100, help="timed runs per artifact")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print rows as JSON")
    parser.add_argument("--prune", default="", help="pruning specs to add rows for, comma-separated "
                        "(e.g. channels:0.5,unstructured:0.8,2:4); each is compared with the unpruned int8 artifact; "
                        "unstructured and 2:4 get the sparse-size table and its PASS/FAIL targets")
    parser.add_argument("--dsconv", default="", help="depthwise-separable specs MODE[:RANK] to add rows for, "
                        "separated by ';' (e.g. 'auto;all:1'); each is compared with the unsubstituted int8 artifact")
    args = parser.parse_args(argv)
    rows, prune_rows = [], []
    dsconv_rows: list[dict] = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.models.split(","):
            for fmt in args.formats.split(","):
                rows.append(benchmark_model(name, fmt, Path(workdir), runs=args.runs, warmup=args.warmup))
            for spec in filter(None, args.prune.split(",")):
                prune_rows.append(benchmark_pruning(name, spec, Path(workdir), runs=args.runs, warmup=args.warmup))
            for spec in filter(None, args.dsconv.split(";")):
                dsconv_rows.append(benchmark_dsconv(name, spec, Path(workdir), runs=args.runs, warmup=args.warmup))
    cpu, help_s = cpu_description(), time_help()
    sparse_rows = [r for r in prune_rows if r["method"] in SPARSE_METHODS]
    channel_rows = [r for r in prune_rows if r["method"] not in SPARSE_METHODS]
    if args.json:
        print(json.dumps({"cpu": cpu, "help_seconds": help_s, "rows": rows, "prune_rows": prune_rows,
                          "prune_targets": sparse_target_lines(sparse_rows), "dsconv_rows": dsconv_rows}, indent=2))
    else:
        print_table(rows, cpu, help_s)
        if channel_rows:
            print_prune_table(channel_rows)
        if sparse_rows:
            print_sparse_table(sparse_rows)
        if dsconv_rows:
            print_dsconv_table(dsconv_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
