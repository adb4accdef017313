"""scripts/fit_kernel_rates.py's kernel terms, and arm_published_check's fp16 rule: each able to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compressor.targets.load import load_target

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import arm_published_check  # noqa: E402
import fit_kernel_rates  # noqa: E402


def _row(macs, cin, cout, pixels, ms, fmt="tflite", kind="conv", op_type="CONV_2D", family="conv"):
    return {"format": fmt, "family": family, "op_type": op_type, "kind": kind, "dtype": "float32", "macs": macs,
            "out_channels": cout, "input_bytes": pixels * cin * 4, "weight_bytes": cin * cout * 36,
            "output_bytes": pixels * cout * 4, "bytes": 0, "ms": ms}


def test_terms_recover_a_known_kernel_and_separate_op_types():
    target = load_target("host-x86")
    # A synthetic kernel: 20 ps per MAC and 50 ps per output byte (what a small-K GEMM pays).
    rows = []
    for cin, cout, pixels in [(3, 16, 12544), (16, 32, 3136), (64, 64, 784), (256, 256, 196), (8, 16, 50176),
                              (128, 128, 784)]:
        row = _row(cin * cout * 9 * pixels, cin, cout, pixels, 0)
        row["ms"] = (20e-12 * row["macs"] + 50e-12 * row["output_bytes"]) * 1e3
        rows.append(row)
    for n in (100_000, 1_000_000, 4_000_000):  # sigmoid costs 4x an ADD per byte
        for op_type, ps in (("LOGISTIC", 80), ("ADD", 20)):
            rows.append({**_row(0, 1, 1, 1, 0, kind="elementwise", op_type=op_type, family="elementwise"),
                         "input_bytes": n, "weight_bytes": 0, "output_bytes": n, "ms": ps * 1e-12 * n * 1e3})
    terms = fit_kernel_rates.fit_terms(rows, target, "tflite")
    assert terms["conv"]["mac_ps"] == pytest.approx(20, rel=0.05)
    assert terms["conv"]["out_byte_ps"] == pytest.approx(50, rel=0.1)
    per_byte = {op: terms[op]["in_byte_ps"] + terms[op]["out_byte_ps"] for op in ("LOGISTIC", "ADD")}
    assert per_byte["LOGISTIC"] == pytest.approx(4 * per_byte["ADD"], rel=0.05)
    for row in rows:
        chosen = fit_kernel_rates._terms_for(terms, row, target)
        assert fit_kernel_rates.terms_ms(chosen, row, target) == pytest.approx(row["ms"], rel=0.1)


def test_ncnn_fp32_rows_on_armv82_cores_are_fp16():
    a76 = {"runtime": "ncnn benchncnn", "cpu": "4x Cortex-A76 @ 2.4 GHz"}
    a72 = {"runtime": "ncnn benchncnn", "cpu": "4x Cortex-A72 @ 1.8 GHz"}
    xnn = {"runtime": "XNNPACK end2end-bench", "cpu": "4x Cortex-A76 @ 2.4 GHz"}
    assert arm_published_check.ncnn_runs_fp16(a76)
    assert not arm_published_check.ncnn_runs_fp16(a72)
    assert not arm_published_check.ncnn_runs_fp16(xnn)


def test_binary_ops_fit_a_cost_per_kernel_call_and_share_it():
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 26 model 2")  # AVX-512: 16-lane vectors
    rows = []
    # A PReLU per-channel at one size over 2..128 channels: 9 ps per byte moved (16-lane
    # vectors, the last one masked) plus 2 ns per call (one per position).
    for c in (2, 4, 8, 16, 24, 32, 64, 128):
        positions = 131072 // c
        padded = positions * -(-c // 16) * 16
        row = {**_row(0, 1, 1, 1, 0, kind="elementwise", op_type="PRELU", family="broadcast"),
               "input_bytes": 4 * positions * c, "weight_bytes": 4 * c, "output_bytes": 4 * positions * c,
               "broadcast_runs": positions}
        row["ms"] = (9e-12 * 2 * 4 * padded + 2e-9 * positions) * 1e3
        rows.append(row)
    # Adds of two full tensors only: in and out bytes always 2:1, no broadcast.
    for n in (100_000, 1_000_000, 4_000_000):
        rows.append({**_row(0, 1, 1, 1, 0, kind="elementwise", op_type="ADD", family="elementwise"),
                     "input_bytes": 2 * n, "weight_bytes": 0, "output_bytes": n, "ms": 10e-12 * 3 * n * 1e3})
    terms = fit_kernel_rates.fit_terms(rows, target, "tflite")
    assert terms["PRELU"]["call_ns"] == pytest.approx(2.0, rel=0.05)
    assert terms["PRELU"]["in_byte_ps"] == pytest.approx(9.0, rel=0.05)
    # The Add's rate is one per byte moved (its in/out split cannot be fitted), and it takes the
    # PReLU's cost per call: one XNNPACK operator runs both.
    assert terms["ADD"]["in_byte_ps"] == terms["ADD"]["out_byte_ps"] == pytest.approx(10.0, rel=0.01)
    assert terms["ADD"]["call_ns"] == pytest.approx(terms["PRELU"]["call_ns"])
    # onnxruntime's kernels are not XNNPACK's: no call term, no tie.
    onnx = fit_kernel_rates.fit_terms([{**r, "format": "onnx", "op_type": "Add"} for r in rows[-3:]], target, "onnx")
    assert onnx["Add"]["call_ns"] == 0 and onnx["Add"]["out_byte_ps"] == 0


def test_copies_fit_a_cost_per_contiguous_run_from_their_params():
    """The streaming family's slices and concatenations: 3 ns per run (ir.copy_runs, counted
    from the points' params) and 5 ps per byte copied are recovered, small points included."""
    target = load_target("host-x86")
    rows = []
    for shape, begin in [((1, 5, 1, 40), (0, 3, 0, 0)), ((1, 21, 1, 64), (0, 1, 0, 0)), ((1, 100, 1, 256), (0, 1, 0, 0)),
                         ((1, 8, 8, 32), (0, 0, 0, 16)), ((1, 16, 16, 128), (0, 0, 0, 64)),
                         ((1, 32, 32, 64), (0, 0, 0, 32))]:
        out = [d - b for d, b in zip(shape, begin)]
        n_out = 4 * out[0] * out[1] * out[2] * out[3]
        runs = fit_kernel_rates._copy_runs("STRIDED_SLICE", {"shape": shape, "begin": begin})
        rows.append({**_row(0, 1, 1, 1, 0, kind="reshape", op_type="STRIDED_SLICE", family="streaming"),
                     "params": {"shape": list(shape), "op": "STRIDED_SLICE", "begin": list(begin)},
                     "input_bytes": 4 * shape[1] * shape[2] * shape[3], "weight_bytes": 0, "output_bytes": n_out,
                     "ms": (5e-12 * n_out + 3e-9 * runs) * 1e3})
    assert [fit_kernel_rates.kernel_calls(r) for r in rows] == [1, 1, 1, 64, 256, 1024]
    terms = fit_kernel_rates.fit_terms(rows, target, "tflite")["STRIDED_SLICE"]
    assert terms["call_ns"] == pytest.approx(3.0, rel=0.05) and terms["in_byte_ps"] == pytest.approx(5.0, rel=0.05)


