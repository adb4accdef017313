"""The reference zoo: registry, shipped weights and data, accuracy, exportability."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from compressor.zoo import ZOO, data_path, get_entry, load_pretrained, weights_path
from compressor.zoo.digits import IMAGE_SIDE_PX, NUM_CLASSES

NAMES = ("vgg_digits", "mobilenetv2_digits", "resnet_digits")
# Exact counts, so an architecture edit that forgets to retrain fails here first.
EXPECTED_PARAMS = {"vgg_digits": 241_898, "mobilenetv2_digits": 231_434, "resnet_digits": 308_538}
MIN_TEST_ACCURACY = 0.97
MAX_WEIGHTS_BYTES = 2_000_000
MAX_NPZ_BYTES = 500_000  # both files ship in the repository
SPLIT_SIZES = {"train": 1437, "test": 360}  # 1,797 digits, stratified 80/20


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def test_split() -> tuple[torch.Tensor, np.ndarray]:
    with np.load(data_path("test")) as arrays:
        return torch.from_numpy(arrays["x"]), arrays["y"]


def test_registry_holds_the_three_models():
    assert tuple(ZOO) == NAMES
    for name, entry in ZOO.items():
        assert entry.name == name
        assert entry.input_shape == (1, 1, IMAGE_SIDE_PX, IMAGE_SIDE_PX)
        assert entry.num_classes == NUM_CLASSES
        assert weights_path(name).name == entry.weights_file == f"{name}.pt"
        assert "\n" not in entry.description


def test_unknown_names_raise_key_error_listing_known_ones():
    with pytest.raises(KeyError, match="resnet_digits"):
        get_entry("resnet50")
    with pytest.raises(KeyError, match="vgg_digits"):
        weights_path("vgg")
    with pytest.raises(KeyError, match="train"):
        data_path("validation")


@pytest.mark.parametrize("name", NAMES)
def test_fresh_model_outputs_logits_per_image(name):
    entry = ZOO[name]
    model = entry.build().eval()
    with torch.no_grad():
        logits = model(torch.rand(3, *entry.input_shape[1:]))
    assert logits.shape == (3, entry.num_classes)
    assert logits.dtype == torch.float32


@pytest.mark.parametrize("name", NAMES)
def test_param_count_matches_the_description(name):
    params = count_params(ZOO[name].build())
    assert params == EXPECTED_PARAMS[name]
    assert f"{round(params / 1e3)}k params" in ZOO[name].description


@pytest.mark.parametrize("name", ["vgg_digits", "resnet_digits"])
def test_dense_models_are_large_enough_to_compress(name):
    assert count_params(ZOO[name].build()) > 200_000


def test_vgg_convs_are_dense_3x3_with_batchnorm():
    model = ZOO["vgg_digits"].build()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.groups == 1 and c.kernel_size == (3, 3) and c.bias is None for c in convs)
    assert sum(c.in_channels >= 32 for c in convs) >= 3  # wide ones, for the depthwise pass
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == len(convs)


def test_mobilenetv2_has_depthwise_convs():
    convs = [m for m in ZOO["mobilenetv2_digits"].build().modules() if isinstance(m, nn.Conv2d)]
    assert any(c.groups == c.in_channels == c.out_channels > 1 for c in convs)


@pytest.mark.parametrize("name", NAMES)
def test_shipped_weights_load_strictly(name):
    path = weights_path(name)
    assert 0 < path.stat().st_size < MAX_WEIGHTS_BYTES
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(t.dtype in (torch.float32, torch.int64) for t in state.values())  # fp32 + BN counters
    ZOO[name].build().load_state_dict(state, strict=True)
    assert not load_pretrained(name).training


@pytest.mark.parametrize("name", NAMES)
def test_shipped_weights_reach_the_documented_accuracy(name, test_split):
    x, y = test_split
    with torch.no_grad():
        predicted = load_pretrained(name)(x).argmax(dim=1).numpy()
    assert (predicted == y).mean() >= MIN_TEST_ACCURACY


@pytest.mark.parametrize("name", NAMES)
def test_torch_export_matches_eager(name):
    model = load_pretrained(name)
    x = torch.rand(ZOO[name].input_shape)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x))


@pytest.mark.parametrize("split", ["train", "test"])
def test_npz_files_have_documented_arrays(split):
    path = data_path(split)
    assert path.stat().st_size < MAX_NPZ_BYTES
    with np.load(path) as arrays:
        assert sorted(arrays.files) == ["x", "y"]
        x, y = arrays["x"], arrays["y"]
    count = SPLIT_SIZES[split]
    assert x.dtype == np.float32 and x.shape == (count, 1, IMAGE_SIDE_PX, IMAGE_SIDE_PX)
    assert y.dtype == np.int64 and y.shape == (count,)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) == set(range(NUM_CLASSES))
    # Nearest-neighbour ×4 upsampling: every 4×4 block is one source pixel.
    np.testing.assert_array_equal(x, x[:, :, ::4, ::4].repeat(4, axis=2).repeat(4, axis=3))


def test_shipped_npz_is_the_documented_split():
    pytest.importorskip("sklearn")
    from compressor.zoo.digits import load_digits_npz, split_digits

    for split_name, split in split_digits().items():
        shipped = load_digits_npz(data_path(split_name))
        np.testing.assert_array_equal(shipped.x, split.x)
        np.testing.assert_array_equal(shipped.y, split.y)
