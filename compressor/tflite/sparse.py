"""Store a pruned `.tflite`'s mostly-zero weights in TFLite's sparse tensor format.

After unstructured or 2:4 pruning an int8 `.tflite` still stores every zero weight.  TFLite
has a sparse tensor format (schema ``Tensor.sparsity``: ``SparsityParameters`` with a
``traversal_order`` and one ``DimensionMetadata`` per level, DENSE with a ``dense_size`` or
SPARSE_CSR with ``array_segments`` / ``array_indices``) that a ``DENSIFY`` op expands once, at
the first invoke (kernels/densify.cc; the decoder is ``FormatConverter::Populate`` in
kernels/internal/utils/sparsity_format_converter.cc, which ``_decode`` mirrors).  A weight is
rewritten only when its values, index arrays, new dense tensor and DENSIFY op take fewer bytes
than its dense data; everything else in the flatbuffer (signatures, names, quantization, other
buffers) stays as it was.

The zeros dropped are the stored values equal to 0 and DENSIFY writes exactly those back, so
the kernels see bit-identical weights.  The file gets smaller, inference does not get faster:
no LiteRT CPU kernel computes on sparse weights.  And it may compress worse: runs of zeros
gzip better than index arrays (see tests/test_sparse_tflite.py for measured sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError, ExportError
from ..files import write_atomically
from .flatbuffer import op_names, pack, read_model

__all__ = ["Encoding", "SparseTensor", "SparsifyResult", "best_encoding", "sparsify_tflite"]

# schema TensorType -> numpy dtype, for the types DENSIFY's kernel takes (FLOAT32, FLOAT16, INT8).
_DENSIFY_DTYPES = {0: "<f4", 1: "<f2", 9: "i1"}
# Ops whose filter (input 1) may come from a DENSIFY.  Their builtin kernels read the filter at
# Eval, so a non-constant one works; the XNNPACK delegate densifies DENSIFY-fed weights itself
# at init ("quasi-static" tensors) and keeps the convs.  But ai-edge-litert 2.3.0's XNNPACK
# claims a DENSIFY-fed int8 FULLY_CONNECTED and then fails to prepare it ("failed to delegate
# FULLY_CONNECTED node"), so FC weights are opt-in (``fully_connected=True``).
_CONVS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D"})
_FC = "FULLY_CONNECTED"
# Flatbuffer overhead in bytes (table, vtable, length words), fitted to packed models: per
# dim_metadata entry, extra per SPARSE_CSR level (its two index tables), and the fixed cost of
# SparsityParameters + the new tensor + the DENSIFY operator.
_LEVEL_BYTES, _CSR_BYTES, _FIXED_BYTES = 24, 40, 120
_DENSIFIED_SUFFIX = b"_densified"


class SparseTensor(NamedTuple):
    name: str
    shape: tuple[int, ...]
    sparsity: float  # fraction of the stored values that are 0
    dense_bytes: int
    sparse_bytes: int  # values + index arrays + the new tensor and DENSIFY op (estimated)


@dataclass(frozen=True)
class SparsifyResult:
    rewritten: tuple[SparseTensor, ...]
    skipped: tuple[tuple[str, str], ...]  # (tensor name, why it stayed dense)
    size_before: int
    size_after: int


@dataclass(frozen=True)
class Encoding:
    traversal_order: tuple[int, ...]
    levels: tuple[tuple[int, np.ndarray | None, np.ndarray | None], ...]  # (size, segments, indices)
    values: np.ndarray  # the stored elements, in traversal order
    nbytes: int  # values + index arrays + per-level metadata


# ------------------------------------------------------------------------------ encoding


def _index_array(values: np.ndarray) -> np.ndarray:
    """The narrowest vector the schema offers: Uint8Vector, Uint16Vector or Int32Vector."""
    top = int(values.max()) if values.size else 0
    return values.astype("u1" if top <= 0xFF else "<u2" if top <= 0xFFFF else "<i4")


def _expand(nodes: np.ndarray, children: np.ndarray, counts: np.ndarray | int) -> np.ndarray:
    """Append one level to the multi-index prefixes ``nodes``: node k gets ``counts[k]`` children."""
    return np.concatenate([np.repeat(nodes, counts, axis=0), children[:, None]], axis=1)


def _encode(weights: np.ndarray, order: tuple[int, ...], sparse: tuple[bool, ...]) -> Encoding:
    """Encode ``weights`` level by level in ``order``; ``sparse[level]`` picks SPARSE_CSR."""
    data = weights.transpose(order)
    nonzero = data != 0
    nodes = np.zeros((1, 0), dtype=np.int64)  # the multi-index prefixes stored so far
    levels, nbytes = [], 0
    for level, size in enumerate(data.shape):
        nbytes += _LEVEL_BYTES
        if not sparse[level]:
            nodes = _expand(nodes, np.tile(np.arange(size), len(nodes)), size)
            levels.append((size, None, None))
            continue
        alive = nonzero.any(axis=tuple(range(level + 1, data.ndim)))  # axis=() keeps nonzero
        rows = alive[tuple(nodes.T)].reshape(len(nodes), size)  # stored prefix × child
        _, child = np.nonzero(rows)
        segments = _index_array(np.concatenate([[0], np.cumsum(rows.sum(axis=1))]))
        indices = _index_array(child)
        nodes = _expand(nodes, child, rows.sum(axis=1))
        levels.append((size, segments, indices))
        # + length words, each vector padded to 4 bytes
        nbytes += _CSR_BYTES + sum(8 + 4 * math.ceil(a.nbytes / 4) for a in (segments, indices))
    values = data[tuple(nodes.T)]
    return Encoding(tuple(order), tuple(levels), values, nbytes + values.nbytes)


def _candidates(rank: int) -> list[tuple[tuple[int, ...], tuple[bool, ...]]]:
    """Orders and formats tried: each dim innermost as SPARSE_CSR, the others in front either
    all DENSE (one segment per row: cheap when the innermost dim is long) or SPARSE_CSR after
    the first (drops the empty rows channel-like masks leave)."""
    found = []
    for inner in range(rank):
        order = tuple(d for d in range(rank) if d != inner) + (inner,)
        found.append((order, (False,) * (rank - 1) + (True,)))
        if rank > 2:
            found.append((order, (False,) + (True,) * (rank - 1)))
    return found


def best_encoding(weights: np.ndarray) -> Encoding:
    """The smallest sparse encoding of ``weights`` among the candidates (the first of equals)."""
    best = min((_encode(weights, order, sparse) for order, sparse in _candidates(weights.ndim)),
               key=lambda e: e.nbytes)
    assert np.array_equal(_decode(best, weights.shape), weights), "sparse encoding does not round-trip"
    return best


def _decode(encoding: Encoding, shape: tuple[int, ...]) -> np.ndarray:
    """The dense array of ``encoding``, walked as FormatConverter::Populate walks it."""
    nodes = np.zeros((1, 0), dtype=np.int64)
    for size, segments, indices in encoding.levels:
        if segments is None:
            nodes = _expand(nodes, np.tile(np.arange(size), len(nodes)), size)
        else:
            nodes = _expand(nodes, indices.astype(np.int64), np.diff(segments.astype(np.int64)))
    dense = np.zeros(tuple(shape[d] for d in encoding.traversal_order), dtype=encoding.values.dtype)
    dense[tuple(nodes.T)] = encoding.values
    return dense.transpose(np.argsort(encoding.traversal_order))


# ------------------------------------------------------------------------------ flatbuffer


def _pack_within_limit(model: Any) -> bytes:
    out = pack(model)
    if len(out) >= 2**31:  # flatbuffers' 32-bit offsets; every buffer is inline now
        raise ExportError(f"the sparse model would be {len(out)} bytes, over the 2 GB flatbuffer limit")
    return out


class _PackedOnce:
    """A table packed at its first ``Pack`` and referenced after: flatbuffers let two tensors
    share one QuantizationParameters table, so the densified twin's costs no bytes."""

    def __init__(self, table: Any):
        self.table, self.offset = table, None

    def Pack(self, builder: Any) -> int:  # noqa: N802 (the flatbuffers object-API name)
        if self.offset is None:
            self.offset = self.table.Pack(builder)
        return self.offset


