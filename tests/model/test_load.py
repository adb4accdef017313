"""compressor.model.load: every format torch writes, detected by content, and every refusal.

Each error test checks the class, that the message names the file, and the problem.
The architectures live in a module written to tmp_path, importable as `--arch loadnets:...`
the way a user's own code is (current directory on the path).
"""

from __future__ import annotations

import json
import pickle
import struct
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from compressor.errors import ModelLoadError
from compressor.model.load import LoadedModel, load_model, make_exportable

# torch 2.13 deprecates torch.jit; we still have to read what users saved with it
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.* is deprecated:DeprecationWarning")

NETS = textwrap.dedent('''
    import torch
    from torch import nn


    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                          nn.MaxPool2d(2))
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            return self.head(self.features(x).mean(dim=(2, 3)))


    class AudioNet(nn.Module):
        """Raw audio frames N x L."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(1, 4, 5, stride=2), nn.BatchNorm1d(4), nn.ReLU())
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.conv(x.unsqueeze(1)).mean(dim=2))


    class WideCNN(SmallCNN):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(4, 5)
            self.extra = nn.Linear(2, 2)


    class NeedsArgs(nn.Module):
        def __init__(self, width, depth=2):
            super().__init__()


    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            raise RuntimeError("boom in constructor")


    class NotAModule:
        pass


    class Config:
        def __init__(self):
            self.lr = 0.1


    def build_small():
        return SmallCNN()


    def build_nothing():
        return 42


    instance = SmallCNN()
    WIDTH = 3
''')


