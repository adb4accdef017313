"""compressor.measure.delegation on real LiteRT, and compressor.model.rewrites: exact, and the int8
file they give stays in one XNNPACK partition."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from compressor.measure.delegation import Delegation, delegation_from_nodes, inspect_delegation, parse_delegate_log
from compressor.errors import ModelLoadError, VerificationError
from compressor.model.rewrites import HardswishAsMul, rewrite_for_int8_

SHAPE = (1, 3, 16, 16)


def _randomize_batchnorms(model: nn.Module, *, zero_shift: bool = False) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            if zero_shift:  # mean 0 and bias 0: y = a*x, no shift
                module.running_mean.zero_()
                module.bias.data.zero_()
            else:
                module.running_mean.copy_(torch.randn(n, generator=generator))
                module.bias.data.copy_(torch.randn(n, generator=generator))
    return model.eval()


class SlowInInt8(nn.Module):
    """BN after ReLU before a 1x1 conv (folds into it), BN before a zero-padded 3x3 conv (does
    not), and a Hardswish: the three cases the rewrites are for."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8))
        self.pointwise = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.BatchNorm2d(8))
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.Hardswish())
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.body(self.pointwise(self.stem(x))).mean(dim=(2, 3)))


def _assert_same_outputs(before: nn.Module, after: nn.Module, shape=(2, 3, 16, 16)) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1)) * 3
    with torch.no_grad():
        torch.testing.assert_close(after(x), before(x), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    """SlowInInt8 as float and int8 `.tflite`, before and after the rewrites."""
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.tflite_int8 import quantize_tflite

    folder = tmp_path_factory.mktemp("delegation")
    torch.manual_seed(0)
    model = _randomize_batchnorms(SlowInInt8())
    rewritten = copy.deepcopy(model)
    rewrite_for_int8_(rewritten)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random(SHAPE, dtype=np.float32))
    samples = [[rng.random(SHAPE, dtype=np.float32)] for _ in range(8)]
    paths = {}
    for name, module in (("before", model), ("after", rewritten)):
        paths[f"{name}_fp32"] = folder / f"{name}_fp32.tflite"
        paths[f"{name}_int8"] = folder / f"{name}_int8.tflite"
        export_tflite(module, (x,), paths[f"{name}_fp32"])
        quantize_tflite(paths[f"{name}_fp32"], paths[f"{name}_int8"], samples, per_channel=True)
    return paths


def test_float_model_is_one_partition_with_nothing_left_out(artifacts):
    result = inspect_delegation(artifacts["before_fp32"])
    assert result.partitions == 1 and result.not_delegated == []
    assert result.nodes_delegated == result.nodes_total > 0
    assert result.fully_delegated
    # The runtime's own line, from a fresh process's fd 2 (LiteRT prints it once per process).
    assert result.delegate == "XNNPACK"
    assert "Created TensorFlow Lite XNNPACK delegate" in result.log_line


def test_int8_hardswish_is_left_out_and_splits_the_graph(artifacts):
    result = inspect_delegation(artifacts["before_int8"])
    assert result.ops_left_out() == ["HARD_SWISH:int8"]
    assert result.partitions == 2
    assert result.nodes_delegated == result.nodes_total - 1
    assert set(result.not_delegated[0]) == {"index", "op", "dtype", "name"}
    # The log line comes again: each inspection is its own process.
    assert inspect_delegation(artifacts["before_int8"]).delegate == "XNNPACK"


def test_rewritten_int8_is_one_partition_with_fewer_nodes(artifacts):
    before = inspect_delegation(artifacts["before_int8"])
    after = inspect_delegation(artifacts["after_int8"])
    assert after.fully_delegated, after.ops_left_out()
    # Hardswish: 1 op -> 3 (MUL, ADD, MUL); one BN gone (-4 ops), one BN as a depthwise conv (4 -> 1).
    assert after.nodes_total < before.nodes_total


def test_missing_file_is_a_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no such file"):
        inspect_delegation(tmp_path / "absent.tflite")


