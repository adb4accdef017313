#!/usr/bin/env python3
"""A kernel table's convs counted in an IGEMM's steps: what a tile of input channels costs.

    python scripts/igemm_steps.py scripts/data/host-x86-kernels-zen1.json scripts/data/host-x86-kernels-more-zen1.json
    python scripts/igemm_steps.py TABLE.json --rows 4 --cols 16 --input-tile 4 --format tflite

XNNPACK's fp32 IGEMM computes ``--rows`` output positions x ``--cols`` output channels per call of
its micro-kernel, and (its "s4" kernels) takes a filter tap's input channels ``--input-tile`` at a
time.  A dense conv's steps are then ceil(positions / rows) x taps x ceil(outputs / cols) x
ceil(inputs / tile), of which those of a tap's last, partial tile (inputs not a multiple of the
tile) are the partial steps.  This prints each single-op conv of the tables (``microbench_kernels.py``
output: its ms, the empty file's already subtracted there) as ns per step, and the medians of the points whose
steps are all whole and of those whose steps are all partial (1 to tile-1 input channels): their
ratio is what a partial tile costs, in whole tiles (``input_channel_remainders`` in a target).
Convs of fewer outputs than ``--cols`` are listed apart (a runtime may run a narrower kernel there).
Nothing is fitted here; ``fit_kernel_rates.py`` fits the kernel terms with the tiles a target names.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path


def conv_steps(params: dict, rows: int, cols: int, tile: int) -> tuple[int, int, int]:
    """(steps of whole input tiles, steps of the partial one, positions x taps x outputs units) of a
    conv point (``h w cin cout kh kw s``, 'same' padding as ``microbench_kernels.py`` builds it)."""
    positions = math.ceil(params["h"] / params["s"]) * math.ceil(params["w"] / params["s"])
    units = math.ceil(positions / rows) * params["kh"] * params["kw"] * math.ceil(params["cout"] / cols)
    whole, part = divmod(params["cin"], tile)
    return units * whole, units * (1 if part else 0), units


def conv_points(tables: list[dict], fmt: str) -> list[dict]:
    """The tables' dense fp32 conv points of ``fmt`` timed above 0 (their ``ms`` is the kernel's
    already: ``microbench_kernels.time_files`` subtracts the empty file's)."""
    return [r for table in tables for r in table["rows"]
            if r.get("format") == fmt and r.get("kind") == "conv" and r.get("dtype", "float32") == "float32"
            and {"h", "w", "cin", "cout", "kh", "kw", "s"} <= r.get("params", {}).keys()
            and r["params"].get("groups", 1) == 1 and r["ms"] > 0]


def summarize(points: list[dict], rows: int, cols: int, tile: int) -> dict:
    """ns per step of each point, and the medians of the all-whole and all-partial points (>= ``cols`` outputs)."""
    lines, whole_ns, part_ns = [], [], []
    for r in points:
        whole, part, _ = conv_steps(r["params"], rows, cols, tile)
        ns = r["ms"] * 1e6 / (whole + part)
        lines.append((r["params"], r["ms"], whole, part, ns))
        if r["params"]["cout"] >= cols:
            (part_ns if whole == 0 else whole_ns if part == 0 else []).append(ns)
    return {"points": lines, "whole_ns": statistics.median(whole_ns) if whole_ns else None, "whole_n": len(whole_ns),
            "partial_ns": statistics.median(part_ns) if part_ns else None, "partial_n": len(part_ns)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("table", nargs="+", help="JSON written by scripts/microbench_kernels.py")
    parser.add_argument("--format", default="tflite")
    parser.add_argument("--rows", type=int, default=4, help="output positions per micro-kernel call (mr)")
    parser.add_argument("--cols", type=int, default=16, help="output channels per micro-kernel call (nr)")
    parser.add_argument("--input-tile", type=int, default=4, help="input channels per step (sr)")
    args = parser.parse_args(argv)
    try:
        tables = [json.loads(Path(t).read_text()) for t in args.table]
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    points = conv_points(tables, args.format)
    if not points:
        print(f"error: no {args.format} fp32 conv points in {', '.join(args.table)}", file=sys.stderr)
        return 2
    s = summarize(points, args.rows, args.cols, args.input_tile)
    print(f"| conv | ms | whole steps | partial steps | ns per step |\n|---|---|---|---|---|")
    for params, ms, whole, part, ns in sorted(s["points"], key=lambda line: (line[0]["cout"] < args.cols, line[0]["cin"])):
        narrow = f" (< {args.cols} outputs)" if params["cout"] < args.cols else ""
        print(f"| {params['h']}x{params['w']}x{params['cin']} -> {params['cout']} {params['kh']}x{params['kw']} "
              f"s{params['s']}{narrow} | {ms:.4f} | {whole} | {part} | {ns:.1f} |")
    if s["whole_ns"] and s["partial_ns"]:
        ratio = s["partial_ns"] / s["whole_ns"]
        print(f"\nwhole steps: median {s['whole_ns']:.1f} ns ({s['whole_n']} points); partial: {s['partial_ns']:.1f} ns "
              f"({s['partial_n']} points): {ratio:.2f}x, a partial tile costs as {ratio * args.input_tile:.1f} input channels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
