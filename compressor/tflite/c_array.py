"""A `.tflite` as C++ source for tflite-micro: the model bytes and an op resolver for exactly its ops.

``write_c_array(tflite_path, out_dir, name="model")`` writes three files:

  model_data.cc  ``alignas(16) const unsigned char g_model[] = {0x..};`` and
                 ``const unsigned int g_model_len = N;`` (16-byte alignment: tflite-micro
                 reads tensors in place from the array and its kernels expect it)
  model_data.h   their ``extern`` declarations
  op_resolver.h  ``using ModelOpResolver = tflite::MicroMutableOpResolver<N>;`` and an inline
                 ``RegisterModelOps(resolver)`` calling one ``Add*()`` per op the model uses,
                 in first-use order, so the resolver holds exactly N registrations.

Weights stored after the flatbuffer (``Buffer.offset``, as ai-edge-quantizer writes some
models) are copied into it first: tflite-micro reads them as empty tensors otherwise (see
``compressor.measure.micro``); any other file is written byte for byte.  Ops tflite-micro has
no ``Add*`` method for raise ``ExportError`` naming the op.  Files are written atomically
and depend only on the input.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError, ExportError
from ..files import write_atomically

__all__ = ["TFLM_ADD_METHODS", "used_ops", "write_c_array"]

# TFLite builtin op -> MicroMutableOpResolver method (tensorflow/lite/micro/micro_mutable_op_resolver.h).
TFLM_ADD_METHODS = {
    "ABS": "AddAbs", "ADD": "AddAdd", "ADD_N": "AddAddN", "ARG_MAX": "AddArgMax", "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable", "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul", "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs", "BROADCAST_TO": "AddBroadcastTo", "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast", "CEIL": "AddCeil", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "COS": "AddCos", "CUMSUM": "AddCumSum", "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize", "DIV": "AddDiv",
    "ELU": "AddElu", "EMBEDDING_LOOKUP": "AddEmbeddingLookup", "EQUAL": "AddEqual", "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims", "FILL": "AddFill", "FLOOR": "AddFloor", "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod", "FULLY_CONNECTED": "AddFullyConnected", "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd", "GREATER": "AddGreater", "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish", "IF": "AddIf", "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D", "LEAKY_RELU": "AddLeakyRelu", "LESS": "AddLess", "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog", "LOG_SOFTMAX": "AddLogSoftmax", "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot", "LOGICAL_OR": "AddLogicalOr", "LOGISTIC": "AddLogistic",
    "MAX_POOL_2D": "AddMaxPool2D", "MAXIMUM": "AddMaximum", "MEAN": "AddMean", "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad", "MUL": "AddMul", "NEG": "AddNeg", "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack", "PAD": "AddPad", "PADV2": "AddPadV2", "PRELU": "AddPrelu", "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable", "REDUCE_MAX": "AddReduceMax", "RELU": "AddRelu", "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape", "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "ROUND": "AddRound", "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2", "SHAPE": "AddShape", "SIN": "AddSin", "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax", "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd", "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV", "SQRT": "AddSqrt", "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference", "SQUEEZE": "AddSqueeze", "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub", "SUM": "AddSum", "SVDF": "AddSvdf", "TANH": "AddTanh", "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv", "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack", "VAR_HANDLE": "AddVarHandle", "WHILE": "AddWhile", "ZEROS_LIKE": "AddZerosLike",
    # Custom ops tflite-micro ships a kernel for.
    "ethos-u": "AddEthosU", "TFLite_Detection_PostProcess": "AddDetectionPostprocess",
    "CIRCULAR_BUFFER": "AddCircularBuffer",
}

_BYTES_PER_LINE = 12


def write_c_array(tflite_path, out_dir, *, name: str = "model") -> list[Path]:
    """Write ``{name}_data.cc``, ``{name}_data.h`` and ``op_resolver.h`` into ``out_dir``; return their paths."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise ConfigError("name", name, "a C identifier (letters, digits, _)")
    tflite_path, out_dir = Path(tflite_path), Path(out_dir)
    if not tflite_path.is_file():
        raise ExportError(f"{tflite_path}: no such file")
    data = tflite_path.read_bytes()
    ops = used_ops(data, tflite_path)
    missing = [op for op in ops if op not in TFLM_ADD_METHODS]
    if missing:
        raise ExportError(f"{tflite_path}: tflite-micro has no kernel registration for op {missing[0]!r}"
                          + (f" (nor {', '.join(missing[1:])})" if missing[1:] else ""))
    from .flatbuffer import inline_external_buffers

    data = inline_external_buffers(data)
    files = {f"{name}_data.cc": _source(data, name), f"{name}_data.h": _header(name, len(data)),
             "op_resolver.h": _resolver(ops, name)}
    out_dir.mkdir(parents=True, exist_ok=True)
    for filename, text in files.items():
        write_atomically(out_dir / filename, text.encode())
    return [out_dir / filename for filename in files]


def used_ops(data: bytes, path: Path) -> list[str]:
    """Op names the operators of every subgraph use, in order of first use."""
    from ai_edge_litert import schema_py_generated as schema

    from .flatbuffer import check_identifier, opcode_names

    check_identifier(data, path)
    model = schema.Model.GetRootAs(data, 0)
    names = opcode_names(model)
    ordered: dict[str, None] = {}
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for o in range(sub.OperatorsLength()):
            ordered.setdefault(names[sub.Operators(o).OpcodeIndex()])
    return list(ordered)


def _source(data: bytes, name: str) -> str:
    rows = [", ".join(f"0x{byte:02x}" for byte in data[i:i + _BYTES_PER_LINE])
            for i in range(0, len(data), _BYTES_PER_LINE)]
    body = ",\n".join(f"    {row}" for row in rows)
    return (f'#include "{name}_data.h"\n\n'
            f"// {len(data)} bytes of a TFLite flatbuffer; 16-byte aligned for tflite-micro.\n"
            f"alignas(16) const unsigned char g_{name}[] = {{\n{body}\n}};\n"
            f"const unsigned int g_{name}_len = {len(data)};\n")


def _header(name: str, size: int) -> str:
    guard = f"{name.upper()}_DATA_H_"
    return (f"#ifndef {guard}\n#define {guard}\n\n"
            f"// The model flatbuffer ({size} bytes), for tflite::GetModel(g_{name}).\n"
            f"extern const unsigned char g_{name}[];\n"
            f"extern const unsigned int g_{name}_len;\n\n#endif  // {guard}\n")


def _resolver(ops: list[str], name: str) -> str:
    camel = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Model"
    guard = f"{name.upper()}_OP_RESOLVER_H_"
    calls = "".join(f"  TF_LITE_ENSURE_STATUS(resolver.{TFLM_ADD_METHODS[op]}());  // {op}\n" for op in ops)
    return (f"#ifndef {guard}\n#define {guard}\n\n"
            '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n\n'
            f"// Exactly the {len(ops)} ops g_{name} uses.\n"
            f"using {camel}OpResolver = tflite::MicroMutableOpResolver<{len(ops)}>;\n\n"
            f"inline TfLiteStatus Register{camel}Ops({camel}OpResolver& resolver) {{\n"
            f"{calls}  return kTfLiteOk;\n}}\n\n#endif  // {guard}\n")
