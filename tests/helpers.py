"""Shared test helpers: tiny model sources, importing them, labelled data, graph-form saves.

The fixtures built from them are in conftest.py; the zoo's own tests live in test_zoo.py.
"""

from __future__ import annotations

import textwrap

import numpy as np
import torch

TINY_NET = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class TinyNet(nn.Module):
        """A small image classifier: conv-BN-ReLU twice with a residual add, pool, linear."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
            self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
            self.head = nn.Linear(8, 4)

        def forward(self, x):
            y = self.stem(x)
            y = torch.relu(self.body(y) + y)
            return self.head(y.mean(dim=(2, 3)))


    class TinyAudioNet(nn.Module):
        """Audio frames N×L: a 1-D conv net."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(1, 8, 9, stride=2), nn.BatchNorm1d(8), nn.ReLU())
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.conv(x.unsqueeze(1)).mean(dim=2))


    class Unconvertible(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            return torch.erfinv(torch.tanh(self.conv(x)) * 0.5).mean(dim=(2, 3))
''')


def import_source(tmp_path, monkeypatch, name: str, source: str):
    """Write ``source`` as ``tmp_path/name.py``, make it importable (cwd = tmp_path), import it fresh."""
    import importlib

    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    importlib.invalidate_caches()
    module = importlib.import_module(name)
    return importlib.reload(module)


def save_labelled_data(model, directory, x: np.ndarray, *, train: int, names=("train.npz", "heldout.npz")) -> None:
    """``x`` labelled by ``model`` itself (so the model scores 100%), split into two .npz files."""
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    np.savez(directory / names[0], x=x[:train], y=y[:train])
    np.savez(directory / names[1], x=x[train:], y=y[train:])


def save_graph_form(model, directory, form: str, example: tuple) -> str:
    """Save ``model`` as a torch.export archive (``.pt2``) or TorchScript (``.ts``); its file name."""
    if form == "torch.export":
        torch.export.save(torch.export.export(model, example), directory / "res.pt2")
        return "res.pt2"
    torch.jit.save(torch.jit.trace(model, example), directory / "res.ts")
    return "res.ts"


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.head = torch.nn.Linear(16, 4)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = torch.relu(self.conv2(y))
        return self.head(y.mean(dim=(2, 3)))


class CoarseConvs(torch.nn.Module):
    """Convs with one large tap per filter (coarse int8 steps for the rest) on inputs with a
    large mean: the rounding error of the weights shows as an output offset (bias correction)."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 16, 3)
        self.c2 = torch.nn.Conv2d(16, 16, 3)
        self.fc = torch.nn.Linear(16, 4)
        with torch.no_grad():
            for conv in (self.c1, self.c2):
                conv.weight[:, :, 0, 0] *= 30

    def forward(self, x):
        y = torch.relu(self.c2(torch.relu(self.c1(x + 3.0))))
        return self.fc(y.mean(dim=(2, 3)))


def build_int8_model(directory):
    """A tiny int8 .tflite (and its float twin) made by the compress pipeline itself."""
    from compressor import compress

    torch.manual_seed(0)
    torch.export.save(torch.export.export(SmallNet().eval(), (torch.zeros(1, 1, 12, 12),)), directory / "small.pt2")
    x = np.random.default_rng(0).random((32, 1, 12, 12), dtype=np.float32)
    np.savez(directory / "calib.npz", x=x)
    result = compress(directory / "small.pt2", target="android-arm64", data=directory / "calib.npz",
                      out=directory / "out", recipe=None)
    return result.out_dir / "model.tflite", result.out_dir / "model_float.tflite"


def write_tiny_tflite(path):
    """CONV_2D 3x3 (4->8, SAME) then FULLY_CONNECTED (512->10), float32, built with the schema's object API."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    rng = np.random.default_rng(0)
    buffers, tensors = [s.BufferT()], []

    def tensor(name, shape, data=None):
        t = s.TensorT(); t.name = name; t.shape = list(shape); t.type = s.TensorType.FLOAT32; t.buffer = 0
        if data is not None:
            b = s.BufferT(); b.data = np.frombuffer(data.astype(np.float32).tobytes(), np.uint8).tolist()
            buffers.append(b); t.buffer = len(buffers) - 1
        tensors.append(t); return len(tensors) - 1

    x = tensor("input", (1, 8, 8, 4))
    w = tensor("conv_w", (8, 3, 3, 4), rng.standard_normal((8, 3, 3, 4)))
    b = tensor("conv_b", (8,), np.zeros(8))
    y = tensor("conv_out", (1, 8, 8, 8))
    fw = tensor("fc_w", (10, 512), rng.standard_normal((10, 512)))
    fb = tensor("fc_b", (10,), np.zeros(10))
    z = tensor("logits", (1, 10))
    codes = []
    for op in (s.BuiltinOperator.CONV_2D, s.BuiltinOperator.FULLY_CONNECTED):
        c = s.OperatorCodeT(); c.builtinCode = op; c.deprecatedBuiltinCode = op; c.version = 1; codes.append(c)
    conv = s.OperatorT(); conv.opcodeIndex = 0; conv.inputs = [x, w, b]; conv.outputs = [y]
    conv.builtinOptionsType = s.BuiltinOptions.Conv2DOptions
    options = s.Conv2DOptionsT(); options.padding = s.Padding.SAME; options.strideW = options.strideH = 1
    conv.builtinOptions = options
    fc = s.OperatorT(); fc.opcodeIndex = 1; fc.inputs = [y, fw, fb]; fc.outputs = [z]
    fc.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
    fc.builtinOptions = s.FullyConnectedOptionsT()
    graph = s.SubGraphT(); graph.tensors = tensors; graph.operators = [conv, fc]; graph.inputs = [x]; graph.outputs = [z]
    model = s.ModelT(); model.version = 3; model.operatorCodes = codes; model.subgraphs = [graph]; model.buffers = buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


def compress_pt2(model, x: np.ndarray, directory, *, calibration: int = 32, **options):
    """``model`` saved as ``m.pt2``, compressed for android-arm64 on the first ``calibration`` rows of
    ``x`` (the rest evaluates it); ``options`` go to ``compressor.compress`` (``overrides``, ``recipe``).
    Returns the CompressResult and its report.json."""
    import json

    from compressor import compress

    torch.export.save(torch.export.export(model, (torch.from_numpy(x[:1]),)), directory / "m.pt2")
    np.savez(directory / "calib.npz", x=x[:calibration])
    np.savez(directory / "test.npz", x=x[calibration:])
    result = compress(directory / "m.pt2", target="android-arm64", data=directory / "calib.npz",
                      eval_data=directory / "test.npz", out=directory / "out", **options)
    return result, json.loads((result.out_dir / "report.json").read_text())
