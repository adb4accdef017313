"""A `.tflite` without what LiteRT and tflite-micro never read (``strip_tflite``).

The rewrite keeps every value the kernels compute with; the flatbuffer is read and packed by
flatbuffer.py, so identical numeric vectors are written once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..files import write_atomically
from .flatbuffer import pack_shared, read_model

__all__ = ["DROPPABLE_METADATA", "strip_tflite"]

# Metadata entries only converters and debuggers read; min_runtime_version and the rest stay.
DROPPABLE_METADATA = frozenset({"CONVERSION_METADATA", "keep_stablehlo_constant", "debug_metadata"})


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
    data, dropped["shared_vectors"] = pack_shared(model, size)
    write_atomically(out_path, data)
    return {"before": size, "after": len(data), "dropped": dict(dropped)}


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


def _has(values: Any) -> bool:
    return values is not None and len(values) > 0


def _ints(values: Any) -> list[int]:
    return [] if values is None else [int(v) for v in values]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