def test_unloadable_file_is_a_verification_error(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer" * 8)
    with pytest.raises(VerificationError, match="junk.tflite"):
        inspect_delegation(junk)


def _library_format() -> str:
    """TFLite's own Replacing line, as compiled into the installed LiteRT."""
    import ai_edge_litert

    library = Path(ai_edge_litert.__file__).parent / "libpywrap_litert_common.so"
    content = library.read_bytes()
    start = content.index(b"Replacing %d out of %d node(s)")
    return content[start:content.index(b"\0", start)].decode().replace("%zu", "%d")


def test_the_libraries_replacing_line_parses():
    line = "INFO: " + _library_format() % (5, 6, "TfLiteXNNPackDelegate", 3, 0, "serving_default")
    parsed = parse_delegate_log("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n" + line + "\n")
    assert parsed["delegate"] == "XNNPACK"
    assert parsed["log_subsets"] == 3
    assert line.strip() in parsed["log_line"]


def test_a_log_that_disagrees_with_the_node_walk_is_an_error():
    # Tensor 0 -> A -> 1 -> B -> 2; one DELEGATE took both A and B.
    nodes = [{"op": "CONV_2D", "inputs": [0], "outputs": [1]},
             {"op": "HARD_SWISH", "inputs": [1], "outputs": [2]},
             {"op": "DELEGATE", "inputs": [0], "outputs": [2]}]
    tensors = {0: ("float32", "x"), 1: ("float32", "y"), 2: ("float32", "z")}
    line = _library_format() % (2, 2, "TfLiteXNNPackDelegate", 1, 0, "main")
    result = delegation_from_nodes("m.tflite", nodes, tensors, line)
    assert isinstance(result, Delegation) and result.nodes_delegated == 2 and result.fully_delegated
    with pytest.raises(VerificationError, match="shows 2 of 2 delegated"):
        delegation_from_nodes("m.tflite", nodes, tensors, line.replace("Replacing 2", "Replacing 1"))


# --- the rewrites are exact ----------------------------------------------------------------

def test_all_rewrites_on_one_model_are_exact():
    model = _randomize_batchnorms(SlowInInt8())
    rewritten = copy.deepcopy(model)
    done = rewrite_for_int8_(rewritten)
    assert done == [{"rewrite": "fold_bn_into_next_conv", "where": "stem.2 -> pointwise.0"},
                    {"rewrite": "batchnorm_as_depthwise", "where": "pointwise.2"},
                    {"rewrite": "hardswish_as_mul", "where": "body.1"}]
    assert isinstance(rewritten.stem[2], nn.Identity) and isinstance(rewritten.body[1], HardswishAsMul)
    _assert_same_outputs(model, rewritten)


@pytest.mark.parametrize("conv", [
    nn.Conv2d(8, 6, 3, groups=2),  # no padding, grouped
    nn.Conv2d(8, 8, 3, padding=1, groups=8, padding_mode="reflect"),  # padding copies the input
    nn.Conv2d(8, 4, 1, padding="same", bias=False),  # "same" pads nothing for 1x1; no bias yet
])
def test_batchnorm_folds_into_the_next_conv_exactly(conv):
    model = _randomize_batchnorms(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.BatchNorm2d(8), conv))
    rewritten = copy.deepcopy(model)
    assert rewrite_for_int8_(rewritten) == [{"rewrite": "fold_bn_into_next_conv", "where": "2 -> 3"}]
    _assert_same_outputs(model, rewritten)


def test_zero_padding_folds_only_without_shift():
    shifted = _randomize_batchnorms(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.BatchNorm2d(8),
                                                  nn.Conv2d(8, 8, 3, padding=1)))
    scaled_only = _randomize_batchnorms(copy.deepcopy(shifted), zero_shift=True)
    for model, expected in ((shifted, "batchnorm_as_depthwise"), (scaled_only, "fold_bn_into_next_conv")):
        rewritten = copy.deepcopy(model)
        assert [d["rewrite"] for d in rewrite_for_int8_(rewritten)] == [expected]
        _assert_same_outputs(model, rewritten)


def test_conv_batchnorm_pairs_and_shared_modules_are_left_alone():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn, self.act = nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3), nn.ReLU()

        def forward(self, x):
            return self.conv(self.bn(self.act(self.bn(x))))  # bn called twice

    for model in (_randomize_batchnorms(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))),
                  _randomize_batchnorms(Shared())):
        rewritten = copy.deepcopy(model)
        assert rewrite_for_int8_(rewritten) == []
        _assert_same_outputs(model, rewritten)


def test_untraceable_model_keeps_its_batchnorms_but_loses_hardswish():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.act, self.bn, self.conv = nn.ReLU(), nn.BatchNorm2d(3), nn.Conv2d(3, 4, 1)
            self.swish = nn.Hardswish()

        def forward(self, x):
            if x.sum() > 0:  # data-dependent: torch.fx cannot trace it
                x = self.conv(self.bn(self.act(x)))
            return self.swish(x)

    model = _randomize_batchnorms(Branchy())
    rewritten = copy.deepcopy(model)
    assert rewrite_for_int8_(rewritten) == [{"rewrite": "hardswish_as_mul", "where": "swish"}]
    assert isinstance(rewritten.bn, nn.BatchNorm2d)
    _assert_same_outputs(model, rewritten, shape=(1, 3, 8, 8))


# --- padded max pools after a ReLU ---------------------------------------------------------

