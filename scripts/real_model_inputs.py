"""Real inputs for the real-model corpus (scripts/real_models.py), from the samples directory.

Photos (scikit-image's, else the two inside scikit-learn's wheel) as face crops or ImageNet crops,
espeak-ng speech and sox tones as frames, mel-power partials, log-power spectra, Silero VAD's
streamed (chunk, state) pairs, and 64 x 256 text-line crops (scikit-image's photographed page plus
sentences rendered with Pillow's bundled font).  Every generator is seeded: the first 32 of a call
are the calibration inputs, and the ones after them (a longer call) are never calibration inputs.
"""

from __future__ import annotations

import functools
import wave
from pathlib import Path

import numpy as np
import torch

__all__ = ["PAGE_LINES", "RENDERED_LINES", "TEXT_WIDTH", "audio_clips", "audio_frames", "crepe_frames", "face_crops",
           "imagenet_crops", "imagenet_lite_crops", "load_photos", "log_power", "mel_filterbank", "mel_partials",
           "read_wav", "stft_power", "streamed_pairs", "text_lines", "vad_inputs"]


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0


def load_photos(samples: Path) -> list[np.ndarray]:
    from PIL import Image

    names = ("astronaut.png", "chelsea.png", "coffee.png", "china.jpg", "flower.jpg", "motorcycle_left.png",
             "rocket.jpg", "camera.png", "hubble_deep_field.jpg")
    found = [np.asarray(Image.open(samples / "images" / n).convert("RGB"), np.float32)
             for n in names if (samples / "images" / n).exists()]
    if found:
        return found
    from sklearn.datasets import load_sample_images  # two real photos inside scikit-learn's wheel

    return [image.astype(np.float32) for image in load_sample_images().images]


def face_crops(samples: Path, size: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` random square crops of the photos, resized to ``size``, MTCNN-normalised."""
    from PIL import Image

    rng, photos, out = np.random.default_rng(seed), load_photos(samples), []
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(rng.integers(min(photo.shape[:2]) // 6, min(photo.shape[:2]) // 2))
        top, left = (int(rng.integers(0, photo.shape[d] - side)) for d in (0, 1))
        crop = Image.fromarray(photo[top:top + side, left:left + side].astype(np.uint8)).resize((size, size))
        out.append((np.asarray(crop, np.float32).transpose(2, 0, 1) - 127.5) / 128.0)
    return np.stack(out)


def imagenet_crops(samples: Path, count: int, seed: int = 0) -> np.ndarray:
    """Photos as torchvision feeds ImageNet nets: resize 256, centre crop 224, then (once every
    photo was used) random crops of 50-100% of the short side, some mirrored: ``count`` images."""
    from PIL import Image

    rng, photos, out = np.random.default_rng(seed), load_photos(samples), []
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


def imagenet_lite_crops(samples: Path, count: int) -> np.ndarray:
    """The same photo crops as ``_imagenet``, normalised as the TF-Lite EfficientNet-Lite models take
    them: (x/255 - 0.498)/0.502 (ImageNet mean/std undone first)."""
    images = imagenet_crops(samples, count)
    mean, std = np.array((0.485, 0.456, 0.406))[:, None, None], np.array((0.229, 0.224, 0.225))[:, None, None]
    return ((images * std + mean - 0.498) / 0.502).astype(np.float32)


def audio_clips(samples: Path) -> np.ndarray:
    names = ("speech_en_16k.wav", "speech_en_f_16k.wav", "sine_a440_16k.wav", "sweep_110_880_16k.wav",
             "noise_16k.wav")
    return np.concatenate([read_wav(samples / "audio" / n) for n in names if (samples / "audio" / n).exists()])


def audio_frames(samples: Path, length: int, count: int, hop: int) -> np.ndarray:
    audio = audio_clips(samples)
    starts = np.linspace(0, len(audio) - length - 1, count).astype(int) // hop * hop
    return np.stack([audio[s:s + length] for s in starts]).astype(np.float32)


def crepe_frames(samples: Path, count: int) -> np.ndarray:
    frames = audio_frames(samples, 1024, count, 160)
    frames = frames - frames.mean(axis=1, keepdims=True)  # torchcrepe normalises every frame
    return (frames / np.maximum(frames.std(axis=1, keepdims=True), 1e-10)).astype(np.float32)


def stft_power(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    padded = np.pad(audio, n_fft // 2, mode="reflect")
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    count = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[i * hop:i * hop + n_fft] * window for i in range(count)])
    return (np.abs(np.fft.rfft(frames, axis=1)) ** 2).astype(np.float32)


def mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
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


def mel_partials(samples: Path, count: int) -> np.ndarray:
    mel = stft_power(audio_clips(samples), 400, 160) @ mel_filterbank(16000, 400, 40).T
    starts = np.linspace(0, len(mel) - 161, count).astype(int)
    return np.stack([mel[s:s + 160] for s in starts]).astype(np.float32)


def log_power(samples: Path, count: int) -> np.ndarray:
    spec = np.log10(stft_power(audio_clips(samples), 320, 160) + 1e-12)  # NSNet2: 20 ms window, 10 ms hop
    starts = np.linspace(0, len(spec) - 101, count).astype(int)
    return np.stack([spec[s:s + 100] for s in starts]).astype(np.float32)


def vad_inputs(samples: Path, count: int, model: torch.nn.Module) -> list[np.ndarray]:
    """(chunk, state) pairs a deployment feeds Silero VAD: every 16 kHz clip streamed through the
    PyTorch model in 512-sample chunks (each with the 64 samples before it as context, silero's
    OnnxWrapper), the state it returns fed back, reset to zeros at each clip's start, as silero's
    ``reset_states``; ``count`` pairs evenly spaced over the streams.  A state of zeros alone
    (only the first chunk of a stream) would calibrate the state input to a range the cell
    state (-62 to 29 on these clips) never stays in."""
    chunks, states = streamed_pairs(samples, model)
    # spread over every clip, in a fixed shuffled order: the last 16 of 48 (eval) are not one clip's tail
    picks = np.random.default_rng(count).permutation(np.linspace(0, len(chunks) - 1, count).astype(int))
    return [chunks[picks], states[picks]]


@functools.lru_cache(maxsize=2)
def streamed_pairs(samples: Path, model: torch.nn.Module) -> tuple[np.ndarray, np.ndarray]:
    chunks, states = [], []
    for name in ("speech_en_16k.wav", "speech_en_f_16k.wav", "sine_a440_16k.wav", "sweep_110_880_16k.wav",
                 "noise_16k.wav"):
        if not (samples / "audio" / name).exists():
            continue
        audio, context = read_wav(samples / "audio" / name), np.zeros(64, np.float32)
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


def text_lines(samples: Path, count: int) -> np.ndarray:
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
