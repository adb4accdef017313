#!/usr/bin/env python3
"""Our MCU arena estimate beside tflite-micro's real one, on every int8 .tflite that fits an MCU.

    python scripts/build_corpus.py --out C --tflite-int8          # the int8 .tflite corpus
    python scripts/tflm_arena_check.py --models-dir C             # table on stdout
    python scripts/tflm_arena_check.py --models-dir C --json out.json

For every ``*.int8.tflite`` under --models-dir (and any other int8 .tflite named with --files),
the arena ``compress profile FILE --target cortex-m7`` estimates (``estimate_artifact``:
``memory.plan_arena``, tflite-micro's greedy plan with 16-byte alignment) is set beside the
arena tflite-micro's own interpreter plans for it (``measure.micro.measure_tflm_arena``: the
"head", tensors + kernel scratch, which is the device's figure; its "tail" holds 64-bit host
structs and is shown apart).  A file is in the table when our estimate is at most twice the
RAM of the largest MCU-kind target (``mcu.sram_bytes``, the ``targets/`` of kind "mcu"), so the
near misses are checked too; "fits" names the MCUs whose RAM holds tflite-micro's plan.  The
others are listed as too large, not measured.  Nothing is fitted here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mcu_targets() -> list:
    from compressor.targets.files import known_target_names
    from compressor.targets.load import load_target

    targets = [load_target(name) for name in known_target_names()]
    return sorted((t for t in targets if t.kind == "mcu" and t.mcu is not None), key=lambda t: t.name)


def is_int8(path: Path) -> bool:
    from compressor.graph.read import read_graph

    compute = [op for op in read_graph(path).ops if op.macs]
    return bool(compute) and all(op.compute_dtype == "int8" for op in compute)


def run(args) -> dict:
    from compressor.cost.memory import plan_arena
    from compressor.graph.read import read_graph
    from compressor.measure.micro import measure_tflm_arena

    targets = mcu_targets()
    ram = {t.name: t.mcu.sram_bytes for t in targets}
    largest = max(ram.values())
    alignment = targets[0].memory.arena_alignment_bytes
    files = sorted(Path(args.models_dir).glob("*.int8.tflite")) if args.models_dir else []
    files += [Path(f) for f in args.files or ()]
    rows, too_large, failed = [], [], []
    for path in files:
        if not is_int8(path):
            failed.append(f"{path.name}: not an int8 model")
            continue
        estimate = plan_arena(read_graph(path), alignment_bytes=alignment, order="tflm").size_bytes
        if estimate > 2 * largest:
            too_large.append(f"{path.name}: estimated arena {estimate:,} B > twice the largest MCU RAM ({2 * largest:,} B)")
            continue
        log(f"[tflm] {path.name}")
        try:
            measured = measure_tflm_arena(path)
        except Exception as error:  # an op tflite-micro has no kernel for: say so, go on
            failed.append(f"{path.name}: {type(error).__name__}: {str(error)[:200]}")
            continue
        rows.append({"file": path.name, "estimate_bytes": estimate, "tflm_planned_bytes": measured.planned_bytes,
                     "tflm_persistent_bytes": measured.persistent_bytes,
                     "ratio": estimate / measured.planned_bytes if measured.planned_bytes else None,
                     "fits": [name for name, sram in ram.items() if measured.planned_bytes <= sram],
                     "tflm_version": measured.version})
    ratios = [r["ratio"] for r in rows if r["ratio"]]
    return {"alignment_bytes": alignment, "targets": ram, "rows": rows, "too_large": too_large, "failed": failed,
            "summary": {"n": len(ratios), "exact": sum(abs(r - 1) < 1e-9 for r in ratios),
                        "within_5": sum(abs(r - 1) <= 0.05 for r in ratios),
                        "within_20": sum(abs(r - 1) <= 0.20 for r in ratios),
                        "worst": max(ratios, key=lambda r: abs(r - 1), default=None)}}


def print_table(result: dict) -> None:
    targets = ", ".join(f"{name} {sram // 1024} KiB" for name, sram in result["targets"].items())
    print(f"MCU targets (RAM): {targets}; arena alignment {result['alignment_bytes']} B")
    print("| file | our arena B | tflite-micro planned B | ours / tflm | tflm persistent B (64-bit host) | fits |")
    print("|---|---|---|---|---|---|")
    for r in result["rows"]:
        ratio = f"{r['ratio']:.3f}" if r["ratio"] else "-"
        print(f"| {r['file']} | {r['estimate_bytes']:,} | {r['tflm_planned_bytes']:,} | {ratio} | "
              f"{r['tflm_persistent_bytes']:,} | {', '.join(r['fits']) or 'none'} |")
    s = result["summary"]
    if s["n"]:
        print(f"\n{s['n']} files: {s['exact']} exact, {s['within_5']} within ±5%, {s['within_20']} within ±20%; "
              f"worst ratio {s['worst']:.3f}")
    for line in result["too_large"]:
        print(f"too large: {line}")
    for line in result["failed"]:
        print(f"not measured: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--models-dir", help="folder with *.int8.tflite files (build_corpus.py --tflite-int8)")
    parser.add_argument("--files", nargs="*", help="more int8 .tflite files")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args(argv)
    if not args.models_dir and not args.files:
        parser.error("give --models-dir or --files")
    if args.models_dir and not Path(args.models_dir).is_dir():
        print(f"{args.models_dir}: no such folder (build it with scripts/build_corpus.py --tflite-int8)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    result = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
