"""Per-runtime costs (compute.runtimes): dispatch per op, invoke per inference, recurrent steps."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from compressor.cost.kernels import check_kernels
from compressor.cost.latency import estimate_op_latency
from compressor.errors import TargetError
from compressor.graph.ir import Graph, Op, Tensor
from compressor.targets.load import load_target
from compressor.targets.types import KernelTerms, RuntimeCost


def _cpu(**runtimes):
    base = load_target("android-arm64")
    return replace(base, compute=replace(base.compute, dispatch_overhead_us=1.0, runtimes=runtimes))


def _adds(n: int, fmt: str) -> Graph:
    tensors = tuple(Tensor(f"t{i}", (1, 8), "float32", 32, False) for i in range(n + 1))
    ops = tuple(Op(f"t{i + 1}", "ADD", "elementwise", (i,), (i + 1,), 0, "float32", 0, 32, 32) for i in range(n))
    return Graph(ops=ops, tensors=tensors, inputs=(0,), outputs=(n,), format=fmt)


def test_each_runtime_pays_its_own_dispatch_and_invoke():
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=10.0, invoke_overhead_us=100.0),
               tflite=RuntimeCost(dispatch_overhead_us=0.1, invoke_overhead_us=2.0))
    onnx, tflite = check_kernels(_adds(50, "onnx"), cpu), check_kernels(_adds(50, "tflite"), cpu)
    # 50 tiny ops: the runtimes' fixed costs dominate and differ as the table says.
    assert onnx.invoke_ms == pytest.approx(0.1) and tflite.invoke_ms == pytest.approx(0.002)
    onnx_fixed = onnx.latency_ms - sum(estimate_op_latency(op, cpu).latency_s * 1e3 - 1e-3 for op in _adds(50, "onnx").ops)
    assert onnx_fixed == pytest.approx(50 * 10e-3 + 0.1, rel=1e-6)
    assert onnx.latency_ms > 5 * tflite.latency_ms
    # A format the table does not list keeps the generic dispatch and no invoke cost.
    generic = check_kernels(_adds(50, "onnx"), _cpu())
    assert generic.invoke_ms == 0 and generic.latency_ms < onnx.latency_ms


def _lstm(steps: int, macs: int) -> Op:
    return Op("y", "LSTM", "fully_connected", (0,), (1,), macs, "float32", 0, 4, 4, recurrent_steps=steps)


def test_recurrent_ops_pay_per_step_and_run_at_the_rnn_rate():
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, rnn_step_us=2.0, rnn_efficiency=0.05))
    one = estimate_op_latency(_lstm(100, 10), cpu, runtime="onnx")
    assert one.overhead_s == pytest.approx(100 * 2e-6)
    plain = estimate_op_latency(_lstm(0, 10_000_000), cpu, runtime="onnx")
    slow = estimate_op_latency(_lstm(100, 10_000_000), cpu, runtime="onnx")
    fc = cpu.compute.efficiency_of("float32", "fully_connected")
    assert slow.compute_s == pytest.approx(plain.compute_s * fc / 0.05)
    # Without the runtime named, the generic costs apply.
    assert estimate_op_latency(_lstm(100, 10), cpu).overhead_s == pytest.approx(1e-6)


def test_a_measured_rnn_curve_prices_each_width_at_its_own_rate():
    # ps per MAC by MACs per step, as onnxruntime's LSTM measured: the 128-wide point is faster
    # than both its neighbours, which one line across widths cannot say.
    curve = {"LSTM": ((1e4, 36.0), (1e5, 33.0), (3e5, 40.0))}
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, rnn_step_us=2.0, rnn_efficiency=0.05, rnn_steps=curve))
    at_point = estimate_op_latency(_lstm(100, 100 * 100_000), cpu, runtime="onnx")
    assert at_point.compute_s == pytest.approx(100 * 100_000 * 33e-12)
    assert at_point.overhead_s == 0  # the step's fixed cost is inside the measured point
    between = estimate_op_latency(_lstm(100, 100 * 173_205), cpu, runtime="onnx").compute_s / (100 * 173_205)
    assert 33e-12 < between < 40e-12
    assert estimate_op_latency(_lstm(10, 10 * 1e6), cpu, runtime="onnx").compute_s == pytest.approx(10 * 1e6 * 40e-12)
    # A cell the curve does not list keeps the rate and per-step cost.
    gru = replace(_lstm(100, 100 * 100_000), op_type="GRU")
    assert estimate_op_latency(gru, cpu, runtime="onnx").overhead_s == pytest.approx(100 * 2e-6)


def test_rnn_curves_are_validated(tmp_path):
    good = '\n[compute.runtimes.onnx]\ndispatch_overhead_us = 0.1\nrnn_steps.LSTM = [[1e4, 36], [1e5, 33]]\n'
    runtime = load_target(_host_plus(tmp_path, good), cpu_flags=frozenset()).compute.runtimes["onnx"]
    assert runtime.rnn_ps_per_mac("LSTM", 1e4) == 36 and runtime.rnn_ps_per_mac("GRU", 1e4) is None
    with pytest.raises(TargetError, match="ascend"):
        load_target(_host_plus(tmp_path, good.replace("[1e5", "[1e3")))
    with pytest.raises(TargetError, match="recurrent"):
        load_target(_host_plus(tmp_path, good.replace("rnn_steps.LSTM", "rnn_steps.Conv")))


def test_onnx_lstm_gets_its_steps_times_directions(tmp_path):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from compressor.graph.read import read_graph

    h, i, t = 16, 8, 30
    inits = [numpy_helper.from_array(np.zeros((2, 4 * h, i), np.float32), "W"),
             numpy_helper.from_array(np.zeros((2, 4 * h, h), np.float32), "R")]
    node = helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=h, direction="bidirectional")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [t, 1, i])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / "lstm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    op = next(op for op in read_graph(path).ops if op.op_type == "LSTM")
    assert op.recurrent_steps == 2 * t and op.macs == t * 2 * 4 * h * (i + h)
    # onnxruntime multiplies by W once for all steps and by R at every step: one direction's R
    assert op.step_weight_bytes == 4 * h * h * 4


def test_a_plain_rnn_is_its_gemms_and_its_own_step_terms(tmp_path):
    # madmom's piano-note BRNN (held-out set 10): ONNX RNNs, one tanh per hidden unit a step
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from compressor.cost.recurrent import CellShape, cell_shape, recurrent_cell_s
    from compressor.graph.read import read_graph

    h, i, t = 88, 176, 300
    inits = [numpy_helper.from_array(np.zeros((1, h, i), np.float32), "W"),
             numpy_helper.from_array(np.zeros((1, h, h), np.float32), "R"),
             numpy_helper.from_array(np.zeros((1, 2 * h), np.float32), "B")]
    node = helper.make_node("RNN", ["x", "W", "R", "B"], ["y"], hidden_size=h)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [t, 1, i])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / "rnn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    op = next(op for op in read_graph(path).ops if op.op_type == "RNN")
    assert cell_shape(op) == CellShape(gates=1, hidden=h, inputs=i, batch=1, steps=t, directions=1)
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    cell_s = recurrent_cell_s(op, zen4.compute.runtime_cost("onnx").kernels["float32"]).total_s
    # timed: 1.3 us a step at this shape (scripts/data/host-x86-kernels-rnn-plain-zen4.json)
    assert 0.9e-6 < cell_s / t < 1.8e-6
    assert estimate_op_latency(op, zen4, runtime="onnx").compute_s == pytest.approx(cell_s)


def _host_plus(tmp_path, extra: str) -> str:
    """host-x86's profile renamed "bad", with ``extra`` TOML appended: a file to load."""
    path = tmp_path / "bad.toml"
    path.write_text(load_target("host-x86").path.read_text().replace('name = "host-x86"', 'name = "bad"', 1) + extra)
    return str(path)


def test_runtimes_table_is_validated(tmp_path):
    with pytest.raises(TargetError, match="speed"):
        load_target(_host_plus(tmp_path, '\n[compute.runtimes.tflite]\ndispatch_overhead_us = 0.1\nspeed = 3\n'))
    with pytest.raises(TargetError, match="keras"):
        load_target(_host_plus(tmp_path, '\n[compute.runtimes.keras]\ndispatch_overhead_us = 0.1\n'))


def test_a_runtime_efficiency_table_overrides_the_profile_for_its_format_only():
    conv = Op("y", "CONV_2D", "conv", (0,), (1,), 50_000_000, "float32", 0, 4, 4, out_channels=64)
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, efficiency={"float32": {"conv": 0.1}}))
    base = cpu.compute.efficiency_of("float32", "conv")
    tflite = estimate_op_latency(conv, cpu, runtime="tflite")
    onnx = estimate_op_latency(conv, cpu, runtime="onnx")
    assert onnx.compute_s == pytest.approx(tflite.compute_s * base / 0.1)
    # Kinds the runtime does not list keep the profile's rate.
    assert cpu.compute.efficiency_of("float32", "depthwise", "onnx") == cpu.compute.efficiency_of("float32", "depthwise")


def _conv(macs: int, cin: int, cout: int, pixels: int) -> Op:
    return Op("y", "CONV_2D", "conv", (0,), (1,), macs, "float32", cout * cin * 9 * 4, pixels * cin * 4,
              pixels * cout * 4, out_channels=cout)


def test_measured_kernel_terms_replace_the_roofline_and_see_what_one_efficiency_cannot():
    from compressor.targets.types import KernelTerms

    terms = KernelTerms(mac_ps=10.0, out_byte_ps=200.0, fixed_us=1.0)
    cpu = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {"conv": terms}}))
    # Same MACs: a 3-channel stem writes 85x more output per MAC than a 256-channel layer.
    stem = _conv(3 * 16 * 9 * 112 * 112, 3, 16, 112 * 112)
    deep = _conv(256 * 16 * 9 * 147, 256, 16, 147)
    assert stem.macs == pytest.approx(deep.macs, rel=0.01)
    s, d = (estimate_op_latency(op, cpu, runtime="tflite") for op in (stem, deep))
    assert s.latency_s == pytest.approx(1e-6 + 10e-12 * stem.macs + 200e-12 * stem.output_bytes)
    assert s.latency_s > 1.3 * d.latency_s
    # The roofline (no terms for this format) costs both alike.
    r_s, r_d = (estimate_op_latency(op, cpu, runtime="onnx") for op in (stem, deep))
    assert r_s.latency_s == pytest.approx(r_d.latency_s, rel=0.02)
    # An op type's own terms win over its kind's.
    sigmoid = Op("y", "LOGISTIC", "elementwise", (0,), (1,), 0, "float32", 0, 4000, 4000)
    typed = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {
        "elementwise": KernelTerms(in_byte_ps=1.0), "LOGISTIC": KernelTerms(in_byte_ps=50.0)}}))
    assert estimate_op_latency(sigmoid, typed, runtime="tflite").latency_s == pytest.approx(50e-12 * 4000)


