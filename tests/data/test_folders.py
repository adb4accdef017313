"""Image and WAV folders: the same numbers as the .npz route, and one clear error per bad-data case."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import torch
from PIL import Image

from compressor import DataError, Preprocess, compress
from compressor.data import open_data
from tests.helpers import SmallNet


def _write_folder(root, pixels, labels, *, suffix=".png"):
    for k, (image, label) in enumerate(zip(pixels, labels)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(root / str(label) / f"{k:04d}{suffix}")


def _pixels(count, size=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size), dtype=np.uint8)


def test_image_folder_gives_the_npz_accuracy(tmp_path):
    torch.manual_seed(0)
    model = SmallNet().eval()
    pixels = _pixels(40)
    x = (pixels.astype(np.float32) / 255.0)[:, None]
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    y[::3] = (y[::3] + 1) % 4  # some wrong labels, so the accuracy is not trivially 1
    _write_folder(tmp_path / "images", pixels, y)
    np.savez(tmp_path / "same.npz", x=x, y=y)
    source = open_data(tmp_path / "images", sample_shapes=((1, 12, 12),), preprocess=Preprocess(), name="eval")
    order = np.argsort([f"{label}/{k:04d}" for k, label in enumerate(y)], kind="stable")  # folder order
    assert np.array_equal(np.asarray(source.x), x[order]) and np.array_equal(source.y, y[order])
    common = dict(target="android-arm64", passes=("fold", "export", "verify"), example_inputs=torch.zeros(1, 1, 12, 12))
    folder = compress(model, eval_data=tmp_path / "images", out=tmp_path / "f", **common)
    npz = compress(model, eval_data=tmp_path / "same.npz", out=tmp_path / "n", **common)
    assert folder.report["original"]["accuracy"] == npz.report["original"]["accuracy"] < 1.0
    assert folder.report["compressed"]["accuracy"] == npz.report["compressed"]["accuracy"]
    record = folder.report["inputs"]["eval_source"]
    assert record["kind"] == "image_folder" and record["samples"] == 40 and len(record["files_sha256"]) == 64


def test_resize_mean_std_and_rgb(tmp_path):
    Image.fromarray(np.full((20, 30, 3), 255, np.uint8)).save(tmp_path / "a.jpg")
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "b.png")
    source = open_data(tmp_path, sample_shapes=None, name="data",
                       preprocess=Preprocess(resize=(8, 8), mean=(0.5,), std=(0.5,)))
    x = np.asarray(source.x)
    assert x.shape == (2, 3, 8, 8) and source.y is None
    assert np.allclose(x[0], 1.0, atol=0.02) and np.allclose(x[1], -1.0)


def _run_bad(tmp_path, data, **kwargs):
    torch.manual_seed(0)
    with pytest.raises(DataError) as error:
        compress(SmallNet(), target="android-arm64", data=data, out=tmp_path / "out",
                 example_inputs=torch.zeros(1, 1, 12, 12), **kwargs)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    return str(error.value)


def test_corrupt_image_is_named(tmp_path):
    _write_folder(tmp_path / "d", _pixels(4), [0, 0, 1, 1])
    (tmp_path / "d" / "1" / "broken.png").write_bytes(b"\x89PNG not really")
    assert "broken.png" in _run_bad(tmp_path, tmp_path / "d")


def test_mixed_sizes_without_resize(tmp_path):
    _write_folder(tmp_path / "d", _pixels(2), [0, 1])
    Image.fromarray(_pixels(1, size=14)[0], mode="L").save(tmp_path / "d" / "1" / "big.png")
    message = _run_bad(tmp_path, tmp_path / "d")
    assert "big.png" in message and "--resize" in message


def test_empty_class_folder(tmp_path):
    _write_folder(tmp_path / "d", _pixels(2), [0, 1])
    (tmp_path / "d" / "2").mkdir()
    assert "empty class folder" in _run_bad(tmp_path, tmp_path / "d")


def test_labels_beyond_the_models_classes(tmp_path):
    _write_folder(tmp_path / "d", _pixels(3), [0, 1, 7])  # SmallNet scores 4 classes
    assert "4 classes" in _run_bad(tmp_path, tmp_path / "d")


def test_named_class_folders_must_match_the_class_count(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / "d" / name).mkdir(parents=True)
        Image.fromarray(_pixels(1)[0], mode="L").save(tmp_path / "d" / name / "a.png")
    assert "2 class folders" in _run_bad(tmp_path, tmp_path / "d")


def _write_wav(path, samples, rate, channels=1):
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as clip:
        clip.setnchannels(channels)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(data.tobytes())


def test_wav_folder_resampled_mono_and_windowed(tmp_path):
    (tmp_path / "w" / "0").mkdir(parents=True)
    (tmp_path / "w" / "1").mkdir(parents=True)
    t = np.arange(16000) / 16000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    _write_wav(tmp_path / "w" / "0" / "a.wav", np.repeat(tone, 2), 16000, channels=2)  # 1 s stereo
    _write_wav(tmp_path / "w" / "1" / "b.wav", tone[:4000], 16000)  # 0.25 s
    source = open_data(tmp_path / "w", sample_shapes=((1, 3000),), name="data", preprocess=Preprocess(sample_rate=8000))
    # 8000 samples after resampling -> 3 windows (last padded); 2000 -> 1 padded window
    assert len(source.x) == 4 and list(source.y) == [0, 0, 0, 1]
    x = np.asarray(source.x)
    assert x.shape == (4, 1, 3000) and abs(np.abs(x[0]).max() - 0.5) < 0.02
    assert np.all(x[2, 0, 2000:] == 0) and np.all(x[3, 0, 2000:] == 0)


def test_non_audio_file_in_a_wav_folder(tmp_path):
    (tmp_path / "w").mkdir()
    _write_wav(tmp_path / "w" / "a.wav", np.zeros(100), 8000)
    (tmp_path / "w" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="notes.txt"):
        open_data(tmp_path / "w", sample_shapes=((100,),), name="data", preprocess=Preprocess(sample_rate=8000))
    (tmp_path / "w" / "notes.txt").unlink()
    (tmp_path / "w" / "fake.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(DataError, match="fake.wav"):
        open_data(tmp_path / "w", sample_shapes=((100,),), name="data", preprocess=Preprocess(sample_rate=8000))
