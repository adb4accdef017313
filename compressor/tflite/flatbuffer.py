"""The one home of the `.tflite` flatbuffer: identify it, read it, name its ops, pack it.

A `.tflite` is a FlatBuffer whose file identifier is ``TFL3`` (bytes 4..8).  ai-edge-quantizer
writes large buffers after the flatbuffer (``Buffer.offset`` from the file's start and
``size``; offsets 0 and 1 are the schema's "no external data"); every rewrite here reads them
back inline, so what it packs is one self-contained flatbuffer.  Op codes above 127 live in
``builtin_code``; old files have only ``deprecated_builtin_code``: the name is the larger.

Readers of packed files (``opcode_names``, the size breakdown, the graph reader) use the
flatbuffers reader API; rewrites (strip, equalization, bias correction, the sparse format,
tflite-micro's inlining) use the object API (``schema.ModelT``) through ``read_model`` and
``pack_model`` / ``pack``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..errors import ExportError

__all__ = ["builtin_op_names", "check_identifier", "float_constant", "inline_external_buffers", "op_names",
           "opcode_names", "pack", "pack_model", "pack_shared", "read_model"]

_MAX_FLATBUFFER_BYTES = 2**31 - 2**20  # flatbuffers' 2 GiB offset limit, with room for tables


def check_identifier(buf: bytes, path: Path) -> None:
    """ExportError naming ``path`` unless ``buf`` is a TFLite flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    if len(buf) < 8 or not schema.Model.ModelBufferHasIdentifier(buf, 0):
        raise ExportError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")


@functools.cache
def builtin_op_names() -> dict[int, str]:
    """Builtin op code -> name ("CONV_2D"), from the schema LiteRT ships."""
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def op_names(model: Any) -> list[str]:
    """Builtin op name of each operator code of a ``schema.ModelT`` ("CUSTOM" for custom ops)."""
    names = builtin_op_names()
    return [names.get(max(c.builtinCode, c.deprecatedBuiltinCode), "CUSTOM") for c in model.operatorCodes]


def opcode_names(model: Any) -> list[str]:
    """The op name of each operator code of a packed ``schema.Model`` ("CONV_2D", or a custom
    op's own name)."""
    from ai_edge_litert import schema_py_generated as schema

    builtin = builtin_op_names()
    names = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        value = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if value == schema.BuiltinOperator.CUSTOM:
            names.append((code.CustomCode() or b"CUSTOM").decode("utf-8", "replace"))
        else:
            names.append(builtin.get(value, f"BUILTIN_{value}"))
    return names


def read_model(path: Path) -> Any:
    """The `.tflite` at ``path`` as a mutable ``schema.ModelT``, buffers stored after the
    flatbuffer read back inline; ExportError for what a rewrite cannot carry over (weights in
    external files, custom options after the flatbuffer, more than 2 GiB inline)."""
    from ai_edge_litert import schema_py_generated as schema

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    buf = path.read_bytes()
    check_identifier(buf, path)
    try:
        model = schema.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as error:  # a corrupt flatbuffer surfaces as anything from struct.error up
        raise ExportError(f"{path}: cannot read as tflite: {type(error).__name__}: {str(error)[:200]}") from error
    _check_supported(model, path)
    _inline_buffers(model, buf, path)
    return model


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
    """``model`` packed as a `.tflite` flatbuffer, identical numeric vectors written once."""
    return pack_shared(model, size_hint)[0]


def pack(model: Any) -> bytes:
    """``model`` packed as a `.tflite` flatbuffer, every vector written where it is used."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def inline_external_buffers(model_bytes: bytes) -> bytes:
    """The same model with every buffer stored by offset copied into the flatbuffer."""
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(model_bytes, 0)
    if not any(root.Buffers(i).Offset() > 1 for i in range(root.BuffersLength())):
        return model_bytes
    model = schema.ModelT.InitFromObj(root)
    for buffer in model.buffers:
        if buffer.offset and buffer.offset > 1:
            buffer.data = np.frombuffer(model_bytes, np.uint8, count=buffer.size, offset=buffer.offset)
            buffer.offset, buffer.size = 0, 0
    return pack(model)


def pack_shared(model: Any, size_hint: int) -> tuple[bytes, int]:
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


def _check_supported(model: Any, path: Path) -> None:
    subgraphs = model.subgraphs or []
    if model.externalBuffers or model.externalBufferGroups or any(
            t.externalBuffer for sub in subgraphs for t in sub.tensors or []):
        raise ExportError(f"{path}: weights in external buffer files are not supported by the .tflite rewrites")
    if any(op.largeCustomOptionsOffset > 1 for sub in subgraphs for op in sub.operators or []):
        raise ExportError(f"{path}: custom options stored after the flatbuffer are not supported by the .tflite rewrites")


def _inline_buffers(model: Any, buf: bytes, path: Path) -> None:
    import numpy as np

    for index, buffer in enumerate(model.buffers or []):
        if buffer.offset > 1:
            if buffer.offset + buffer.size > len(buf):
                raise ExportError(f"{path}: buffer {index} points past the end of the file")
            buffer.data = np.frombuffer(buf, np.uint8, count=buffer.size, offset=buffer.offset)
            buffer.offset = buffer.size = 0
    if sum(len(b.data) for b in model.buffers or [] if b.data is not None) > _MAX_FLATBUFFER_BYTES:
        raise ExportError(f"{path}: weights over 2 GiB do not fit in one flatbuffer")