def test_onnx_chained_copies_fit_a_fixed_cost_a_run_cost_and_stay_out_of_their_kind():
    """The ort_chain family's Slices (a node's time in a chain, ``alone_ms``): 0.5 us fixed, 7 ns per run and
    40 ps per byte written are recovered -- a fixed term, which other non-compute points never get -- and
    the reshape kind's terms are not fitted from them (an aliasing Reshape costs no copy)."""
    target = load_target("host-x86")
    rows = []
    for c, t in [(16, 8), (64, 4), (64, 64), (256, 16), (16, 1024), (128, 32)]:
        out = 4 * c * t
        alone = (0.5e-6 + 7e-9 * c + 40e-12 * out) * 1e3
        rows.append({**_row(0, 1, 1, 1, 7 * alone, fmt="onnx", kind="reshape", op_type="Slice", family="ort_chain"),
                     "params": {"op": "Slice", "c": c, "t": t, "n": 7}, "input_bytes": out + 4 * c, "weight_bytes": 24,
                     "output_bytes": out, "broadcast_runs": c, "alone_ms": alone, "chain_ms": [0.0, 7 * alone]})
    terms = fit_kernel_rates.fit_terms(rows, target, "onnx")
    assert "reshape" not in terms
    assert terms["Slice"]["fixed_us"] == pytest.approx(0.5, rel=0.05)
    assert terms["Slice"]["call_ns"] == pytest.approx(7.0, rel=0.05)
    assert terms["Slice"]["out_byte_ps"] + terms["Slice"]["in_byte_ps"] == pytest.approx(40.0, rel=0.1)


