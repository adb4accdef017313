"""scripts/real_models.py, the real-model corpus: one tiny real architecture end to end (random
weights, so no download is needed), the shipped weights when they are on this machine, and the
one-line skip when they are not."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = Path("/work/scratch/realmodels/files")
SAMPLES_DIR = Path("/work/scratch/realmodels/samples")


def _load_script():
    spec = importlib.util.spec_from_file_location("real_models", REPO / "scripts" / "real_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_models"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _sibling(name: str):
    """A module beside real_models.py (on the path once the script is loaded)."""
    import importlib

    _load_script()
    return importlib.import_module(name)


def _run(capsys, *args) -> list[dict]:
    script = _load_script()
    assert script.main(["--json", "--timeout", "300", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_corpus_covers_four_kinds_and_three_forms():
    script = _load_script()
    assert len(script.CORPUS) >= 8
    assert {s.form for s in script.CORPUS} == {"state_dict", "pt2", "torchscript"}
    kinds = " ".join(s.kind for s in script.CORPUS)
    for word in ("classifier", "detector", "pitch", "LSTM"):
        assert word in kinds


def test_pnet_with_random_weights_goes_through_compress_and_the_hand_route(capsys, tmp_path):
    """MTCNN's PNet (two outputs, TorchScript form) with seeded random weights: no download."""
    [row] = _run(capsys, "--models", "mtcnn-pnet", "--random-weights", "--models-dir", str(tmp_path),
                 "--keep", str(tmp_path / "keep"))
    assert row["exit"] == 0 and row["status"] in ("ok", "FAILED")
    assert len(row["sqnr_db"]) == len(row["hand_sqnr_db"]) == 2  # every output measured, both routes
    assert all(v > 10 for v in row["sqnr_db"])
    assert 0 < row["size_x"] < 1 and row["latency_x"] > 0 and row["hand_latency_x"] > 0
    kept = tmp_path / "keep" / "mtcnn-pnet"  # --keep: the work dir stays, to read a failure
    assert row["kept"] == str(kept)
    for name in ("model.ts", "calib.npz", "eval.npz", "out/report.json", "out/model.tflite", "hand_int8.tflite"):
        assert (kept / name).is_file(), name
    assert json.loads((kept / "out" / "report.json").read_text())["status"] == row["status"]


def test_json_path_writes_the_rows_and_prints_the_table(capsys, tmp_path):
    script = _load_script()
    samples = tmp_path / "samples"  # the real inputs' folders (empty: the model is absent, skipped first)
    (samples / "images").mkdir(parents=True)
    (samples / "audio").mkdir()
    assert script.main(["--models", "mtcnn-onet", "--models-dir", str(tmp_path), "--samples-dir", str(samples),
                        "--json", str(tmp_path / "r.json")]) == 0
    assert capsys.readouterr().out.startswith("| model |")
    [row] = json.loads((tmp_path / "r.json").read_text())
    assert row["model"] == "mtcnn-onet" and row["status"].startswith("skipped")


@pytest.mark.skipif(not ((MODELS_DIR / "facenet-pytorch").is_dir() and (SAMPLES_DIR / "images").is_dir()
                         and (SAMPLES_DIR / "audio").is_dir()),
                    reason="real-model files or their sample inputs not on this machine")
def test_shipped_onet_weights_convert_and_verify(capsys):
    [row] = _run(capsys, "--models", "mtcnn-onet")
    assert row["exit"] == 0 and len(row["sqnr_db"]) == 3


def test_absent_weights_are_skipped_with_one_line(capsys, tmp_path):
    rows = _run(capsys, "--models", "mtcnn-onet,crepe-tiny", "--models-dir", str(tmp_path))
    assert [r["status"].split(":")[0] for r in rows] == ["skipped", "skipped"]
    assert all(str(tmp_path) in r["status"] and "absent" in r["status"] for r in rows)


