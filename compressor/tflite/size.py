"""Where the bytes of a model file go, and a `.tflite` without what the runtime never reads.

``size_breakdown(path)`` splits a `.tflite` or `.onnx` file into ``CATEGORIES``; the values
sum to the file size exactly, because ``structure`` is the remainder.  For `.tflite` the
other categories are measured on the packed flatbuffer itself, vector by vector:

  weights       data of constant tensors that are not biases (filters, shape operands, ...),
                inside the flatbuffer or stored after it (``Buffer.offset``/``size``, as
                ai-edge-quantizer writes large models)
  biases        data of the 1-D constant at the bias slot of CONV_2D, DEPTHWISE_CONV_2D,
                FULLY_CONNECTED, CONV_3D (input 2) and TRANSPOSE_CONV (input 3)
  quantization  the min / max / scale / zero_point arrays of every tensor (4 bytes a float,
                8 an int64), with their 4-byte length prefixes
  names         tensor name strings: length prefix, bytes and terminating NUL
  metadata      ``Model.metadata`` names and buffers (min_runtime_version, ...) and the
                model description
  unused        buffers that hold data no tensor or metadata entry refers to
  structure     everything else: tables, vtables, offsets, shapes, operator lists, options,
                signatures, alignment gaps.

Approximations (they move bytes between categories, never change the total): a vector
shared by several tensors counts once, under the first category that claims it; the zero
padding after a vector up to its alignment (16 bytes for buffers, else 4 or 8) is counted
with the vector, which may take a few zero bytes that belong to a neighbouring structure.

For `.onnx` (protobuf) the byte counts are the serialized sizes of the fields (tag, length
and payload): initializers split by what consumes them (bias slot of Conv / ConvTranspose /
Gemm / QLinearConv, directly or through a DequantizeLinear: biases; scale and zero-point
slots of (De)QuantizeLinear and QLinear* ops: quantization; else weights), the names of
nodes, values and initializers, the model's producer / doc / metadata_props fields as
metadata.  External data files are not part of the `.onnx` file and are not counted.

``strip_tflite(in_path, out_path)`` rewrites the flatbuffer without what LiteRT and
tflite-micro do not read, keeping every value they compute with (see its docstring).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..files import write_atomically

__all__ = ["CATEGORIES", "DROPPABLE_METADATA", "float_constant", "op_names", "opcode_names", "pack_model",
           "read_model", "size_breakdown", "strip_tflite"]

CATEGORIES = ("weights", "biases", "quantization", "names", "metadata", "unused", "structure")

# Metadata the converter writes for itself or for debuggers; neither LiteRT nor tflite-micro
# reads them.  Everything else is kept (min_runtime_version, reduced_precision_support,
# OfflineMemoryAllocation, TFLITE_METADATA, ...).
DROPPABLE_METADATA = frozenset({"CONVERSION_METADATA", "keep_stablehlo_constant", "debug_metadata"})

_BIAS_SLOT = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "CONV_3D": 2, "TRANSPOSE_CONV": 3}
# vtable slots (4 + 2 x the field id in schema.fbs) of the fields measured in the packed file.
_BUFFER_DATA, _TENSOR_NAME, _METADATA_NAME, _MODEL_DESCRIPTION = 4, 10, 4, 10
_QUANT_ARRAYS = ((4, 4), (6, 4), (8, 4), (10, 8))  # (slot, element bytes): min, max, scale, zero_point
_MAX_FLATBUFFER_BYTES = 2**31 - 2**20  # flatbuffers' 2 GiB offset limit, with room for tables


def size_breakdown(path) -> dict[str, int]:
    """Bytes of ``path`` (`.tflite` or `.onnx`) per category of ``CATEGORIES``; they sum to the file size."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".tflite":
            return _tflite_breakdown(path.read_bytes(), path)
        if suffix == ".onnx":
            return _onnx_breakdown(path)
    except ExportError:
        raise
    except Exception as error:  # a corrupt file surfaces as anything from struct.error up
        raise ExportError(f"{path}: cannot read as {suffix[1:]}: {type(error).__name__}: {error}") from error
    raise ExportError(f"{path}: unknown model type {suffix!r} (expected .tflite or .onnx)")