class StemPool(nn.Module):
    """ResNet's stem in small: conv -> ReLU -> MaxPool2d(3, 2, 1), then a conv so the pool is inside."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(self.stem(x))


class FunctionalReluPools(nn.Module):
    """Each pool fed by a different functional spelling of relu, one by something that may be < 0."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.by_f = nn.MaxPool2d(3, 2, 1)
        self.by_torch = nn.MaxPool2d((3, 2), (2, 1), (1, 1))
        self.by_method = nn.MaxPool2d(2, 2, 1)
        self.by_conv = nn.MaxPool2d(3, 2, 1)

    def forward(self, x):
        y = self.conv(x)
        return (self.by_f(F.relu(y)).sum() + self.by_torch(torch.relu(y)).sum()
                + self.by_method(y.relu()).sum() + self.by_conv(y).sum())


def _assert_exactly_same(before: nn.Module, after: nn.Module, shape: tuple[int, ...]) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2)) * 3
    with torch.no_grad():
        torch.testing.assert_close(after(x), before(x), rtol=0, atol=1e-6)


def test_padded_maxpool_after_relu_becomes_zero_pad_and_stays_exact():
    torch.manual_seed(0)
    model = StemPool().eval()
    rewritten = copy.deepcopy(model)
    assert rewrite_for_int8_(rewritten) == [{"rewrite": "zero_pad_maxpool", "where": "stem.2"}]
    pad, pool = rewritten.stem[2]
    assert isinstance(pad, nn.ZeroPad2d) and pad.padding == (1, 1, 1, 1) and pool.padding == 0
    # Odd and even sizes: the last window sits differently on the padded border.
    for shape in ((2, 3, 16, 16), (1, 3, 15, 9)):
        _assert_exactly_same(model, rewritten, shape)


def test_functional_relus_count_and_other_producers_do_not():
    torch.manual_seed(0)
    model = FunctionalReluPools().eval()
    rewritten = copy.deepcopy(model)
    done = rewrite_for_int8_(rewritten)
    assert [d["where"] for d in done] == ["by_f", "by_torch", "by_method"]
    assert type(rewritten.by_conv) is nn.MaxPool2d and rewritten.by_conv.padding == 1
    _assert_exactly_same(model, rewritten, (2, 3, 14, 11))


@pytest.mark.parametrize("pool", [
    nn.MaxPool2d(3, 2, 1, ceil_mode=True),  # ceil_mode: windows may hang past the padding
    nn.MaxPool2d(3, 1, 1, dilation=2),  # dilated: a window may hold only padded taps
    nn.MaxPool2d(3, 2, 0),  # nothing to pad
])
def test_pools_zero_padding_could_change_are_left_alone(pool):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), pool).eval()
    assert rewrite_for_int8_(copy.deepcopy(model)) == []


def test_relu_output_read_elsewhere_is_left_alone():
    class TwoReaders(nn.Module):
        def __init__(self):
            super().__init__()
            self.act, self.pool = nn.ReLU(), nn.MaxPool2d(3, 1, 1)

        def forward(self, x):
            y = self.act(x)
            return self.pool(y) + y

    assert rewrite_for_int8_(TwoReaders()) == []


@pytest.fixture(scope="module")
def stem_pool_int8(tmp_path_factory) -> dict[str, Path]:
    """StemPool's int8 `.tflite`, before and after the rewrite."""
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.tflite_int8 import quantize_tflite

    folder = tmp_path_factory.mktemp("stem_pool")
    torch.manual_seed(0)
    model = StemPool().eval()
    rewritten = copy.deepcopy(model)
    rewrite_for_int8_(rewritten)
    rng = np.random.default_rng(0)
    samples = [[rng.standard_normal(SHAPE, dtype=np.float32)] for _ in range(8)]
    paths = {}
    for name, module in (("before", model), ("after", rewritten)):
        float_path, paths[name] = folder / f"{name}_fp32.tflite", folder / f"{name}_int8.tflite"
        export_tflite(module, (torch.from_numpy(samples[0][0]),), float_path)
        quantize_tflite(float_path, paths[name], samples, per_channel=True)
    return paths


def test_int8_stem_pool_is_fully_delegated_after_the_rewrite(stem_pool_int8):
    from compressor.measure.runtime import LiteRTRunner

    before = inspect_delegation(stem_pool_int8["before"])
    after = inspect_delegation(stem_pool_int8["after"])
    assert before.ops_left_out() == ["PADV2:int8"] and before.partitions == 2
    assert after.fully_delegated and after.partitions == 1, after.ops_left_out()
    assert after.nodes_total == before.nodes_total  # PADV2 became PAD, nothing more
    # Same int8 graph up to the pad value: both files give the same int8 outputs.
    x = np.random.default_rng(3).standard_normal(SHAPE, dtype=np.float32)
    outputs = [LiteRTRunner(stem_pool_int8[name], num_threads=1).run([x])[0] for name in ("before", "after")]
    np.testing.assert_array_equal(outputs[0], outputs[1])
