"""compressor.data: .npz samples are checked, and every problem is one line naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from compressor.data import Dataset, load_npz, overlap_fraction, parse_input_shape
from compressor.errors import ConfigError, DataError

RNG = np.random.default_rng(0)
IMAGES = RNG.random((6, 1, 8, 8), dtype=np.float32)
LABELS = np.array([0, 1, 2, 0, 1, 2])


def _data_error(path, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        load_npz(path, **kwargs)
    message = str(caught.value)
    assert path.name in message and "\n" not in message
    return message


def _npz(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


# --- what loads -------------------------------------------------------------------------

def test_images_with_labels(tmp_path):
    path = _npz(tmp_path, x=IMAGES, y=LABELS)
    data = load_npz(path, per_sample_shape=(1, 8, 8), require_labels=True)
    assert isinstance(data, Dataset) and data.path == path
    assert data.x.dtype == np.float32 and data.x.shape == (6, 1, 8, 8) and np.array_equal(data.x, IMAGES)
    assert data.y.dtype == np.int64 and np.array_equal(data.y, LABELS)


def test_audio_without_labels_and_casts(tmp_path):
    audio = RNG.integers(-100, 100, size=(4, 64)).astype(np.int16)  # raw PCM, N x L
    data = load_npz(_npz(tmp_path, x=audio), per_sample_shape=(64,))
    assert data.x.dtype == np.float32 and data.x.shape == (4, 64) and data.y is None


def test_float64_x_and_whole_float_labels(tmp_path):
    data = load_npz(_npz(tmp_path, x=IMAGES.astype(np.float64), y=LABELS.astype(np.float32)))
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64 and np.array_equal(data.y, LABELS)


def test_other_arrays_are_ignored(tmp_path):
    assert load_npz(_npz(tmp_path, x=IMAGES, names=np.array(["a", "b"]))).x.shape == IMAGES.shape


# --- the file ---------------------------------------------------------------------------

def test_missing_file(tmp_path):
    assert "no such file" in _data_error(tmp_path / "absent.npz")


def test_directory(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    assert "is a directory" in _data_error(tmp_path / "dir.npz")


def test_empty_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    assert "is empty (0 bytes)" in _data_error(tmp_path / "empty.npz")


def test_random_bytes(tmp_path):
    (tmp_path / "noise.npz").write_bytes(bytes(range(256)) * 3)
    assert "is not a valid .npz file" in _data_error(tmp_path / "noise.npz")


def test_npy_instead_of_npz(tmp_path):
    np.save(tmp_path / "x.npy", IMAGES)
    assert "is a single .npy array, not an .npz archive" in _data_error(tmp_path / "x.npy")


def test_truncated_npz(tmp_path):
    data = _npz(tmp_path, x=IMAGES).read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in _data_error(tmp_path / "cut.npz")


def test_object_array_is_refused(tmp_path):
    path = _npz(tmp_path, x=np.array([{"a": 1}, None], dtype=object))
    assert "array 'x' holds Python objects (object dtype)" in _data_error(path)


# --- x ----------------------------------------------------------------------------------

def test_no_x_lists_the_arrays(tmp_path):
    assert "has no array 'x' (it has: images, labels)" in _data_error(_npz(tmp_path, images=IMAGES, labels=LABELS))


def test_x_not_numeric(tmp_path):
    assert "x must be numeric, got dtype <U" in _data_error(_npz(tmp_path, x=np.array([["a", "b"], ["c", "d"]])))


def test_x_with_one_dim(tmp_path):
    assert "at least 2 dims), got shape (5,)" in _data_error(_npz(tmp_path, x=np.zeros(5, np.float32)))


def test_x_with_no_samples(tmp_path):
    assert "x has 0 samples" in _data_error(_npz(tmp_path, x=np.zeros((0, 1, 8, 8), np.float32)))


def test_x_with_nan_and_inf(tmp_path):
    x = IMAGES.copy()
    x[0, 0, 0, :2] = np.nan
    x[1, 0, 0, 0] = np.inf
    assert "x has 2 NaN and 1 Inf values" in _data_error(_npz(tmp_path, x=x))


def test_float64_overflow_counts_as_inf(tmp_path):
    x = IMAGES.astype(np.float64)
    x[0, 0, 0, 0] = 1e300
    assert "x has 0 NaN and 1 Inf values (as float32)" in _data_error(_npz(tmp_path, x=x))


def test_per_sample_shape_mismatch(tmp_path):
    path = _npz(tmp_path, x=np.zeros((3, 1, 28, 28), np.float32))
    message = _data_error(path, per_sample_shape=(1, 32, 32))
    assert "x has per-sample shape (1, 28, 28) but the model takes (1, 32, 32)" in message


# --- y ----------------------------------------------------------------------------------

def test_y_not_integer_valued(tmp_path):
    assert "y must hold integer class labels, got dtype float64 with non-integer values" in _data_error(
        _npz(tmp_path, x=IMAGES, y=np.linspace(0, 1, 6)))


def test_y_strings(tmp_path):
    assert "y must hold integer class labels, got dtype <U" in _data_error(
        _npz(tmp_path, x=IMAGES, y=np.array(list("abcdef"))))


def test_y_not_one_dimensional(tmp_path):
    assert "y must be 1-D (one label per sample), got shape (6, 1)" in _data_error(
        _npz(tmp_path, x=IMAGES, y=LABELS[:, None]))


def test_y_length_differs(tmp_path):
    assert "y has 5 labels but x has 6 samples" in _data_error(_npz(tmp_path, x=IMAGES, y=LABELS[:5]))


def test_labels_required(tmp_path):
    assert "has no labels 'y'" in _data_error(_npz(tmp_path, x=IMAGES), require_labels=True)


# --- helpers ----------------------------------------------------------------------------

def test_overlap_fraction():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    b = np.concatenate([a[2:], a[:2] + 100])
    assert overlap_fraction(a, b) == 0.5
    assert overlap_fraction(a, a.astype(np.float64)) == 1.0
    assert overlap_fraction(a, a[:0]) == 0.0
    assert overlap_fraction(a, np.zeros((2, 4), np.float32)) == 0.0


@pytest.mark.parametrize("text, shape", [("1,1,32,32", (1, 1, 32, 32)), (" 1, 64 ", (1, 64)), ("8", (8,))])
def test_parse_input_shape(text, shape):
    assert parse_input_shape(text) == shape


@pytest.mark.parametrize("text", ["", "1,,32", "1,0,32", "-1,3", "1x3x32x32", "1.5,2", "a,b"])
def test_parse_input_shape_refuses(text):
    with pytest.raises(ConfigError) as caught:
        parse_input_shape(text)
    assert caught.value.field == "input_shape" and "comma-separated positive integers" in str(caught.value)
