"""onnxruntime's InstanceNormalization has terms of its own (a pass per channel of each image:
Op.kernel_calls), where the "other" kind's roofline read capiti's 7.5x its time.  Able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

from compressor.cost.latency import estimate_op_latency
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


def test_an_instance_norm_is_priced_per_channel_and_byte_by_its_own_terms(tmp_path):
    target = load_target("host-x86", cpu_identity=ZEN4)
    costs = target.compute.runtime_cost("onnx")
    ops = {}
    for shape in ((1, 8, 9600), (1, 256, 300)):  # the same bytes, 32x the channels
        path = tmp_path / f"in{shape[1]}.onnx"
        mk.build_onnx("instance_norm", {"op": "InstanceNormalization", "shape": shape}, path)
        (op,) = [op for op in read_graph(path, as_run=True).ops if op.op_type == "InstanceNormalization"]
        assert op.kernel_calls == shape[1]
        assert costs.kernel_terms(op.compute_dtype, op.op_type, op.kind) is costs.kernels["float32"]["InstanceNormalization"]
        ops[shape[1]] = estimate_op_latency(op, target, runtime="onnx").latency_s
    assert ops[256] > ops[8]  # same bytes, more channel passes
    assert ops[8] < 60e-6  # 300 KB in: tens of microseconds (profiled ~21 us), not the roofline's ~190
