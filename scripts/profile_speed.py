#!/usr/bin/env python3
"""How long `compress profile` takes on a file (issue 13: under 5 s for a 300-op model, Vela excluded).

    python scripts/profile_speed.py FILE [--input-shape 1,3,640,640] [--target host-x86]

Runs the real command in a fresh process (imports included) and prints its op count, wall
time and CPU time (user + system, from the child's rusage).  The onnxruntime-optimized graph
of an .onnx is cached by file hash (compressor/graph/ort_optimized.py): the first profile of a
file pays one extra session creation, later ones do not.  On a shared machine the wall
time includes time spent waiting for a core; the CPU time is what the command itself costs.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--input-shape")
    parser.add_argument("--target", default="host-x86")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from compressor.data import parse_input_shapes
    from compressor.graph.read import read_graph

    shapes = parse_input_shapes(args.input_shape) if args.input_shape else None
    ops = len(read_graph(args.file, input_shapes=shapes).ops)
    ops_run = len(read_graph(args.file, input_shapes=shapes, as_run=True).ops)  # onnxruntime's graph of an .onnx
    command = [sys.executable, "-c", "from compressor.cli.main import main; main()", "profile", args.file,
               "--target", args.target, "--json"] + (["--input-shape", args.input_shape] if args.input_shape else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{Path(args.file).name}: {ops} ops ({ops_run} as the runtime runs it), exit {done.returncode}, wall {wall:.2f} s, CPU {cpu:.2f} s "
          f"(load average {' '.join(load)})")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
