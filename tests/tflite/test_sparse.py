"""The sparse TFLite writer (compressor/sparse_tflite.py) and its pass, on real LiteRT.

Measured here, ai-edge-litert 2.3.0, 2 cores (printed with -s):
- Both resolvers give outputs bit-identical to the dense file: the default one (XNNPACK
  densifies the DENSIFY-fed conv filters itself at init and keeps the convs) and
  BUILTIN_WITHOUT_DEFAULT_DELEGATES (DENSIFY runs once, then the builtin kernels).  Each
  resolver's dense and sparse outputs agree; the two resolvers differ from each other by rounding.
- Zoo VGG, 80% of each layer's weights zeroed by magnitude, int8: sparse/dense 0.47x
  (260,648 -> 122,536 B); gzip -9 85,122 -> 89,383 B, zstd -19 77,865 -> 86,339 B (zeros
  compress better than index arrays).  Median latency, 1 thread, unchanged: XNNPACK 0.050 ms
  both, builtin 0.218 vs 0.217 ms.  The tiny net here: 0.71x (39,088 -> 27,928 B).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from compressor.files import ota_sizes
from compressor.tflite.sparse import best_encoding, sparsify_tflite

ROOT = Path(__file__).resolve().parents[2]


class _SparseNet(nn.Module):
    """Every weight kind the writer meets: a 2-channel stem (its filter [32, 5, 5, 2] is best
    stored with the 32 outputs innermost, a non-identity traversal order), a conv, a depthwise
    5×5 and two Linears."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(2, 32, 5, padding=2), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 5, padding=2, groups=64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.features(x))


def _zero_by_magnitude_(model: nn.Module, fraction: float) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                w = module.weight
                w[w.abs() <= w.abs().flatten().kthvalue(int(fraction * w.numel())).values] = 0


def _int8_tflite(model: nn.Module, x: np.ndarray, directory: Path) -> Path:
    from compressor.passes.export_tflite import export_tflite
    from compressor.quant.tflite_int8 import quantize_tflite

    export_tflite(model, (torch.from_numpy(x[:1]),), directory / "float.tflite")
    quantize_tflite(directory / "float.tflite", directory / "int8.tflite",
                    [[x[i : i + 1]] for i in range(min(16, len(x)))], per_channel=True)
    return directory / "int8.tflite"


def _run(path: Path, inputs: np.ndarray, *, builtin: bool) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES if builtin else OpResolverType.AUTO
    runner = Interpreter(model_path=str(path), num_threads=1,
                         experimental_op_resolver_type=resolver).get_signature_runner()
    (name, detail), = runner.get_input_details().items()
    return np.stack([next(iter(runner(**{name: x.reshape(detail["shape"])}).values())) for x in inputs])


def _op_names(path: Path) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return [op["op_name"] for op in interpreter._get_ops_details()]


def _traversal_orders(path: Path) -> dict[tuple[int, ...], tuple[int, ...]]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    return {tuple(int(d) for d in t.shape): tuple(int(d) for d in t.sparsity.traversalOrder)
            for t in model.subgraphs[0].tensors if t.sparsity is not None}


def _median_ms(path: Path, x: np.ndarray, *, builtin: bool, runs: int = 40) -> float:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES if builtin else OpResolverType.AUTO
    interpreter = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], x.reshape(detail["shape"]))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - started)
    return float(np.median(times[5:]) * 1e3)