def test_kernel_terms_are_validated(tmp_path):
    good = '\n[compute.runtimes.tflite]\ndispatch_overhead_us = 0.1\nkernels.float32.conv = { mac_ps = 7.5, fixed_us = 1 }\n'
    # No CPU flags: the base profile (the AVX-512 variant has its own runtimes tables).
    runtime = load_target(_host_plus(tmp_path, good), cpu_flags=frozenset()).compute.runtimes["tflite"]
    terms = runtime.kernel_terms("float32", "CONV_2D", "conv")
    assert terms.mac_ps == 7.5 and terms.fixed_us == 1 and terms.in_byte_ps == 0
    with pytest.raises(TargetError, match="speed"):
        load_target(_host_plus(tmp_path, good.replace("fixed_us", "speed")))
    with pytest.raises(TargetError, match=">= 0"):
        load_target(_host_plus(tmp_path, good.replace("7.5", "-1")))


def _fc_chain(n: int, width: int, fmt: str = "tflite") -> Graph:
    """n batch-1 FCs width x width, one after another: an unrolled recurrent layer's steps."""
    tensors = tuple(Tensor(f"t{i}", (1, width), "float32", 4 * width, False) for i in range(n + 1))
    ops = tuple(Op(f"t{i + 1}", "FULLY_CONNECTED", "fully_connected", (i,), (i + 1,), width * width, "float32",
                   4 * width * width, 4 * width, 4 * width, out_channels=width) for i in range(n))
    return Graph(ops=ops, tensors=tensors, inputs=(0,), outputs=(n,), format=fmt)


def test_weights_that_cannot_stay_hot_stream_at_the_rate_measured_for_that_set_size():
    from compressor.targets.types import KernelTerms

    curve = ((4e6, 80e9), (16e6, 50e9), (64e6, 25e9))
    base = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {"fully_connected": KernelTerms(mac_ps=48.0)}},
                                   weight_stream={"float32": curve}))
    cpu = replace(base, memory=replace(base.memory, private_cache_bytes=1 << 20, cache_bytes=32 << 20))
    per_op = lambda graph: check_kernels(graph, cpu).ops[0].latency_ms
    # Two 256 KB FCs fit the 1 MB private cache: the measured (hot) terms alone.
    hot = per_op(_fc_chain(2, 256))
    assert hot == pytest.approx(48e-9 * 256 * 256, rel=1e-6)
    # 64 x 256 KB = 16.8 MB of packed weights: each op reads its 256 KB at the curve's rate there.
    set_bytes = 64 * 4 * 256 * 256
    rate = cpu.compute.runtimes["tflite"].weight_stream_rate("float32", set_bytes)
    assert 25e9 < rate < 50e9
    streamed = per_op(_fc_chain(64, 256))
    assert streamed == pytest.approx(4 * 256 * 256 / rate * 1e3, rel=1e-6) and streamed > hot
    # Beyond the last point: its rate; log-log between points; a shared tensor counts per node.
    assert per_op(_fc_chain(64, 512)) == pytest.approx(4 * 512 * 512 / 25e9 * 1e3, rel=1e-6)
    mid = cpu.compute.runtimes["tflite"].weight_stream_rate("float32", 8e6)
    assert mid == pytest.approx((80e9 * 50e9) ** 0.5, rel=1e-6)
    # A profile without a private cache size (or without a curve) keeps the hot terms.
    assert check_kernels(_fc_chain(64, 256), base).ops[0].latency_ms == pytest.approx(hot, rel=1e-6)


def test_an_fc_whose_own_weights_overflow_the_cache_reads_them_once_at_the_stream_rate():
    """Its weights' cold read is priced by the measured stream, not by the DRAM floor as well
    (AlexNet's 151 MB FC in onnxruntime: 7.6 ms, the stream's 7.4; both ways summed said 11.6)."""
    curve = ((4e6, 80e9), (64e6, 20e9))
    base = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {"fully_connected": KernelTerms(mac_ps=1.0)}},
                                   weight_stream={"float32": curve}))
    cpu = replace(base, memory=replace(base.memory, private_cache_bytes=1 << 20, cache_bytes=32 << 20,
                                       dram_bandwidth_bytes_per_s=25e9))
    width = 4096  # 67 MB of weights: over the 32 MB cache, so DRAM is the op's level
    latency_ms = check_kernels(_fc_chain(1, width), cpu).ops[0].latency_ms
    assert latency_ms == pytest.approx(4 * width * width / 20e9 * 1e3, rel=0.02)


def _pointwise_chain(n: int, hw: int, channels: int) -> Graph:
    """n 1x1 convs over hw x hw positions, channels -> channels: GEMMs over many rows."""
    size = 4 * hw * hw * channels
    tensors = tuple(Tensor(f"t{i}", (1, hw, hw, channels), "float32", size, False) for i in range(n + 1))
    ops = tuple(Op(f"t{i + 1}", "CONV_2D", "pointwise", (i,), (i + 1,), hw * hw * channels * channels, "float32",
                   4 * channels * channels, size, size, out_channels=channels) for i in range(n))
    return Graph(ops=ops, tensors=tensors, inputs=(0,), outputs=(n,), format="tflite")


def test_a_gemm_over_many_rows_reads_cold_weights_at_its_own_curve():
    """conv_weight_stream: a conv (or an FC of several rows) reads its weights cold at the rate
    chains of 1x1 convs measured, slower than the batch-1 FCs' weight_stream; a batch-1 FC
    keeps the FC curve, and without the conv curve a conv keeps the FC curve too."""
    from compressor.targets.types import KernelTerms

    fc_curve, conv_curve = ((1e6, 120e9), (64e6, 25e9)), ((2e6, 36e9), (16e6, 7e9))
    terms = {"float32": {"fully_connected": KernelTerms(mac_ps=48.0), "pointwise": KernelTerms(mac_ps=1.5)}}
    plain = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, weight_stream={"float32": fc_curve}))
    own = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, weight_stream={"float32": fc_curve},
                                  conv_weight_stream={"float32": conv_curve}))
    plain, own = (replace(c, memory=replace(c.memory, private_cache_bytes=2 << 20, cache_bytes=32 << 20))
                  for c in (plain, own))
    runtime = own.compute.runtimes["tflite"]
    chain = _pointwise_chain(64, 14, 256)  # 64 x 256 KB = 16.8 MB of packed weights
    weights, set_bytes = 4 * 256 * 256, 64 * 4 * 256 * 256
    conv_rate = runtime.weight_stream_rate("float32", set_bytes, gemm_rows=True)
    assert conv_rate == pytest.approx(7e9) and runtime.weight_stream_rate("float32", set_bytes) > 3 * conv_rate
    per_op = lambda graph, cpu: check_kernels(graph, cpu).ops[0].latency_ms
    kernel_ms = 1.5e-9 * 14 * 14 * 256 * 256
    extra = lambda rate: weights * (1 / rate - 1 / 120e9) * 1e3
    # The conv curve is the excess itself (a chain's op over the same op alone): all of it is
    # paid, nothing taken off for what the bytes take hot; the FC curve is a read time, less hot.
    assert per_op(chain, own) == pytest.approx(kernel_ms + weights / conv_rate * 1e3, rel=1e-6)
    assert per_op(chain, plain) == pytest.approx(kernel_ms + extra(runtime.weight_stream_rate("float32", set_bytes)),
                                                 rel=1e-6)
    assert per_op(chain, own) > 1.1 * per_op(chain, plain)
    # A batch-1 FC streams at the FC curve whether the conv curve is there or not.
    fcs = _fc_chain(64, 256)
    assert per_op(fcs, own) == pytest.approx(per_op(fcs, plain), rel=1e-9)
    # A small set fits the private cache: hot, either curve.
    assert per_op(_pointwise_chain(4, 14, 256), own) == pytest.approx(kernel_ms, rel=1e-6)


def test_weight_stream_curves_are_validated(tmp_path):
    good = ('\n[compute.runtimes.tflite]\ndispatch_overhead_us = 0.1\n'
            'weight_stream.float32 = [[4e6, 8e10], [6.4e7, 2.5e10]]\n')
    runtime = load_target(_host_plus(tmp_path, good), cpu_flags=frozenset()).compute.runtimes["tflite"]
    assert runtime.weight_stream_rate("float32", 1e9) == 2.5e10
    assert runtime.weight_stream_rate("float32", 1e9, gemm_rows=True) == 2.5e10  # no conv curve: the FCs'
    with pytest.raises(TargetError, match="ascend"):
        load_target(_host_plus(tmp_path, good.replace("[6.4e7", "[1e6")))
    conv = good + 'conv_weight_stream.float32 = [[2e6, 3.6e10], [1.6e7, 7e9]]\n'
    runtime = load_target(_host_plus(tmp_path, conv), cpu_flags=frozenset()).compute.runtimes["tflite"]
    assert runtime.weight_stream_rate("float32", 1e9, gemm_rows=True) == 7e9
    walk = load_target(_host_plus(tmp_path, good + 'indirection_ns.float32 = [[1e6, 0.45], [4.5e7, 1.88]]\n'),
                       cpu_flags=frozenset()).compute.runtimes["tflite"]
    assert walk.indirection_ns["float32"][-1] == (4.5e7, 1.88)
    with pytest.raises(TargetError, match="indirection_ns"):
        load_target(_host_plus(tmp_path, good + 'indirection_ns.float32 = [[1e6, -1]]\n'))
    with pytest.raises(TargetError, match="conv_weight_stream"):
        load_target(_host_plus(tmp_path, conv.replace("[1.6e7", "[1e6")))
    with pytest.raises(TargetError, match="pairs"):
        load_target(_host_plus(tmp_path, good.replace("8e10", "-1")))