def test_the_conv_call_cost_is_the_chained_convs_median_excess_over_alone():
    rows = [{"family": "ort_chain", "op_type": "Conv", "alone_ms": a * 1e-3, "chain_ms": [b * 1e-3, 7 * a * 1e-3]}
            for a, b in [(3.3, 1.4), (4.2, 2.2), (52.6, 49.6)]]
    rows.append({"family": "ort_chain", "op_type": "Slice", "alone_ms": 0.003, "chain_ms": [0.0, 0.021]})
    assert fit_kernel_rates.fit_conv_call_us(rows) == pytest.approx(2.0)
    assert fit_kernel_rates.fit_conv_call_us(rows[3:]) is None


def test_one_stray_point_does_not_set_a_kernels_terms():
    """A single-op file another kernel took (the Xeon's int8 BATCH_MATMUL 3x197x197x64: 0.05 ms
    where its like ran 1.6) is left out when the others then fit within 3x; nothing else is."""
    target = load_target("host-x86")
    rows = []
    for macs in (5e5, 7.4e6, 8.4e6, 1.7e7, 3e7, 7.4e6):
        row = {**_row(int(macs), 1, 64, 1, 0, kind="fully_connected", op_type="BATCH_MATMUL", family="transformer"),
               "input_bytes": 0, "weight_bytes": 0, "output_bytes": 0}
        row["ms"] = (200e-12 * macs + 50e-6) * 1e3
        rows.append(row)
    rows[-1]["ms"] = 0.05  # the stray
    terms = fit_kernel_rates.fit_terms(rows, target, "tflite")["BATCH_MATMUL"]
    assert terms["mac_ps"] == pytest.approx(200, rel=0.02) and terms["fixed_us"] == pytest.approx(50, rel=0.05)
    # Two points far off are not a stray: the fit keeps them all.
    rows[0]["ms"] = 0.02
    assert fit_kernel_rates.fit_terms(rows, target, "tflite")["BATCH_MATMUL"]["mac_ps"] != pytest.approx(200, rel=0.02)


def test_onnx_int8_convs_fit_a_tap_cost_and_unaligned_terms_of_their_own(tmp_path):
    """onnxruntime's int8 convs: a cost per output position x filter tap (tap_ns) recovered from
    1-D and 2-D points; the convs MLAS's symmetric kernel does not take (3 input channels, 8
    outputs) fitted apart as ``conv_unaligned`` (host-x86's symmetric_conv rule)."""
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 26 model 2")  # no CPU-entry tiles

    def row(h, w, cin, cout, taps, ms_of):
        positions = h * w
        r = {"format": "onnx-int8", "family": "conv", "op_type": "QLinearConv", "kind": "conv", "dtype": "int8",
             "macs": positions * taps * cin * cout, "out_channels": cout, "input_bytes": positions * cin,
             "weight_bytes": taps * cin * cout, "output_bytes": positions * cout, "bytes": 0,
             "params": {"h": h, "w": w, "cin": cin, "cout": cout, "kh": 1, "kw": taps, "s": 1}}
        r["ms"] = ms_of(r, positions * taps)
        return r

    sym = lambda r, pairs: (3e-12 * r["macs"] + 1e-9 * pairs + 100e-12 * r["output_bytes"]) * 1e3
    gemm = lambda r, pairs: (1e-12 * r["macs"] + 600e-12 * r["output_bytes"] + 2e-6) * 1e3
    rows = [row(1, n, c, c, k, sym) for n, c, k in [(4096, 16, 3), (1024, 64, 9), (512, 128, 25), (8192, 32, 64),
                                                    (256, 256, 9), (2048, 16, 49)]]
    rows += [row(1, n, cin, cout, k, gemm) for n, cin, cout, k in [(4096, 3, 32, 9), (1024, 1, 64, 80),
                                                                   (512, 6, 96, 9), (256, 64, 8, 9),
                                                                   (2048, 250, 256, 7)]]
    terms = fit_kernel_rates.fit_terms(rows, target, "onnx", dtype="int8")
    assert terms["conv"]["tap_ns"] == pytest.approx(1.0, rel=0.1)
    assert terms["conv_unaligned"]["out_byte_ps"] == pytest.approx(600, rel=0.1)
    for r in rows:
        chosen = fit_kernel_rates._terms_for(terms, r, target, "int8")
        assert fit_kernel_rates.terms_ms(chosen, r, target, "int8") == pytest.approx(r["ms"], rel=0.1)


