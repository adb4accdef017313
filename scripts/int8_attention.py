#!/usr/bin/env python3
"""int8 attention: compress's int8 artifact against the hand route and the fp32 file, in LiteRT.

    python scripts/int8_attention.py                      # encoder_256 and transformer_encoder
    python scripts/int8_attention.py --models deit_tiny --json out.json

Each model is a corpus transformer (scripts/corpus_models*.py; seeded random weights, their real
sizes), saved as a ``.pt2`` and given to ``compress MODEL --target host-x86`` with 16 random-normal
calibration samples (``--data``); the hand route (litert-torch fp32, ai-edge-quantizer's
``static_wi8_ai8`` on the same samples) is built beside it.  Printed per model: the three files'
1-thread LiteRT latency (interleaved medians, one run), the int8 files' output SQNR against PyTorch
on 4 held-out samples, and their BATCH_MATMULs: int8 ones XNNPACK takes (right-hand zero point 0),
int8 ones left to LiteRT's reference kernel, float ones.  The hand route's int8 attention
matmuls get the zero point their calibrated range makes, so most run the reference kernel;
compress quantizes their right-hand operands symmetric (compressor/quant/symmetric_matmul.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
DEFAULT = ("encoder_256", "transformer_encoder")


def _model(name: str):
    import torch
    from corpus_models import CORPUS
    from corpus_models_more import MORE

    _, build, shape = {**CORPUS, **MORE}[name]
    torch.manual_seed(0)
    return build().eval(), tuple(shape)


def _matmuls(path: Path) -> dict[str, int]:
    """BATCH_MATMULs of the .tflite by the kernel that runs them."""
    from compressor.graph.read import read_graph

    ops = [op for op in read_graph(path).ops if op.op_type == "BATCH_MATMUL"]
    return {"int8_xnnpack": sum(op.compute_dtype == "int8" and op.variant == "xnnpack" for op in ops),
            "int8_reference": sum(op.compute_dtype == "int8" and not op.variant for op in ops),
            "float": sum(op.compute_dtype != "int8" for op in ops)}


def _counts(c: dict[str, int]) -> str:
    return f"{c['int8_xnnpack']} / {c['int8_reference']} / {c['float']}"


def run_model(name: str, work: Path) -> dict:
    import torch
    from real_model_litert import (
        hand_route,
        interleaved_medians_ms,
        run_tflite,
        sqnr_db,
    )

    model, shape = _model(name)
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((16, *shape[1:])).astype(np.float32)
    held_out = rng.standard_normal((4, *shape[1:])).astype(np.float32)
    example = (torch.from_numpy(calib[:1]),)
    torch.export.save(torch.export.export(model, example), str(work / f"{name}.pt2"))
    np.savez(work / "calib.npz", x=calib)
    out = work / "compressed"
    subprocess.run([sys.executable, "-m", "compressor.cli", str(work / f"{name}.pt2"), "--target", "host-x86",
                    "--data", str(work / "calib.npz"), "--out", str(out), "--quiet"], check=True, cwd=REPO)
    fp32, hand = hand_route(model, example, [calib], work)
    ours = out / "model.tflite"
    with torch.no_grad():
        reference = np.concatenate([model(torch.from_numpy(held_out[i:i + 1])).numpy() for i in range(len(held_out))])
    ms = interleaved_medians_ms({"fp32": fp32, "hand": hand, "ours": ours}, [held_out[:1]])
    return {"model": name, "input_shape": list(shape), "ms": ms,
            "sqnr_db": {k: sqnr_db(reference, run_tflite(p, [held_out])[0]) for k, p in (("hand", hand), ("ours", ours))},
            "batch_matmuls": {"hand": _matmuls(hand), "ours": _matmuls(ours)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT))
    parser.add_argument("--json", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    for name in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(run_model(name, Path(tmp)))
    print("| model | fp32 ms | hand int8 ms | compress int8 ms | compress / hand | compress / fp32 "
          "| SQNR hand / compress dB | BATCH_MATMUL hand: xnnpack / reference / float | compress |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        ms, bm = r["ms"], r["batch_matmuls"]
        print(f"| {r['model']} {tuple(r['input_shape'])} | {ms['fp32']:.2f} | {ms['hand']:.2f} | {ms['ours']:.2f} "
              f"| {ms['ours'] / ms['hand']:.2f}x | {ms['ours'] / ms['fp32']:.2f}x "
              f"| {r['sqnr_db']['hand']} / {r['sqnr_db']['ours']} | {_counts(bm['hand'])} | {_counts(bm['ours'])} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
