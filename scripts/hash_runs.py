"""Hash what `compress` writes for a fixed set of zoo runs: artifacts byte for byte, and
`report.json` with its timings taken out.  Used to show that a refactor changed nothing.

Usage:
    python scripts/hash_runs.py --out before.json            # run every case, write the hashes
    python scripts/hash_runs.py --out after.json --compare before.json   # ... and diff them
    python scripts/hash_runs.py --cases vgg_tflite,vgg_onnx --out quick.json

Each case is one `compress` command line, run as a user runs it (a subprocess, 1 runtime
thread: artifacts are only byte-identical for the same inputs, seed, CPU type and thread
count).  A report value that names the output directory is rewritten to ``<out>``;
timings (keys ending in ``seconds``, host latencies) are dropped.  Everything else must match exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "models" / "weights"
DATA = ["--data", str(REPO / "models/data/digits_train.npz"), "--eval", str(REPO / "models/data/digits_test.npz")]

# name -> (model, extra flags).  Together they walk every pass: fold, rewrite, export (both
# formats), int8 with its remedies, strip, sparsify, verify, emulate, estimate (CPU, MCU
# via tflite-micro, NPU via Vela), c_array, prune (channels and unstructured), dsconv.
CASES: dict[str, tuple[str, list[str]]] = {
    "vgg_tflite": ("vgg_digits.pt", ["--target", "android-arm64"]),
    "vgg_onnx": ("vgg_digits.pt", ["--target", "host-x86", "--format", "onnx"]),
    "mobilenetv2_u55": ("mobilenetv2_digits.pt", ["--target", "ethos-u55-128"]),
    "resnet_m7_c": ("resnet_digits.pt", ["--target", "cortex-m7", "--format", "c"]),
    "vgg_prune_channels": ("vgg_digits.pt", ["--target", "android-arm64", "--prune", "channels:0.5",
                                             "--finetune-epochs", "1"]),
    "vgg_prune_unstructured": ("vgg_digits.pt", ["--target", "rpi4", "--prune", "unstructured:0.8",
                                                 "--finetune-epochs", "1"]),
    "mobilenetv2_dsconv": ("mobilenetv2_digits.pt", ["--target", "android-arm64", "--dsconv", "all",
                                                     "--finetune-epochs", "1"]),
    "resnet_nhwc_int8io": ("resnet_digits.pt", ["--target", "rpi5", "--layout", "nhwc", "--io", "int8"]),
}


# Host latencies the int8 step measures (quant/scheme_speed.py): timings too, by other names.
MEASURED_KEYS = ("latency_vs_fp32", "measured")
MEASURED_WARNING = "runs slower than fp32:"


def normalise(value, out_dir: str):
    """The report without what legitimately differs between runs: timings (any key that
    ends in ``seconds``, the int8 step's host latencies and their warning), the output
    directory and the checkout's own path."""
    if isinstance(value, dict):
        return {key: normalise(item, out_dir) for key, item in value.items() if not key.endswith("seconds")
                and key != "seconds_total" and key not in MEASURED_KEYS}
    if isinstance(value, list):
        return [normalise(item, out_dir) for item in value
                if not (isinstance(item, str) and MEASURED_WARNING in item)]
    if isinstance(value, str):
        return value.replace(out_dir, "<out>").replace(str(REPO), "<repo>")
    return value


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_case(name: str, workdir: Path) -> dict[str, str]:
    model, flags = CASES[name]
    out = workdir / name
    command = [sys.executable, "-m", "compressor.cli", str(WEIGHTS / model), *DATA, *flags,
               "--out", str(out), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
    hashes = {"exit": str(done.returncode)}
    for path in sorted(out.iterdir()):
        if path.name == "report.json":
            report = normalise(json.loads(path.read_text()), str(out))
            hashes[path.name] = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
            hashes["report.normalised"] = report  # kept so a mismatch can be shown
        elif path.name not in ("report.md", "report.html"):  # rendered from report.json
            hashes[path.name] = sha256(path)
    return hashes


def diff(before, after, path="") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in sorted(set(before) | set(after)):
            if key not in before or key not in after:
                lines.append(f"{path}/{key}: only in {'after' if key not in before else 'before'}")
            else:
                lines += diff(before[key], after[key], f"{path}/{key}")
        return lines
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [line for i, (a, b) in enumerate(zip(before, after)) for line in diff(a, b, f"{path}[{i}]")]
    return [] if before == after else [f"{path}: {before!r} != {after!r}"[:400]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the hashes (JSON)")
    parser.add_argument("--compare", type=Path, help="hashes of an earlier run to compare with")
    parser.add_argument("--cases", help="comma-separated subset of: " + ",".join(CASES))
    args = parser.parse_args()
    names = args.cases.split(",") if args.cases else list(CASES)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            results[name] = run_case(name, Path(tmp))
            print(f"{name}: exit {results[name]['exit']}, {len(results[name]) - 2} files hashed", flush=True)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True))
    if args.compare is None:
        return 0
    earlier = json.loads(args.compare.read_text())
    mismatches = 0
    for name in names:
        # The report's own hash is compared through its normalised form (shown key by key).
        lines = diff({k: v for k, v in earlier.get(name, {}).items() if k != "report.json"},
                     {k: v for k, v in results[name].items() if k != "report.json"})
        mismatches += bool(lines)
        print(f"{name}: {'identical' if not lines else 'DIFFERENT'}")
        for line in lines[:20]:
            print("   ", line)
    print(f"{len(names) - mismatches} of {len(names)} cases identical")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