def test_unknown_model_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _load_script().main(["--models", "nope"])
    assert exit_info.value.code == 2


def test_the_row_names_the_scheme_that_shipped_its_cosine_and_size_against_fp32_weights():
    import torch

    script = _load_script()
    report = {"compressed": {"size_bytes": 100},
              "steps": [{"name": "int8", "scheme": "dynamic_range", "float_layers": ["lstm.input_projection_l0"]},
                        {"name": "verify", "outputs": [{"cosine": 0.99243}]}]}
    found = script.shipped_scheme(report, torch.nn.Linear(4, 5))  # 25 parameters: 100 fp32 weight bytes
    assert found == {"scheme": "dynamic_range (lstm.input_projection_l0 float)", "cosine": [0.9924],
                     "size_vs_fp32_weights": 1.0}
    assert script.shipped_scheme({}, torch.nn.Linear(4, 5)) == {}


def test_corpus_has_ocr_and_a_second_classifier():
    script = _load_script()
    kinds = {s.name: s.kind for s in script.CORPUS}
    assert "OCR" in kinds["easyocr-g2"] and "classifier" in kinds["efficientnet-lite0"]
    assert next(s for s in script.CORPUS if s.name == "silero-vad").streamed  # fed its own states back


def test_ctc_strings_agreement_counts_strings_edits_and_timesteps():
    import numpy as np

    script = _load_script()
    edit_distance = _sibling("real_model_table").edit_distance
    assert edit_distance("kitten", "sitting") == 3 and edit_distance("", "ab") == 2
    chars = script._archs().TextRecognizer.CHARS
    ids = lambda text: [0] + [chars.index(c) + 1 for c in text]  # blank, then one step per character
    logits = lambda seq: np.eye(97, dtype=np.float32)[seq][None]
    reference = np.concatenate([logits(ids("abc")), logits(ids("xyz"))])
    test = np.concatenate([logits(ids("abc")), logits(ids("xyq"))])
    assert script.strings_same(reference, test) == "1/2, CER 0.167, timestep argmax 0.875"


@pytest.mark.skipif(not (SAMPLES_DIR / "images" / "page.png").exists(), reason="sample page not on this machine")
def test_text_line_crops_are_fixed_size_distinct_and_deterministic():
    import numpy as np

    script = _load_script()
    crops = script.text_lines(SAMPLES_DIR, 48)
    assert crops.shape == (48, 1, 64, _sibling("real_model_inputs").TEXT_WIDTH) and crops.min() >= -1 and crops.max() <= 1
    assert np.array_equal(crops[:32], script.text_lines(SAMPLES_DIR, 32))  # calibration = first 32
    assert len({c.tobytes() for c in crops}) == 48  # eval crops are not calibration crops


@pytest.mark.skipif(not (SAMPLES_DIR / "audio" / "speech_en_16k.wav").exists(), reason="samples not on this machine")
def test_silero_inputs_are_the_states_the_model_streams_to_itself():
    import numpy as np
    import torch

    script = _load_script()
    torch.manual_seed(0)
    model = script._archs().SileroVAD16k().eval()
    chunks, states = _sibling("real_model_inputs").streamed_pairs(SAMPLES_DIR, model)
    assert chunks.shape[1:] == (576,) and states.shape[1:] == (2, 128)
    assert not states[0].any() and np.abs(states[1:]).max() > 0  # zeros only where a clip starts
    with torch.no_grad():
        _, new_state = model(torch.from_numpy(chunks[5:6]), torch.from_numpy(states[5:6]))
    np.testing.assert_allclose(new_state[0].numpy(), states[6], atol=1e-6)  # fed back, chunk after chunk
    np.testing.assert_array_equal(chunks[6][:64], chunks[5][-64:])  # 64 samples of context carried over
    chunk, state = script.vad_inputs(SAMPLES_DIR, 32, model)
    assert chunk.shape == (32, 576) and state.shape == (32, 2, 128)