def test_a_second_thread_splits_measured_terms_as_the_runtime_measured():
    from compressor.targets.types import KernelTerms

    terms = {"float32": {"conv": KernelTerms(mac_ps=10.0, out_byte_ps=20.0)}}
    conv = _conv(3 * 16 * 9 * 112 * 112, 3, 16, 112 * 112)
    one = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms,
                                  parallel={"float32": {"efficiency": 0.8, "sync_us": 2.0}}))
    two = replace(one, compute=replace(one.compute, threads=2))
    t1 = estimate_op_latency(conv, one, runtime="tflite").latency_s
    t2 = estimate_op_latency(conv, two, runtime="tflite").latency_s
    assert t1 == pytest.approx(10e-12 * conv.macs + 20e-12 * conv.output_bytes)
    assert t2 == pytest.approx(t1 / 1.8 + 2e-6)
    # Without a measured split, one thread's terms stand (no guessed speedup).
    bare = replace(two, compute=replace(two.compute, runtimes={"tflite": RuntimeCost(dispatch_overhead_us=0.0,
                                                                                     kernels=terms)}))
    assert estimate_op_latency(conv, bare, runtime="tflite").latency_s == pytest.approx(t1)
    # An op type the runtime measured no faster on two threads stays on one.
    serial = replace(two, compute=replace(two.compute, runtimes={"tflite": RuntimeCost(
        dispatch_overhead_us=0.0, kernels=terms,
        parallel={"float32": {"efficiency": 0.8, "sync_us": 2.0, "serial": (conv.op_type,)}})}))
    assert estimate_op_latency(conv, serial, runtime="tflite").latency_s == pytest.approx(t1)


def test_an_nchwc_conv_splits_by_whole_rows_of_filter_sets():
    """onnxruntime's NCHWc convs: MLAS hands each thread whole units of an output row times 64
    output channels (snchwc.cpp), so a one-row conv stays on one thread, 7 units split 4 + 3
    and 56 split evenly; depthwise, with its own measured split, by rows times 16 channels."""
    from compressor.targets.types import KernelTerms

    terms = {"float32": {"conv": KernelTerms(mac_ps=10.0), "depthwise": KernelTerms(mac_ps=40.0)}}
    parallel = {"float32": {"efficiency": 1.0, "sync_us": 1.0, "nchwc_block": (("conv", 64), ("depthwise", 16)),
                            "kinds": (("depthwise", 0.5, 3.0),)}}
    one = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, parallel=parallel))
    two = replace(one, compute=replace(one.compute, threads=2))

    def conv(rows: int, width: int, channels: int = 32) -> Op:
        return replace(_conv(rows * width * channels * channels * 9, channels, channels, rows * width),
                       nchwc_rows=rows)

    def times(op: Op) -> tuple[float, float]:
        return (estimate_op_latency(op, one, runtime="onnx").latency_s,
                estimate_op_latency(op, two, runtime="onnx").latency_s)

    t1, t2 = times(conv(1, 2048))
    assert t2 == pytest.approx(t1)  # one unit: one thread
    t1, t2 = times(conv(7, 256))
    assert t2 == pytest.approx(t1 * 4 / 7 + 1e-6)  # 4 + 3 rows
    t1, t2 = times(conv(56, 32))
    assert t2 == pytest.approx(t1 / 2 + 1e-6)
    t1, t2 = times(conv(1, 2048, 128))  # 128 output channels: two units in the one row
    assert t2 == pytest.approx(t1 / 2 + 1e-6)
    t1, t2 = times(replace(conv(1, 2048), nchwc_rows=0))  # not an NCHWc conv: splits freely
    assert t2 == pytest.approx(t1 / 2 + 1e-6)
    # Other convs slice output positions in stripes rounded up to 16: 13 positions are one
    # stripe (one thread); 49 split 32 + 17.
    striped = replace(one, compute=replace(one.compute, runtimes={"onnx": RuntimeCost(
        dispatch_overhead_us=0.0, kernels=terms, parallel={"float32": {**parallel["float32"],
                                                                       "stripe": (("conv", 16),)}})}))
    striped_two = replace(striped, compute=replace(striped.compute, threads=2))
    for positions, share in ((13, 1.0), (49, 32 / 49)):
        op = _conv(positions * 32 * 32 * 9, 32, 32, positions)
        s1 = estimate_op_latency(op, striped, runtime="onnx").latency_s
        s2 = estimate_op_latency(op, striped_two, runtime="onnx").latency_s
        assert s2 == pytest.approx(s1 if share == 1.0 else s1 * share + 1e-6)
    dw = Op("d", "Conv", "depthwise", (0,), (1,), 56 * 56 * 96 * 9, "float32", 96 * 9 * 4, 56 * 56 * 96 * 4,
            56 * 56 * 96 * 4, out_channels=96, nchwc_rows=56)
    d1 = estimate_op_latency(dw, one, runtime="onnx").latency_s
    assert estimate_op_latency(dw, two, runtime="onnx").latency_s == pytest.approx(d1 / 1.5 + 3e-6)


def test_a_recurrent_op_hands_off_once_per_time_step():
    lstm = Op("y", "LSTM", "other", (0,), (1,), 100 * 4 * 256 * 320, "float32", 4 * 256 * 320 * 4,
              100 * 64 * 4, 100 * 256 * 4, recurrent_steps=100)
    costs = dict(dispatch_overhead_us=0.0, rnn_efficiency=0.2)
    one = _cpu(onnx=RuntimeCost(**costs, parallel={"float32": {"efficiency": 1.0, "sync_us": 8.0,
                                                                "step_sync_us": 3.0}}))
    two = replace(one, compute=replace(one.compute, threads=2))
    t1 = estimate_op_latency(lstm, one, runtime="onnx").latency_s
    t2 = estimate_op_latency(lstm, two, runtime="onnx").latency_s
    assert t2 == pytest.approx(t1 / 2 + 100 * 3e-6)  # per step, not the per-op hand-off
    narrow = replace(lstm, macs=100 * 4 * 32 * 96)  # a step too small to split: one thread
    assert (estimate_op_latency(narrow, two, runtime="onnx").latency_s
            == pytest.approx(estimate_op_latency(narrow, one, runtime="onnx").latency_s))


def test_parallel_tables_are_validated(tmp_path):
    good = ('\n[compute.runtimes.tflite]\ndispatch_overhead_us = 0.1\n'
            'parallel.float32 = { efficiency = 0.9, sync_us = 2 }\n')
    runtime = load_target(_host_plus(tmp_path, good), cpu_flags=frozenset()).compute.runtimes["tflite"]
    assert runtime.parallel["float32"] == {"efficiency": 0.9, "sync_us": 2, "step_sync_us": None, "serial": (),
                                           "nchwc_block": (), "stripe": (), "kinds": (), "handoff_us": None,
                                           "step_split_macs": None, "pairs": ()}
    full = good.replace("sync_us = 2 }", 'sync_us = 2, step_sync_us = 3, serial = ["RELU", "SOFTMAX"] }')
    runtime = load_target(_host_plus(tmp_path, full), cpu_flags=frozenset()).compute.runtimes["tflite"]
    assert runtime.parallel["float32"]["serial"] == ("RELU", "SOFTMAX")
    assert runtime.parallel["float32"]["step_sync_us"] == 3
    nchwc = good.replace("sync_us = 2 }", "sync_us = 2, nchwc_block = { conv = 64, depthwise = 16 }, "
                                          "kinds = { depthwise = { efficiency = 0.6, sync_us = 1.5 } } }")
    runtime = load_target(_host_plus(tmp_path, nchwc), cpu_flags=frozenset()).compute.runtimes["tflite"]
    assert runtime.parallel["float32"]["nchwc_block"] == (("conv", 64), ("depthwise", 16))
    assert runtime.parallel["float32"]["kinds"] == (("depthwise", 0.6, 1.5),)
    pairs = good.replace("sync_us = 2 }", "sync_us = 2, pairs = { hybrid_u8 = { pointwise = 0.11, fully_connected = 0 } } }")
    runtime = load_target(_host_plus(tmp_path, pairs), cpu_flags=frozenset()).compute.runtimes["tflite"]
    assert runtime.parallel["float32"]["pairs"] == (("hybrid_u8", (("fully_connected", 0.0), ("pointwise", 0.11))),)
    bad = [(nchwc.replace("conv = 64", "convolution = 64"), "unknown op kind"),
           (nchwc.replace("conv = 64", "conv = 0"), "must be > 0"),
           (nchwc.replace("efficiency = 0.6", "efficiency = 2"), "fraction"),
           (full.replace('"RELU"', "7"), "op type"),
           (good.replace(", sync_us = 2", ""), "needs sync_us"),
           (good.replace("sync_us = 2", "sync_us = 2, speedup = 2"), "speedup"),
           (good.replace("0.9", "1.5"), "efficiency"),
           (good.replace("sync_us = 2", "sync_us = 2, step_split_macs = 0"), "step_split_macs"),
           (good.replace("parallel.float32", "parallel.float64"), "float64"),
           (pairs.replace("hybrid_u8", "hybrid"), "not one of"),
           (pairs.replace("pointwise = 0.11", "pointwise = 1.5"), "fraction")]
    for text, match in bad:
        with pytest.raises(TargetError, match=match):
            load_target(_host_plus(tmp_path, text))


def test_an_op_the_runtime_runs_in_place_costs_its_dispatch_only():
    from compressor.targets.types import KernelTerms

    reshape = Op("r", "Reshape", "reshape", (0,), (1,), 0, "float32", 0, 4 << 20, 4 << 20)
    terms = {"float32": {"reshape": KernelTerms(in_byte_ps=30.0, out_byte_ps=30.0)}}
    copying = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.5, kernels=terms))
    aliasing = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.5, kernels=terms, in_place=("Reshape",)))
    assert estimate_op_latency(reshape, copying, runtime="onnx").latency_s > 200e-6  # 8 MB at 30 ps/B
    assert estimate_op_latency(reshape, aliasing, runtime="onnx").latency_s == pytest.approx(0.5e-6)


