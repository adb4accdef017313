"""Streaming models' copies (microWakeWord's ring buffers): XNNPACK copies a CONCATENATION or a
slice run by run, a slice reads only what it copies, and a resource variable's handle costs
nothing per invoke."""

from __future__ import annotations

from dataclasses import replace

import pytest

from compressor.graph.ir import Tensor, copy_runs, make_op, size_bytes


def test_copy_runs_follow_the_dims_before_the_copied_axis():
    assert copy_runs("CONCATENATION", (1, 21, 1, 64), [(1, 20, 1, 64), (1, 1, 1, 64)]) == 2  # a ring buffer
    assert copy_runs("CONCATENATION", (1, 8, 8, 32), [(1, 8, 8, 16), (1, 8, 8, 16)]) == 128  # channels
    assert copy_runs("STRIDED_SLICE", (1, 20, 1, 64), [(1, 21, 1, 64)]) == 1
    assert copy_runs("STRIDED_SLICE", (1, 32, 32, 32), [(1, 32, 32, 64)]) == 1024
    assert copy_runs("READ_VARIABLE", (1, 20, 1, 64), [()]) == 1
    assert copy_runs("SLICE", (1, -1, 4), [(1, 8, 4)]) == 0  # unknown: no runs counted


def _tensors(*shapes):
    return [Tensor(name=f"t{i}", shape=s, dtype="float32", size_bytes=size_bytes(s, "float32"), is_constant=False)
            for i, s in enumerate(shapes)]


def test_a_slice_reads_only_the_part_it_copies():
    """An unrolled LSTM slices one step of [100, 1, 512] a hundred times: each reads 2 KB, not 200."""
    tensors = _tensors((100, 1, 512), (1, 1, 512))
    op = make_op(tensors, name="s", op_type="SLICE", kind="reshape", inputs=[0], outputs=[1], macs=0,
                 compute_dtype="float32", layout="nhwc")
    assert op.input_bytes == op.output_bytes == 2048 and op.kernel_calls == 1
    add = make_op(tensors, name="a", op_type="ADD", kind="elementwise", inputs=[0], outputs=[1], macs=0,
                  compute_dtype="float32", layout="nhwc")
    assert add.input_bytes == 204_800  # any other op reads its whole inputs


def test_copies_cost_per_run_and_variable_handles_only_their_dispatch():
    from compressor.cost.latency import estimate_op_latency
    from compressor.targets.kernel_terms import KernelTerms, kernel_term_keys
    from compressor.targets.load import load_target

    assert kernel_term_keys("READ_VARIABLE", "reshape")[0] == "STRIDED_SLICE"  # one contiguous copy's work
    assert kernel_term_keys("SLICE", "reshape")[0] == "STRIDED_SLICE"  # XNNPACK's same static slice
    profile = load_target("host-x86")
    costs = profile.compute.runtimes["tflite"]
    assert {"VAR_HANDLE", "CALL_ONCE"} <= set(costs.in_place)
    terms = {"float32": {"STRIDED_SLICE": KernelTerms(in_byte_ps=5.0, call_ns=3.0)}}
    mine = replace(profile, compute=replace(profile.compute, runtimes={
        "tflite": replace(costs, kernels=terms, dispatch_overhead_us=0.0)}))
    few = make_op(_tensors((1, 21, 1, 64), (1, 20, 1, 64)), name="s", op_type="STRIDED_SLICE", kind="reshape",
                  inputs=[0], outputs=[1], macs=0, compute_dtype="float32", layout="nhwc")
    many = make_op(_tensors((1, 32, 32, 64), (1, 32, 32, 32)), name="s", op_type="STRIDED_SLICE", kind="reshape",
                   inputs=[0], outputs=[1], macs=0, compute_dtype="float32", layout="nhwc")
    seconds = lambda op: estimate_op_latency(op, mine, runtime="tflite").latency_s  # noqa: E731
    assert seconds(few) == pytest.approx(3e-9 + 5e-12 * 20 * 64 * 4)
    assert seconds(many) == pytest.approx(1024 * 3e-9 + 5e-12 * 32 * 32 * 32 * 4)
    handle = make_op(_tensors((), ()), name="v", op_type="VAR_HANDLE", kind="other", inputs=[], outputs=[1], macs=0,
                     compute_dtype="float32", layout="nhwc")
    assert seconds(handle) == 0.0


