"""Keep the converters' chatter off the user's terminal.

litert-torch, TensorFlow's MLIR converter, absl and tqdm write progress and log lines
straight to file descriptors 1 and 2, some from C++, so redirecting ``sys.stdout`` is not
enough.  ``captured_output`` points both descriptors at a temporary file for the duration
of a call and hands back what was written, so an error can show the converter's last
words (with ``--debug``) and ``--json`` keeps stdout for the report alone.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["CapturedOutput", "captured_output"]


@dataclass
class CapturedOutput:
    """What the wrapped code wrote to stdout and stderr, filled in on exit."""

    text: str = field(default="")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.text.strip().splitlines()[-lines:])


@contextlib.contextmanager
def captured_output() -> Iterator[CapturedOutput]:
    captured = CapturedOutput()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with tempfile.TemporaryFile(mode="w+b") as sink:
        # Python-level writes too: sys.stdout may not be fd 1 (pytest's capsys, click's CliRunner).
        stream = open(sink.fileno(), "w", encoding="utf-8", errors="replace", closefd=False)
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                yield captured
        finally:
            stream.flush()
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", errors="replace")