def test_in_place_lists_are_validated(tmp_path):
    good = '\n[compute.runtimes.onnx]\ndispatch_overhead_us = 0.1\nin_place = ["Reshape", "Squeeze"]\n'
    runtime = load_target(_host_plus(tmp_path, good), cpu_flags=frozenset()).compute.runtimes["onnx"]
    assert runtime.in_place == ("Reshape", "Squeeze")
    with pytest.raises(TargetError, match="in_place"):
        load_target(_host_plus(tmp_path, good.replace('["Reshape", "Squeeze"]', '"Reshape"')))


def test_an_int8_kernel_packing_input_channels_by_8_costs_a_3_channel_stem_as_8():
    from compressor.targets.types import KernelTerms

    stem = replace(_conv(3 * 64 * 49 * 112 * 112, 3, 64, 112 * 112), compute_dtype="int8", in_channels=3)
    deep = replace(stem, in_channels=64, macs=64 * 64 * 49 * 112 * 112)
    terms = {"int8": {"conv": KernelTerms(mac_ps=4.0)}}
    packed = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms,
                                     input_channel_tiles={"int8": {"conv": 8}}))
    plain = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    t = lambda op, cpu: estimate_op_latency(op, cpu, runtime="tflite").compute_s
    assert t(stem, packed) == pytest.approx(t(stem, plain) * 8 / 3)
    assert t(deep, packed) == pytest.approx(t(deep, plain))  # 64 is a multiple of 8
    unknown = replace(stem, in_channels=0)  # a reader that could not tell: no padding guessed
    assert t(unknown, packed) == pytest.approx(t(unknown, plain))


def test_a_partial_input_tile_costs_its_remainder_step_and_a_narrow_kernel_packs_its_own_way():
    """XNNPACK's fp32 "s4" IGEMM on the AVX2 EPYC: a tap's 1-3 leftover input channels take a step
    ~1.8x a whole one of 4 (3 -> 96 channels: 27 ns per 4-row x 16-column step, 64 -> 64: 15); under
    16 outputs its 8-column kernel takes the input channels one at a time (no tile, no remainder)."""
    from compressor.targets.types import KernelTerms

    stem = replace(_conv(3 * 96 * 9 * 224 * 224, 3, 96, 224 * 224), in_channels=3)
    five = replace(stem, in_channels=5, macs=5 * 96 * 9 * 224 * 224)
    narrow = replace(stem, out_channels=8, macs=3 * 8 * 9 * 224 * 224)
    terms = {"float32": {"conv": KernelTerms(mac_ps=4.0)}}
    tiled = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, channel_tiles={"float32": {"conv": 16}},
                                    narrow_channel_tiles={"float32": {"conv": 8}},
                                    input_channel_tiles={"float32": {"conv": 4}},
                                    input_channel_remainders={"float32": {"conv": 7}},
                                    narrow_input_channel_tiles={"float32": {"conv": 1}}))
    plain = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    t = lambda op, cpu: estimate_op_latency(op, cpu, runtime="tflite").compute_s
    assert t(stem, tiled) == pytest.approx(t(stem, plain) * 7 / 3)  # no whole tile, the remainder step
    assert t(five, tiled) == pytest.approx(t(five, plain) * (4 + 7) / 5)  # one whole tile and the remainder
    assert t(narrow, tiled) == pytest.approx(t(narrow, plain))  # 8 outputs: the narrow kernel, channels as they are


def test_a_depthwise_convs_partial_channel_tile_costs_its_remainder_step():
    """XNNPACK's fp32 depthwise on the AVX2 EPYC: 8 channels a step, 1-7 more in a masked step that
    costs as 34 (36 channels ran 7.53 ns per position x tap, 32 ran 3.66)."""
    from compressor.targets.types import KernelTerms

    dw = lambda c: Op("y", "DEPTHWISE_CONV_2D", "depthwise", (0,), (1,), c * 9 * 1024, "float32", c * 36,
                      c * 4096, c * 4096, out_channels=c)
    terms = {"float32": {"depthwise": KernelTerms(mac_ps=4.0)}}
    costs = dict(dispatch_overhead_us=0.0, kernels=terms, channel_tiles={"float32": {"depthwise": 8}})
    masked = _cpu(tflite=RuntimeCost(**costs, channel_remainders={"float32": {"depthwise": 34}}))
    plain = _cpu(tflite=RuntimeCost(**costs))
    t = lambda op, cpu: estimate_op_latency(op, cpu, runtime="tflite").compute_s
    assert t(dw(36), masked) == pytest.approx(t(dw(32), plain) * (32 + 34) / 32)
    assert t(dw(36), plain) == pytest.approx(t(dw(40), plain))  # without it: a whole tile of 8
    assert t(dw(32), masked) == pytest.approx(t(dw(32), plain))  # whole tiles only: nothing more


def test_a_grouped_conv_takes_the_grouped_terms_where_a_runtime_measured_them():
    from compressor.targets.types import KernelTerms

    dense = replace(_conv(64 * 16 * 9 * 784, 16, 64, 784), in_channels=16)
    grouped = replace(dense, groups=4)
    terms = {"float32": {"conv": KernelTerms(mac_ps=4.0), "conv_grouped": KernelTerms(mac_ps=20.0)}}
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    t = lambda op: estimate_op_latency(op, cpu, runtime="onnx").compute_s
    assert t(grouped) == pytest.approx(5 * t(dense))
    only_conv = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {"conv": KernelTerms(mac_ps=4.0)}}))
    assert estimate_op_latency(grouped, only_conv, runtime="onnx").compute_s == pytest.approx(t(dense))


def test_a_gemm_over_many_rows_pays_its_weights_cold_read_on_top_of_its_compute():
    from compressor.targets.types import KernelTerms

    curve = ((1e6, 80e9), (64e6, 20e9))
    base = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {"fully_connected": KernelTerms(mac_ps=18.0)}},
                                   weight_stream={"float32": curve}))
    cpu = replace(base, memory=replace(base.memory, private_cache_bytes=1 << 20, cache_bytes=32 << 20))
    rows, k, m = 49, 512, 2048  # MLP-Mixer's token rows; 4 MB of weights
    gemm = Op("y", "FULLY_CONNECTED", "fully_connected", (0,), (1,), rows * k * m, "float32", 4 * k * m,
              4 * rows * k, 4 * rows * m, out_channels=m)
    cold = estimate_op_latency(gemm, cpu, runtime="tflite", weight_set_bytes=64_000_000).latency_s
    hot = estimate_op_latency(gemm, cpu, runtime="tflite", weight_set_bytes=0).latency_s
    assert hot == pytest.approx(18e-12 * rows * k * m)
    # On top of the compute (not hidden under it): the streamed time less what the bytes take hot.
    assert cold == pytest.approx(hot + 4 * k * m * (1 / 20e9 - 1 / 80e9))


def test_a_conv_whose_weights_overflow_the_igemm_tile_reads_them_once_per_mr_rows():
    from compressor.targets.types import KernelTerms

    curve = ((1e6, 80e9), (16e6, 50e9), (64e6, 25e9))
    terms = {"float32": {"conv": KernelTerms(mac_ps=20.0), "pointwise": KernelTerms(mac_ps=20.0)}}
    plain = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, weight_stream={"float32": curve}))
    tiled = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, weight_stream={"float32": curve},
                                    igemm_rows={"float32": {"conv": 7}}))
    # wav2letter's 1x32 conv, 250 -> 2000 channels over 150 rows: 64 MB of fp32 weights.
    cin, cout, taps, rows = 250, 2000, 32, 150
    weights = 4 * cin * cout * taps
    conv = Op("y", "CONV_2D", "conv", (0,), (1,), cin * cout * taps * rows, "float32", weights,
              4 * cin * (rows + taps - 1), 4 * cout * rows, out_channels=cout, in_channels=cin)
    t = lambda op, cpu: estimate_op_latency(op, cpu, runtime="tflite").latency_s
    extra = t(conv, tiled) - t(conv, plain)
    assert extra == pytest.approx(21 * weights * (1 / 25e9 - 1 / 80e9), rel=0.05)  # ceil(150 / 7) - 1 reads more
    assert extra > 0.5 * t(conv, plain)
    # A 1x1 is a GEMM tiled to L2; weights the L3 serves as fast as hot cost nothing more.
    pointwise = replace(conv, op_type="CONV_2D", kind="pointwise", macs=cin * cout * rows, weight_bytes=4 * cin * cout * 32)
    assert t(pointwise, tiled) == pytest.approx(t(pointwise, plain))
    small = replace(conv, weight_bytes=900_000)
    assert t(small, tiled) == pytest.approx(t(small, plain))
    few_rows = replace(conv, output_bytes=4 * cout * 7)  # one tile of rows: read once
    assert t(few_rows, tiled) == pytest.approx(t(few_rows, plain))
    # With nr known, a conv whose smallest tile ((7 + 32) x K floats) fits the private cache is
    # tiled to it and read once: K = 8000 floats is 1.25 MB of tile, over a 1 MiB cache, within 2 MiB.
    cols = replace(tiled, compute=replace(tiled.compute, runtimes={"tflite": replace(
        tiled.compute.runtimes["tflite"], igemm_cols={"float32": {"conv": 32}})}))
    one_mib = replace(cols, memory=replace(cols.memory, private_cache_bytes=1 << 20))
    two_mib = replace(cols, memory=replace(cols.memory, private_cache_bytes=2 << 20))
    assert t(conv, one_mib) == pytest.approx(t(conv, replace(tiled, memory=one_mib.memory)))
    assert t(conv, two_mib) == pytest.approx(t(conv, replace(plain, memory=two_mib.memory)))


