"""The graph onnxruntime actually runs: its CPU provider's optimized model, written to disk.

An ``.onnx`` file is not what onnxruntime executes.  At session creation its CPU provider
rewrites the graph at ``ORT_ENABLE_ALL`` (the default of ``SessionOptions``): BatchNorm folded,
Conv + activation (+ a residual Add) fused into one ``FusedConv`` or NCHWc ``Conv``
(``com.microsoft.nchwc``, channels padded to the SIMD block, ``ReorderInput``/``ReorderOutput``
at the layout edges), DQ -> op -> Q units of a QDQ file turned into ``QLinearConv`` /
``QLinearAdd`` / ``QGemm`` (NHWC, with ``Transpose``s around), MatMul + scale into
``FusedMatMul``, Gelu patterns into ``Gelu``.  Costing the file as written charged fused
element-wise ops separately and missed the layout ops.

``optimized_onnx(path)`` asks onnxruntime to write that graph
(``SessionOptions.optimized_model_filepath``, 1 intra-op thread, the level above) and returns
its path, cached by the file's SHA-256 and the onnxruntime version under the system temp
directory (``edge-compressor-ort/``), so a second estimate of the same file does not build a
session again.  The layout optimizations are for THIS machine's CPU (onnxruntime says so when
it saves them): it is an estimate of onnxruntime on this host, which is what ``host-x86``
describes.  When onnxruntime cannot load or save the model, ``None`` and the reason: the
caller costs the file as written and says so.  A model whose weights live in an external data
file beside it (torch's dynamo exporter writes one by default) gets its optimized weights in a
data file of its own in the cache, and that file's size and time join the key.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["CACHE_DIR_NAME", "external_data_files", "optimized_onnx"]

CACHE_DIR_NAME = "edge-compressor-ort"


# An initializer kept in an external file names it in an entry whose key is "location".
_EXTERNAL_MARK = b"location"


def _file_sha256(path: Path, *, digest: bool = True) -> tuple[str, bool]:
    """(the file's SHA-256, "" without ``digest``; whether its bytes hold ``_EXTERNAL_MARK``
    anywhere): a file without it keeps no weights outside, and need not be parsed to know so (a
    114 MB model: 0.7 s; the hash doubles the scan's time, 0.06 s more on 92 MB)."""
    sha, marked, tail = hashlib.sha256(), False, b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            if digest:
                sha.update(block)
            # (and across two blocks: the end of one joined to the start of the next)
            marked = marked or _EXTERNAL_MARK in block or _EXTERNAL_MARK in tail + block[:len(_EXTERNAL_MARK)]
            tail = block[-len(_EXTERNAL_MARK):]
    return sha.hexdigest() if digest else "", marked


def external_data_files(path: Path, *, marked: bool | None = None) -> list[Path]:
    """The external data files the ``.onnx`` keeps initializers in (beside it), sorted; none without
    parsing it where its bytes do not hold ``_EXTERNAL_MARK`` (``marked``: already known)."""
    if marked is None:
        marked = _file_sha256(path, digest=False)[1]
    if not marked:
        return []
    import onnx
    from onnx.external_data_helper import uses_external_data

    model = onnx.load(str(path), load_external_data=False)
    names = {entry.value for init in model.graph.initializer if uses_external_data(init)
             for entry in init.external_data if entry.key == "location"}
    return sorted(path.parent / name for name in names)


def optimized_onnx(path: Path, *, cache_dir: Path | None = None) -> tuple[Path | None, str]:
    """(path of onnxruntime's optimized model, "") or (None, why not) for the ``.onnx`` at ``path``."""
    try:
        import onnxruntime as ort
    except ImportError as error:
        return None, f"onnxruntime is not installed ({error})"
    cache = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir()) / CACHE_DIR_NAME
    digest, marked = _file_sha256(path)
    external = external_data_files(path, marked=marked)
    # The file's bytes name its weights' file and offsets, not their values: those files' sizes
    # and times join the key, so new weights under the same graph are optimized again.
    stamp = "".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns};" for f in external if f.is_file())
    if stamp:
        digest = hashlib.sha256((digest + stamp).encode()).hexdigest()
    key = f"{digest[:32]}-ort{ort.__version__}-all"
    target = cache / f"{key}.onnx"
    if target.is_file():
        return target, ""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Written under a private name, then renamed: a reader never sees half a file, and two
        # processes estimating the same file at once each write their own.
        partial = cache / f"{key}.{os.getpid()}.partial.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        options.optimized_model_filepath = str(partial)
        if external:
            # Its weights live in a file beside it (what torch's dynamo exporter writes by default):
            # onnxruntime writes the optimized graph's into one of its own in the cache, which
            # the optimized model names (a reference to the source's file would not resolve there).
            options.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                             f"{key}.data")
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        if not partial.is_file():
            return None, "onnxruntime wrote no optimized model"
        os.replace(partial, target)
    except Exception as error:  # a model onnxruntime cannot load or save (custom op, >2 GB)
        lines = str(error).strip().splitlines()
        return None, f"{type(error).__name__}: {lines[0][:160] if lines else ''}"
    finally:
        if "partial" in locals() and partial.exists():
            partial.unlink()
    return target, ""
