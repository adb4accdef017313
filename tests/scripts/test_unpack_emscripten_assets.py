"""scripts/unpack_emscripten_assets.py: the .tflite files packed in an Emscripten .data, by the loader's byte ranges."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import unpack_emscripten_assets as unpack


def test_each_packed_tflite_comes_out_whole_and_nothing_else(tmp_path):
    blobs = {"/a/labels.txt": b"cat\ndog\n", "/m/one.tflite": b"\x1c\x00\x00\x00TFL3" + b"1" * 40,
             "/m/two.tflite": b"\x1c\x00\x00\x00TFL3" + b"2" * 7}
    data, entries, at = b"", [], 0
    for name, blob in blobs.items():
        entries.append(f'{{"filename": "{name}", "start": {at}, "end": {at + len(blob)}, "audio": 0}}')
        data, at = data + blob, at + len(blob)
    (tmp_path / "x_packed_assets.data").write_bytes(data)
    (tmp_path / "x_packed_assets_loader.js").write_text("loadPackage({\"files\": [" + ", ".join(entries) + "]});")
    written = unpack.unpack(tmp_path, tmp_path / "out")
    assert sorted(p.name for p in written) == ["one.tflite", "two.tflite"]
    assert (tmp_path / "out" / "two.tflite").read_bytes() == blobs["/m/two.tflite"]
    assert unpack.main([str(tmp_path / "out")]) == 2  # nothing packed there: said, exit 2
