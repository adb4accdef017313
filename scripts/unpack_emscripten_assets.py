"""Unpack the model files an Emscripten build packs into one ``.data`` file.

MediaPipe's npm solutions (``@mediapipe/objectron``, ``hands``, ``face_mesh``, ``holistic``, ...)
ship some of their ``.tflite`` models only inside ``*_packed_assets.data``; the loader script
beside it (``*_packed_assets_loader.js``) lists each file's name and byte range.  This writes
each packed ``.tflite`` under ``OUT`` by its base name, for the real-model corpus
(``scripts/data/real_models.toml``'s header says which).

    python scripts/unpack_emscripten_assets.py DIR/npm-mediapipe/mediapipe-objectron
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_ENTRY = re.compile(r'"filename":\s*"([^"]+)",\s*"start":\s*(\d+),\s*"end":\s*(\d+)')


def unpack(package: Path, out: Path, suffix: str = ".tflite") -> list[Path]:
    """Write every ``suffix`` file packed in ``package``'s ``*_packed_assets.data`` under ``out``."""
    written = []
    for loader in sorted(package.glob("*_packed_assets_loader.js")):
        data = loader.with_name(loader.name.replace("_loader.js", ".data")).read_bytes()
        for name, start, end in _ENTRY.findall(loader.read_text(errors="replace")):
            if not name.endswith(suffix):
                continue
            target = out / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data[int(start):int(end)])
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="an unpacked npm package holding *_packed_assets.data")
    parser.add_argument("--out", type=Path, help="where to write them [PACKAGE/packed]")
    args = parser.parse_args(argv)
    written = unpack(args.package, args.out or args.package / "packed")
    for path in written:
        print(path)
    if not written:
        print(f"{args.package}: no *_packed_assets_loader.js listing a .tflite", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