def test_litert_fp32_depthwise_fits_a_tap_cost_its_convs_do_not(tmp_path):
    """XNNPACK's fp32 depthwise kernels: a cost per output position x filter tap (their indirection
    buffer's pointer walk) recovered beside the per-MAC rate; LiteRT's dense convs fit none."""
    target = load_target("host-x86", cpu_identity="AuthenticAMD family 26 model 2")

    def row(side, c, k, family="depthwise"):
        positions, taps = side * side, k * k
        dense = family == "conv"
        macs = positions * taps * c * (c if dense else 1)
        r = {"format": "tflite", "family": family, "op_type": "CONV_2D" if dense else "DEPTHWISE_CONV_2D",
             "kind": family, "dtype": "float32", "macs": macs, "out_channels": c, "input_bytes": 4 * positions * c,
             "weight_bytes": 4 * taps * c * (c if dense else 1), "output_bytes": 4 * positions * c, "bytes": 0,
             "params": {"h": side, "w": side, "c": c, "k": k, "s": 1} if not dense else
             {"h": side, "w": side, "cin": c, "cout": c, "kh": k, "kw": k, "s": 1}}
        r["ms"] = (30e-12 * macs + (0.3e-9 * positions * taps if not dense else 0)) * 1e3
        return r

    rows = [row(side, c, 3) for side, c in [(128, 16), (112, 32), (56, 96), (28, 144), (14, 384), (7, 960),
                                            (64, 48), (32, 256)]]
    rows += [row(side, c, 3, "conv") for side, c in [(56, 64), (28, 128), (14, 256), (7, 512), (112, 16)]]
    terms = fit_kernel_rates.fit_terms(rows, target, "tflite")
    assert terms["depthwise"]["tap_ns"] == pytest.approx(0.3, rel=0.1)
    assert terms["depthwise"]["mac_ps"] == pytest.approx(30, rel=0.1)
    assert terms["conv"]["tap_ns"] == 0


def test_a_retimed_table_replaces_its_points_scaled_to_the_others_state(tmp_path):
    """--retimed: the points a later table times again are its, scaled by the median of the
    first's time over its own for the same files (the VM ran faster); its other points join."""
    import json

    def table(rows):
        return {"cpu": "x", "load_average": ["0", "0", "0"], "rows": rows}

    def r(family, ms, **extra):
        return {"format": "onnx-int8", "family": family, "params": {"p": family}, "ms": ms, **extra}

    first, later = tmp_path / "first.json", tmp_path / "later.json"
    first.write_text(json.dumps(table([r("a", 1.2), r("b", 2.4), r("c", 3.6), r("d", 1.0)])))
    later.write_text(json.dumps(table([r("a", 1.0, glue_ms=0.5), r("b", 2.0), r("c", 3.0), r("e", 5.0)])))
    rows = {row["family"]: row for row in fit_kernel_rates.load_tables([str(first)], [str(later)])["rows"]}
    assert sorted(rows) == ["a", "b", "c", "d", "e"]
    assert rows["a"]["ms"] == pytest.approx(1.2) and rows["a"]["glue_ms"] == pytest.approx(0.6)
    assert rows["e"]["ms"] == pytest.approx(6.0) and rows["d"]["ms"] == 1.0
    assert len(fit_kernel_rates.load_tables([str(first), str(later)])["rows"]) == 8  # pooled as they are
    # The profiled glue is subtracted only where the fit is told to (SUBTRACT_PROFILED_GLUE); an
    # op timed alone (a tflite-int8 op cut out with its own int8 tensors) is its kernel's time.
    assert fit_kernel_rates.kernel_time(rows["a"], 0.0) == pytest.approx(
        0.6 if fit_kernel_rates.SUBTRACT_PROFILED_GLUE else 1.2)
    assert fit_kernel_rates.kernel_time({**rows["a"], "alone_ms": 0.25}, 1e-3) == 0.25
    assert fit_kernel_rates.kernel_time({"ms": 1.0, "input_bytes": 100, "output_bytes": 100}, 1e-3) == pytest.approx(0.8)