@pytest.fixture
def nets(tmp_path, monkeypatch):
    """tmp_path as the current directory, with loadnets.py importable from it."""
    (tmp_path / "loadnets.py").write_text(NETS)
    (tmp_path / "badimport.py").write_text("import does_not_exist_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for name in ("loadnets", "badimport"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import loadnets

    return loadnets


def _trained(model: torch.nn.Module) -> torch.nn.Module:
    """Deterministic weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.fixture
def cnn(nets):
    return _trained(nets.SmallCNN())


X = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
AUDIO = torch.randn(2, 64, generator=torch.Generator().manual_seed(2))


def _same_outputs(loaded: LoadedModel, reference: torch.nn.Module, x: torch.Tensor = X) -> bool:
    with torch.no_grad():
        return torch.allclose(loaded.module(x), reference(x), atol=1e-6)


def _load_error(path, **kwargs) -> str:
    with pytest.raises(ModelLoadError) as caught:
        load_model(path, **kwargs)
    message = str(caught.value)
    assert Path(path).name in message and "\n" not in message
    return message


# --- state dicts ------------------------------------------------------------------------

def test_state_dict_with_arch_class(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    loaded = load_model(tmp_path / "cnn.pt", arch="loadnets:SmallCNN")
    assert (loaded.source_format, loaded.arch, loaded.input_shapes) == ("state_dict", "loadnets:SmallCNN", None)
    assert loaded.path == tmp_path / "cnn.pt" and not loaded.module.training
    assert _same_outputs(loaded, cnn)


def test_state_dict_with_arch_factory(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    assert _same_outputs(load_model(str(tmp_path / "cnn.pt"), arch="loadnets:build_small"), cnn)


@pytest.mark.parametrize("key", ["state_dict", "model_state_dict", "model", "net"])
def test_checkpoint_wrapper(cnn, tmp_path, key):
    torch.save({key: cnn.state_dict(), "epoch": 3, "best_acc": 0.9}, tmp_path / "ckpt.pt")
    loaded = load_model(tmp_path / "ckpt.pt", arch="loadnets:SmallCNN")
    assert loaded.checkpoint_key == key and _same_outputs(loaded, cnn)


def test_dataparallel_prefix_is_stripped(cnn, tmp_path):
    torch.save({f"module.{k}": v for k, v in cnn.state_dict().items()}, tmp_path / "dp.pt")
    assert _same_outputs(load_model(tmp_path / "dp.pt", arch="loadnets:SmallCNN"), cnn)


def test_legacy_non_zip_state_dict(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    assert (tmp_path / "old.pt").read_bytes()[:2] == b"\x80\x02"
    assert _same_outputs(load_model(tmp_path / "old.pt", arch="loadnets:SmallCNN"), cnn)


def test_state_dict_named_onnx_still_loads(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "weights.onnx")
    assert load_model(tmp_path / "weights.onnx", arch="loadnets:SmallCNN").source_format == "state_dict"


def test_audio_model_state_dict(nets, tmp_path):
    audio = _trained(nets.AudioNet())
    torch.save(audio.state_dict(), tmp_path / "audio.pt")
    assert _same_outputs(load_model(tmp_path / "audio.pt", arch="loadnets:AudioNet"), audio, AUDIO)


def test_loading_keeps_the_callers_rng_and_prints_nothing(cnn, tmp_path, capfd):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    state = torch.get_rng_state()
    first = load_model(tmp_path / "cnn.pt", arch="loadnets:SmallCNN")
    second = load_model(tmp_path / "cnn.pt", arch="loadnets:SmallCNN")
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first.module(X), second.module(X))
    assert capfd.readouterr() == ("", "")


# --- zoo ----------------------------------------------------------------------------------

@pytest.fixture
def fake_zoo(nets, monkeypatch):
    """A zoo of our test architectures: no dependency on the real zoo's weights."""
    import compressor.zoo

    def entry(name, build, shape):
        return compressor.zoo.ZooEntry(name=name, build=build, input_shape=shape, num_classes=3,
                                       weights_file=f"{name}.pt", description="test")

    zoo = {"small": entry("small", nets.SmallCNN, (1, 1, 8, 8)), "audio": entry("audio", nets.AudioNet, (1, 64))}
    monkeypatch.setattr(compressor.zoo, "ZOO", zoo)
    return zoo


def test_state_dict_without_arch_matches_one_zoo_entry(cnn, fake_zoo, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    loaded = load_model(tmp_path / "cnn.pt")
    assert (loaded.arch, loaded.input_shapes) == ("small", ((1, 1, 8, 8),))
    assert _same_outputs(loaded, cnn)


def test_zoo_name_as_arch(nets, fake_zoo, tmp_path):
    audio = _trained(nets.AudioNet())
    torch.save(audio.state_dict(), tmp_path / "audio.pt")
    loaded = load_model(tmp_path / "audio.pt", arch="audio")
    assert (loaded.arch, loaded.input_shapes) == ("audio", ((1, 64),))


def test_state_dict_matching_two_zoo_entries_needs_arch(cnn, fake_zoo, monkeypatch, tmp_path):
    monkeypatch.setitem(fake_zoo, "small_again", fake_zoo["small"])
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    message = _load_error(tmp_path / "cnn.pt")
    assert "state dict" in message and "--arch" in message and "small_again" in message


def test_state_dict_without_arch_and_no_zoo_match(nets, fake_zoo, tmp_path):
    torch.save(nets.WideCNN().state_dict(), tmp_path / "wide.pt")
    message = _load_error(tmp_path / "wide.pt")
    assert "is a state dict (weights only); pass --arch module:Class (or a zoo name: small, audio)" in message


def test_shipped_zoo_weights_load_without_arch():
    from compressor.zoo import weights_path

    path = weights_path("vgg_digits")
    if not path.exists():
        pytest.skip("zoo weights not built")
    loaded = load_model(path)
    assert (loaded.arch, loaded.input_shapes) == ("vgg_digits", ((1, 1, 32, 32),))


# --- TorchScript, torch.export, pickles -----------------------------------------------------

@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_and_make_exportable(cnn, tmp_path, how, capfd):
    scripted = torch.jit.script(cnn) if how == "script" else torch.jit.trace(cnn, (X[:1],))
    torch.jit.save(scripted, tmp_path / "ts.pt")
    loaded = load_model(tmp_path / "ts.pt")
    assert (loaded.source_format, loaded.input_shapes, loaded.arch) == ("torchscript", None, None)
    module = make_exportable(loaded, (X[:1],))
    assert not module.training
    with torch.no_grad():
        assert torch.equal(module(X[:1]), loaded.module(X[:1]))
        assert torch.allclose(module(X[:1]), cnn(X[:1]), atol=1e-6)
    program = torch.export.export(module, (X[:1],))
    assert torch.allclose(program.module()(X[:1]), cnn(X[:1]), atol=1e-6)
    assert capfd.readouterr().err == ""


def test_make_exportable_reports_a_failed_conversion(cnn, tmp_path):
    torch.jit.save(torch.jit.script(cnn), tmp_path / "ts.pt")
    loaded = load_model(tmp_path / "ts.pt")
    with pytest.raises(ModelLoadError) as caught:
        make_exportable(loaded, (torch.randn(1, 3, 8, 8),))  # 3 channels into a 1-channel conv
    assert "ts.pt" in str(caught.value) and "TS2EPConverter" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_make_exportable_returns_other_modules_unchanged(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    loaded = load_model(tmp_path / "cnn.pt", arch="loadnets:SmallCNN")
    assert make_exportable(loaded, (X[:1],)) is loaded.module


def test_torch_export_archive(cnn, tmp_path):
    torch.export.save(torch.export.export(cnn, (X[:1],)), tmp_path / "cnn.pt2")
    loaded = load_model(tmp_path / "cnn.pt2")
    assert (loaded.source_format, loaded.input_shapes) == ("torch.export", ((1, 1, 8, 8),))
    assert _same_outputs(loaded, cnn, X[:1])  # exported with a static batch of 1
    assert torch.export.export(make_exportable(loaded, (X[:1],)), (X[:1],)) is not None


@pytest.mark.parametrize("fmt", ["torchscript", "torch.export"])
def test_audio_model_archives(nets, tmp_path, fmt):
    audio = _trained(nets.AudioNet())
    if fmt == "torchscript":
        torch.jit.save(torch.jit.trace(audio, (AUDIO[:1],)), tmp_path / "audio.bin")
    else:
        torch.export.save(torch.export.export(audio, (AUDIO[:1],)), tmp_path / "audio.bin")
    loaded = load_model(tmp_path / "audio.bin")
    assert loaded.source_format == fmt
    assert _same_outputs(loaded, audio, AUDIO[:1])
    if fmt == "torch.export":
        assert loaded.input_shapes == ((1, 64),)
    module = make_exportable(loaded, (AUDIO[:1],))
    assert torch.allclose(module(AUDIO[:1]), audio(AUDIO[:1]), atol=1e-6)


def test_full_pickle_refused_without_trust_and_loaded_with_it(cnn, tmp_path):
    torch.save(cnn, tmp_path / "whole.pt")
    message = _load_error(tmp_path / "whole.pt")
    assert "is a full pickle (it contains loadnets.SmallCNN)" in message
    assert "--trust-pickle" in message
    loaded = load_model(tmp_path / "whole.pt", trust_pickle=True)
    assert loaded.source_format == "pickle" and _same_outputs(loaded, cnn)


def test_trusted_pickle_of_a_checkpoint_with_objects(cnn, nets, tmp_path):
    torch.save({"state_dict": cnn.state_dict(), "config": nets.Config()}, tmp_path / "ckpt.pt")
    assert "loadnets.Config" in _load_error(tmp_path / "ckpt.pt", arch="loadnets:SmallCNN")
    loaded = load_model(tmp_path / "ckpt.pt", arch="loadnets:SmallCNN", trust_pickle=True)
    assert loaded.source_format == "state_dict" and _same_outputs(loaded, cnn)


def test_trusted_pickle_that_is_not_a_model(nets, tmp_path):
    torch.save(nets.Config(), tmp_path / "config.pt")
    assert "holds a Config, not a model or a state dict" in _load_error(tmp_path / "config.pt", trust_pickle=True)


def test_trusted_pickle_whose_class_is_gone(cnn, tmp_path, monkeypatch):
    torch.save(cnn, tmp_path / "whole.pt")
    (tmp_path / "loadnets.py").unlink()
    monkeypatch.delitem(sys.modules, "loadnets")
    message = _load_error(tmp_path / "whole.pt", trust_pickle=True)
    assert "classes cannot be found" in message and "loadnets" in message


def _rewrite_zip(source: Path, target: Path, edit) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, edit(name, old.read(name)))


def test_export_archive_with_pickled_weights_needs_trust(cnn, tmp_path):
    torch.export.save(torch.export.export(cnn, (X[:1],)), tmp_path / "cnn.pt2")

    def mark_pickled(name, data):
        if not name.endswith("weights_config.json"):
            return data
        config = json.loads(data)
        next(iter(config["config"].values()))["use_pickle"] = True
        return json.dumps(config).encode()

    _rewrite_zip(tmp_path / "cnn.pt2", tmp_path / "evil.pt2", mark_pickled)
    message = _load_error(tmp_path / "evil.pt2")
    assert "torch.export archive with pickled objects" in message and "--trust-pickle" in message


# --- not PyTorch, or broken ------------------------------------------------------------

def _onnx_bytes() -> bytes:
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return helper.make_model(graph).SerializeToString()


def test_onnx_named_pt_is_refused_as_onnx(tmp_path):
    (tmp_path / "model.pt").write_bytes(_onnx_bytes())
    message = _load_error(tmp_path / "model.pt")
    assert "is already an ONNX model" in message and "compress takes a PyTorch model" in message


def test_tflite_is_refused_as_tflite(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(200))
    message = _load_error(tmp_path / "model.pt")
    assert "is already a TFLite model" in message and "compress profile" in message


@pytest.mark.parametrize("make, problem", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    (lambda p: p.write_bytes(bytes(range(256)) * 4), "is not a PyTorch model file"),
    (lambda p: p.write_bytes(pickle.dumps({"a": 1}, protocol=2)), "pickle that torch.save did not write"),
])
def test_unusable_files(tmp_path, make, problem):
    path = tmp_path / "model.pt"
    make(path)
    assert problem in _load_error(path)


def test_truncated_zip(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    data = (tmp_path / "cnn.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    assert "is truncated" in _load_error(tmp_path / "cut.pt", arch="loadnets:SmallCNN")


def test_truncated_legacy_pickle(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    data = (tmp_path / "old.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    assert "is truncated" in _load_error(tmp_path / "cut.pt", arch="loadnets:SmallCNN")


def test_zip_member_with_bad_checksum(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    data = bytearray((tmp_path / "cnn.pt").read_bytes())
    with zipfile.ZipFile(tmp_path / "cnn.pt") as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("data/0"))
    # the local header (30 bytes + name + extra, whose lengths sit at bytes 26..29) precedes the data
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_length + extra_length] ^= 0xFF  # the first weight byte
    (tmp_path / "bad.pt").write_bytes(bytes(data))
    assert "is corrupt: zip member" in _load_error(tmp_path / "bad.pt", arch="loadnets:SmallCNN")


def test_zip_torch_did_not_write(tmp_path):
    import numpy as np

    np.savez(tmp_path / "data.npz", x=np.zeros(3))
    assert "zip archive torch did not write" in _load_error(tmp_path / "data.npz")


def test_broken_torchscript_archive(cnn, tmp_path):
    torch.jit.save(torch.jit.script(cnn), tmp_path / "ts.pt")
    _rewrite_zip(tmp_path / "ts.pt", tmp_path / "bad.pt",
                 lambda name, data: b"def forward(self, x:\n" if "/code/" in name and name.endswith(".py") else data)
    assert "TorchScript archive that cannot be loaded" in _load_error(tmp_path / "bad.pt")


@pytest.mark.parametrize("content, problem", [
    ({"epoch": 3, "lr": 0.1}, "holds a dict with keys epoch, lr but no state dict"),
    (torch.zeros(3), "holds a Tensor, not a model or a state dict"),
])
def test_weights_only_content_that_is_no_model(tmp_path, content, problem):
    torch.save(content, tmp_path / "thing.pt")
    assert problem in _load_error(tmp_path / "thing.pt", arch="loadnets:SmallCNN")


# --- --arch problems ----------------------------------------------------------------------

@pytest.mark.parametrize("arch, problem", [
    ("nonexistent_mod_xyz:Net", "cannot import module 'nonexistent_mod_xyz' (ModuleNotFoundError"),
    ("badimport:Net", "cannot import module 'badimport' (ModuleNotFoundError: No module named 'does_not_exist_xyz')"),
    ("loadnets:Missing", "has no attribute 'Missing' (its nn.Module classes: SmallCNN, AudioNet, WideCNN"),
    ("loadnets:NotAModule", "is a class but not a torch.nn.Module subclass"),
    ("loadnets:WIDTH", "is a int, not an nn.Module class or factory"),
    ("loadnets:instance", "is an nn.Module instance"),
    ("loadnets:NeedsArgs", "NeedsArgs() needs arguments (width)"),
    ("loadnets:Broken", "Broken() failed: RuntimeError: boom in constructor"),
    ("loadnets:build_nothing", "build_nothing() returned a int, not an nn.Module"),
    ("SmallCNN", "is neither a zoo model"),
])
def test_bad_arch(cnn, tmp_path, arch, problem):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    message = _load_error(tmp_path / "cnn.pt", arch=arch)
    assert problem in message and arch in message


def test_weights_that_do_not_fit_the_arch(cnn, tmp_path):
    torch.save(cnn.state_dict(), tmp_path / "cnn.pt")
    message = _load_error(tmp_path / "cnn.pt", arch="loadnets:WideCNN")
    assert "the weights do not fit --arch loadnets:WideCNN" in message
    assert "2 missing keys (extra.weight, extra.bias)" in message
    assert "2 shape mismatches (head.weight: file (3, 4) vs model (5, 4), head.bias: file (3,) vs model (5,))" in message
    torch.save({**cnn.state_dict(), "spare.weight": torch.zeros(1)}, tmp_path / "more.pt")
    assert "1 unexpected key (spare.weight)" in _load_error(tmp_path / "more.pt", arch="loadnets:SmallCNN")


# --- members a format does not define: refused, never unpickled ----------------------------

class _Marker:
    """Unpickling this creates the file ``path``: proof that code from the archive ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _with_members(source: Path, target: Path, extra: dict[str, bytes]) -> None:
    _rewrite_zip(source, target, lambda name, data: data)
    with zipfile.ZipFile(target, "a") as archive:
        for name, data in extra.items():
            archive.writestr(name, data)


def _root(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()[0].split("/")[0]


def test_export_archive_with_a_legacy_member_outside_its_root_never_runs_it(cnn, tmp_path):
    """torch.export.load falls back to the pre-2.8 layout when its pt2 reader fails (a member
    outside the root folder makes it fail) and unpickles serialized_state_dict.json there."""
    from torch._export.serde.schema import SCHEMA_VERSION

    torch.export.save(torch.export.export(cnn, (X[:1],)), tmp_path / "cnn.pt2")
    marker = tmp_path / "ran"
    example = tmp_path / "example.pt"
    torch.save(((X[:1],), {}), example)
    with zipfile.ZipFile(tmp_path / "cnn.pt2") as archive:
        program = archive.read(f"{_root(tmp_path / 'cnn.pt2')}/models/model.json")
    _with_members(tmp_path / "cnn.pt2", tmp_path / "evil.pt2", {
        "version": ".".join(map(str, SCHEMA_VERSION)).encode(), "serialized_exported_program.json": program,
        "serialized_state_dict.json": pickle.dumps(_Marker(marker), protocol=2), "serialized_constants.json": b"",
        "serialized_example_inputs.pt": example.read_bytes()})
    message = _load_error(tmp_path / "evil.pt2", trust_pickle=True)  # not even with consent to pickles
    assert "torch did not write" in message and "outside one root folder" in message
    assert not marker.exists()
    # What the refusal prevents: torch's own loader runs the archive's code.
    with pytest.raises(Exception):
        torch.export.load(tmp_path / "evil.pt2")
    assert marker.exists()


@pytest.mark.parametrize("form", ["torch.export", "torchscript", "torch.save"])
def test_archive_with_a_foreign_pickle_member_is_refused_unread(cnn, tmp_path, form):
    path = tmp_path / "model.zip"
    if form == "torch.export":
        torch.export.save(torch.export.export(cnn, (X[:1],)), path)
    elif form == "torchscript":
        torch.jit.save(torch.jit.script(cnn), str(path))
    else:
        torch.save(cnn.state_dict(), path)
    marker = tmp_path / "ran"
    for member in ("evil.pkl", "data/evil.pkl", "data/7/x"):
        evil = tmp_path / "evil.zip"
        _with_members(path, evil, {f"{_root(path)}/{member}": pickle.dumps(_Marker(marker), protocol=2)})
        message = _load_error(evil, arch="loadnets:SmallCNN", trust_pickle=True)
        assert f"{form} archive with a member its format does not define ({member})" in message, message
        assert not marker.exists()


def test_members_the_formats_define_still_load(cnn, tmp_path):
    torch.jit.save(torch.jit.script(cnn), str(tmp_path / "ts.pt"), _extra_files={"notes.txt": "trained on digits"})
    assert load_model(tmp_path / "ts.pt").source_format == "torchscript"
    torch.export.save(torch.export.export(cnn, (X[:1],)), tmp_path / "cnn.pt2", extra_files={"notes.txt": "hi"})
    assert _same_outputs(load_model(tmp_path / "cnn.pt2"), cnn, X[:1])
