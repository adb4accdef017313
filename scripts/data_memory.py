"""Peak RSS of evaluating a folder of 10,000 vs 1,000 generated 96×96 images (issue 16).

    PYTHONPATH=. python scripts/data_memory.py [--big 10000 --small 1000 --dir /tmp/data_memory]

Each run is a fresh process (compress with a tiny CNN, passes fold/export/verify,
verify.max_samples = all images, so every image is evaluated) and its peak RSS is read from
``resource.getrusage(RUSAGE_CHILDREN)``.  Held whole, 10,000 RGB 96×96 float32 images
would take 1.1 GB; read lazily, the difference to 1,000 should stay well under 150 MB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

CHILD = r"""
import sys, torch
from compressor import compress
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                            torch.nn.Flatten(), torch.nn.Linear(8, 10)).eval()
folder, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = compress(model, target="android-arm64", eval_data=folder, out=out, passes=("fold", "export", "verify"),
                  verify={"max_samples": count}, example_inputs=torch.zeros(1, 3, 96, 96))
print(result.report["compressed"].get("agreement"), result.report["inputs"]["eval_source"]["samples"])
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


def peak_rss_mb(folder: Path, out: Path, count: int) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(out), str(count)],
                         capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # RUSAGE_CHILDREN holds the largest child so far: run the small folder first.
    return max(before, after) / 1024, run.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/data_memory"))
    args = parser.parse_args()
    small, big = args.dir / f"images_{args.small}", args.dir / f"images_{args.big}"
    make_folder(small, args.small)
    make_folder(big, args.big)
    small_mb, small_out = peak_rss_mb(small, args.dir / "out_small", args.small)
    big_mb, big_out = peak_rss_mb(big, args.dir / "out_big", args.big)
    print(f"{args.small} images: peak RSS {small_mb:.0f} MB (agreement, samples: {small_out})")
    print(f"{args.big} images: peak RSS {big_mb:.0f} MB (agreement, samples: {big_out})")
    print(f"difference: {big_mb - small_mb:+.0f} MB (claim: < 150 MB)")


if __name__ == "__main__":
    main()