def test_an_elementwise_op_overflowing_the_private_cache_streams_at_the_shared_cache_rate():
    """Measured kernel terms come from single ops that mostly ran from the private cache; a
    memory-bound op whose tensors overflow it pays at least moved bytes / shared-cache bandwidth
    (an Intel Xeon VM: 28.5 GB/s beyond its 2 MiB L2), an op with MACs or a small one does not."""
    from compressor.targets.types import KernelTerms

    terms = {"float32": {"elementwise": KernelTerms(in_byte_ps=5.0), "conv": KernelTerms(mac_ps=10.0)}}
    base = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    slow = replace(base, memory=replace(base.memory, private_cache_bytes=2 << 20, cache_bytes=64 << 20,
                                        cache_bandwidth_bytes_per_s=28.5e9))

    def add(elements: int) -> Op:
        return Op("a", "Add", "elementwise", (0, 1), (2,), 0, "float32", 0, 8 * elements, 4 * elements)

    big, small = add(2_000_000), add(100_000)  # 24 MB and 1.2 MB moved
    assert estimate_op_latency(big, slow, runtime="onnx").latency_s == pytest.approx(24e6 / 28.5e9)
    assert estimate_op_latency(small, slow, runtime="onnx").latency_s == pytest.approx(5e-12 * 800_000)
    conv = replace(_conv(56 * 56 * 64 * 64 * 9, 64, 64, 56 * 56), op_type="Conv")  # MACs: its own terms
    conv = replace(conv, output_bytes=8_000_000)
    fast = replace(slow, memory=replace(slow.memory, cache_bandwidth_bytes_per_s=1e12))
    assert (estimate_op_latency(conv, slow, runtime="onnx").latency_s
            == pytest.approx(estimate_op_latency(conv, fast, runtime="onnx").latency_s))
    assert (estimate_op_latency(big, fast, runtime="onnx").latency_s
            < estimate_op_latency(big, slow, runtime="onnx").latency_s / 5)


def test_recurrent_weights_beyond_the_private_cache_are_re_read_every_step():
    """A recurrent op reads its per-step weights at every time step: when they overflow the
    private cache they come from the shared cache each step (a 512-wide LSTM's 4 MiB R on a CPU
    with 2 MiB L2 and 28.5 GB/s: 50 steps >= 7.4 ms); on two threads each core holds half."""
    terms = {"float32": {"fully_connected": KernelTerms(mac_ps=1.0)}}
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, rnn_steps={"LSTM": ((1e4, 1.0), (1e7, 1.0))},
                                parallel={"float32": {"efficiency": 1.0, "sync_us": 0.0}}))
    slow = replace(cpu, memory=replace(cpu.memory, private_cache_bytes=2 << 20, cache_bandwidth_bytes_per_s=28.5e9))
    wide = replace(_lstm(50, 50 * 4 * 512 * (80 + 512)), step_weight_bytes=4 * 512 * 512 * 4)
    assert estimate_op_latency(wide, slow, runtime="onnx").latency_s == pytest.approx(50 * 4 * 512 * 512 * 4 / 28.5e9)
    fits = replace(wide, step_weight_bytes=1 << 20)  # 1 MiB: hot in the private cache, the kernel's rate
    assert estimate_op_latency(fits, slow, runtime="onnx").latency_s == pytest.approx(wide.macs * 1e-12)
    two = replace(slow, compute=replace(slow.compute, threads=2))
    assert estimate_op_latency(wide, two, runtime="onnx").latency_s < 1e-3  # 2 MiB each: fits both L2s
    fast = replace(slow, memory=replace(slow.memory, cache_bandwidth_bytes_per_s=1e13))
    assert estimate_op_latency(wide, fast, runtime="onnx").latency_s == pytest.approx(wide.macs * 1e-12)


def test_amx_kernels_cost_whole_tiles_on_a_cpu_with_amx_only():
    """On a CPU with ``amx_int8`` XNNPACK runs int8 convs on 16 rows x 64 output x 64 input
    channels per tap at a time (host-x86's [[compute.variants.extensions]]): a 3x3 conv from 3
    channels to 16 costs what one from 16 does, and a 256-channel one runs faster than the VNNI
    kernels' terms say; without the flag nothing changes."""
    vnni = load_target("host-x86", cpu_flags=frozenset({"avx2", "avx512f", "avx512_vnni"}))
    amx = load_target("host-x86", cpu_flags=frozenset({"avx2", "avx512f", "avx512_vnni", "amx_int8"}))
    assert "AMX" in amx.variant and "AMX" not in vnni.variant
    assert amx.compute.runtimes["tflite"].row_tile("int8", "conv") == 16
    assert vnni.compute.runtimes["tflite"].row_tile("int8", "conv") == 1
    assert amx.compute.runtimes["onnx"] == vnni.compute.runtimes["onnx"]  # onnxruntime's kernels: not these

    def conv(cin: int, cout: int, side: int) -> Op:
        pixels = side * side
        return Op("y", "CONV_2D", "conv", (0,), (1,), pixels * cout * cin * 9, "int8", cout * cin * 9,
                  pixels * cin, pixels * cout, out_channels=cout, in_channels=cin)

    def t(op: Op, profile) -> float:
        return estimate_op_latency(op, profile, runtime="tflite").latency_s

    assert t(conv(3, 16, 32), amx) == pytest.approx(t(conv(16, 16, 32), amx), rel=0.05)
    assert t(conv(3, 16, 32), vnni) < 0.75 * t(conv(16, 16, 32), vnni)
    assert t(conv(256, 256, 14), amx) < 0.5 * t(conv(256, 256, 14), vnni)
    # One output position runs the 1-row kernel: its outputs are one row's, not 16.
    assert t(conv(64, 64, 1), amx) < 2 * amx.compute.runtimes["tflite"].kernels["int8"]["conv"].fixed_us * 1e-6 + 1e-6


def test_xnnpack_computes_whole_row_tiles_and_a_single_row_on_its_one_row_kernel():
    """``whole_row_tiles`` (XNNPACK): its 16x64 AMX GEMM requantizes and writes all 16 rows of a
    call whatever rows the op has, so a pointwise conv over 2x2 positions writes as many outputs
    as one over 4x4; one position runs the 1x64 kernel (one row of outputs, its tile multiplies
    still a full tile's MACs).  Without the flag (MLAS) fewer rows than a tile run a smaller one."""
    from compressor.cost.tiles import kernel_work

    amx = load_target("host-x86", cpu_flags=frozenset({"avx2", "avx512f", "avx512_vnni", "amx_int8"}))
    costs = amx.compute.runtimes["tflite"]
    assert costs.whole_row_tiles and costs.row_tile("int8", "pointwise") == 16

    def pointwise(side: int, cin: int = 64, cout: int = 64) -> Op:
        pixels = side * side
        return Op("y", "CONV_2D", "pointwise", (0,), (1,), pixels * cout * cin, "int8", cout * cin,
                  pixels * cin, pixels * cout, out_channels=cout, in_channels=cin)

    macs2, out2 = kernel_work(pointwise(2), amx.compute, costs)
    macs4, out4 = kernel_work(pointwise(4), amx.compute, costs)
    assert out2 == out4 == 16 * 64 and macs2 == macs4 == 16 * 64 * 64
    macs1, out1 = kernel_work(pointwise(1), amx.compute, costs)
    assert out1 == 64 and macs1 == 16 * 64 * 64
    mlas = replace(costs, whole_row_tiles=False)
    assert kernel_work(pointwise(2), amx.compute, mlas) == (4 * 64 * 64, 4 * 64)
    assert kernel_work(pointwise(5), amx.compute, costs)[1] == 32 * 64  # 25 rows: two whole tiles


def test_xnnpack_splits_by_work_tiles_whether_or_not_it_pays():
    """With ``handoff_us`` LiteRT follows XNNPACK: an op with more than one tile of work (a
    GEMM's mr x nr output tiles, an element-wise op's 16 KB) is split over the threads even when
    that gains nothing, and then costs the hand-off; one tile stays on the calling thread."""
    from compressor.cost.latency import work_tiles

    terms = {"float32": {"fully_connected": KernelTerms(mac_ps=20.0), "elementwise": KernelTerms(in_byte_ps=20.0)}}
    table = {"efficiency": 0.9, "sync_us": 5.0}
    old = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, parallel={"float32": table},
                                   igemm_cols={"float32": {"fully_connected": 32}}))
    old = replace(old, compute=replace(old.compute, threads=2))
    new = replace(old, compute=replace(old.compute, runtimes={"tflite": replace(
        old.compute.runtimes["tflite"], parallel={"float32": {**table, "handoff_us": 1.5}})}))

    def fc(n_out: int) -> Op:
        return Op("y", "FULLY_CONNECTED", "fully_connected", (0,), (1,), 16 * n_out, "float32", 64 * n_out, 64,
                  4 * n_out, out_channels=n_out)

    def t(op: Op, profile) -> float:
        return estimate_op_latency(op, profile, runtime="tflite").latency_s * 1e6

    runtime = new.compute.runtimes["tflite"]
    assert work_tiles(fc(32), runtime, new.compute) == 1 and work_tiles(fc(64), runtime, new.compute) == 2
    assert t(fc(32), new) == pytest.approx(t(fc(32), old))  # one tile: the calling thread alone
    assert t(fc(64), new) == pytest.approx(t(fc(64), old) + 1.5)  # split for nothing: the hand-off
    big = fc(1 << 16)  # worth splitting: the measured split, as before
    assert t(big, new) == pytest.approx(t(big, old))
    assert t(big, new) < t(big, replace(old, compute=replace(old.compute, threads=1)))
    add = Op("a", "ADD", "elementwise", (0, 1), (2,), 0, "float32", 0, 2 * 6000, 6000)
    assert work_tiles(add, runtime, new.compute) == 1
    lstm = replace(_lstm(100, 100 * 4 * 128 * 256), out_channels=512, output_bytes=4 * 512)
    assert work_tiles(lstm, runtime, new.compute) is None  # split per time step instead
    assert t(add, new) == pytest.approx(t(add, old))