def test_the_weight_reads_probe_fits_what_its_tasks_read():
    """microbench_probes.weight_reads_fit: the excess of each conv over its reference, per task,
    on a line over its weight bytes: the resident bytes where it crosses zero, the rate its slope."""
    import microbench_probes

    rows = [{"params": {"channels": 384}, "weight_bytes": 1.3e6, "tasks": 5, "excess_us": 0.0}]
    for channels, weight in ((512, 2.4e6), (640, 3.7e6), (1024, 9.4e6)):
        for tasks in (1, 3, 5):
            rows.append({"params": {"channels": channels}, "weight_bytes": weight, "tasks": tasks,
                         "excess_us": tasks * (weight - 7e5) / 6e10 * 1e6})
    resident, rate = microbench_probes.weight_reads_fit(rows)
    assert resident == pytest.approx(7e5, rel=1e-6) and rate == pytest.approx(6e10, rel=1e-6)


def test_an_onnx_fp32_depthwise_point_is_fitted_on_its_kernel_time_alone():
    """A lone onnxruntime fp32 depthwise conv's file is mostly its NCHWc reorders, which a graph
    of NCHWc convs does not run per op: its profiled glue comes off; other kinds keep it in."""
    row = {"format": "onnx", "kind": "depthwise", "dtype": "float32", "ms": 0.32, "glue_ms": 0.22,
           "input_bytes": 0, "output_bytes": 0}
    assert fit_kernel_rates.kernel_time(row, 0.0) == pytest.approx(0.10)
    assert fit_kernel_rates.kernel_time({**row, "kind": "pointwise"}, 0.0) == pytest.approx(0.32)
    assert fit_kernel_rates.kernel_time({**row, "format": "tflite"}, 0.0) == pytest.approx(0.32)


def test_profiled_glue_takes_a_kinds_node_time(monkeypatch, capsys):
    """--profiled-glue onnx-int8:depthwise: the Zen 4's int8 depthwise terms from each file less its
    other nodes' profiled times, which the in-model convs run at, lower than less a per-byte glue."""
    monkeypatch.setattr(fit_kernel_rates, "PROFILED_GLUE_FOR", dict(fit_kernel_rates.PROFILED_GLUE_FOR))
    table = str(Path(__file__).resolve().parents[2] / "scripts" / "data" / "host-x86-kernels-zen4.json")

    def depthwise_mac_ps(*extra):
        assert fit_kernel_rates.main([table, "--cpu", "AuthenticAMD family 25 model 17", *extra]) == 0
        out = capsys.readouterr().out
        onnx = out[out.index("[compute.variants.cpus.runtimes.onnx]"):]
        line = next(x for x in onnx.splitlines() if x.startswith("kernels.int8.depthwise_taps9 "))
        return float(line.split("mac_ps = ")[1].split(",")[0])

    before = depthwise_mac_ps()
    after = depthwise_mac_ps("--profiled-glue", "onnx-int8:depthwise")
    assert after < before
    assert depthwise_mac_ps() == before  # the flag does not outlive its run
    with pytest.raises(SystemExit):
        fit_kernel_rates.main([table, "--profiled-glue", "tflite:depthwise"])


def test_floor_lets_sub_microsecond_points_bound_the_fixed_cost():
    target = load_target("host-x86")
    # Big pointwise convs whose time carries a 0.25 us fixed part, and tiny ones (a streaming
    # keyword spotter's) that take 0.02 us: fitted above 1 us only, a tiny one is costed ~13x.
    rows = []
    for cin, cout, pixels in [(64, 64, 16), (128, 128, 16), (256, 64, 4), (32, 32, 64), (16, 128, 64), (256, 256, 4),
                              (8, 256, 256)]:  # 1.5-11 us
        row = _row(cin * cout * pixels, cin, cout, pixels, 0, kind="pointwise", family="pointwise")
        row["ms"] = (20e-12 * row["macs"] + 0.25e-6) * 1e3
        rows.append(row)
    tiny = [_row(cin * cout, cin, cout, 1, 0.02e-3, kind="pointwise", family="pointwise")
            for cin, cout in [(8, 16), (32, 24), (96, 16), (128, 24)]]

    def tiny_ratio(**floor):
        terms = fit_kernel_rates.fit_terms(rows + tiny, target, "tflite", **floor)
        chosen = fit_kernel_rates._terms_for(terms, tiny[0], target)
        return fit_kernel_rates.terms_ms(chosen, tiny[0], target) / tiny[0]["ms"]

    assert tiny_ratio() > 8  # the default floor leaves them out
    assert tiny_ratio(min_ms=0.005e-3) < 0.5 * tiny_ratio()


