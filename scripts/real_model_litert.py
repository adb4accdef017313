"""LiteRT side of the real-model corpus (scripts/real_models.py): the hand route, outputs, SQNR, latency.

The hand route is what a user does by hand: litert-torch fp32, then ai-edge-quantizer's
``static_wi8_ai8`` with its default calibration on the same data.  Files run on one thread;
latency is interleaved medians (the files take turns, so load on a shared machine hits them alike).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["feed_sample", "hand_route", "interleaved_medians_ms", "natural_key", "open_runner", "run_tflite",
           "signature", "sqnr_db"]


def hand_route(model: torch.nn.Module, example: tuple, calib: list[np.ndarray], work: Path) -> tuple[Path, Path]:
    """litert-torch fp32, then ai-edge-quantizer static_wi8_ai8 with its default calibration."""
    import litert_torch
    from ai_edge_quantizer import quantizer, recipe

    from compressor.capture import captured_output

    fp32, int8 = work / "hand_fp32.tflite", work / "hand_int8.tflite"
    with captured_output():  # the converters' progress lines would land in --json's stdout
        litert_torch.convert(model, example).export(str(fp32))
        names, key = signature(fp32)
        qt = quantizer.Quantizer(str(fp32), recipe.static_wi8_ai8())
        samples = [{name: a[i:i + 1] for name, a in zip(names, calib)} for i in range(len(calib[0]))]
        result = qt.calibrate({key: samples})
        qt.quantize(result).export_model(str(int8), overwrite=True)
    return fp32, int8


def signature(path: Path) -> tuple[list[str], str]:
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_path=str(path)).get_signature_list()
    key = next(iter(signatures))
    return list(signatures[key]["inputs"]), key


def open_runner(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    runner = interpreter.get_signature_runner()
    names = list(interpreter.get_signature_list()[next(iter(interpreter.get_signature_list()))]["inputs"])
    return runner, names


def natural_key(name: str) -> tuple:
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else 0, name)


def feed_sample(runner: Any, names: list[str], inputs: list[np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Sample ``i`` of every input, quantized where the file takes int8 (the hand route's I/O)."""
    details = runner.get_input_details()
    feed = {}
    for name, array in zip(names, inputs):
        value, detail = array[i:i + 1], details[name]
        if detail["dtype"] != np.float32:
            scale, zero = detail["quantization"]
            info = np.iinfo(detail["dtype"])
            value = np.clip(np.round(value / scale) + zero, info.min, info.max).astype(detail["dtype"])
        feed[name] = value
    return feed


def run_tflite(path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    runner, names = open_runner(path)
    details = runner.get_output_details()
    outputs = []
    for i in range(len(inputs[0])):
        result = runner(**feed_sample(runner, names, inputs, i))
        row = []
        for key in sorted(result, key=natural_key):
            value = result[key]
            if details[key]["dtype"] != np.float32:
                scale, zero = details[key]["quantization"]
                value = (value.astype(np.float32) - zero) * scale
            row.append(value)
        outputs.append(row)
    return [np.concatenate([o[j] for o in outputs]) for j in range(len(outputs[0]))]


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - test) ** 2))
    return float("inf") if noise == 0 else round(10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / noise), 1)


def interleaved_medians_ms(paths: dict[str, Path], inputs: list[np.ndarray], *, rounds: int = 30) -> dict[str, float]:
    runners = {k: open_runner(p) for k, p in paths.items()}
    feeds = {k: feed_sample(runner, names, inputs, 0) for k, (runner, names) in runners.items()}
    times: dict[str, list[float]] = {k: [] for k in paths}
    for round_index in range(rounds + 3):  # 3 warm-up rounds
        for key, (runner, _) in runners.items():
            started = time.perf_counter()
            runner(**feeds[key])
            if round_index >= 3:
                times[key].append((time.perf_counter() - started) * 1000)
    return {k: round(statistics.median(v), 3) for k, v in times.items()}
