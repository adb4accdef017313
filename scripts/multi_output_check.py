#!/usr/bin/env python3
"""Verification per output on a real model with several heads: MTCNN's ONet.

Usage:
    python scripts/multi_output_check.py                         # weights from /work/scratch/realmodels
    python scripts/multi_output_check.py --models-dir DIR --target android-arm64 --no-labels
    python scripts/multi_output_check.py --json rows.json        # the per-output rows to a file too

ONet is the last stage of the MTCNN face detector (Zhang et al. 2016); the weights are
facenet-pytorch 2.6.0's ``facenet_pytorch/data/onet.pt`` (MIT), a state dict read from the
wheel (``pip download --no-deps facenet-pytorch==2.6.0``, never installed).  It has three
outputs: box offsets N×4, five landmarks N×10 (regressions) and the face probability N×2
after softmax (class scores).  The inputs are real 25×25 grey crops from scikit-image's
``lfw_subset.npy`` (the first 100 are LFW faces, the last 100 non-faces), scaled to 48×48
RGB in [-1, 1] as MTCNN feeds them; even crops calibrate, odd ones verify, with ``y`` the
face label (1 face, 0 not) unless ``--no-labels``.

The script runs ``compressor.compress`` exactly as a user would (``--arch`` naming the class
below, default settings) and prints the per-output table of the report: SQNR, cosine, max
abs error, top-1 agreement (class outputs only) and status.  Without the weights it says so
and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODELS_DIR = Path("/work/scratch/realmodels")
WEIGHTS = Path("files/facenet-pytorch/extracted/facenet_pytorch/data/onet.pt")
FACES = Path("samples/images/lfw_subset.npy")
ARCH = "real_model_archs:ONet"  # scripts/real_model_archs.py, importable from this folder


def face_crops(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): the 200 lfw_subset crops as (200,3,48,48) float32 in [-1,1], y = 1 for faces."""
    grey = torch.from_numpy(np.load(path, allow_pickle=False).astype(np.float32))[:, None]  # values in [0, 1]
    rgb = torch.nn.functional.interpolate(grey, size=(48, 48), mode="bilinear", align_corners=False)
    x = (rgb.repeat(1, 3, 1, 1) * 2.0 - 1.0).numpy().astype(np.float32)  # (v*255 - 127.5) / 127.5
    y = np.r_[np.ones(100, np.int64), np.zeros(len(x) - 100, np.int64)]
    return x, y


def per_output_table(report: dict) -> str:
    outputs = report["compressed"].get("outputs") or []
    lines = ["| output | shape | kind | SQNR dB | cosine | max abs error | agreement | status |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for row in outputs:
        agreement = "-" if row.get("agreement") is None else f"{100 * row['agreement']:.2f}%"
        lines.append(f"| {row['index']} {row['name']} | {'×'.join(map(str, row['shape']))} | {row['kind']} | "
                     f"{row['sqnr_db']:.1f} | {row['cosine']:.5f} | {row['max_abs_error']:.4g} | {agreement} | "
                     f"{row['status']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--target", default="android-arm64")
    parser.add_argument("--no-labels", action="store_true", help="drop y: class outputs found by softmax alone")
    parser.add_argument("--json", type=Path, help="also write the report's per-output rows here")
    args = parser.parse_args(argv)
    weights, faces = args.models_dir / WEIGHTS, args.models_dir / FACES
    missing = [str(p) for p in (weights, faces) if not p.is_file()]
    if missing:
        print(f"skipped: {', '.join(missing)} not found (pass --models-dir with the facenet-pytorch wheel's "
              "files and scikit-image's lfw_subset.npy)")
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # --arch real_model_archs:ONet
    from compressor import compress

    x, y = face_crops(faces)
    with tempfile.TemporaryDirectory(prefix="onet.") as tmp:
        work = Path(tmp)
        calib, held = work / "calib.npz", work / "eval.npz"
        labels = {} if args.no_labels else {"y": y[0::2]}
        np.savez(calib, x=x[0::2], **labels)
        np.savez(held, x=x[1::2], **({} if args.no_labels else {"y": y[1::2]}))
        start = time.perf_counter()
        result = compress(weights, target=args.target, out=work / "out", data=calib, eval_data=held, arch=ARCH)
        seconds = time.perf_counter() - start
        report = result.report
    print(f"ONet (facenet-pytorch onet.pt) on {args.target}, {len(x[1::2])} held-out real crops"
          f"{' without labels' if args.no_labels else ''}: status {report['status']} in {seconds:.0f} s")
    print(per_output_table(report))
    compressed = report["compressed"]
    print(f"top-level (summary output {compressed.get('summary_output')}): SQNR {compressed['sqnr_db']} dB, "
          f"agreement {compressed['agreement']}, accuracy {compressed['accuracy']} "
          f"(fp32 {report['original']['accuracy']})")
    for warning in report["warnings"]:
        print(f"warning: {warning}")
    if args.json:
        args.json.write_text(json.dumps(compressed.get("outputs"), indent=2) + "\n")
    return 0 if report["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
