#!/usr/bin/env python3
"""The conversion matrix: the whole ``compress`` job on architectures people ship.

Usage:
    python scripts/conversion_matrix.py                              # every model in models/matrix.py
    python scripts/conversion_matrix.py --models ds_cnn,ad_autoencoder --target host-x86
    python scripts/conversion_matrix.py --json > matrix.json         # the rows as JSON
    python scripts/conversion_matrix.py --json matrix.json           # the table, and the rows to a file

For each model of ``models.matrix.MATRIX`` it builds the architecture with random weights
(seed 0, BatchNorm statistics set by ``make_model``), saves the state dict in a temporary
directory and runs ``compressor.compress`` on it exactly as a user would with
``--arch models.matrix:Class --input-shape ...`` and no data (random calibration).  From
the run's report.json it takes the verification (SQNR, top-1 agreement), the float ops left
after int8 and the delegation partitions (when the report has a ``delegation`` section);
then it times the int8 artifact and the float file compress keeps beside it in LiteRT
(1 thread, runs interleaved after a warm-up, medians).  A model that fails is a row with
its error's first line, and the others still run.

Host timings on a shared 2-core machine are noisy: compare the int8/fp32 ratio of one row,
measured in the same interleaved run, rather than absolute milliseconds across rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

COLUMNS = ("model", "params", "input", "status", "SQNR dB", "agreement", "fp32 file SQNR dB",
           "noise SQNR dB", "int8/fp32 size", "int8 ms", "fp32 ms", "int8/fp32 ms", "float ops",
           "partitions", "compress s")
# Random inputs for the two float checks below: few, since ResNet-18 at 224² runs them too.
_CHECK_SAMPLES, _CHECK_SEED = 8, 1
# Input noise for the sensitivity check: about what int8 quantization of one layer adds.
_NOISE_DB = 40.0


def _shape_text(shapes: tuple[tuple[int, ...], ...]) -> str:
    return " + ".join("×".join(map(str, shape)) for shape in shapes)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return line if len(line) <= 160 else line[:157] + "..."


def _status(report: dict[str, Any]) -> str:
    if report["status"] == "ok":
        return "ok"
    verification = next((s for s in report["steps"] if s["name"] == "verify"), {})
    return f"FAILED (agreement {verification.get('agreement')} < {verification.get('min_agreement')})"


def _float_ops(report: dict[str, Any]) -> list[str]:
    """Ops of the int8 artifact that still compute in float (the int8 step's ``float_ops``)."""
    step = next((s for s in report["steps"] if s["name"] == "int8"), {})
    return [op["op"] for op in step.get("float_ops", [])]


def _partitions(report: dict[str, Any]) -> int | None:
    """Delegate partitions, if the report (or its estimate) has a ``delegation`` section."""
    for section in (report.get("delegation"), (report.get("estimate") or {}).get("delegation")):
        if isinstance(section, dict) and section.get("partitions") is not None:
            return int(section["partitions"])
    return None


def _partitions_by_inspection(int8_path: Path) -> tuple[int | None, list[str]]:
    """Partitions and ops left out of XNNPACK, from compressor.measure.delegation when it is installed."""
    try:
        from compressor.measure.delegation import inspect_delegation
    except ImportError:
        return None, []
    delegation = inspect_delegation(int8_path, num_threads=1)
    return delegation.partitions, delegation.ops_left_out()


def _random_inputs(shapes: tuple[tuple[int, ...], ...]) -> list:
    import numpy as np

    rng = np.random.default_rng(_CHECK_SEED)
    return [rng.standard_normal((_CHECK_SAMPLES, *shape[1:])).astype(np.float32) for shape in shapes]


def _sqnr_db(reference, actual) -> float:
    from compressor.passes.verify_outputs import compare_outputs

    return compare_outputs("output", reference, actual.reshape(reference.shape)).sqnr_db


def float_file_sqnr_db(fp32_path: Path, model: Any, shapes: tuple[tuple[int, ...], ...]) -> float:
    """Worst output SQNR of the float file against torch on random inputs: the converter's error."""
    from compressor.measure.runtime import open_runtime
    from compressor.model.outputs import run_torch

    inputs = _random_inputs(shapes)
    expected, actual = run_torch(model, inputs), open_runtime(fp32_path).run_batch(inputs)
    return min(_sqnr_db(e, a) for e, a in zip(expected, actual))


def noise_sqnr_db(model: Any, shapes: tuple[tuple[int, ...], ...]) -> float:
    """Worst output SQNR of the torch model when noise _NOISE_DB below its inputs is added.

    How much the model itself amplifies small errors: random-weight networks with BatchNorm
    are chaotic (a perturbation grows layer by layer), so a low int8 SQNR next to a low
    value here is the random weights' doing, not the quantizer's.
    """
    import numpy as np
    from compressor.model.outputs import run_torch

    inputs = _random_inputs(shapes)
    rng = np.random.default_rng(_CHECK_SEED + 1)
    scale = 10 ** (-_NOISE_DB / 20)
    noisy = [x + (scale * np.sqrt(np.mean(x**2)) * rng.standard_normal(x.shape)).astype(np.float32) for x in inputs]
    return min(_sqnr_db(e, a) for e, a in zip(run_torch(model, inputs), run_torch(model, noisy)))


def time_artifacts(int8_path: Path, fp32_path: Path, *, runs: int, warmup: int) -> tuple[float, float]:
    """Median ms of (int8, fp32) in LiteRT, 1 thread, runs interleaved after ``warmup`` rounds."""
    from compressor.measure.bench import open_invoker, time_interleaved

    invokers = [open_invoker(int8_path, threads=1), open_invoker(fp32_path, threads=1)]
    int8_ms, fp32_ms = time_interleaved(invokers, runs=runs, warmup=warmup)
    return statistics.median(int8_ms), statistics.median(fp32_ms)


def run_model(name: str, workdir: Path, *, target: str, runs: int, warmup: int) -> dict[str, Any]:
    """One row of the matrix: compress ``name`` in ``workdir``, read its report, time its files."""
    import torch

    from compressor import compress
    from compressor.errors import CompressorError
    from models.matrix import make_model

    model, shapes = make_model(name, seed=0)
    row: dict[str, Any] = {"model": name, "params": sum(p.numel() for p in model.parameters()),
                           "input": _shape_text(shapes), "arch": f"models.matrix:{type(model).__name__}",
                           "target": target}
    weights = workdir / f"{name}.pt"
    torch.save(model.state_dict(), weights)
    started = time.perf_counter()
    try:
        result = compress(weights, target=target, arch=row["arch"], input_shape=tuple(shapes),
                          out=workdir / f"{name}.compressed")
    except Exception as error:  # one model's failure is a row, not the end of the matrix
        kind = "error" if isinstance(error, CompressorError) else "uncaught"
        row.update(status=f"{kind} {type(error).__name__}: {_first_line(error)}",
                   compress_s=round(time.perf_counter() - started, 1))
        return row
    row["compress_s"] = round(time.perf_counter() - started, 1)
    report = json.loads((result.out_dir / "report.json").read_text())
    compressed = report["compressed"]
    int8_path, fp32_path = result.out_dir / report["artifact"], result.out_dir / report["float_artifact"]
    float_ops = _float_ops(report)
    row.update(status=_status(report), sqnr_db=compressed["sqnr_db"], agreement=compressed["agreement"],
               cosine=compressed["cosine"], int8_bytes=int8_path.stat().st_size,
               fp32_bytes=fp32_path.stat().st_size, float_ops=len(float_ops),
               float_op_names=sorted(set(float_ops)), partitions=_partitions(report), not_delegated=None)
    row["size_ratio"] = round(row["int8_bytes"] / row["fp32_bytes"], 3)
    try:
        _measure_(row, model, shapes, int8_path, fp32_path, runs=runs, warmup=warmup)
    except Exception as error:  # a failed measurement is recorded; the conversion result stands
        row["measure_error"] = f"{type(error).__name__}: {_first_line(error)}"
    return row


def _measure_(row: dict[str, Any], model: Any, shapes: tuple[tuple[int, ...], ...], int8_path: Path,
              fp32_path: Path, *, runs: int, warmup: int) -> None:
    """Fill ``row`` with the float checks, the delegation split and the host timings."""
    row["fp32_file_sqnr_db"] = round(float_file_sqnr_db(fp32_path, model, shapes), 1)
    row["noise_sqnr_db"] = round(noise_sqnr_db(model, shapes), 1)
    if row["partitions"] is None:
        row["partitions"], row["not_delegated"] = _partitions_by_inspection(int8_path)
    int8_ms, fp32_ms = time_artifacts(int8_path, fp32_path, runs=runs, warmup=warmup)
    row.update(int8_ms=round(int8_ms, 3), fp32_ms=round(fp32_ms, 3), ms_ratio=round(int8_ms / fp32_ms, 3))


def run_matrix(names: list[str], *, target: str = "host-x86", runs: int = 30, warmup: int = 3,
               keep: Path | None = None) -> list[dict[str, Any]]:
    """Rows for ``names``, each model in its own directory (under ``keep``, else a temporary one)."""
    rows = []
    for name in names:
        print(f"[matrix] {name} ...", file=sys.stderr, flush=True)
        if keep is not None:
            (keep / name).mkdir(parents=True, exist_ok=True)
            rows.append(run_model(name, keep / name, target=target, runs=runs, warmup=warmup))
        else:
            with tempfile.TemporaryDirectory(prefix=f"matrix-{name}-") as tmp:
                rows.append(run_model(name, Path(tmp), target=target, runs=runs, warmup=warmup))
        print(f"[matrix] {name}: {rows[-1]['status']} ({rows[-1]['compress_s']} s)", file=sys.stderr, flush=True)
    return rows


def _cell(row: dict[str, Any], column: str) -> str:
    def number(key: str, fmt: str) -> str:
        return "-" if row.get(key) is None else format(row[key], fmt)

    float_ops = row.get("float_ops")
    cells = {
        "model": row["model"], "params": f"{row['params']:,}", "input": row["input"],
        "status": (row["status"] + (f"; measuring failed: {row['measure_error']}" if row.get("measure_error")
                                    else "")).replace("|", "\\|"), "SQNR dB": number("sqnr_db", ".1f"),
        "agreement": number("agreement", ".3f"), "int8/fp32 size": number("size_ratio", ".3f"),
        "int8 ms": number("int8_ms", ".3f"), "fp32 ms": number("fp32_ms", ".3f"),
        "int8/fp32 ms": number("ms_ratio", ".2f"),
        "float ops": "-" if float_ops is None else f"{float_ops}" + (
            f" ({', '.join(row['float_op_names'])})" if float_ops else ""),
        "fp32 file SQNR dB": number("fp32_file_sqnr_db", ".1f"), "noise SQNR dB": number("noise_sqnr_db", ".1f"),
        "partitions": number("partitions", "d") + _left_out(row.get("not_delegated")),
        "compress s": number("compress_s", ".1f"),
    }
    return cells[column]


def _left_out(ops: list[str] | None) -> str:
    """" (HARD_SWISH:int8 ×2, ...)": ops XNNPACK did not take, counted."""
    if not ops:
        return ""
    counts = {op: ops.count(op) for op in dict.fromkeys(ops)}
    return " (" + ", ".join(op + (f" ×{n}" if n > 1 else "") for op, n in counts.items()) + " left out)"


def render_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_cell(row, column) for column in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--models", help="comma-separated names from models/matrix.py MATRIX [all]")
    parser.add_argument("--target", default="host-x86", help="target profile [host-x86]")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per artifact [30]")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first [3]")
    parser.add_argument("--keep", metavar="DIR", type=Path, help="keep each model's files under DIR")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="the rows as JSON: printed instead of the table, or written to PATH")
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # models.matrix, as `--arch models.matrix:Class` imports it
    from models.matrix import MATRIX

    names = [n.strip() for n in args.models.split(",")] if args.models else list(MATRIX)
    unknown = [name for name in names if name not in MATRIX]
    if unknown:
        parser.error(f"--models: unknown {', '.join(unknown)}; known: {', '.join(MATRIX)}")
    rows = run_matrix(names, target=args.target, runs=args.runs, warmup=args.warmup, keep=args.keep)
    if args.json not in (None, "-"):
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    print(json.dumps(rows, indent=2) if args.json == "-" else render_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
