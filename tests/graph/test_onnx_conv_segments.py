"""Which MLAS path runs an onnxruntime fp32 conv left in NCHW (graph/ort_conv.py): more filters than
output positions expand whole, any other in segments, each im2col element packed again (its own
terms' ``pass_ps``); each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

from compressor.cost.tiles import filter_set_passes
from compressor.graph.read import read_graph
from compressor.targets.load import load_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk

ZEN4 = "AuthenticAMD family 25 model 17"


def _conv(tmp_path, w, cin, cout, k):
    path = tmp_path / f"c{w}x{cout}.onnx"
    mk.build_onnx("conv1d", {"w": w, "cin": cin, "cout": cout, "k": k, "s": 1}, path)
    return next(op for op in read_graph(path, as_run=True).ops if op.op_type in ("Conv", "FusedConv"))


def test_few_filters_over_many_positions_run_in_segments_and_pay_per_im2col_element(tmp_path):
    wide = _conv(tmp_path, 16512, 64, 64, 11)  # a HiFi-GAN residual conv: 64 filters, 16,512 positions
    few_frames = _conv(tmp_path, 25, 32, 48, 9)  # 48 filters over 25 positions: expanded whole
    assert (wide.variant, few_frames.variant) == ("segmented", "")
    costs = load_target("host-x86", cpu_identity=ZEN4).compute.runtime_cost("onnx")
    assert filter_set_passes(wide, costs) == 16512 * 64 * 11  # its im2col elements
    terms = costs.kernel_terms("float32", wide.op_type, wide.kind, unaligned=True, variant=wide.variant)
    assert terms is costs.kernels["float32"]["conv_unaligned_segmented"] and terms.pass_ps > 0
    assert costs.kernel_terms("float32", few_frames.op_type, few_frames.kind, unaligned=True) is \
        costs.kernels["float32"]["conv_unaligned"]
