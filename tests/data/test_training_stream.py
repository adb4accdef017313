"""Fine-tuning streams its data: batches read by index in a seeded order, never all samples at once."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image

from compressor import compress
from compressor.data import LazySamples, TrainingBatches
from compressor.model.recovery import RecoveryConfig, finetune_
from compressor.quant.qat import qat_finetune_
from tests.helpers import SmallNet


class CountingSamples(LazySamples):
    """LazySamples over an array that counts reads and refuses to be read whole."""

    def __init__(self, array: np.ndarray):
        self.reads: list[int] = []
        self.array = array

        def read(index: int) -> np.ndarray:
            self.reads.append(index)
            return array[index]

        super().__init__(read, len(array), array.shape[1:])

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole data set was asked for")


def _data(count=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((count, 1, 12, 12), dtype=np.float32), rng.integers(0, 4, count)


def test_each_epoch_reads_every_sample_once_in_a_seeded_order():
    x, y = _data()
    lazy = CountingSamples(x)
    batches = TrainingBatches(lazy, y, batch_size=16, seed=3)
    first = [b for b in batches.epoch(0)]
    assert [len(b.indices) for b in first] == [16, 16, 16, 2] and batches.steps_per_epoch == 4
    order = np.concatenate([b.indices for b in first])
    assert sorted(lazy.reads) == list(range(50))  # each sample read once
    # read when due (batch by batch), in file order within a batch
    assert lazy.reads == [i for b in first for i in sorted(b.indices)]
    assert not np.array_equal(order, np.arange(50))  # shuffled
    for b in first:
        assert np.array_equal(b.x, x[b.indices]) and np.array_equal(b.y, y[b.indices])
    again = np.concatenate([b.indices for b in TrainingBatches(x, y, batch_size=16, seed=3).epoch(0)])
    other_epoch = np.concatenate([b.indices for b in batches.epoch(1)])
    other_seed = np.concatenate([b.indices for b in TrainingBatches(x, y, batch_size=16, seed=4).epoch(0)])
    assert np.array_equal(order, again)
    assert not np.array_equal(order, other_epoch) and not np.array_equal(order, other_seed)


def _models():
    torch.manual_seed(0)
    teacher = SmallNet().eval()
    student = copy.deepcopy(teacher)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return teacher, student


@pytest.mark.parametrize("labels", [False, True])
def test_streamed_recovery_equals_in_memory_recovery_byte_for_byte(labels):
    x, y = _data()
    y = y if labels else None
    teacher, student = _models()
    config = RecoveryConfig(epochs=2, batch_size=16, lr=5e-3, seed=1)
    in_memory, streamed = copy.deepcopy(student), copy.deepcopy(student)
    facts = finetune_(in_memory, teacher, x, y, config=config)
    lazy = CountingSamples(x)
    finetune_(streamed, teacher, lazy, y, config=config)
    assert facts["steps"] == 8 and facts["loss"] == ("kd+ce" if labels else "kd")
    assert len(lazy.reads) == 1 + 2 * 50  # one probe, then every sample once per epoch
    a, b = in_memory.state_dict(), streamed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], student.state_dict()[k]) for k in a)  # it did train
    other = copy.deepcopy(student)
    finetune_(other, teacher, x, y, config=RecoveryConfig(epochs=2, batch_size=16, lr=5e-3, seed=2))
    assert any(not torch.equal(a[k], other.state_dict()[k]) for k in a)  # the seed sets the order


def test_qat_streams_calibration_and_training():
    x, y = _data()
    teacher, student = _models()
    lazy = CountingSamples(x)
    streamed, in_memory = copy.deepcopy(student), copy.deepcopy(student)
    facts = qat_finetune_(streamed, teacher, lazy, y, epochs=2, lr=1e-3, batch_size=16, seed=5)
    qat_finetune_(in_memory, teacher, x, y, epochs=2, lr=1e-3, batch_size=16, seed=5)
    assert facts["samples"] == 50 and len(lazy.reads) == 50 + 1 + 2 * 50  # calibration, probe, 2 epochs
    a, b = in_memory.state_dict(), streamed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def _image_folder(root, count=40):
    pixels = np.random.default_rng(0).integers(0, 256, (count, 12, 12), dtype=np.uint8)
    for k, image in enumerate(pixels):
        (root / str(k % 4)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(root / str(k % 4) / f"{k:03d}.png")


def _refuse(self, dtype=None, copy=None):
    raise AssertionError("the whole folder was read into memory")


def test_pruning_an_image_folder_streams_it(tmp_path, monkeypatch):
    _image_folder(tmp_path / "images")
    monkeypatch.setattr(LazySamples, "__array__", _refuse)
    torch.manual_seed(0)
    result = compress(SmallNet().eval(), target="android-arm64", data=tmp_path / "images", out=tmp_path / "out",
                      passes=("prune", "fold", "export"), export={"format": "onnx"},
                      prune={"method": "unstructured", "amount": 0.5, "finetune_epochs": 2, "batch_size": 16},
                      example_inputs=torch.zeros(1, 1, 12, 12))
    recovery = next(s for s in result.report["steps"] if s["name"] == "prune")["recovery"]
    assert recovery["samples"] == 40 and recovery["steps"] == 6  # 2 epochs of 3 batches, every image read


def test_dsconv_on_an_image_folder_keeps_it_lazy(tmp_path, monkeypatch):
    _image_folder(tmp_path / "images", count=60)  # 12 held out (20%), 48 to fine-tune on
    monkeypatch.setattr(LazySamples, "__array__", _refuse)
    torch.manual_seed(0)
    result = compress(SmallNet().eval(), target="android-arm64", data=tmp_path / "images", out=tmp_path / "out",
                      passes=("dsconv", "fold", "export"), export={"format": "onnx"},
                      dsconv={"mode": "all", "finetune_epochs": 1},
                      example_inputs=torch.zeros(1, 1, 12, 12))
    step = next(s for s in result.report["steps"] if s["name"] == "dsconv")
    assert step["substituted"] >= 1 and step["recovery"]["samples"] == 48 and step["held_out"]["checked"]


def test_a_loader_over_a_dataset_is_fine_tuned_by_index_and_a_subset_loader_is_held(tmp_path, monkeypatch):
    from torch.utils.data import DataLoader, SubsetRandomSampler, TensorDataset

    from compressor.data import Source

    x, y = _data(40)
    dataset = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    held = []
    real = Source.materialize
    monkeypatch.setattr(Source, "materialize", lambda self: held.append(self) or real(self))
    common = dict(target="android-arm64", passes=("prune", "fold", "export"), export={"format": "onnx"},
                  prune={"method": "unstructured", "amount": 0.5, "finetune_epochs": 1, "batch_size": 16})
    torch.manual_seed(0)
    model = SmallNet().eval()
    loader = DataLoader(dataset, batch_size=8, shuffle=True)
    result = compress(model, data=loader, out=tmp_path / "a", **common)
    recovery = next(s for s in result.report["steps"] if s["name"] == "prune")["recovery"]
    assert not held and recovery["samples"] == 40 and recovery["loss"] == "kd+ce"
    # A loader over a subset: only the loader knows which items, so fine-tuning holds them, and says so.
    from compressor.config import Recipe
    from compressor.data import Preprocess
    from compressor.inputs import prepare_inputs

    subset = DataLoader(dataset, batch_size=8, sampler=SubsetRandomSampler(range(24)))
    inputs, _ = prepare_inputs(None, data=subset, eval_data=None, shapes=((1, 1, 12, 12),),
                               preprocess=Preprocess(), recipe=Recipe(), fine_tunes=True)
    assert len(held) == 1 and isinstance(inputs.calibration_x, np.ndarray) and len(inputs.calibration_x) == 24
    assert any("can only be iterated" in w for w in inputs.warnings)


def test_a_shuffled_batch_decodes_each_wav_clip_once(tmp_path, monkeypatch):
    import wave

    import compressor.data.audio as audio
    from compressor import Preprocess
    from compressor.data import open_data

    for k in range(2):  # two clips of 8 windows of 100 samples
        with wave.open(str(tmp_path / f"clip{k}.wav"), "wb") as clip:
            clip.setnchannels(1), clip.setsampwidth(2), clip.setframerate(8000)
            clip.writeframes((np.arange(800, dtype=np.int16) * (k + 1)).tobytes())
    decoded = []
    real = audio.read_wav
    monkeypatch.setattr(audio, "read_wav", lambda path, rate: decoded.append(path.name) or real(path, rate))
    source = open_data(tmp_path, sample_shapes=((1, 100),), preprocess=Preprocess(sample_rate=8000), name="data")
    batches = list(TrainingBatches(source.x, None, batch_size=16, seed=0).epoch(0))
    assert len(source.x) == 16 and len(batches) == 1 and decoded == ["clip0.wav", "clip1.wav"]
    assert np.array_equal(batches[0].x, np.stack([source.x[int(i)] for i in batches[0].indices]))