def _densify_opcode(model: Any) -> int:
    """Index of DENSIFY in ``model.operatorCodes``, appended when missing."""
    from ai_edge_litert import schema_py_generated as schema

    code = schema.BuiltinOperator.DENSIFY  # 124
    for index, op_code in enumerate(model.operatorCodes):
        if max(op_code.builtinCode, op_code.deprecatedBuiltinCode) == code:
            return index
    op_code = schema.OperatorCodeT()
    # Readers of schema < 3a look at the int8 field only; codes over 127 park it at 127.
    op_code.deprecatedBuiltinCode, op_code.builtinCode, op_code.version = min(code, 127), code, 1
    model.operatorCodes.append(op_code)
    return len(model.operatorCodes) - 1


def _sparsity_parameters(encoding: Encoding) -> Any:
    from ai_edge_litert import schema_py_generated as schema

    vectors = {1: (schema.SparseIndexVector.Uint8Vector, schema.Uint8VectorT),
               2: (schema.SparseIndexVector.Uint16Vector, schema.Uint16VectorT),
               4: (schema.SparseIndexVector.Int32Vector, schema.Int32VectorT)}

    def index_vector(array: np.ndarray) -> tuple[int, Any]:
        kind, vector_type = vectors[array.dtype.itemsize]
        vector = vector_type()
        vector.values = array
        return kind, vector

    params = schema.SparsityParametersT()
    params.traversalOrder = np.asarray(encoding.traversal_order, dtype="<i4")
    params.dimMetadata = []
    for size, segments, indices in encoding.levels:
        meta = schema.DimensionMetadataT()
        if segments is None:
            meta.format, meta.denseSize = schema.DimensionType.DENSE, size
        else:
            meta.format = schema.DimensionType.SPARSE_CSR
            meta.arraySegmentsType, meta.arraySegments = index_vector(segments)
            meta.arrayIndicesType, meta.arrayIndices = index_vector(indices)
        params.dimMetadata.append(meta)
    return params