# ---------------------------------------------------------------------------- TFLite breakdown


def _tflite_breakdown(buf: bytes, path: Path) -> dict[str, int]:
    from ai_edge_litert import schema_py_generated as schema

    if len(buf) < 8 or not schema.Model.ModelBufferHasIdentifier(buf, 0):
        raise ExportError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    model = schema.Model.GetRootAs(buf, 0)
    spans: dict[int, tuple[int, str, int]] = {}  # start -> (end, category, alignment)

    def claim(span: tuple[int, int] | None, category: str, alignment: int = 4) -> None:
        if span is not None and span[1] > span[0] and span[0] not in spans:
            spans[span[0]] = (span[1], category, alignment)

    roles = _buffer_roles(model)
    for index in range(model.BuffersLength()):
        buffer, role = model.Buffers(index), roles.get(index, "unused")
        claim(_vector_span(buffer, _BUFFER_DATA, 1), role, 16)
        if buffer.Offset() > 1:
            claim((buffer.Offset(), buffer.Offset() + buffer.Size()), role, 16)
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for t in range(sub.TensorsLength()):
            tensor = sub.Tensors(t)
            claim(_vector_span(tensor, _TENSOR_NAME, 1, terminator=1), "names")
            quantization = tensor.Quantization()
            for slot, item in _QUANT_ARRAYS if quantization is not None else ():
                claim(_vector_span(quantization, slot, item), "quantization", item)
    for m in range(model.MetadataLength()):
        claim(_vector_span(model.Metadata(m), _METADATA_NAME, 1, terminator=1), "metadata")
    claim(_vector_span(model, _MODEL_DESCRIPTION, 1, terminator=1), "metadata")

    sizes = Counter(dict.fromkeys(CATEGORIES, 0))
    starts = sorted(spans)
    covered = 0
    for i, start in enumerate(starts):
        end, category, alignment = spans[start]
        if start < covered:  # overlaps a span already counted
            continue
        limit = starts[i + 1] if i + 1 < len(starts) else len(buf)
        while end < limit and end % alignment and buf[end] == 0:  # the vector's alignment padding
            end += 1
        sizes[category] += end - start
        covered = end
    sizes["structure"] = len(buf) - sum(sizes.values())
    return dict(sizes)


def _vector_span(table: Any, slot: int, item_bytes: int, *, terminator: int = 0) -> tuple[int, int] | None:
    """[start, end) of a vector or string field in the packed file, length prefix included."""
    field = table._tab.Offset(slot)
    if not field:
        return None
    first = table._tab.Vector(field)
    return first - 4, first + table._tab.VectorLen(field) * item_bytes + terminator


def _buffer_roles(model: Any) -> dict[int, str]:
    roles = {model.Metadata(m).Buffer(): "metadata" for m in range(model.MetadataLength())}
    names = opcode_names(model)
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        biases = set()
        for o in range(sub.OperatorsLength()):
            op = sub.Operators(o)
            slot = _BIAS_SLOT.get(names[op.OpcodeIndex()])
            if slot is not None and op.InputsLength() > slot and op.Inputs(slot) >= 0:
                biases.add(int(op.Inputs(slot)))
        for t in range(sub.TensorsLength()):
            tensor = sub.Tensors(t)
            if tensor.Buffer() > 0:
                bias = t in biases and tensor.ShapeLength() == 1
                roles.setdefault(tensor.Buffer(), "biases" if bias else "weights")
    return roles


