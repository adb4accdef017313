"""scripts/microbench_probes.py: what its summaries derive from a probe's rows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import microbench_probes  # noqa: E402


def test_the_depthwise_remainder_probe_prices_the_partial_tile_against_the_whole_tiles():
    rows = [{"params": {"h": 32, "w": 32, "k": 3, "s": 1, "c": c}, "ns_per_tap_position": ns}
            for c, ns in ((32, 4.0), (36, 8.0), (40, 5.0), (44, 7.5), (48, 6.0))]
    channels, lines = microbench_probes.depthwise_remainder_summary(rows)
    # 36: (8 - 4) / (4 / 4 tiles) x 8 = 32 channels; 44: (7.5 - 5) / (5 / 5) x 8 = 20; 48 has no partial tile
    assert channels == pytest.approx(26.0) and len(lines) == 2 and "36 channels" in lines[0]
    assert microbench_probes.depthwise_remainder_summary(rows[:1])[1] == []


def test_the_gru_chain_holds_its_grus_each_feeding_the_next(tmp_path):
    import numpy as np
    import onnx
    import onnxruntime as ort

    path = tmp_path / "chain.onnx"
    microbench_probes._gru_chain(path, 3, 16, 1, 1)
    model = onnx.load(str(path))
    grus = [n for n in model.graph.node if n.op_type == "GRU"]
    assert len(grus) == 3 and all(g.input[-1] == "h0" for g in grus)
    assert [g.input[0] for g in grus] == ["x", "r0", "r1"]  # each one's input the last one's output, reshaped
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.ones((1, 1, 16), np.float32), "h0": np.zeros((1, 1, 16), np.float32)})
    assert y.shape == (1, 1, 16)


def test_the_feeds_probe_builds_its_inputs_and_outputs_and_fits_their_slopes(tmp_path):
    import numpy as np
    import onnx
    import onnxruntime as ort

    for inputs, outputs in ((4, 1), (1, 6)):
        path = microbench_probes.build_io(tmp_path / f"io-{inputs}-{outputs}.onnx", inputs, outputs)
        model = onnx.load(str(path))
        assert (len(model.graph.input), len(model.graph.output)) == (inputs, outputs)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert len(session.run(None, {i.name: np.ones(i.shape, "float32") for i in session.get_inputs()})) == outputs
    rows = [{"params": {"inputs": n, "outputs": 1}, "over_empty_us": 2.5 * (n - 2)} for n in (1, 2, 4, 8)]
    rows += [{"params": {"inputs": 1, "outputs": n}, "over_empty_us": 1.8 * (n - 1) - 2.5} for n in (2, 4, 8)]
    feed, fetch = microbench_probes.feeds_fit(rows)
    assert feed == pytest.approx(2.5) and fetch == pytest.approx(1.8)