def _rewrite(model: Any, subgraph: Any, index: int, encoding: Encoding,
             uses: list[tuple[int, int]], opcode: int) -> Any:
    """Make tensor ``index`` sparse, add its dense twin, point ``uses`` at it; the DENSIFY op."""
    from ai_edge_litert import schema_py_generated as schema

    sparse = subgraph.tensors[index]
    dense = schema.TensorT()
    dense.shape = np.array(sparse.shape, dtype="<i4")
    dense.shapeSignature = None if sparse.shapeSignature is None else np.array(sparse.shapeSignature, dtype="<i4")
    dense.type, dense.hasRank, dense.buffer = sparse.type, sparse.hasRank, 0  # buffer 0: no data
    dense.name = sparse.name + _DENSIFIED_SUFFIX
    if sparse.quantization is not None:
        sparse.quantization = dense.quantization = _PackedOnce(sparse.quantization)
    subgraph.tensors.append(dense)
    dense_index = len(subgraph.tensors) - 1

    model.buffers[sparse.buffer].data = encoding.values.reshape(-1).view(np.uint8)
    sparse.sparsity = _sparsity_parameters(encoding)
    for op_index, slot in uses:
        consumer = subgraph.operators[op_index]
        consumer.inputs = np.array(consumer.inputs, dtype="<i4")  # unpacked arrays are read-only
        consumer.inputs[slot] = dense_index

    op = schema.OperatorT()
    op.opcodeIndex = opcode
    op.inputs, op.outputs = np.array([index], dtype="<i4"), np.array([dense_index], dtype="<i4")
    return op


# ------------------------------------------------------------------------------ selection


def _constants(model: Any, subgraph: Any) -> list[tuple[int, Any]]:
    """(index, tensor) of the subgraph's tensors that hold data."""
    found = []
    for index, tensor in enumerate(subgraph.tensors):
        data = model.buffers[tensor.buffer].data if 0 < tensor.buffer < len(model.buffers) else None
        if data is not None and len(data) and not tensor.isVariable:
            found.append((index, tensor))
    return found


def _uses(subgraph: Any) -> dict[int, list[tuple[int, int]]]:
    """tensor index -> [(operator index, input slot)] for every use as an op input."""
    uses: dict[int, list[tuple[int, int]]] = {}
    for op_index, op in enumerate(subgraph.operators):
        for slot, tensor in enumerate(op.inputs if op.inputs is not None else []):
            uses.setdefault(int(tensor), []).append((op_index, slot))
    return uses