def opcode_names(model: Any) -> list[str]:
    """The op name of each operator code ("CONV_2D", or a custom op's own name)."""
    from ai_edge_litert import schema_py_generated as schema

    builtin = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    names = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        # Codes above 127 live in `builtin_code`; old files have only `deprecated_builtin_code`.
        value = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if value == schema.BuiltinOperator.CUSTOM:
            names.append((code.CustomCode() or b"CUSTOM").decode("utf-8", "replace"))
        else:
            names.append(builtin.get(value, f"BUILTIN_{value}"))
    return names


# ---------------------------------------------------------------------------- ONNX breakdown

_ONNX_BIAS_SLOT = {"Conv": 2, "ConvTranspose": 2, "Gemm": 2, "QLinearConv": 8}
_ONNX_QUANT_SLOTS = {"QuantizeLinear": (1, 2), "DequantizeLinear": (1, 2), "QLinearConv": (1, 2, 4, 5, 6, 7),
                     "QLinearMatMul": (1, 2, 4, 5, 6, 7), "ConvInteger": (2, 3), "MatMulInteger": (2, 3)}


def _field_bytes(payload_bytes: int) -> int:
    """Serialized size of a length-delimited protobuf field with a 1-byte tag (field numbers < 16)."""
    varint = 1
    while payload_bytes >= 128 ** varint:
        varint += 1
    return 1 + varint + payload_bytes


def _onnx_breakdown(path: Path) -> dict[str, int]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    uses: dict[str, list[tuple[str, int, Any]]] = {}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            uses.setdefault(name, []).append((node.op_type, slot, node))

    def role(name: str) -> str:
        if not uses.get(name):
            return "unused"
        for op_type, slot, node in uses[name]:
            if slot in _ONNX_QUANT_SLOTS.get(op_type, ()):
                return "quantization"
            if slot == _ONNX_BIAS_SLOT.get(op_type) or (op_type == "DequantizeLinear" and slot == 0 and any(
                    s == _ONNX_BIAS_SLOT.get(t) for out in node.output for t, s, _ in uses.get(out, []))):
                return "biases"
        return "weights"

    sizes = Counter(dict.fromkeys(CATEGORIES, 0))
    name_bytes = lambda text: _field_bytes(len(text.encode())) if text else 0  # noqa: E731
    for init in graph.initializer:
        sizes["names"] += name_bytes(init.name)
        sizes[role(init.name)] += _field_bytes(init.ByteSize()) - name_bytes(init.name)
    for node in graph.node:
        values = (*node.input, *node.output)
        sizes["names"] += name_bytes(node.name) + sum(_field_bytes(len(n.encode())) for n in values)
        if node.op_type == "Constant":
            sizes["weights"] += sum(_field_bytes(a.t.ByteSize()) for a in node.attribute if a.HasField("t"))
    sizes["names"] += sum(name_bytes(v.name) for v in (*graph.input, *graph.output, *graph.value_info))
    sizes["metadata"] += sum(name_bytes(text) for text in (model.producer_name, model.producer_version,
                                                            model.domain, model.doc_string, graph.doc_string))
    sizes["metadata"] += sum(_field_bytes(p.ByteSize()) for p in model.metadata_props)
    sizes["structure"] = path.stat().st_size - sum(sizes.values())
    return dict(sizes)


# ---------------------------------------------------------------------------- strip


