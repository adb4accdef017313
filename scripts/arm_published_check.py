#!/usr/bin/env python3
"""Our ARM estimates beside published measured latencies (tests/data/published_arm_latency.toml).

    python scripts/arm_published_check.py                # markdown table + summary
    python scripts/arm_published_check.py --json out.json

NEVER a fit: the published list was committed before any ARM profile was touched, and this
script only reads it.  For every figure whose ``matches_profile`` names one of our profiles
(android-arm64, android-arm64-little, rpi4, rpi5), whose model is written in
scripts/arm_models.py and whose precision the profile has a rate for (fp32, int8), it:

1. builds the architecture (random weights) at the figure's input size and exports it to
   ONNX (the legacy exporter, BatchNorm absent as every runtime folds it), reads it into the
   IR (``compressor.graph.read``);
2. makes it the graph the figure's runtime runs (script-local): a ReLU / ReLU6 (Clip) right
   after a conv or FC is fused into it, as XNNPACK, ncnn and Paddle-Lite all do; for int8
   figures every op computes in int8 and every tensor is 1 byte per element;
3. costs it with the profile (``cost.kernels.check_kernels``) at the figure's thread count
   (0 = not stated: the profile's own thread count, marked "?");
4. prints predicted / published.  Figures whose note says they are calibration points of a
   profile are shown but left out of the score, as the list's header asks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "tests" / "data" / "published_arm_latency.toml"
PROFILES = ("android-arm64", "android-arm64-little", "rpi4", "rpi5")
FUSED_ACTIVATIONS = ("Relu", "Clip")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def export_graph(model_name: str, size: int, work: Path):
    import torch

    sys.path.insert(0, str(REPO / "scripts"))
    from arm_models import ARCHITECTURES
    from compressor.graph.read import read_graph

    path = work / f"{model_name.replace(' ', '_')}-{size}.onnx"
    if not path.is_file():
        log(f"[export] {model_name} at {size}x{size}")
        torch.manual_seed(0)
        model = ARCHITECTURES[model_name]().eval()
        with torch.no_grad():
            torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(path), dynamo=False, opset_version=17)
    return read_graph(path)


def as_runtime_runs(graph, precision: str):
    """Fuse ReLU/Clip into the conv/FC before them; int8: every op int8, 1 byte per element."""
    from compressor.graph.ir import COMPUTE_KINDS

    producers = {out: op for op in graph.ops for out in op.outputs}
    users: dict[int, int] = {}
    for op in graph.ops:
        for i in op.inputs:
            users[i] = users.get(i, 0) + 1
    ops = []
    for op in graph.ops:
        source = producers.get(op.inputs[0]) if op.inputs else None
        if (op.op_type in FUSED_ACTIVATIONS and source is not None and source.kind in COMPUTE_KINDS
                and users.get(op.inputs[0], 0) == 1):
            continue
        ops.append(op)
    if precision == "int8":
        def quarter(n: int) -> int:
            return (n + 3) // 4

        ops = [dataclasses.replace(op, compute_dtype="int8", input_bytes=quarter(op.input_bytes),
                                   weight_bytes=quarter(op.weight_bytes), output_bytes=quarter(op.output_bytes))
               if op.compute_dtype == "float32" else op for op in ops]
    return dataclasses.replace(graph, ops=tuple(ops))


ARMV82_CORES = ("Cortex-A55", "Cortex-A76", "Cortex-A77", "Cortex-A78", "Cortex-X1", "Cortex-A76-class")


def ncnn_runs_fp16(figure: dict) -> bool:
    """ncnn's benchncnn enables fp16 storage and ARITHMETIC by default on cores with Armv8.2
    FP16 (A55, A76 and later) since release 20200916: its "fp32" rows on those cores ran fp16
    (Tencent/ncnn#2703: "FP32 times reported using v20200916 very fast. Are these really FP16
    results?"; #2931: the latest version enables fp16 inference automatically on supported
    platforms).  Every ncnn figure in the list was added to ncnn's benchmark/README.md after
    2020; an fp32 profile cannot be judged on them."""
    return figure["runtime"].startswith("ncnn") and any(core in figure["cpu"] for core in ARMV82_CORES)


def run(args) -> dict:
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "scripts"))
    from arm_models import ARCHITECTURES
    from compressor.cost.kernels import check_kernels
    from compressor.targets.load import load_target

    figures = tomllib.loads(Path(args.published).read_text())["figure"]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="arm."))
    work.mkdir(parents=True, exist_ok=True)
    rows, left_out = [], []
    for f in figures:
        profile_name = f.get("matches_profile", "")
        if profile_name not in PROFILES:
            continue
        why = None if f["model"] in ARCHITECTURES else "architecture not written here"
        why = why or (None if f["precision"] in ("fp32", "int8") else f"{f['precision']}: no profile rate")
        if not why and f["precision"] == "fp32" and ncnn_runs_fp16(f):
            why = ("fp32 as published, but ncnn computes in fp16 on Armv8.2 cores by default since 20200916 "
                   "(Tencent/ncnn#2703, #2931): fp16 arithmetic, no profile rate")
        if why:
            left_out.append(f"{f['model']} {f['precision']} on {profile_name}: {why}")
            continue
        size = int(f["input_shape"][1])
        graph = as_runtime_runs(export_graph(f["model"], size, work), f["precision"])
        base = load_target(profile_name)
        threads = int(f["threads"]) or base.compute.threads
        target = dataclasses.replace(base, compute=dataclasses.replace(base.compute, threads=threads))
        predicted = check_kernels(graph, target).latency_ms
        rows.append({"profile": profile_name, "model": f["model"], "variant": f["variant"],
                     "precision": f["precision"], "threads": threads, "threads_stated": bool(f["threads"]),
                     "runtime": f["runtime"].split(",")[0].split("(")[0].strip(), "device": f["device"],
                     "published_ms": float(f["latency_ms"]), "predicted_ms": predicted,
                     "ratio": predicted / float(f["latency_ms"]),
                     "calibration_point": "calibration point" in f.get("note", ""),
                     "source_url": f["source_url"]})
    scored = [r for r in rows if not r["calibration_point"]]
    summary = score(scored)
    by_runtime = {name: score([r for r in scored if r["runtime"].split()[0] == name])
                  for name in sorted({r["runtime"].split()[0] for r in scored})}
    return {"rows": rows, "summary": summary, "by_runtime": by_runtime, "left_out": left_out}


def score(rows: list[dict]) -> dict:
    return {"n": len(rows), "within_30": sum(abs(r["ratio"] - 1) <= 0.30 for r in rows) / max(len(rows), 1),
            "outside_half_double": sum(not 0.5 <= r["ratio"] <= 2 for r in rows)}


def print_table(result: dict) -> None:
    print("| profile | model | prec | thr | runtime (device) | published ms | predicted ms | pred/pub |")
    print("|---|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        threads = f"{r['threads']}" + ("" if r["threads_stated"] else "?")
        mark = " (calibration point, not scored)" if r["calibration_point"] else ""
        print(f"| {r['profile']} | {r['model']} | {r['precision']} | {threads} | {r['runtime']} ({r['device'][:28]}) | "
              f"{r['published_ms']:g} | {r['predicted_ms']:.1f} | {r['ratio']:.2f}{mark} |")
    s = result["summary"]
    print(f"\n{s['n']} scored figures: {100 * s['within_30']:.0f}% within ±30%, {s['outside_half_double']} outside "
          "[0.5x, 2x]; thread counts marked ? are not stated by the source (costed at the profile's own)")
    for name, sub in result["by_runtime"].items():
        print(f"  {name}: {sub['n']} figures, {100 * sub['within_30']:.0f}% within ±30%, "
              f"{sub['outside_half_double']} outside [0.5x, 2x]")
    for line in result["left_out"]:
        print(f"left out: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--published", default=str(PUBLISHED))
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the exported .onnx files in DIR")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