def test_a_broadcasting_op_pays_per_kernel_call_and_whole_vectors():
    # the variant's CPU, whatever this machine is (another CPU's memory would spill the 1 MB op)
    host = load_target("host-x86", cpu_flags=frozenset({"avx512_vnni"}), cpu_identity="AuthenticAMD family 26 model 2")
    terms = KernelTerms(in_byte_ps=10.0, out_byte_ps=10.0, call_ns=2.0)
    cpu = replace(host, compute=replace(host.compute, threads=1, runtimes={
        "tflite": RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {"PRELU": terms}})}))

    def prelu(h, c, runs):
        n = 4 * h * h * c
        return Op("y", "PRELU", "elementwise", (0,), (1,), 0, "float32", 4 * c, n, n, kernel_calls=runs)

    # 128x128x8: 16,384 calls of one 16-lane vector, half of it masked off: 2 us of calls and
    # the bytes of 16 channels.
    narrow = estimate_op_latency(prelu(128, 8, 128 * 128), cpu, runtime="tflite").latency_s
    assert narrow == pytest.approx(128 * 128 * 2e-9 + 10e-12 * 2 * (4 * 128 * 128 * 16))
    # The same bytes as 64x64x32: a quarter of the calls, no lanes wasted.
    wide = estimate_op_latency(prelu(64, 32, 64 * 64), cpu, runtime="tflite").latency_s
    assert wide == pytest.approx(64 * 64 * 2e-9 + 10e-12 * 2 * (4 * 64 * 64 * 32))
    assert narrow > 2.5 * wide
    # No broadcast: no calls counted, the bytes as they are.
    flat = estimate_op_latency(prelu(128, 8, 0), cpu, runtime="tflite").latency_s
    assert flat == pytest.approx(10e-12 * 2 * (4 * 128 * 128 * 8))


def test_an_elementwise_transpose_costs_per_element_on_one_thread():
    """onnxruntime copies a Transpose that moves the innermost axis with another element by
    element (DoTransposeEltWise): ``transpose_element_ns`` per element, never split over threads;
    a runtime without the figure costs it as any other Transpose."""
    from compressor.targets.types import KernelTerms

    def transpose(copies: int) -> Graph:
        tensors = (Tensor("x", (1, 28, 28, 2, 58), "int8", 90944, False), Tensor("y", (1, 58, 2, 28, 28), "int8", 90944, False))
        op = Op("t", "Transpose", "reshape", (0,), (1,), 0, "int8", 0, 90944, 90944, elementwise_copies=copies)
        return Graph(ops=(op,), tensors=tensors, inputs=(0,), outputs=(1,), format="onnx")

    terms = {"int8": {"reshape": KernelTerms(in_byte_ps=157.0)}}
    parallel = {"int8": {"efficiency": 0.9, "sync_us": 1.0}}
    plain = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, parallel=parallel))
    own = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, parallel=parallel, transpose_element_ns=3.1))
    ms = lambda graph, cpu: check_kernels(graph, cpu).ops[0].latency_ms
    assert ms(transpose(90944), own) == pytest.approx(90944 * 3.1e-6, rel=1e-6)  # 0.28 ms, on one thread
    assert ms(transpose(0), own) == pytest.approx(ms(transpose(0), plain))  # a copy's rate, split
    assert ms(transpose(0), own) < 0.05
    assert ms(transpose(90944), plain) == pytest.approx(ms(transpose(0), plain))


def test_an_nchwc_conv_pays_per_pass_over_its_filter_set():
    """pass_ps: MLAS's NCHWc conv broadcasts each input value to at most one filter set (4 blocks
    of 16 output channels, ``parallel.nchwc_block``) per pass, so a 16-channel 3x3 makes 4x the
    passes per MAC a 64-channel one does and a 256-channel one as many as the 64; a runtime
    without the set (XNNPACK) or a grouped conv pays none."""
    from compressor.cost.tiles import filter_set_passes
    from compressor.targets.types import KernelTerms

    def conv(cout: int, groups: int = 1) -> Op:
        return Op("y", "Conv", "conv", (0,), (1,), 784 * 9 * 64 * cout // groups, "float32", 4 * 9 * 64 * cout // groups,
                  4 * 784 * 64, 4 * 784 * cout, out_channels=cout, in_channels=64 // groups, groups=groups)

    parallel = {"float32": {"efficiency": 1.0, "sync_us": 0.0, "nchwc_block": (("conv", 64),)}}
    onnx = RuntimeCost(dispatch_overhead_us=0.0, kernels={"float32": {"conv": KernelTerms(pass_ps=80.0)}},
                       parallel=parallel)
    assert filter_set_passes(conv(16), onnx) == 784 * 9 * 64
    assert filter_set_passes(conv(64), onnx) == 784 * 9 * 64
    assert filter_set_passes(conv(256), onnx) == 4 * 784 * 9 * 64
    assert filter_set_passes(conv(64, groups=4), onnx) == 0
    assert filter_set_passes(conv(64), RuntimeCost(dispatch_overhead_us=0.0)) == 0
    graph = Graph(ops=(conv(16),), tensors=(Tensor("x", (1, 64, 28, 28), "float32", 4 * 784 * 64, False),
                                            Tensor("y", (1, 16, 28, 28), "float32", 4 * 784 * 16, False)),
                  inputs=(0,), outputs=(1,), format="onnx")
    assert check_kernels(graph, _cpu(onnx=onnx)).ops[0].latency_ms == pytest.approx(784 * 9 * 64 * 80e-9, rel=1e-6)


def test_an_igemm_conv_pays_at_least_its_indirection_walk():
    """indirection_ns: a 1-in/1-out 256-tap 1-D conv (basic-pitch's) is bound by the pointer walk
    of its indirection buffer (8 bytes per position x tap), not by its few MACs; a conv with
    channels to share each pointer, and a pointwise conv (a GEMM: no buffer), keep their terms."""
    from compressor.targets.types import KernelTerms

    def conv(positions: int, taps: int, channels: int, kind: str = "conv") -> Graph:
        tensors = (Tensor("x", (1, 1, positions * 2, channels), "float32", 8 * positions * channels, False),
                   Tensor("w", (channels, 1, taps, channels), "float32", 4 * taps * channels * channels, True),
                   Tensor("y", (1, 1, positions, channels), "float32", 4 * positions * channels, False))
        op = Op("c", "CONV_2D", kind, (0, 1), (2,), positions * taps * channels * channels, "float32",
                4 * taps * channels * channels, 8 * positions * channels, 4 * positions * channels, weights=(1,),
                out_channels=channels, in_channels=channels)
        return Graph(ops=(op,), tensors=tensors, inputs=(0,), outputs=(2,), format="tflite")

    terms = {"float32": {"conv": KernelTerms(mac_ps=1.5), "pointwise": KernelTerms(mac_ps=1.5)}}
    curve = ((1e6, 0.45), (2.3e7, 0.58), (4.5e7, 1.88))
    plain = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    own = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, indirection_ns={"float32": curve}))
    ms = lambda graph, cpu: check_kernels(graph, cpu).ops[0].latency_ms  # noqa: E731
    one = conv(22000, 256, 1)  # 5.6 M pairs, a 45 MB buffer: 1.88 ns each
    assert ms(one, own) == pytest.approx(22000 * 256 * 1.88e-6, rel=1e-3)
    assert ms(one, own) > 5 * ms(one, plain)
    wide = conv(3136, 9, 64)  # a 3x3 conv over 64 channels: its MACs dwarf the walk
    assert ms(wide, own) == pytest.approx(ms(wide, plain))
    assert ms(conv(21922, 1, 1, "pointwise"), own) == pytest.approx(ms(conv(21922, 1, 1, "pointwise"), plain))


def test_a_graphs_indirection_buffers_are_walked_at_their_whole_sets_rate():
    """Two 256-tap 1-D convs whose buffers are 23 MB each walk them at 0.58 ns a pair alone, and
    at the 45 MB rate (1.88) in one graph, as a graph's weights stream at its whole packed set's
    rate: basic-pitch's convs run 1.2 + 2.9 ms as two segments and 12.4 ms as one."""
    from compressor.cost.kernels import indirection_bytes
    from compressor.targets.types import KernelTerms

    def op(name: str, x: int, w: int, y: int) -> Op:
        return Op(name, "CONV_2D", "conv", (x, w), (y,), 11000 * 256, "float32", 4 * 256, 8 * 11000, 4 * 11000,
                  weights=(w,), out_channels=1, in_channels=1)

    tensors = tuple(Tensor(n, shape, "float32", 4 * math.prod(shape), n.startswith("w"))
                    for n, shape in (("x", (1, 1, 22000, 1)), ("w1", (1, 1, 256, 1)), ("h", (1, 1, 11000, 1)),
                                     ("w2", (1, 1, 256, 1)), ("y", (1, 1, 11000, 1))))
    both = Graph(ops=(op("a", 0, 1, 2), op("b", 0, 3, 4)), tensors=tensors, inputs=(0,), outputs=(2, 4), format="tflite")
    alone = Graph(ops=both.ops[:1], tensors=tensors, inputs=(0,), outputs=(2,), format="tflite")
    assert indirection_bytes(both) == 2 * 11000 * 256 * 8
    terms = {"float32": {"conv": KernelTerms(mac_ps=1.5)}}
    cpu = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms,
                                  indirection_ns={"float32": ((1e6, 0.45), (2.3e7, 0.58), (4.5e7, 1.88))}))
    assert check_kernels(alone, cpu).ops[0].latency_ms == pytest.approx(11000 * 256 * 0.58e-6, rel=0.05)
    assert [o.latency_ms for o in check_kernels(both, cpu).ops] == pytest.approx([11000 * 256 * 1.88e-6] * 2, rel=1e-3)


