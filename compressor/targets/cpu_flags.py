"""The SIMD features of the CPU this process runs on, as Linux names them in ``/proc/cpuinfo``.

A target profile may carry ``[[compute.variants]]`` that apply only on CPUs with given
features (``avx512_vnni``, ``avx2`` on x86; ``asimddp`` on Arm); ``targets.load_target``
asks this module which ones are present.  The names are the kernel's: the ``flags`` line on
x86, the ``Features`` line on Arm (arch/arm64/kernel/cpuinfo.c), identical for every core of
a machine, so the first such line is read.

    read_cpu_flags()  # frozenset({"avx2", "avx512_vnni", ...}) or frozenset() when unknown
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["parse_cpu_flags", "parse_cpu_identity", "read_cpu_flags", "read_cpu_identity", "recorded_flags"]

_CPUINFO = Path("/proc/cpuinfo")
_FLAG_LINES = ("flags", "features")  # x86 / aarch64 (compared case-insensitively)


def parse_cpu_flags(cpuinfo_text: str) -> frozenset[str]:
    """The feature names of the first ``flags``/``Features`` line of a ``/proc/cpuinfo`` text."""
    for line in cpuinfo_text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in _FLAG_LINES:
            return frozenset(value.split())
    return frozenset()


def read_cpu_flags(cpuinfo: Path = _CPUINFO) -> frozenset[str]:
    """This machine's CPU features; empty when ``/proc/cpuinfo`` is absent (not Linux)."""
    try:
        return parse_cpu_flags(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return frozenset()


def parse_cpu_identity(cpuinfo_text: str) -> str | None:
    """``"<vendor_id> family <cpu family> model <model>"`` of the first core of a
    ``/proc/cpuinfo`` text (x86), e.g. ``"AuthenticAMD family 26 model 2"``; None if absent."""
    fields: dict[str, str] = {}
    for line in cpuinfo_text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key in ("vendor_id", "cpu family", "model") and key not in fields:
            fields[key] = value.strip()
    if len(fields) < 3:
        return None
    return f"{fields['vendor_id']} family {fields['cpu family']} model {fields['model']}"


def read_cpu_identity(cpuinfo: Path = _CPUINFO) -> str | None:
    """This machine's CPU as ``parse_cpu_identity`` names it; None when unknown."""
    try:
        return parse_cpu_identity(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def recorded_flags(cpu: str | None) -> frozenset[str] | None:
    """The SIMD flags a measurement recorded with its CPU (``measure.bench.cpu_description``:
    "model [flag flag ...]"), to load a target as that CPU saw it; None when it recorded none
    (then this machine's are read)."""
    if not cpu or not cpu.endswith("]") or "[" not in cpu or "no SIMD flags read" in cpu:
        return None
    return frozenset(cpu[cpu.rindex("[") + 1:-1].split())
