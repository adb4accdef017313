"""Peak RSS of evaluating, and of fine-tuning on, a folder of 10,000 vs 1,000 generated 96×96 images (issue 16).

    PYTHONPATH=. python scripts/data_memory.py [--big 10000 --small 1000 --dir /tmp/data_memory] [--case eval|finetune|both]

Each run is a fresh process with a tiny CNN, which reports its own peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``):

* ``eval``: passes fold/export/verify with the folder as ``eval_data`` and
  verify.max_samples = all images, so every image is evaluated;
* ``finetune``: the folder as ``data`` with ``--prune channels:0.5`` and 1 recovery epoch
  (passes prune/fold/export), so every image is read by the fine-tuning.

Held whole, 10,000 RGB 96×96 float32 images would take 1.1 GB; streamed, the difference to
1,000 should stay well under 150 MB in both cases.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

CHILD = r"""
import sys, torch
from compressor import compress
torch.manual_seed(0)
folder, out, count, case = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if case == "eval":
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(8, 10)).eval()
    result = compress(model, target="android-arm64", eval_data=folder, out=out, passes=("fold", "export", "verify"),
                      verify={"max_samples": count}, example_inputs=torch.zeros(1, 3, 96, 96))
    print("agreement", result.report["compressed"].get("agreement"),
          "samples", result.report["inputs"]["eval_source"]["samples"])
else:  # 32 channels: channels:0.5 can cut them on android-arm64's 16-channel multiple
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, stride=4), torch.nn.ReLU(),
                                torch.nn.Conv2d(32, 32, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(32, 10)).eval()
    result = compress(model, target="android-arm64", data=folder, out=out, passes=("prune", "fold", "export"),
                      prune={"method": "channels", "amount": 0.5, "finetune_epochs": 1},
                      example_inputs=torch.zeros(1, 3, 96, 96))
    recovery = next(s for s in result.report["steps"] if s["name"] == "prune")["recovery"]
    print("recovery samples", recovery["samples"], "steps", recovery["steps"], "seconds", recovery["seconds"])
"""


def make_folder(root: Path, count: int) -> None:
    from PIL import Image

    if root.is_dir() and sum(1 for _ in root.rglob("*.png")) == count:
        return
    rng = np.random.default_rng(0)
    for k in range(count):
        folder = root / str(k % 10)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(folder / f"{k:05d}.png")


def peak_rss_mb(folder: Path, out: Path, count: int, case: str) -> tuple[float, str]:
    """Peak RSS of one child run.  The child reports its own ``ru_maxrss`` (RUSAGE_SELF) on
    stderr's last line, since RUSAGE_CHILDREN keeps the largest child so far."""
    code = CHILD + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    run = subprocess.run([sys.executable, "-c", code, str(folder), str(out), str(count), case],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{case} run on {folder} failed:\n{run.stderr[-3000:]}")
    return int(run.stderr.strip().splitlines()[-1]) / 1024, run.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/data_memory"))
    parser.add_argument("--case", choices=("eval", "finetune", "both"), default="both")
    args = parser.parse_args()
    small, big = args.dir / f"images_{args.small}", args.dir / f"images_{args.big}"
    make_folder(small, args.small)
    make_folder(big, args.big)
    for case in (("eval", "finetune") if args.case == "both" else (args.case,)):
        small_mb, small_out = peak_rss_mb(small, args.dir / f"out_{case}_small", args.small, case)
        big_mb, big_out = peak_rss_mb(big, args.dir / f"out_{case}_big", args.big, case)
        print(f"[{case}] {args.small} images: peak RSS {small_mb:.0f} MB ({small_out})")
        print(f"[{case}] {args.big} images: peak RSS {big_mb:.0f} MB ({big_out})")
        print(f"[{case}] difference: {big_mb - small_mb:+.0f} MB (claim: < 150 MB)")


if __name__ == "__main__":
    main()