def test_a_conv_the_symmetric_kernel_does_not_take_runs_on_its_unaligned_terms():
    """symmetric_conv: MLAS's symmetric int8 conv kernel takes a dense conv whose input channels
    are a multiple of 4 and whose output channels are at least 16 and a multiple of 4; any other
    (a 3-channel stem, an 8-output head) runs im2col + GEMM, on ``conv_unaligned`` where measured,
    as a depthwise conv of channels not a multiple of 16 runs a generic kernel; a runtime without
    the rule, or without such terms, costs every conv alike."""
    def conv(cin: int, cout: int, groups: int = 1) -> Op:
        return Op("y", "QLinearConv", "conv", (0,), (1,), 784 * cout * cin * 9, "int8", cout * cin * 9, 784 * cin,
                  784 * cout, out_channels=cout, in_channels=cin, groups=groups)

    rule = {"int8": {"input_channel_multiple": 4, "output_channel_multiple": 4, "min_output_channels": 16,
                     "depthwise_channel_multiple": 16}}
    terms = {"int8": {"conv": KernelTerms(mac_ps=2.0), "conv_unaligned": KernelTerms(mac_ps=20.0)}}
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, symmetric_conv=rule))
    costs = cpu.compute.runtimes["onnx"]
    assert not costs.unaligned("int8", "conv", 16, 32)
    assert costs.unaligned("int8", "conv", 3, 32) and costs.unaligned("int8", "pointwise", 16, 8)
    assert costs.unaligned("int8", "conv", 16, 18)  # 18 outputs: not a multiple of 4
    assert not costs.unaligned("int8", "conv", 3, 32, groups=3)  # a grouped conv: its own terms
    assert not costs.unaligned("float32", "conv", 3, 32)  # the rule is the int8 kernel's
    assert costs.unaligned("int8", "depthwise", 1, 72, groups=72) and not costs.unaligned("int8", "depthwise", 1, 96, 96)
    t = lambda op, on: estimate_op_latency(op, on, runtime="onnx").compute_s
    assert t(conv(3, 32), cpu) == pytest.approx(10 * t(replace(conv(3, 32), in_channels=16, macs=784 * 32 * 3 * 9),
                                                       cpu))
    plain = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    assert t(conv(3, 32), plain) == pytest.approx(t(conv(3, 32), cpu) / 10)
    no_gemm_terms = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels={"int8": {"conv": KernelTerms(mac_ps=2.0)}},
                                          symmetric_conv=rule))
    assert t(conv(3, 32), no_gemm_terms) == pytest.approx(t(conv(3, 32), plain))


def test_an_int8_conv_pays_per_output_position_and_filter_tap():
    """tap_ns: MLAS's int8 kernels walk a pointer (or copy an im2col row) per output position x
    filter tap; a 1x64 1-D conv pays 64 per position, a 3x3 conv 9, a pointwise conv none."""
    terms = {"int8": {"conv": KernelTerms(tap_ns=1.0), "pointwise": KernelTerms(tap_ns=1.0)}}
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))

    def conv(positions: int, taps: int, cin: int, cout: int, kind: str = "conv") -> Op:
        return Op("y", "QLinearConv", kind, (0,), (1,), positions * taps * cin * cout, "int8", taps * cin * cout,
                  positions * cin, positions * cout, out_channels=cout, in_channels=cin)

    t = lambda op: estimate_op_latency(op, cpu, runtime="onnx").latency_s
    assert t(conv(4096, 64, 1, 1)) == pytest.approx(4096 * 64 * 1e-9)
    assert t(conv(784, 9, 64, 64)) == pytest.approx(784 * 9 * 1e-9)
    assert t(conv(784, 1, 64, 64, "pointwise")) == 0


def test_a_depthwise_conv_pays_per_output_position_and_filter_tap_whatever_its_channels():
    """XNNPACK's fp32 depthwise kernels read one input pointer per output position x filter tap
    from their indirection buffer: 8 or 64 channels pay the same walk; an IGEMM conv's measured
    indirection floor (indirection_ns) is not a depthwise conv's."""
    terms = {"float32": {"depthwise": KernelTerms(tap_ns=0.5)}}
    walk = {"float32": ((1e3, 1.0), (1e9, 1.0))}
    cpu = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, indirection_ns=walk))

    def dw(side: int, k: int, channels: int) -> Op:
        positions = side * side
        return Op("y", "DEPTHWISE_CONV_2D", "depthwise", (0,), (1,), positions * k * k * channels, "float32",
                  k * k * channels * 4, positions * channels * 4, positions * channels * 4, out_channels=channels)

    t = lambda op: estimate_op_latency(op, cpu, runtime="tflite").latency_s
    assert t(dw(32, 3, 8)) == pytest.approx(32 * 32 * 9 * 0.5e-9)
    assert t(dw(32, 3, 64)) == pytest.approx(t(dw(32, 3, 8)))
    assert t(dw(16, 5, 16)) == pytest.approx(16 * 16 * 25 * 0.5e-9)


def test_symmetric_conv_rules_are_validated(tmp_path):
    rule = '\n[compute.runtimes.onnx]\ndispatch_overhead_us = 0.1\nsymmetric_conv.int8 = { input_channel_multiple = 4 }\n'
    costs = load_target(_host_plus(tmp_path, rule), cpu_flags=frozenset()).compute.runtimes["onnx"]
    assert costs.unaligned("int8", "conv", 3, 8) and not costs.unaligned("int8", "conv", 4, 8)
    with pytest.raises(TargetError, match="input_channel_multiple"):
        load_target(_host_plus(tmp_path, rule.replace("input_channel_multiple", "in_multiple")))
    with pytest.raises(TargetError, match="tap_ns"):
        load_target(_host_plus(tmp_path, rule + 'kernels.int8.conv = { taps_ns = 1 }\n'))


def test_a_pad_pays_per_row_it_writes_and_its_bytes_as_they_are():
    """A TFLite PAD's kernel writes one row (its last axis) at a time: with call_ns per row a
    224x224x3 input padded by 3 costs 52,900 calls where a 64x4000 one padded along its 4000
    costs 64; its bytes are not rounded to whole vectors per row, as a broadcasting op's are."""
    from compressor.graph.ir import pad_rows

    terms = {"int8": {"PAD": KernelTerms(in_byte_ps=25.0, call_ns=7.0)}}
    cpu = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))

    def pad(shape_in, shape_out) -> Op:
        n_in, n_out = math.prod(shape_in), math.prod(shape_out)
        return Op("y", "PAD", "reshape", (0,), (1,), 0, "int8", 0, n_in, n_out, kernel_calls=pad_rows(shape_out))

    t = lambda op: estimate_op_latency(op, cpu, runtime="tflite").latency_s
    image = pad((1, 224, 224, 3), (1, 230, 230, 3))
    audio = pad((1, 64, 4000), (1, 64, 4002))
    assert t(image) == pytest.approx(52_900 * 7e-9 + 224 * 224 * 3 * 25e-12)
    assert t(audio) == pytest.approx(64 * 7e-9 + 64 * 4000 * 25e-12)


def test_a_conv_whose_weights_overflow_the_cache_reads_them_again_per_task():
    """task_weight_reads: onnxruntime's QLinearConv hands its thread pool at most 5 tasks per
    thread of whole 6-row kernel calls, each walking every weight; weights beyond what the core
    keeps come again from the shared cache per task.  4 positions: one task; 49: five; 1.3 MB of
    weights that stay resident: nothing; on two threads up to ten tasks."""
    rule = {"int8": {"rows": 6, "tasks_per_thread": 5, "resident_bytes": 1.5e6, "bytes_per_s": 5e10}}
    terms = {"int8": {"conv": KernelTerms(mac_ps=2.0)}}

    def conv(positions: int, channels: int) -> Op:
        return Op("y", "QLinearConv", "conv", (0,), (1,), positions * 9 * channels * channels, "int8",
                  9 * channels * channels, positions * channels, positions * channels, out_channels=channels,
                  in_channels=channels)

    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, task_weight_reads=rule))
    plain = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    extra = lambda op: (estimate_op_latency(op, cpu, runtime="onnx").latency_s
                        - estimate_op_latency(op, plain, runtime="onnx").latency_s)
    big = 9 * 1024 * 1024 - 1.5e6  # bytes beyond the resident ones
    assert extra(conv(4, 1024)) == pytest.approx(big / 5e10)
    assert extra(conv(49, 1024)) == pytest.approx(5 * big / 5e10)
    assert extra(conv(196, 1024)) == pytest.approx(5 * big / 5e10)
    assert extra(conv(49, 384)) == 0
    from compressor.cost.tiles import task_weight_reads_s

    assert task_weight_reads_s(conv(196, 1024), cpu.compute.runtimes["onnx"], threads=2) == pytest.approx(10 * big / 5e10)


def test_task_weight_reads_are_validated(tmp_path):
    rule = ('\n[compute.runtimes.onnx]\ndispatch_overhead_us = 0.1\n'
            'task_weight_reads.int8 = { rows = 6, tasks_per_thread = 5, resident_bytes = 1e6, bytes_per_s = 5e10 }\n')
    costs = load_target(_host_plus(tmp_path, rule), cpu_flags=frozenset()).compute.runtimes["onnx"]
    assert costs.task_weight_reads["int8"]["rows"] == 6
    with pytest.raises(TargetError, match="expected exactly"):
        load_target(_host_plus(tmp_path, rule.replace("rows = 6, ", "")))
    with pytest.raises(TargetError, match="bytes_per_s"):
        load_target(_host_plus(tmp_path, rule.replace("5e10", "-5e10")))


def test_a_conv_outside_the_runtimes_nchwc_layout_takes_its_unaligned_terms(tmp_path):
    """nchwc: onnxruntime runs fp32 2-D convs in its NCHWc layout (``Op.nchwc_rows``); a 1-D conv
    it leaves out runs MlasConv's im2col + SGEMM, on ``conv_unaligned`` where measured."""
    terms = {"float32": {"conv": KernelTerms(mac_ps=10.0), "conv_unaligned": KernelTerms(mac_ps=10.0, fixed_us=2.0)}}
    cpu = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, nchwc=("float32",)))
    conv = Op("y", "Conv", "conv", (0,), (1,), 98 * 40 * 16 * 3, "float32", 4 * 40 * 16 * 3, 4 * 98 * 40, 4 * 98 * 16,
              out_channels=16, in_channels=40)
    t = lambda op: estimate_op_latency(op, cpu, runtime="onnx").latency_s
    assert t(conv) == pytest.approx(t(replace(conv, nchwc_rows=1)) + 2e-6)
    assert not cpu.compute.runtimes["onnx"].unaligned("int8", "conv", 40, 16)  # int8 has its own rule
    rule = '\n[compute.runtimes.onnx]\ndispatch_overhead_us = 0.1\nnchwc = ["float32"]\n'
    assert load_target(_host_plus(tmp_path, rule), cpu_flags=frozenset()).compute.runtimes["onnx"].nchwc == ("float32",)
    with pytest.raises(TargetError, match="float64"):
        load_target(_host_plus(tmp_path, rule.replace('"float32"', '"float64"')))