def strip_tflite(in_path, out_path) -> dict[str, Any]:
    """Write ``in_path`` to ``out_path`` without what LiteRT and tflite-micro never read.

    * tensor names except those of subgraph and signature inputs and outputs become short
      ids ("t12"); signature names are untouched, so ``get_signature_runner()`` works as before;
    * op and subgraph debug-metadata indices, the model description and the metadata in
      ``DROPPABLE_METADATA`` go; min_runtime_version and any other entry stay;
    * min / max arrays go where scale and zero_point are present (the kernels read only
      those; zero_point stays even when all zeros: LiteRT reads one per scale); empty
      quantization tables go;
    * tensors whose buffer holds no data point to the empty buffer 0, and buffers no one
      refers to go (indices renumbered); buffers stored after the flatbuffer are inlined;
    * identical numeric vectors are written once (flatbuffers lets tables share a vector):
      the per-channel zero_point arrays are the same all-zero array for every layer width.
    The write is atomic and the bytes depend only on the input.  Returns
    ``{"before": bytes, "after": bytes, "dropped": {what: count}}``.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    model = read_model(in_path)
    size = in_path.stat().st_size
    dropped = Counter()
    dropped["names"] = _shorten_names(model)
    dropped["debug_info"] = _drop_debug_info(model)
    dropped["metadata"] = _drop_metadata(model)
    dropped["min_max"], dropped["empty_quantization"] = _drop_redundant_quantization(model)
    dropped["buffers"] = _drop_unused_buffers(model)
    data, dropped["shared_vectors"] = _pack(model, size)
    write_atomically(out_path, data)
    return {"before": size, "after": len(data), "dropped": dict(dropped)}


def read_model(path: Path) -> Any:
    """The `.tflite` at ``path`` as a mutable ``schema.ModelT``, buffers stored after the
    flatbuffer read back inline (ExportError for what the rewrites here cannot handle)."""
    from ai_edge_litert import schema_py_generated as schema

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    buf = path.read_bytes()
    if len(buf) < 8 or not schema.Model.ModelBufferHasIdentifier(buf, 0):
        raise ExportError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    model = schema.ModelT.InitFromPackedBuf(buf, 0)
    _check_supported(model, path)
    _inline_buffers(model, buf, path)
    return model


def op_names(model: Any) -> list[str]:
    """Builtin op name of each operator code of a ``schema.ModelT`` ("CUSTOM" for custom ops)."""
    from ai_edge_litert import schema_py_generated as schema

    builtin = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return [builtin.get(max(c.builtinCode, c.deprecatedBuiltinCode), "CUSTOM") for c in model.operatorCodes]


def float_constant(model: Any, sub: Any, index: int) -> tuple[Any, Any] | None:
    """(buffer, float32 array in the tensor's shape) of a constant float tensor, else None."""
    import numpy as np

    tensor = sub.tensors[index]
    buffer = model.buffers[tensor.buffer]
    if tensor.type != 0 or buffer.data is None or len(buffer.data) == 0:  # TensorType.FLOAT32 = 0
        return None
    values = np.frombuffer(np.asarray(buffer.data, np.uint8).tobytes(), np.float32)
    return buffer, values.reshape(tuple(int(d) for d in tensor.shape)).copy()


def pack_model(model: Any, size_hint: int) -> bytes:
    """``model`` packed as a `.tflite` flatbuffer (identical numeric vectors written once)."""
    return _pack(model, size_hint)[0]


def _check_supported(model: Any, path: Path) -> None:
    subgraphs = model.subgraphs or []
    if model.externalBuffers or model.externalBufferGroups or any(
            t.externalBuffer for sub in subgraphs for t in sub.tensors or []):
        raise ExportError(f"{path}: weights in external buffer files are not supported by strip")
    if any(op.largeCustomOptionsOffset > 1 for sub in subgraphs for op in sub.operators or []):
        raise ExportError(f"{path}: custom options stored after the flatbuffer are not supported by strip")


def _inline_buffers(model: Any, buf: bytes, path: Path) -> None:
    import numpy as np

    for buffer in model.buffers or []:
        if buffer.offset > 1:
            buffer.data = np.frombuffer(buf, np.uint8, count=buffer.size, offset=buffer.offset)
            buffer.offset = buffer.size = 0
    if sum(len(b.data) for b in model.buffers or [] if b.data is not None) > _MAX_FLATBUFFER_BYTES:
        raise ExportError(f"{path}: weights over 2 GiB do not fit in one flatbuffer; strip keeps them inline")


def _shorten_names(model: Any) -> int:
    renamed = 0
    for s, sub in enumerate(model.subgraphs or []):
        keep = {*_ints(sub.inputs), *_ints(sub.outputs)}
        for signature in (d for d in model.signatureDefs or [] if d.subgraphIndex == s):
            keep.update(m.tensorIndex for m in (*(signature.inputs or []), *(signature.outputs or [])))
        for index, tensor in enumerate(sub.tensors or []):
            if index not in keep and tensor.name != f"t{index}".encode():
                tensor.name, renamed = f"t{index}".encode(), renamed + 1
    return renamed


def _drop_debug_info(model: Any) -> int:
    items = [item for sub in model.subgraphs or [] for item in (sub, *(sub.operators or [])
                                                                 ) if item.debugMetadataIndex != -1]
    for item in items:
        item.debugMetadataIndex = -1
    return len(items)


def _drop_metadata(model: Any) -> int:
    kept = [m for m in model.metadata or [] if _text(m.name) not in DROPPABLE_METADATA]
    dropped = len(model.metadata or []) - len(kept) + (model.description is not None)
    model.metadata, model.description = kept or None, None
    return dropped


def _drop_redundant_quantization(model: Any) -> tuple[int, int]:
    min_max = empty = 0
    for tensor in (t for sub in model.subgraphs or [] for t in sub.tensors or [] if t.quantization):
        q = tensor.quantization
        if _has(q.scale) and _has(q.zeroPoint) and (_has(q.min) or _has(q.max)):
            q.min, q.max, min_max = None, None, min_max + 1
        if not any(_has(v) for v in (q.min, q.max, q.scale, q.zeroPoint)) and q.details is None:
            tensor.quantization, empty = None, empty + 1
    return min_max, empty


def _drop_unused_buffers(model: Any) -> int:
    buffers, tensors = model.buffers or [], [t for sub in model.subgraphs or [] for t in sub.tensors or []]
    if buffers and not _has(buffers[0].data):  # buffer 0 is the empty sentinel, as it should be
        empty = {i for i, b in enumerate(buffers) if not _has(b.data)}
        for tensor in tensors:
            tensor.buffer = 0 if tensor.buffer in empty else tensor.buffer  # no data: same as 0
    used = {0, *(t.buffer for t in tensors), *(m.buffer for m in model.metadata or []),
            *_ints(model.metadataBuffer)}
    keep = [i for i in range(len(buffers)) if i in used]
    new = {old: i for i, old in enumerate(keep)}
    model.buffers = [buffers[i] for i in keep]
    for item in (*tensors, *(model.metadata or [])):
        item.buffer = new[item.buffer]
    if model.metadataBuffer is not None:
        model.metadataBuffer = [new[i] for i in _ints(model.metadataBuffer) if i in new]
    return len(buffers) - len(keep)


def _pack(model: Any, size_hint: int) -> tuple[bytes, int]:
    """The packed flatbuffer, identical numeric vectors written once; and how many were shared."""
    import flatbuffers
    import numpy as np

    class SharingBuilder(flatbuffers.Builder):
        def __init__(self, size: int):
            super().__init__(size)
            self.written: dict[tuple[str, bytes], int] = {}
            self.shared = 0

        def CreateNumpyVector(self, x):  # noqa: N802 (flatbuffers' name)
            key = (x.dtype.str, x.tobytes())
            if key in self.written:
                self.shared += 1
                return self.written[key]
            if x.dtype == np.uint8 and x.size >= 16:  # buffer data: 16-byte aligned, as schema.fbs asks
                self.StartVector(1, x.size, 16)
                self.head -= x.size
                self.Bytes[self.head:self.head + x.size] = x.tobytes()
                self.vectorNumElems = x.size
                offset = self.EndVector()
            else:
                offset = super().CreateNumpyVector(x)
            self.written[key] = offset
            return offset

    builder = SharingBuilder(size_hint + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), builder.shared


def _has(values: Any) -> bool:
    return values is not None and len(values) > 0


def _ints(values: Any) -> list[int]:
    return [] if values is None else [int(v) for v in values]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
