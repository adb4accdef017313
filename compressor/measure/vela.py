"""Compile an int8 ``.tflite`` with Arm's Vela for an Ethos-U and read back what Vela reports.

``compile_with_vela(path, accelerator)`` runs the real ``ethos-u-vela`` compiler
(``python -m ethosu.vela``, in a temporary directory, output captured) for the target's
``vela_accelerator_config``, ``vela_system_config`` and ``vela_memory_mode`` from
``vela_config_file`` (a file bundled with Vela, e.g. ``Arm/vela.ini``, or a path), and
returns a frozen ``VelaResult`` holding Vela's own figures, unchanged:

* from ``<model>_summary_<system config>.csv``: total cycles, NPU cycles, inference time,
  SRAM / DRAM / on-chip and off-chip flash *used* (Vela prints KiB; we store bytes) and
  *moved* per inference, MACs, clock;
* from its printed summary (``--show-cpu-operations``): the NPU and CPU operator counts as
  Vela counts them (its internal ops: a fused ReLU counts on its own);
* from ``<model>_per-layer.csv`` (``--verbose-performance``): every op with its original
  TFLite type, where it runs (NPU/CPU) and its cycles and MACs, so the ops falling back to
  the CPU are named; Vela's "Warning (supported operators)" lines give the reason.

``vela_energy_mj(result, profile)`` turns Vela's counts into energy with the profile's
``[energy]`` table (Horowitz-style, as ``energy.py``): MACs x pj_per_mac["int8"] + bytes
Vela moves in on-chip SRAM x cache_pj_per_byte + bytes moved in DRAM or flash (off-chip) x
dram_pj_per_byte + static_power_mw x inference time.  No device number lives here.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExportError, TargetError
from ..targets.types import AcceleratorProfile, TargetProfile

__all__ = ["VelaLayer", "VelaResult", "compile_with_vela", "vela_energy_mj"]

_KIB = 1024
_PJ_PER_MJ = 1e9
# Vela's own limit is seconds on models of this project's size; this only stops a hang.
_TIMEOUT_S = 600


@dataclass(frozen=True)
class VelaLayer:
    """One row of Vela's per-layer CSV."""

    original_op: str  # the TFLite op as Vela names it: "Conv2D", "Quantize", ...
    vela_op: str  # Vela's internal op: "Conv2D", "Relu", "Passthrough", ...
    runs_on: str  # "NPU" | "CPU"
    name: str  # the op's output tensor name
    cycles: int
    macs: int
    reason: str | None = None  # why Vela left it on the CPU, when it said so

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.original_op, "vela_op": self.vela_op, "runs_on": self.runs_on, "name": self.name,
                "cycles": self.cycles, "macs": self.macs, "reason": self.reason}


@dataclass(frozen=True)
class VelaResult:
    accelerator_config: str
    system_config: str
    memory_mode: str
    clock_hz: float
    cycles_total: int
    cycles_npu: int
    inference_time_ms: float
    sram_used_bytes: int
    dram_used_bytes: int
    on_chip_flash_used_bytes: int
    off_chip_flash_used_bytes: int
    sram_moved_bytes: int  # per inference, read + written
    dram_moved_bytes: int
    on_chip_flash_moved_bytes: int
    off_chip_flash_moved_bytes: int
    macs: int
    npu_ops: int  # as Vela counts them
    cpu_ops: int
    output_size_bytes: int  # the compiled model (the *_vela.tflite Vela writes): what flash stores
    layers: tuple[VelaLayer, ...]
    version: str

    @property
    def cpu_layers(self) -> tuple[VelaLayer, ...]:
        return tuple(layer for layer in self.layers if layer.runs_on == "CPU")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version, "accelerator_config": self.accelerator_config,
            "system_config": self.system_config, "memory_mode": self.memory_mode, "clock_hz": self.clock_hz,
            "cycles_total": self.cycles_total, "cycles_npu": self.cycles_npu,
            "inference_time_ms": self.inference_time_ms,
            "sram_used_bytes": self.sram_used_bytes, "dram_used_bytes": self.dram_used_bytes,
            "on_chip_flash_used_bytes": self.on_chip_flash_used_bytes,
            "off_chip_flash_used_bytes": self.off_chip_flash_used_bytes,
            "sram_moved_bytes": self.sram_moved_bytes, "dram_moved_bytes": self.dram_moved_bytes,
            "on_chip_flash_moved_bytes": self.on_chip_flash_moved_bytes,
            "off_chip_flash_moved_bytes": self.off_chip_flash_moved_bytes,
            "macs": self.macs, "npu_ops": self.npu_ops, "cpu_ops": self.cpu_ops,
            "output_size_bytes": self.output_size_bytes,
            "cpu_fallback": [layer.to_dict() for layer in self.cpu_layers],
            "per_layer": [layer.to_dict() for layer in self.layers],
        }