def test_mlas_splits_a_recurrent_step_by_its_gemm_size_worth_it_or_not():
    """``step_split_macs`` (MLAS_SGEMM_THREAD_COMPLEXITY): a 128-wide LSTM's per-step GEMM (4 x 128
    x 128 MACs) is split over two threads and pays the hand-off every step though it gains less
    (onnxruntime: 0.72 ms on one thread, 0.98 on two); a 64-wide one and a 128-wide GRU (its
    largest per-step GEMM, the update and reset gates, is 2 x 128 x 128) stay on one thread."""
    terms = {"float32": {"fully_connected": KernelTerms(mac_ps=1.0)}}
    table = {"efficiency": 0.9, "sync_us": 1.0, "step_sync_us": 5.0}
    one = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, parallel={"float32": table}))
    two = replace(one, compute=replace(one.compute, threads=2))
    mlas = replace(two, compute=replace(two.compute, runtimes={"onnx": replace(
        two.compute.runtimes["onnx"], parallel={"float32": {**table, "step_split_macs": 65536}})}))

    def rnn(op_type: str, hidden: int, steps: int = 100) -> Op:
        gates = 4 if op_type == "LSTM" else 3
        return replace(_lstm(steps, steps * gates * hidden * (hidden + 80)), op_type=op_type,
                       step_weight_bytes=gates * hidden * hidden * 4)

    def us(op: Op, profile) -> float:
        return estimate_op_latency(op, profile, runtime="onnx").latency_s * 1e6

    wide = rnn("LSTM", 128)
    assert us(wide, two) == pytest.approx(us(wide, one))  # by gain alone: not worth a hand-off per step
    assert us(wide, mlas) == pytest.approx(us(wide, one) / 1.9 + 100 * 5.0)  # split anyway, as MLAS does
    assert us(wide, mlas) > us(wide, one)
    for op in (rnn("LSTM", 64), rnn("GRU", 128)):
        assert us(op, mlas) == pytest.approx(us(op, one))


def test_a_runtime_with_a_narrow_kernel_tiles_few_channel_convs_to_it_and_the_rest_to_the_wide_one():
    # XNNPACK's f32 convolution: 7x32 tiles, its 7x16 (nr2) kernel for layers of under 32 channels.
    from compressor.targets.types import KernelTerms

    terms = {"float32": {"conv": KernelTerms(mac_ps=4.0)}}
    tiled = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, whole_row_tiles=True,
                                    channel_tiles={"float32": {"conv": 32}}, row_tiles={"float32": {"conv": 7}},
                                    narrow_channel_tiles={"float32": {"conv": 16}}))
    t = lambda op: estimate_op_latency(op, tiled, runtime="tflite").compute_s
    per_mac = 4.0e-12
    for cout, computed in ((16, 16), (24, 32), (48, 64), (257, 288)):
        op = _conv(cout * 512 * 63, 1, cout, 63)  # 63 rows: whole 7-row tiles, no row padding
        assert t(op) == pytest.approx(computed * 512 * 63 * per_mac), cout
    eight_rows = _conv(64 * 512 * 8, 1, 64, 8)  # two 7-row tiles: 14 rows computed
    assert t(eight_rows) == pytest.approx(64 * 512 * 14 * per_mac)


def test_a_cpu_entry_may_run_few_row_convs_on_a_smaller_kernel_unpadded():
    # The Zen 4's f32 convs: whole 7-row tiles from 7 rows up, a 1-row conv on the 1x32 kernel.
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17").compute.runtime_cost("tflite")
    assert zen4.whole_row_tiles is False and zen4.row_tile("float32", "conv") == 7
    xeon = load_target("host-x86", cpu_identity="GenuineIntel family 6 model 167").compute.runtime_cost("tflite")
    assert xeon.whole_row_tiles is True  # the variant's rule, the AMX tiles' (its own entry sets none)
    terms = {"float32": {"conv": KernelTerms(mac_ps=4.0)}}
    cpu = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, row_tiles={"float32": {"conv": 7}}))
    t = lambda op: estimate_op_latency(op, cpu, runtime="tflite").compute_s
    assert t(_conv(64 * 768, 192, 64, 1)) == pytest.approx(64 * 768 * 4e-12)  # one row: as it is
    assert t(_conv(64 * 768 * 8, 192, 64, 8)) == pytest.approx(64 * 768 * 14 * 4e-12)  # 8 rows: two tiles


def test_a_depthwise_conv_whose_per_output_set_passes_l1_costs_more_per_mac():
    # taps x channels x 8 bytes: a 3x3 over 384 channels reads 27 KiB per output, over 768 54 KiB.
    def dw(channels: int) -> Op:
        return Op("y", "DEPTHWISE_CONV_2D", "depthwise", (0,), (1,), 28 * 28 * channels * 9, "float32",
                  channels * 9 * 4, 28 * 28 * channels * 4, 28 * 28 * channels * 4, out_channels=channels)

    terms = {"float32": {"depthwise": KernelTerms(mac_ps=40.0)}}
    curve = {"float32": ((32768.0, 1.0), (65536.0, 1.6))}
    spilling = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, depthwise_set_factor=curve))
    plain = _cpu(tflite=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms))
    t = lambda op, cpu: estimate_op_latency(op, cpu, runtime="tflite").compute_s
    assert t(dw(384), spilling) == pytest.approx(t(dw(384), plain))  # within L1: as measured alone
    factor = math.exp(math.log(1.6) * math.log(768 * 72 / 32768) / math.log(2))  # log-log between the points
    assert t(dw(768), spilling) == pytest.approx(t(dw(768), plain) * factor)
    assert factor > 1.3


def test_a_memory_bound_op_past_the_flat_range_reads_at_its_sets_shared_cache_rate():
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    assert zen4.memory.cache_bandwidth_curve  # its --probe memory curve
    zen4 = replace(zen4, memory=replace(zen4.memory, stream_curve=()))  # (a CPU without --probe stream's)
    flat = replace(zen4, memory=replace(zen4.memory, cache_bandwidth_curve=()))
    big = 8 * 2 ** 20  # three 8 MiB tensors: 24 MiB moved, within its 32 MiB L3
    add = Op("y", "ADD", "elementwise", (0, 1), (2,), 0, "float32", 0, 2 * big, big)
    curved, plain = (estimate_op_latency(add, t, runtime="tflite").latency_s for t in (zen4, flat))
    assert curved >= 3 * big / zen4.memory.shared_cache_rate(3 * big) > plain * 1.1
    small = Op("y", "ADD", "elementwise", (0, 1), (2,), 0, "float32", 0, 2 * 2 ** 20, 2 ** 20)
    assert estimate_op_latency(small, zen4, runtime="tflite").latency_s == pytest.approx(
        estimate_op_latency(small, flat, runtime="tflite").latency_s)  # 3 MiB: the flat rate


def test_onnxruntimes_scalar_unary_loops_cost_what_they_were_timed_at():
    # On the Zen 4, onnxruntime's Elu / Softplus run a scalar loop (~1.8 / 11 ns an element):
    # each its own terms, not the element-wise kind's (~0.1 ns), which a Relu keeps near.
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    size = 4 * 1_000_000
    ops = {t: Op(t.lower(), t, "elementwise", (0,), (1,), 0, "float32", 0, size, size) for t in ("Relu", "Elu", "Softplus")}
    ns = {t: estimate_op_latency(o, target, runtime="onnx").latency_s * 1e9 / 1_000_000 for t, o in ops.items()}
    assert ns["Relu"] < 0.2
    assert 1.5 < ns["Elu"] < 2.5
    assert 9 < ns["Softplus"] < 13


def test_a_batched_recurrent_step_splits_and_a_grus_gates_stay_on_one_thread():
    """MLAS splits a step's GEMM by its batch rows too (DLAC's 200-row GRU, held-out set 23); a GRU runs
    its gate activations row by row on the calling thread (deep_cpu_gru.cc), an LSTM splits them."""
    from compressor.cost.recurrent import recurrent_cell_s

    cell = KernelTerms(out_byte_ps=100.0, fixed_us=0.1)
    terms = {"float32": {"fully_connected": KernelTerms(mac_ps=1.0), "GRU": cell, "LSTM": cell}}
    table = {"efficiency": 1.0, "sync_us": 0.0, "step_sync_us": 0.0, "step_split_macs": 65536}
    one = _cpu(onnx=RuntimeCost(dispatch_overhead_us=0.0, kernels=terms, parallel={"float32": table}))
    two = replace(one, compute=replace(one.compute, threads=2))

    def rnn(op_type: str, batch: int, hidden: int = 64, inputs: int = 16, steps: int = 32) -> Op:
        width = (4 if op_type == "LSTM" else 3) * hidden
        return Op("y", op_type, "fully_connected", (0,), (1,), steps * batch * width * (inputs + hidden), "float32",
                  4 * width * (inputs + hidden + 2), 4, 4, recurrent_steps=steps, out_channels=hidden,
                  in_channels=inputs, step_weight_bytes=4 * width * hidden)

    def s(op: Op, profile) -> float:
        return estimate_op_latency(op, profile, runtime="onnx").latency_s

    assert s(rnn("LSTM", 1), two) == pytest.approx(s(rnn("LSTM", 1), one))  # 64 x 256 MACs a step: one thread
    assert s(rnn("LSTM", 64), two) == pytest.approx(s(rnn("LSTM", 64), one) / 2)  # 64 rows: split, gates too
    gru = rnn("GRU", 64)
    keep = recurrent_cell_s(gru, terms["float32"]).serial_s
    assert keep == pytest.approx(32 * (100e-12 * 4 * 64 * 3 * 64 + 0.1e-6))
    assert s(gru, two) == pytest.approx((s(gru, one) - keep) / 2 + keep)
