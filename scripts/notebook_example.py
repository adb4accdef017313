#!/usr/bin/env python3
"""The notebook route, as a script: an nn.Module and two DataLoaders in, the same answer as the file route.

    python scripts/notebook_example.py [--model vgg_digits] [--target android-arm64] [--work DIR]

What a notebook user writes (README "Python API"): the module already in memory, the data as
torch DataLoaders, ``compressor.compress(model, data=loader, eval_data=loader)``.  The same
model saved to disk with the same samples in .npz files goes through the file route
(``compress model.pt --arch ... --data ... --eval ...``, here through the same API with paths).
Printed: each route's status, accuracy and artifact hash; the script exits 1 unless both are ok
with equal accuracy.  The artifacts are not byte-identical: a loader's calibration sample is
drawn by a seeded reservoir over its batches, an .npz's by a seeded choice of indices, so the
calibration samples (and the int8 ranges) differ slightly (vgg_digits: 38.57 vs 38.70 dB).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg_digits")
    parser.add_argument("--target", default="android-arm64")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args(argv)

    import compressor
    import models

    work = args.work or Path(tempfile.mkdtemp(prefix="notebook-"))
    work.mkdir(parents=True, exist_ok=True)
    train, test = (np.load(models.data_path(split)) for split in ("train", "test"))

    # --- the notebook: objects in memory -------------------------------------------------
    model = models.load_pretrained(args.model)
    loaders = [DataLoader(TensorDataset(torch.from_numpy(d["x"]), torch.from_numpy(d["y"])), batch_size=64)
               for d in (train, test)]
    notebook = compressor.compress(model, target=args.target, data=loaders[0], eval_data=loaders[1],
                                   out=work / "notebook")

    # --- the file route: the same weights and samples on disk --------------------------------
    np.savez(work / "train.npz", x=train["x"], y=train["y"])
    np.savez(work / "test.npz", x=test["x"], y=test["y"])
    files = compressor.compress(models.weights_path(args.model), target=args.target, data=work / "train.npz",
                                eval_data=work / "test.npz", out=work / "files")  # a zoo file: no --arch needed

    rows = []
    for name, result in (("module + DataLoaders", notebook), ("files", files)):
        compressed = result.report["compressed"]
        digest = hashlib.sha256(Path(result.artifact_path).read_bytes()).hexdigest()[:16]
        rows.append((name, result.ok, compressed.get("accuracy"), digest))
        print(f"{name:22s} ok={result.ok}  accuracy={compressed.get('accuracy')}  artifact sha256={digest}")
    same = rows[0][1] and rows[1][1] and rows[0][2] == rows[1][2]
    print(f"same accuracy: {same}; identical artifacts: {rows[0][3] == rows[1][3]}  ({work})")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
