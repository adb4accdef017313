"""An .onnx that keeps its weights in an external data file ships both: the flash figure counts
the data file too (a third-party ResNet-18 read 89 KB of flash for its 44.8 MB of weights)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compressor.measure.estimate import artifact_bytes, estimate_artifact


def _gemm(path, external: bool):
    w = numpy_helper.from_array(np.ones((256, 512), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 512])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, str(path), save_as_external_data=external, all_tensors_to_one_file=True,
                    location=f"{path.name}.data", size_threshold=0)
    return path


def test_flash_counts_the_external_data_file(tmp_path):
    path = _gemm(tmp_path / "split.onnx", external=True)
    data = tmp_path / "split.onnx.data"
    assert data.stat().st_size >= 256 * 512 * 4 and path.stat().st_size < 10_000
    assert artifact_bytes(path) == path.stat().st_size + data.stat().st_size
    assert estimate_artifact(path, "host-x86").flash_bytes == artifact_bytes(path)


def test_a_self_contained_file_is_its_own_size(tmp_path):
    path = _gemm(tmp_path / "whole.onnx", external=False)
    assert artifact_bytes(path) == path.stat().st_size > 256 * 512 * 4
