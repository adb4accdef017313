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

Stripping what the runtimes never read is strip.py; reading and packing, flatbuffer.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..files import artifact_suffix
from .flatbuffer import check_identifier, opcode_names

__all__ = ["CATEGORIES", "size_breakdown"]

CATEGORIES = ("weights", "biases", "quantization", "names", "metadata", "unused", "structure")


_BIAS_SLOT = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "CONV_3D": 2, "TRANSPOSE_CONV": 3}
# vtable slots (4 + 2 x the field id in schema.fbs) of the fields measured in the packed file.
_BUFFER_DATA, _TENSOR_NAME, _METADATA_NAME, _MODEL_DESCRIPTION = 4, 10, 4, 10
_QUANT_ARRAYS = ((4, 4), (6, 4), (8, 4), (10, 8))  # (slot, element bytes): min, max, scale, zero_point


def size_breakdown(path) -> dict[str, int]:
    """Bytes of ``path`` (`.tflite` or `.onnx`) per category of ``CATEGORIES``; they sum to the file size."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    suffix = artifact_suffix(path)
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

    check_identifier(buf, path)
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
