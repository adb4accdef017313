#!/usr/bin/env python3
"""How much an .onnx's multi-thread time moves from one onnxruntime session to the next, with the
thread pool spinning between ops (onnxruntime's default, what ``compress bench`` times) and not.

    python scripts/ort_spin_spread.py model.onnx --input-shape "1,128;1,128" --input-value mask=1
    python scripts/ort_spin_spread.py model.onnx --threads 2 --sessions 6 --runs 150 --json out.json

Each session is loaded, warmed up (20 runs), timed (``--runs`` runs, wall-clock median) and
released before the next; the inputs are what ``compress bench`` feeds (its seeded random arrays,
``--input-value`` filled in); the one-thread reference op of microbench_kernels.py is timed before
and after.  On the shared 2-core EPYC Zen 4 VM a token transformer (khmersm) ran 3.2-4.4 ms on two
threads with spinning on in one run and 2.7-2.9 a minute later, the reference op at 222 us in both
(scripts/data/host-x86-spin-spread-zen4.json): a two-thread figure is one draw from the second
vCPU's phases, which a cost model cannot follow.  A diagnostic: nothing it prints goes into a profile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))


def session_medians(path: Path, *, threads: int, spinning: bool, sessions: int, runs: int,
                    shapes=None, values=None) -> list[float]:
    """Median wall ms of ``runs`` runs in each of ``sessions`` fresh onnxruntime sessions."""
    import onnxruntime as ort
    from ort_op_profile import bench_feeds

    medians = []
    for _ in range(sessions):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = bench_feeds(session, path, shapes, values)
        for _ in range(20):
            session.run(None, feed)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            session.run(None, feed)
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times) * 1e3)
        del session
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("file", type=Path)
    parser.add_argument("--input-shape", help="as compress --input-shape: dims comma-separated, inputs ';'-separated")
    parser.add_argument("--input-value", action="append", default=[], metavar="NAME=N")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--json", type=Path, help="also write the medians as JSON")
    args = parser.parse_args(argv)
    import microbench_kernels as mk

    from compressor.data.npz import parse_input_shapes, parse_input_values

    shapes = parse_input_shapes(args.input_shape) if args.input_shape else None
    values = parse_input_values(args.input_value)

    result = {"file": str(args.file), "threads": args.threads}
    with mk.machine_state() as result["reference"]:  # the one-thread reference op, before and after
        for spinning in (True, False):
            medians = session_medians(args.file, threads=args.threads, spinning=spinning, sessions=args.sessions,
                                      runs=args.runs, shapes=shapes, values=values)
            result["spinning" if spinning else "not_spinning"] = medians
            print(f"{args.threads} threads, spinning {'on ' if spinning else 'off'}: per-session medians "
                  + " ".join(f"{m:.2f}" for m in medians) + f" ms  (spread {min(medians):.2f}-{max(medians):.2f})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
