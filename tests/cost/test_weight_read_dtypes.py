"""An op whose weights overflow the private cache, in a dtype no weight-stream curve was measured
for (an int64 table), is costed, not an internal error (khmersm's transformer exited 3, as did
mk8dx-table-reader's partly fp16 net): able to fail."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compressor.measure.estimate import estimate_artifact
from compressor.targets.load import load_target


def test_weights_of_a_dtype_without_a_curve_are_read_at_the_float_curves_rate(tmp_path):
    dtype, elem = np.int64, TensorProto.INT64
    n = 600_000  # 4.8 MB: past the Zen 4's 1 MB private L2
    table = numpy_helper.from_array(np.arange(n, dtype=dtype).reshape(1, n), "table")
    graph = helper.make_graph([helper.make_node("Add", ["x", "table"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", elem, [1, n])],
                              [helper.make_tensor_value_info("y", elem, [1, n])], [table])
    path = tmp_path / "add.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    assert target.memory.private_cache_bytes < table.ByteSize()
    assert estimate_artifact(path, target).latency_ms > 0
