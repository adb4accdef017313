"""The int16 / float remedies spend precision on the worst output's path, not on layers feeding only the others."""

from __future__ import annotations

from compressor.quant.remedies import _worst_layers  # noqa: PLC2701 -- the rule under test


def _row(name, sqnr, own, inputs, op="FULLY_CONNECTED"):
    return {"name": name, "op": op, "sqnr_db": sqnr, "own_sqnr_db": own, "inputs": inputs, "dtype": "int8"}


def test_layers_feeding_only_the_better_heads_are_not_chosen():
    rows = [
        _row("trunk", 40.0, 40.0, ["input"], op="CONV_2D"),
        _row("score_fc", 30.0, 18.0, ["trunk"]),   # worst own loss, but its output is fine overall
        _row("score", 30.0, 120.0, ["score_fc"], op="SOFTMAX"),
        _row("box_fc", 20.0, 21.0, ["trunk"]),     # the box head: the worst output
    ]
    chosen = _worst_layers(rows, 1, eligible=lambda row: True)
    assert chosen[0] == "box_fc"
    assert "score_fc" not in chosen


def test_one_output_keeps_every_layer_eligible():
    rows = [_row("a", 40.0, 40.0, ["input"]), _row("b", 30.0, 18.0, ["a"]), _row("c", 29.0, 35.0, ["b"])]
    assert _worst_layers(rows, 1, eligible=lambda row: True)[0] == "b"