def _why_dense(tensor: Any, uses: list[tuple[int, int]], ops: list[str], consumers: frozenset[str],
               shared: bool, graph_io: bool) -> str | None:
    """Why a constant cannot be made sparse, or None when it can."""
    if tensor.sparsity is not None:
        return "already sparse"
    if tensor.type not in _DENSIFY_DTYPES:
        return f"tensor type {tensor.type} has no DENSIFY kernel (float32, float16, int8 only)"
    if shared:
        return "its buffer is shared with another tensor"
    if graph_io or not uses:
        return "not an op's weight input"
    for op, slot in ((ops[i], slot) for i, slot in uses):
        if op == _FC and slot == 1 and _FC not in consumers:
            return "FULLY_CONNECTED weights are opt-in: XNNPACK (ai-edge-litert 2.3.0) fails on them"
        if op not in consumers or slot != 1:
            return f"used by {op} input {slot}, which stays constant"
    return None


def _fixed_bytes(tensor: Any) -> int:
    """Bytes the new tensor, DENSIFY op and sparsity vectors add besides the index arrays."""
    rank = len(tensor.shape)
    name = 4 + len(tensor.name or b"") + len(_DENSIFIED_SUFFIX) + 1
    return _FIXED_BYTES + name + 3 * (4 + 4 * rank)  # + shape, traversal order, dim_metadata


# ------------------------------------------------------------------------------ public


def sparsify_tflite(in_path: Path, out_path: Path, *, min_sparsity: float = 0.5,
                    fully_connected: bool = False) -> SparsifyResult:
    """Write ``in_path`` to ``out_path`` with its mostly-zero weights in the sparse format.

    A conv filter (and an FC weight with ``fully_connected``) is rewritten when at least
    ``min_sparsity`` of its values are 0 and its sparse form is smaller than its dense data.
    When nothing is rewritten, or the packed result is not smaller, ``out_path`` gets the input's
    bytes unchanged.  Same input bytes give the same output bytes; the write is atomic.
    """
    if not 0.0 <= min_sparsity <= 1.0:
        raise ConfigError("min_sparsity", min_sparsity, "a fraction in [0, 1]")
    in_path, out_path = Path(in_path), Path(out_path)
    buf, model = Path(in_path).read_bytes(), read_model(in_path)
    consumers = _CONVS | {_FC} if fully_connected else _CONVS
    ops = op_names(model)
    buffer_users = np.bincount([t.buffer for g in model.subgraphs for t in g.tensors], minlength=len(model.buffers))
    rewritten: list[SparseTensor] = []
    skipped: list[tuple[str, str]] = []
    for subgraph in model.subgraphs:
        uses, densify_ops = _uses(subgraph), []
        graph_io = {int(i) for i in [*(subgraph.inputs or []), *(subgraph.outputs or [])]}
        op_types = [ops[op.opcodeIndex] for op in subgraph.operators]
        for index, tensor in _constants(model, subgraph):
            name = (tensor.name or b"").decode("utf-8", "replace")
            reason = _why_dense(tensor, uses.get(index, []), op_types, consumers,
                                buffer_users[tensor.buffer] > 1, index in graph_io)
            if reason:
                skipped.append((name, reason))
                continue
            data = np.asarray(model.buffers[tensor.buffer].data, dtype=np.uint8).tobytes()
            weights = np.frombuffer(data, _DENSIFY_DTYPES[tensor.type]).reshape(tuple(tensor.shape))
            sparsity = 1.0 - np.count_nonzero(weights) / max(weights.size, 1)
            if sparsity < min_sparsity:
                skipped.append((name, f"only {sparsity:.0%} zeros (min_sparsity {min_sparsity:.0%})"))
                continue
            encoding = best_encoding(weights)
            sparse_bytes = encoding.nbytes + _fixed_bytes(tensor)
            if sparse_bytes >= weights.nbytes:
                skipped.append((name, f"sparse form {sparse_bytes} B >= dense {weights.nbytes} B"))
                continue
            densify_ops.append(_rewrite(model, subgraph, index, encoding, uses[index], _densify_opcode(model)))
            rewritten.append(SparseTensor(name, tuple(int(d) for d in tensor.shape), round(float(sparsity), 4),
                                          int(weights.nbytes), int(sparse_bytes)))
        # DENSIFY reads only constants, so it can run first; TFLite runs ops in list order.
        subgraph.operators[:0] = densify_ops
    out = _pack_within_limit(model) if rewritten else buf
    if len(out) >= len(buf):
        skipped += [(t.name, "the packed sparse file was not smaller") for t in rewritten]
        rewritten, out = [], buf
    write_atomically(out_path, out)
    return SparsifyResult(tuple(rewritten), tuple(skipped), len(buf), len(out))
