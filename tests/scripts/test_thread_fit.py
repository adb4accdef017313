"""scripts/microbench_threads.py's fit: onnxruntime's NCHWc convs split by whole work units."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import microbench_threads  # noqa: E402


def _chain(h: int, c: int, ms_1: float, efficiency: float, sync_us: float, *, fmt: str = "onnx") -> dict:
    row = {"format": fmt, "family": "conv", "op_type": "Conv", "kind": "conv", "dtype": "float32", "threads": 2,
           "chain": 6, "params": {"h": h, "w": 2048 // h, "cin": c, "cout": c, "kh": 3, "kw": 3, "s": 1}, "ms_1": ms_1}
    units = microbench_threads.nchwc_units(row, microbench_threads.NCHWC_BLOCK["onnx"]["float32"])
    row["ms_t"] = microbench_threads.predict_t(ms_1, 2, efficiency, sync_us, units if fmt == "onnx" else None)
    return row


def test_one_row_convs_do_not_pose_as_a_large_hand_off():
    # Timings made by the units model (e = 0.9, 1 us): one-row convs stay on one thread.
    rows = [_chain(h, c, ms, 0.9, 1.0) for h, c, ms in
            [(1, 32, 0.06), (1, 64, 0.01), (7, 512, 2.5), (14, 256, 2.2), (56, 64, 2.1), (8, 32, 0.01), (14, 32, 0.03)]]
    assert rows[0]["ms_t"] == rows[0]["ms_1"] and rows[2]["ms_t"] < 0.6 * rows[2]["ms_1"]
    fitted = microbench_threads.fit(rows)["onnx"]["float32"]
    assert fitted["efficiency"] == pytest.approx(0.9, abs=0.02)
    assert fitted["sync_us"] == pytest.approx(1.0, abs=0.2)
    assert fitted["nchwc_block"] == {"conv": 64, "pointwise": 64, "depthwise": 16}
    # The same timings without the units (LiteRT's rule) need a large hand-off to keep the one-row
    # convs on one thread (the profile carried 8.3 us from the real chains).
    blind = microbench_threads.fit([{**r, "format": "tflite"} for r in rows])["tflite"]["float32"]
    assert blind["sync_us"] > 2 * fitted["sync_us"]


def test_fragments_fit_finds_the_split_the_cost_model_was_given(tmp_path):
    # Blocks whose "measured" two-thread speedups are the cost model's own at e = 0.7, 6 us: the
    # fit through the same model finds that pair on its grid, not the profile's own.
    rows = [{"format": "onnx", "family": "fragment", "fragment": kind, "params": p, "dtype": "float32", "blocks": 1,
             "threads": 2, "ms_1": 1.0}
            for kind, p in [("dwsep", {"c": 64, "hw": 28}), ("basic", {"c": 32, "hw": 28}),
                            ("mbconv", {"c": 24, "hw": 28, "e": 4}), ("bottleneck", {"c": 128, "hw": 14})]]
    model = microbench_threads.fragment_speedups(rows, "host-x86", tmp_path)
    speedups = model(0.7, 6.0)
    assert all(1.0 < s < 2.0 for s in speedups)
    assert max(abs(a - b) for a, b in zip(speedups, model(0.8, 6.0))) > 0.02
    rows = [{**r, "ms_t": 1.0 / s} for r, s in zip(rows, speedups)]
    assert microbench_threads.fit_fragments(rows)["onnx", "float32"] == (0.7, 6.0, 4)


def test_a_rows_prediction_is_its_ops_alone_as_its_timing_is_the_file_less_the_empty_one(capsys):
    """A row's time is its file's less the empty file's (the runtime's invoke): its prediction too, or
    a 10 us op read 2x (a one-row tree ensemble, 0.5 us timed, read 51x), and a file timed at 0 has no
    ratio rather than a ZeroDivisionError."""
    row = {"format": "onnx", "family": "tree_ensemble", "op_type": "TreeEnsembleRegressor", "kind": "other",
           "dtype": "float32", "threads": 2, "params": {"trees": 1000, "depth": 6, "features": 64, "rows": 1},
           "ms_1": 0.0103, "ms_t": 0.0}
    import microbench_kernels as mk

    from compressor.measure.estimate import estimate_artifact

    ((_, one, many),) = microbench_threads.predict_rows([row], "host-x86")
    with tempfile.TemporaryDirectory() as work:  # the file the row names, built again
        path = Path(work) / "trees.onnx"
        mk.build_onnx("tree_ensemble", row["params"], path)
        kernels = estimate_artifact(path, "host-x86").kernels
    assert kernels.invoke_ms > 0 and many > 0
    assert one == pytest.approx(sum(op.latency_ms for op in kernels.ops))  # timed 10.3 us alone
    microbench_threads.print_predicted([row], "host-x86")
    assert "x-" in capsys.readouterr().out


def test_a_round_with_the_second_vcpu_taken_is_kept_only_if_none_was_quiet(tmp_path, monkeypatch):
    """Two threads run slower, not faster, while another job holds the second vCPU: of a fragment's
    rounds the quiet ones are kept first (others' CPU time during its 2-thread timing), then the fastest."""
    import argparse

    rounds = iter([(0.5, 0.9), (0.6, 0.0), (0.4, 0.8)])  # (ms, others' cores) of each round's timings
    current = {}

    def timed(path, empty, threads, seconds):
        if (path, threads) == ("a", 1):
            current["round"] = next(rounds)
        ms, others = current["round"]
        return ms * (2 if path == "b" else 1), others

    monkeypatch.setattr(microbench_threads, "timed", timed)
    monkeypatch.setattr(microbench_threads, "FRAGMENTS", [("dwsep", {"c": 8, "hw": 4})])
    monkeypatch.setattr(microbench_threads, "_fragment_file", lambda work, fmt, kind, p, blocks:
                        "a" if blocks == microbench_threads.FRAGMENT_BLOCKS else "b")
    args = argparse.Namespace(formats=["onnx"], rounds=3, seconds=0.1, threads=2)
    (row,) = microbench_threads._time_fragments(args, tmp_path)
    assert row["chain_ms_1"] == 0.6 and row["others_cores"] == 0.0  # round 3's 0.4 was faster, not quiet