@pytest.fixture(scope="module")
def pruned(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = _SparseNet().eval()
    _zero_by_magnitude_(model, 0.8)
    x = np.random.default_rng(0).random((16, 2, 16, 16), dtype=np.float32)
    return _int8_tflite(model, x, tmp_path_factory.mktemp("sparse"))


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    return np.random.default_rng(1).random((6, 2, 16, 16), dtype=np.float32)


def test_convs_become_sparse_smaller_and_identical_in_both_resolvers(pruned, inputs, tmp_path):
    out = tmp_path / "sparse.tflite"
    result = sparsify_tflite(pruned, out)
    shapes = sorted(t.shape for t in result.rewritten)
    assert shapes == [(1, 5, 5, 64), (32, 5, 5, 2), (64, 3, 3, 32)], result  # the FCs stay dense
    # the longest dim innermost as SPARSE_CSR: fewest segments (output channels for both convs)
    assert _traversal_orders(out) == {(32, 5, 5, 2): (1, 2, 3, 0), (64, 3, 3, 32): (1, 2, 3, 0),
                                      (1, 5, 5, 64): (0, 1, 2, 3)}
    assert all(t.sparsity >= 0.79 and t.sparse_bytes < t.dense_bytes for t in result.rewritten)
    assert result.size_after == out.stat().st_size < result.size_before
    # the per-tensor estimate is conservative: the file shrinks at least as much
    assert result.size_before - result.size_after >= sum(t.dense_bytes - t.sparse_bytes for t in result.rewritten)
    print(f"\ntiny net: sparse/dense {result.size_after / result.size_before:.3f} "
          f"({result.size_before} -> {result.size_after} B)")
    ops = _op_names(out)
    assert ops.count("DENSIFY") == 3 and ops[:3] == ["DENSIFY"] * 3
    assert any("FULLY_CONNECTED" in reason for _, reason in result.skipped)
    for builtin in (False, True):
        assert np.array_equal(_run(pruned, inputs, builtin=builtin), _run(out, inputs, builtin=builtin)), builtin


def test_same_input_gives_same_bytes_and_low_sparsity_leaves_the_file_alone(pruned, tmp_path):
    sparsify_tflite(pruned, tmp_path / "a.tflite")
    sparsify_tflite(pruned, tmp_path / "b.tflite")
    assert (tmp_path / "a.tflite").read_bytes() == (tmp_path / "b.tflite").read_bytes()
    result = sparsify_tflite(pruned, tmp_path / "c.tflite", min_sparsity=0.9)  # ~80% zeros: too few
    assert result.rewritten == () and result.size_after == result.size_before
    assert (tmp_path / "c.tflite").read_bytes() == pruned.read_bytes()
    assert any("min_sparsity" in reason for _, reason in result.skipped)


def test_fully_connected_opt_in_matches_builtin_kernels_but_not_xnnpack(pruned, inputs, tmp_path):
    out = tmp_path / "fc.tflite"
    result = sparsify_tflite(pruned, out, fully_connected=True)
    assert (64, 64) in [t.shape for t in result.rewritten]
    assert np.array_equal(_run(pruned, inputs, builtin=True), _run(out, inputs, builtin=True))
    # ai-edge-litert 2.3.0: XNNPACK claims the DENSIFY-fed int8 FC, then fails to prepare it.
    # If this starts passing, FC weights can join the default consumers in sparse_tflite.py.
    with pytest.raises(RuntimeError, match="FULLY_CONNECTED"):
        _run(out, inputs, builtin=False)


def test_encoding_picks_narrow_indices_and_round_trips():
    rng = np.random.default_rng(0)
    wide = np.where(rng.random((4, 300)) < 0.1, rng.integers(1, 127, (4, 300)), 0).astype(np.int8)
    encoding = best_encoding(wide)  # asserts its own round trip
    assert encoding.traversal_order == (0, 1) and encoding.values.size == np.count_nonzero(wide)
    assert encoding.levels[1][2].dtype == np.uint16  # column indices up to 299
    # only 2 of 64 output channels alive: SPARSE_CSR after the first level skips the empty rows
    channels = np.zeros((64, 3, 3, 32), np.int8)
    channels[[5, 40]] = np.where(rng.random((2, 3, 3, 32)) < 0.5, 7, 0)
    encoding = best_encoding(channels)
    assert [segments is None for _, segments, _ in encoding.levels] == [True, False, False, False]
    assert encoding.values.size == np.count_nonzero(channels) and encoding.nbytes < channels.size // 4
    assert best_encoding(np.zeros((4, 4), np.float32)).values.size == 0


def test_external_buffers_are_read_back_inline(pruned, inputs, tmp_path):
    """ai-edge-quantizer writes big models with data after the flatbuffer (Buffer.offset/size)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(pruned.read_bytes(), 0)
    index = max(range(len(model.buffers)), key=lambda i: 0 if model.buffers[i].data is None else len(model.buffers[i].data))
    data = np.asarray(model.buffers[index].data, np.uint8).tobytes()
    model.buffers[index].data, model.buffers[index].size = None, len(data)

    def pack(offset: int) -> bytes:
        model.buffers[index].offset = offset
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    offset = (len(pack(1)) + 15) // 16 * 16  # a placeholder first, to learn the length
    packed = pack(offset)
    assert len(packed) <= offset
    external = tmp_path / "external.tflite"
    external.write_bytes(packed.ljust(offset, b"\0") + data)
    dense = _run(pruned, inputs, builtin=True)
    assert np.array_equal(_run(external, inputs, builtin=True), dense)
    result = sparsify_tflite(external, tmp_path / "sparse.tflite")
    assert (64, 3, 3, 32) in [t.shape for t in result.rewritten] and result.size_after < result.size_before
    assert np.array_equal(_run(tmp_path / "sparse.tflite", inputs, builtin=True), dense)


def test_pass_keeps_the_sparse_file_and_warns(pruned, tmp_path):
    from compressor.passes.sparsify_tflite import SparsifyTflite
    from compressor.artifact import Artifact, Context
    from compressor.targets.load import load_target

    target = load_target("android-arm64")
    x = np.random.default_rng(2).random((8, 2, 16, 16), dtype=np.float32)
    context = Context(recipe=None, workdir=tmp_path, reference=None, calibration_x=x, eval_x=x,
                      eval_y=None, eval_source="eval", target=target)
    artifact = Artifact(module=None, example_inputs=(), format="tflite", path=pruned, quantized=True)
    new, facts = SparsifyTflite().run(artifact, context)
    assert new.path == tmp_path / "model_sparse.tflite" and facts["kept"] and facts["outputs_identical"]
    # sizes as shipped (stripped, as the strip pass will): smaller than the unstripped file
    assert facts["sparse_size_bytes"] < facts["dense_size_bytes"]
    assert facts["sparse_size_unstripped_bytes"] == new.path.stat().st_size
    assert facts["sparse_size_bytes"] < facts["sparse_size_unstripped_bytes"]
    assert len(facts["tensors_rewritten"]) == 3
    from compressor.tflite.strip import strip_tflite

    strip_tflite(new.path, tmp_path / "shipped.tflite")
    assert facts["ota_bytes_final"] == ota_sizes(tmp_path / "shipped.tflite")
    assert any(f"{target.name} has no sparse kernels" in w for w in facts["warnings"]), facts["warnings"]


def test_zoo_vgg_at_80_percent_zeros_is_at_most_0_6x(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("zoo_vgg", ROOT / "models/vgg.py")
    vgg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vgg)
    model = vgg.VGGNet().eval()
    model.load_state_dict(torch.load(ROOT / "models/weights/vgg_digits.pt"))
    _zero_by_magnitude_(model, 0.8)
    x = np.load(ROOT / "models/data/digits_train.npz")["x"][:16].astype(np.float32)
    dense = _int8_tflite(model, x, tmp_path)
    sparse = tmp_path / "sparse.tflite"
    result = sparsify_tflite(dense, sparse)
    ratio = result.size_after / result.size_before
    assert ratio <= 0.6, result
    for builtin in (False, True):
        assert np.array_equal(_run(dense, x[:4], builtin=builtin), _run(sparse, x[:4], builtin=builtin))
    ota_dense, ota_sparse = ota_sizes(dense), ota_sizes(sparse)
    latency = {(kind, builtin): _median_ms(path, x[:1], builtin=builtin)
               for kind, path in (("dense", dense), ("sparse", sparse)) for builtin in (False, True)}
    print(f"\nvgg 80%: sparse/dense {ratio:.3f} ({result.size_before} -> {result.size_after} B); "
          f"gzip {ota_dense['gzip']} -> {ota_sparse['gzip']}, zstd {ota_dense['zstd']} -> {ota_sparse['zstd']}; "
          f"median ms xnnpack {latency['dense', False]:.3f} -> {latency['sparse', False]:.3f}, "
          f"builtin {latency['dense', True]:.3f} -> {latency['sparse', True]:.3f}")


def test_cost_model_reads_densified_weights_as_weights(pruned, tmp_path):
    from compressor.graph.read import read_graph

    out = tmp_path / "sparse.tflite"
    sparsify_tflite(pruned, out)
    dense, sparse = read_graph(pruned), read_graph(out)
    assert sparse.params == dense.params and sparse.macs == dense.macs
    assert "DENSIFY" not in [op.op_type for op in sparse.ops]  # expanded once at load, not per inference
