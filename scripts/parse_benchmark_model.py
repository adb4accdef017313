#!/usr/bin/env python3
"""Turn LiteRT ``benchmark_model --enable_op_profiling=true`` output into a trace JSON.

    python scripts/parse_benchmark_model.py bench.log -o trace.json --device "Pixel 7"
    adb shell /data/local/tmp/benchmark_model --graph=... --enable_op_profiling=true \\
        | python scripts/parse_benchmark_model.py - > trace.json

It reads the "Run Order" table of the "Operator-wise Profiling Info for Regular Benchmark
Runs" section (the ops of one steady-state inference, in execution order); the table of
"Profiling Info for Benchmark Initialization" (AllocateTensors, ModifyGraphWithDelegate)
is skipped.  Output without that section heading (as in the tool's own README) uses the
first Run Order table outside the initialization section.  When a model has several
subgraphs only the primary graph's table is read.  Both table layouts the tool has
printed are understood: with a ``[start]`` column (TF Lite before ~2.13) and without it;
columns may be separated by tabs or spaces, and lines may carry an ``INFO:`` or Android
logcat prefix.  Lines starting with ``#`` are ignored.

The trace format (version 1) is a contract: ``compress calibrate`` reads it.

    {
      "format": "edge-compressor-trace",
      "version": 1,
      "source": "litert-benchmark_model",
      "model": str | null,       # the --graph path benchmark_model printed ("Graph: [...]")
      "threads": int | null,     # "Num threads: [N]" / "#threads used for CPU inference: [N]", or --threads
      "device": str | null,      # --device (benchmark_model does not print it)
      "total_ms": float | null,  # average steady-state inference: "Inference (avg)" in us / 1000,
                                 # else "Average inference timings in us: ... Inference:",
                                 # else the op profile's "Timings (microseconds): ... avg="
      "ops": [                   # Run Order rows, in execution order
        {"node_type": "CONV_2D",  # TFLite builtin, delegate kernel ("TfLiteNnapiDelegate") or
                                  # XNNPACK operator ("Convolution (NHWC, QC8) IGEMM")
         "name": str,             # the row's name without brackets and without ":index"
         "index": int | null,     # the ":N" after the name: TFLite node index (delegate-internal
                                  # for XNNPACK rows), null when not printed
         "avg_ms": float,         # average time per inference
         "first_ms": float | null,
         "percent": float | null} # share of the profiled total, 0-100
      ]
    }

Exit codes: 0 written, 2 bad input (one line on stderr: the file and the problem).  The
output file is written to a temporary file and renamed into place, so a failure leaves
no partial trace.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

__all__ = ["TRACE_FORMAT", "TRACE_VERSION", "TraceParseError", "parse_benchmark_output", "main"]

TRACE_FORMAT = "edge-compressor-trace"
TRACE_VERSION = 1
TRACE_SOURCE = "litert-benchmark_model"

_RUN_HEADING = "Operator-wise Profiling Info for Regular Benchmark Runs"
_INIT_HEADING = "Profiling Info for Benchmark Initialization"
# Lines that end the primary graph's tables inside the run section.
_OTHER_GRAPH = re.compile(r"^(Subgraph \(index: \d+|Delegate internal:)")
_TABLE_TITLE = re.compile(r"^=+ (?P<title>[^=]+?) =+$")
# Android's logcat ("05-31 10:31:13.006 21767 21767 I tflite  : ") and TFLite's own
# "INFO: " prefixes, as the benchmark APK and newer binaries print them.
_LOGCAT_PREFIX = re.compile(r"^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*:\s?")
_LEVEL_PREFIX = re.compile(r"^(?:INFO|WARNING|ERROR|VERBOSE): ")
_FLOAT = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
# Per header column: the shape its value must have.  Requiring decimals and "%" where the
# tool prints them lets node types that contain numbers ("convolution_2d 0 -> relu 1")
# be told apart from the numeric columns.
_COLUMN_PATTERNS = {
    "start": _FLOAT, "first": _FLOAT, "avg ms": _FLOAT, "%": _FLOAT + "%", "cdf%": _FLOAT + "%",
    "mem KB": _FLOAT, "times called": r"\d+",
}
_NAME_WITH_INDEX = re.compile(r"^\[(?P<bracketed>.*)\]:(?P<index>\d+)$|^(?P<plain>.*?):(?P<plain_index>\d+)$")


class TraceParseError(Exception):
    """The text is not benchmark_model op-profiling output we can read."""


def _strip_prefix(line: str) -> str:
    line = _LOGCAT_PREFIX.sub("", line)
    return _LEVEL_PREFIX.sub("", line.strip()).strip()


def _row_pattern(columns: list[str]) -> re.Pattern[str]:
    numeric = columns[1:-1]
    unknown = [c for c in numeric if c not in _COLUMN_PATTERNS]
    if columns[0] != "node type" or columns[-1] != "Name" or unknown or "avg ms" not in numeric:
        raise TraceParseError(f"unexpected Run Order columns {columns}")
    groups = r"\s+".join(f"(?P<c{i}>{_COLUMN_PATTERNS[c]})" for i, c in enumerate(numeric))
    return re.compile(rf"^(?P<node_type>\S.*?)\s+{groups}(?:\s+(?P<name>.*))?$")


def _split_name(raw: str) -> tuple[str, int | None]:
    raw = raw.strip()
    match = _NAME_WITH_INDEX.match(raw)
    if match and match["bracketed"] is not None:
        return match["bracketed"], int(match["index"])
    if raw.startswith("[") and raw.endswith("]"):
        return raw[1:-1], None
    if match:
        return match["plain"], int(match["plain_index"])
    return raw, None


def _parse_rows(lines: list[str], start: int) -> list[dict]:
    """Rows of the Run Order table whose title is at ``lines[start]``."""
    header = lines[start + 1] if start + 1 < len(lines) else ""
    columns = re.findall(r"\[([^\]]+)\]", header)
    if not columns:
        raise TraceParseError(f"line {start + 2}: Run Order table without a column header")
    pattern = _row_pattern(columns)
    numeric = columns[1:-1]
    ops = []
    for number in range(start + 2, len(lines)):
        line = lines[number]
        if not line or _TABLE_TITLE.match(line):
            break
        match = pattern.match(line)
        if not match:
            raise TraceParseError(f"line {number + 1}: cannot read Run Order row {line[:80]!r}")
        values = {column: match[f"c{i}"] for i, column in enumerate(numeric)}
        name, index = _split_name(match["name"] or "")
        ops.append({
            "node_type": match["node_type"],
            "name": name,
            "index": index,
            "avg_ms": float(values["avg ms"]),
            "first_ms": float(values["first"]) if "first" in values else None,
            "percent": float(values["%"].rstrip("%")) if "%" in values else None,
        })
    if not ops:
        raise TraceParseError(f"line {start + 1}: Run Order table has no rows")
    return ops


def _find_run_order(lines: list[str]) -> int:
    """Index of the title line of the steady-state Run Order table."""
    section = None  # None before any heading, then "init" or "run"
    fallback = None
    for number, line in enumerate(lines):
        if _RUN_HEADING in line:
            section = "run"
            continue
        if _INIT_HEADING in line:
            section = "init"
            continue
        if section == "run" and _OTHER_GRAPH.match(line):
            section = "done"
        title = _TABLE_TITLE.match(line)
        if not (title and title["title"] == "Run Order"):
            continue
        if section == "run":
            return number
        if section is None and fallback is None:
            fallback = number
    if fallback is not None and not any(_RUN_HEADING in line for line in lines):
        return fallback
    raise TraceParseError("no 'Run Order' table of the regular benchmark runs: "
                          "was benchmark_model run with --enable_op_profiling=true?")


def _search(lines: list[str], pattern: str) -> re.Match[str] | None:
    compiled = re.compile(pattern)
    for line in lines:
        match = compiled.search(line)
        if match:
            return match
    return None


def _total_ms(lines: list[str], run_order_at: int) -> float | None:
    match = _search(lines, rf"Inference \(avg\): ({_FLOAT})")
    if match is None:
        match = _search(lines, rf"Average inference timings in us:.*\bInference: ({_FLOAT})")
    if match is None:
        # The op profile's own timing line comes after its tables.
        match = _search(lines[run_order_at:], rf"^Timings \(microseconds\):.*\bavg=({_FLOAT})")
    return float(match[1]) / 1000.0 if match else None


def parse_benchmark_output(text: str, *, device: str | None = None, threads: int | None = None) -> dict:
    """The trace (see the module docstring) of one benchmark_model output text."""
    lines = [_strip_prefix(line) for line in text.splitlines() if not line.lstrip().startswith("#")]
    run_order_at = _find_run_order(lines)
    ops = _parse_rows(lines, run_order_at)
    graph = _search(lines, r"^Graph: \[(.*)\]$")
    if threads is None:
        printed = _search(lines, r"^(?:Num threads|#threads used for CPU inference): \[(-?\d+)\]")
        threads = int(printed[1]) if printed and int(printed[1]) > 0 else None
    return {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "source": TRACE_SOURCE,
        "model": graph[1] if graph else None,
        "threads": threads,
        "device": device,
        "total_ms": _total_ms(lines, run_order_at),
        "ops": ops,
    }


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Turn LiteRT benchmark_model --enable_op_profiling=true output into an "
                    "edge-compressor trace JSON (the format `compress calibrate` reads).",
        epilog="Exit codes: 0 written, 2 bad input.")
    parser.add_argument("log", help="benchmark_model stdout/log file, or - for stdin")
    parser.add_argument("-o", "--out", type=Path, help="write the trace here (atomically) instead of stdout")
    parser.add_argument("--device", help="device name to record (benchmark_model does not print it)")
    parser.add_argument("--threads", type=int, help="thread count, when the log does not print it")
    args = parser.parse_args(argv)
    try:
        if args.log == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(args.log).read_text(errors="replace")
            except OSError as error:
                raise TraceParseError(error.strerror or str(error)) from None
        trace = parse_benchmark_output(text, device=args.device, threads=args.threads)
    except TraceParseError as error:
        print(f"error: {args.log}: {error}", file=sys.stderr)
        return 2
    output = json.dumps(trace, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(output)
    else:
        _write_atomically(args.out, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