def test_transpose_rows_follow_the_normalized_permutation():
    """XNNPACK's transpose drops size-1 axes, merges axes that stay adjacent and in order, and
    writes one row of the result per pass: a 3-channel image's NCHW -> NHWC is a row per pixel."""
    from compressor.graph.ir import transpose_rows

    assert transpose_rows((1, 3, 96, 96), (0, 2, 3, 1)) == 96 * 96  # rows of 3
    assert transpose_rows((1, 56, 56, 144), (0, 3, 1, 2)) == 144  # rows of 56 x 56
    assert transpose_rows((197, 3, 64), (1, 0, 2)) == 3 * 197  # rows of 64
    assert transpose_rows((1, 8, 8, 16), (0, 1, 2, 3)) == 1  # no move: one run
    assert transpose_rows((1, -1, 4), (0, 2, 1)) == 0  # unknown


def test_a_tflite_transpose_is_read_with_its_rows(tmp_path):
    """The reader takes the permutation from the file: litert-torch's input transpose of a
    1x3x32x32 image is 1,024 rows, an NHWC -> NCHW of 16 channels 16."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from microbench_kernels import build_tflite

    from compressor.graph.read import read_graph

    for shape, perm, rows in (((1, 3, 32, 32), [0, 2, 3, 1], 1024), ((1, 8, 8, 16), [0, 3, 1, 2], 16)):
        path = tmp_path / f"t{rows}.tflite"
        build_tflite("reshape", {"shape": shape, "op": "TRANSPOSE", "perm": perm}, path)
        (op,) = [o for o in read_graph(path, as_run=True).ops if o.op_type == "TRANSPOSE"]
        assert op.kernel_calls == rows


def test_a_one_channel_depthwise_conv_is_read_as_the_dense_conv_xnnpack_runs(tmp_path):
    """The converter writes a 1-input-channel conv (an audio stem, a grayscale first layer) as a
    DEPTHWISE_CONV_2D with a channel multiplier; XNNPACK's depthwise kernels take one output per
    channel, so on a CPU target it runs (and is costed) as a dense conv of one input channel; an MCU
    runs CMSIS-NN's depthwise kernel.  A multiplier-1 one stays depthwise everywhere."""
    import sys
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import microbench_kernels as mk

    from compressor.cost.kernels import check_kernels
    from compressor.cost.latency import as_run_kind
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    for channels, multiplier in ((1, 128), (32, 1)):
        b = mk._TfliteBuilder(); s = b.s
        x = b.tensor((1, 1, 1000, channels))
        w = b.tensor((1, 1, 80, channels * multiplier), np.ones((1, 1, 80, channels * multiplier)))
        bias = b.tensor((channels * multiplier,), np.zeros(channels * multiplier))
        y = b.tensor((1, 1, 1000, channels * multiplier))
        o = s.DepthwiseConv2DOptionsT(); o.padding = s.Padding.SAME; o.strideH = o.strideW = 1
        o.depthMultiplier = multiplier; o.dilationHFactor = o.dilationWFactor = 1
        b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], "DepthwiseConv2DOptions", o)
        b.save(tmp_path / f"dw{channels}.tflite", [x], [y])
        (op,) = read_graph(tmp_path / f"dw{channels}.tflite").ops
        assert op.macs == 1000 * channels * multiplier * 80
        assert (op.kind, op.in_channels) == ("depthwise", 1 if channels == 1 else 0)
        on_cpu = as_run_kind(op, load_target("host-x86"), "tflite").kind
        assert on_cpu == ("conv" if channels == 1 else "depthwise")
        assert as_run_kind(op, load_target("cortex-m55"), "tflite").kind == "depthwise"  # CMSIS-NN's generic one
        placed = check_kernels(read_graph(tmp_path / f"dw{channels}.tflite"), load_target("host-x86")).ops[0]
        assert placed.kind == on_cpu  # the report's per-op kind says how it runs


def test_litert_own_layout_kernels_cost_as_measured_on_the_zen4(tmp_path):
    """A 1-D reflection pad (MIRROR_PAD, LiteRT's own kernel, element by element) costs several
    times a plain PAD of the same bytes on the Zen 4 entry, whose terms timed both."""
    import contextlib
    import io
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import microbench_kernels as mk

    from compressor.cost.latency import estimate_op_latency
    from compressor.graph.read import read_graph
    from compressor.targets.load import load_target

    target = load_target("host-x86", cpu_flags=frozenset({"avx2", "avx512f", "avx512_vnni"}),
                         cpu_identity="AuthenticAMD family 25 model 17")
    cost = {}
    for op in ("MIRROR_PAD", "PAD"):
        with contextlib.redirect_stdout(io.StringIO()):
            mk.build_tflite("layout_more", {"shape": (1, 1, 16384), "op": op, "pads": [[0, 0], [0, 0], [128, 128]]},
                            tmp_path / f"{op}.tflite")
        (read,) = read_graph(tmp_path / f"{op}.tflite").ops
        cost[op] = estimate_op_latency(read, target, runtime="tflite").latency_s
    assert cost["MIRROR_PAD"] > 5 * cost["PAD"]
