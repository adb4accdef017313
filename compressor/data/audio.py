"""A folder of WAV clips (flat, or in class subfolders) as model inputs, read lazily.

Each clip is read with the standard library's ``wave`` (PCM, 8/16/32-bit), scaled to
[-1, 1], down-mixed to mono (mean of the channels), resampled to ``sample_rate`` with
``scipy.signal.resample_poly`` (polyphase, the rational factor reduced by the gcd), then cut
into windows of the model's input length L; the last window is zero-padded, and a clip
shorter than L is one padded window.  Every window is a sample with its clip's label.  The
headers are read first, so a file that is not a WAV fails before any work; the audio is read
when a window is indexed (the last clip read is kept, as windows of a clip come in a row).
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .folders import Preprocess, list_folder
from .samples import LazySamples, Source

__all__ = ["open_wav_folder", "read_wav"]


def open_wav_folder(root: Path, *, sample_shape: tuple[int, ...] | None, preprocess: Preprocess) -> Source:
    """``sample_shape``: the model's per-sample input shape, (L,) or (1, L); it must be known."""
    listing = list_folder(root, (".wav",), "WAV file")
    if sample_shape is None or math.prod(sample_shape[:-1]) != 1:
        raise ConfigError("input_shape", None if sample_shape is None else ",".join(map(str, sample_shape)),
                          "the model's input shape for WAV clips, e.g. 1,16000 (a batch of mono clips of L samples): "
                          "give input_shape / --input-shape")
    if preprocess.sample_rate is None:
        raise ConfigError("sample_rate", None, "the rate the model's clips are sampled at, e.g. 16000 (--sample-rate)")
    length, rate = sample_shape[-1], preprocess.sample_rate
    windows: list[tuple[int, int]] = []  # (file index, window within the clip)
    labels: list[int] = []
    for index, path in enumerate(listing.files):
        frames, source_rate = _header(path)
        resampled = _resampled_length(frames, source_rate, rate)
        count = max(1, math.ceil(resampled / length))
        windows += [(index, k) for k in range(count)]
        if listing.labels is not None:
            labels += [listing.labels[index]] * count
    cache: dict[int, np.ndarray] = {}

    def read(i: int) -> np.ndarray:
        file_index, k = windows[i]
        if file_index not in cache:
            cache.clear()
            cache[file_index] = read_wav(listing.files[file_index], rate)
        clip = cache[file_index][k * length:(k + 1) * length]
        window = np.zeros(length, dtype=np.float32)
        window[:len(clip)] = clip
        return window.reshape(sample_shape)

    record = listing.record("wav_folder")
    record["preprocess"] = {"sample_rate": rate, "mono": "mean of channels", "window": length,
                            "last_window": "zero-padded"}
    record["samples"] = len(windows)
    y = np.asarray(labels, dtype=np.int64) if listing.labels is not None else None
    return Source(LazySamples(read, len(windows), tuple(sample_shape)), y, record,
                  files=frozenset(str(p.resolve()) for p in listing.files))


def _header(path: Path) -> tuple[int, int]:
    try:
        with wave.open(str(path), "rb") as clip:
            if clip.getsampwidth() not in (1, 2, 4):
                raise DataError(path, f"has {8 * clip.getsampwidth()}-bit samples; 8, 16 or 32-bit PCM WAV expected")
            return clip.getnframes(), clip.getframerate()
    except (wave.Error, EOFError, OSError) as error:
        raise DataError(path, f"is not a PCM WAV file ({error or type(error).__name__})") from None


def _resampled_length(frames: int, source_rate: int, rate: int) -> int:
    divisor = math.gcd(rate, source_rate)
    return math.ceil(frames * (rate // divisor) / (source_rate // divisor))


def read_wav(path: Path, rate: int) -> np.ndarray:
    """The clip at ``path`` as mono float32 in [-1, 1] at ``rate`` Hz."""
    try:
        with wave.open(str(path), "rb") as clip:
            width, channels, source_rate = clip.getsampwidth(), clip.getnchannels(), clip.getframerate()
            raw = clip.readframes(clip.getnframes())
    except (wave.Error, EOFError, OSError) as error:
        raise DataError(path, f"is not a PCM WAV file ({error or type(error).__name__})") from None
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        kind = np.int16 if width == 2 else np.int32
        samples = np.frombuffer(raw, dtype=f"<{np.dtype(kind).str[1:]}").astype(np.float32) / float(2 ** (8 * width - 1))
    samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    if source_rate != rate:
        from scipy.signal import resample_poly

        divisor = math.gcd(rate, source_rate)
        samples = resample_poly(samples, rate // divisor, source_rate // divisor)
    return samples.astype(np.float32)