def compile_with_vela(path: Path | str, accelerator: AcceleratorProfile) -> VelaResult:
    """Run Vela on ``path`` for ``accelerator`` (a targets ``AcceleratorProfile``).

    ``ExportError`` names the file and Vela's last words when it fails; ``TargetError`` when
    the profile lacks the Vela settings.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    settings = {key: getattr(accelerator, f"vela_{key}", None)
                for key in ("accelerator_config", "system_config", "memory_mode", "config_file")}
    missing = [f"accelerator.vela_{key}" for key, value in settings.items() if not value]
    if missing:
        raise TargetError(f"the target runs Vela but does not set {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="vela-") as out_dir:
        # A fixed input name keeps Vela's output names (and so its CSV names) independent of ours.
        network = Path(out_dir) / "model.tflite"
        network.write_bytes(path.read_bytes())
        command = [sys.executable, "-m", "ethosu.vela", str(network),
                   "--accelerator-config", settings["accelerator_config"],
                   "--config", settings["config_file"],
                   "--system-config", settings["system_config"],
                   "--memory-mode", settings["memory_mode"],
                   "--output-dir", str(Path(out_dir) / "out"),
                   "--verbose-performance", "--show-cpu-operations"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, cwd=out_dir)
        except subprocess.TimeoutExpired:
            raise ExportError(f"{path}: Vela did not finish within {_TIMEOUT_S} s") from None
        text = done.stdout + done.stderr
        out = Path(out_dir) / "out"
        summaries = sorted(out.glob("model_summary_*.csv")) if out.is_dir() else []
        if done.returncode != 0 or not summaries:
            raise ExportError(f"{path}: Vela failed for {settings['accelerator_config']}: {_last_words(text)}")
        summary = _read_summary(summaries[0])
        layers = _read_layers(out / "model_per-layer.csv", _fallback_reasons(text))
        compiled = out / "model_vela.tflite"
        output_size = compiled.stat().st_size if compiled.is_file() else 0
    npu_ops, cpu_ops = _op_counts(text, layers)
    clock = float(summary["core_clock"])
    return VelaResult(
        accelerator_config=settings["accelerator_config"], system_config=summary["system_config"],
        memory_mode=summary["memory_mode"], clock_hz=clock,
        cycles_total=_int(summary, "cycles_total"), cycles_npu=_int(summary, "cycles_npu"),
        inference_time_ms=float(summary["inference_time"]) * 1e3,
        sram_used_bytes=_kib(summary, "sram_memory_used"), dram_used_bytes=_kib(summary, "dram_memory_used"),
        on_chip_flash_used_bytes=_kib(summary, "on_chip_flash_memory_used"),
        off_chip_flash_used_bytes=_kib(summary, "off_chip_flash_memory_used"),
        sram_moved_bytes=_int(summary, "sram_total_bytes"), dram_moved_bytes=_int(summary, "dram_total_bytes"),
        on_chip_flash_moved_bytes=_int(summary, "on_chip_flash_total_bytes"),
        off_chip_flash_moved_bytes=_int(summary, "off_chip_flash_total_bytes"),
        macs=_int(summary, "nn_macs"), npu_ops=npu_ops, cpu_ops=cpu_ops, output_size_bytes=output_size,
        layers=layers, version=_vela_version())


def vela_energy_mj(result: VelaResult, profile: TargetProfile) -> float:
    """Energy of one inference from Vela's MACs and bytes moved, with the profile's [energy] table."""
    energy = profile.energy
    if "int8" not in energy.pj_per_mac:
        raise TargetError(f"target {profile.name} has no energy.pj_per_mac.int8 (Vela compiles int8 graphs)")
    on_chip = energy.cache_pj_per_byte if energy.cache_pj_per_byte is not None else energy.dram_pj_per_byte
    off_chip_bytes = result.dram_moved_bytes + result.on_chip_flash_moved_bytes + result.off_chip_flash_moved_bytes
    picojoules = (result.macs * energy.pj_per_mac["int8"] + result.sram_moved_bytes * on_chip
                  + off_chip_bytes * energy.dram_pj_per_byte
                  + energy.static_power_mw * (result.inference_time_ms / 1e3) * _PJ_PER_MJ)
    return picojoules / _PJ_PER_MJ


# ---------------------------------------------------------------------------- reading Vela's output


def _read_summary(path: Path) -> dict[str, str]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ExportError(f"{path.name}: Vela wrote an empty summary")
    return rows[0]


def _read_layers(path: Path, reasons: dict[str, str]) -> tuple[VelaLayer, ...]:
    if not path.is_file():
        return ()
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(VelaLayer(original_op=row["Original Operator"].strip(), vela_op=row["NNG Operator"].strip(),
                           runs_on=row["Target"].strip(), name=row["Name"].strip(),
                           cycles=int(float(row["Op Cycles"] or 0)), macs=int(float(row["MAC Count"] or 0)),
                           reason=reasons.get(row["Name"].strip()) if row["Target"].strip() == "CPU" else None)
                 for row in rows)


_WARNING = re.compile(r"Warning \(supported operators\) operator: (\S+), ofm: '(.*)'\s*\nReason: (.*)")
_COUNT = re.compile(r"^(CPU|NPU) operators = (\d+)", re.MULTILINE)


def _fallback_reasons(text: str) -> dict[str, str]:
    return {name: reason.strip() for _, name, reason in _WARNING.findall(text)}


def _op_counts(text: str, layers: tuple[VelaLayer, ...]) -> tuple[int, int]:
    counts = dict(_COUNT.findall(text))
    npu = int(counts["NPU"]) if "NPU" in counts else sum(layer.runs_on == "NPU" for layer in layers)
    cpu = int(counts["CPU"]) if "CPU" in counts else sum(layer.runs_on == "CPU" for layer in layers)
    return npu, cpu


def _int(summary: dict[str, str], key: str) -> int:
    return int(round(float(summary.get(key) or 0)))


def _kib(summary: dict[str, str], key: str) -> int:
    return int(round(float(summary.get(key) or 0) * _KIB))


def _last_words(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors[-1] if errors else lines[-1] if lines else "no output")[:300]


def _vela_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ethos-u-vela")
    except metadata.PackageNotFoundError:
        return "unknown"