def test_floor_flag_refuses_what_it_cannot_read(capsys):
    for bad in ("tflite:x", "tflite:-1", "vela:1"):
        with pytest.raises(SystemExit) as exit_info:
            fit_kernel_rates.main(["unused.json", "--floor-us", bad])
        assert exit_info.value.code == 2
        assert "--floor-us" in capsys.readouterr().err


def test_the_depthwise_l1_curve_is_the_cost_per_mac_past_l1_over_within_it():
    """microbench_probes.depthwise_l1_curve: 1 at the L1, then each bin's median ratio."""
    import microbench_probes

    rows = [{"set_bytes": kib * 1024, "ps_per_mac": ps} for kib, ps in
            ((4, 44.0), (20, 42.0), (30, 46.0), (36, 55.0), (50, 70.0), (60, 72.0), (100, 70.0))]
    assert microbench_probes.depthwise_l1_curve(rows) == [(32768.0, 1.0), (40960.0, 1.25), (65536.0, 1.61),
                                                          (131072.0, 1.59)]


def test_the_cache_curve_starts_where_the_flat_rate_ends_and_stops_at_the_cache():
    """microbench_probes.cache_curve: the last set within 10 % of the flat rate, then each set past it."""
    import microbench_probes

    rows = [{"params": {"set_mib": mib}, "gb_per_s": rate} for mib, rate in
            ((2, 92.0), (8, 96.0), (16, 78.0), (32, 55.0), (64, 30.0))]
    assert microbench_probes.cache_curve(rows, 93.7e9) == [(8 * 2 ** 20, 93.7e9), (16 * 2 ** 20, 78e9),
                                                           (32 * 2 ** 20, 55e9)]


def test_each_grid_file_is_priced_with_the_feeds_its_inputs_and_outputs_leave_out():
    """fit_kernel_rates.with_feeds: the empty file has two inputs and one output, so a one-input file's time
    over it gains a feed (Zen 1's feed_us), a two-output one loses a fetch; a chain's node, a file timed at
    the empty file's (0), an NCHWc conv's file and a profile without feed costs stay as they are."""
    zen1 = load_target("host-x86", cpu_identity="AuthenticAMD family 23 model 1", cpu_flags=frozenset({"avx2", "fma"}))
    costs = zen1.compute.runtime_cost("onnx")
    rows = [{"format": "onnx", "family": "unary", "params": {}, "ms": 0.010, "graph_inputs": 1, "graph_outputs": 1},
            {"format": "onnx", "family": "elementwise", "params": {}, "ms": 0.010, "graph_inputs": 2, "graph_outputs": 1},
            {"format": "onnx", "family": "svm", "params": {}, "ms": 0.010, "graph_inputs": 1, "graph_outputs": 2},
            {"format": "onnx", "family": "ort_chain", "params": {}, "ms": 0.010, "graph_inputs": 1, "graph_outputs": 1},
            {"format": "onnx", "family": "unary", "params": {}, "ms": 0.0, "graph_inputs": 1, "graph_outputs": 1},
            {"format": "tflite", "family": "unary", "params": {}, "ms": 0.010, "graph_inputs": 1, "graph_outputs": 1},
            {"format": "onnx", "family": "conv", "params": {}, "ms": 0.010, "graph_inputs": 1, "graph_outputs": 1,
             "nchwc_rows": 28}]  # an NCHWc conv's file runs its reorders too: left as timed
    out = [r["ms"] for r in fit_kernel_rates.with_feeds(rows, zen1)]
    assert out[0] == pytest.approx(0.010 + costs.feed_us * 1e-3)
    assert out[1] == pytest.approx(0.010)
    assert out[2] == pytest.approx(0.010 + (costs.feed_us - costs.fetch_us) * 1e-3)
    assert out[3:] == [0.010, 0.0, 0.010, 0.010]
    assert fit_kernel_rates.with_feeds(rows, load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")) == rows
