"""Reading target profile files: TOML, ``inherits`` chains, merging, and unknown-key checks.

This is the file half of loading a target (``targets.py`` is the other half: it checks the
merged values and builds the frozen ``TargetProfile``).  ``resolve_profile`` reads a profile
file and, recursively, the parents it ``inherits`` from, rejecting unknown keys in every file
before anything merges and rejecting ``inherits`` loops; tables merge key by key, like Vela's
``inherit=`` sections, and lists are replaced.  A parent (or an accelerator's
``fallback_target``) is found by ``find_profile``: a sibling file first, since variants live
beside their parent, then the shipped ``targets/`` folder.

Every problem is a one-line ``TargetError`` naming the file, the key and, when it can be
found, the line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..files import targets_dir
from ..errors import TargetError
from .types import CPU_FLAGS, CPU_SCALARS, CPU_TILES, DTYPES, EFFICIENCY_KEYS, FORMATS, RUNTIME_COST_KEYS, RUNTIME_CURVES
from .schema import dotted, where

__all__ = ["VARIANT_OVER_KEYS", "VELA_KEYS", "find_profile", "known_target_names", "resolve_profile"]

_TOP_KEYS = {"name", "description", "kind", "formats", "dtypes", "inherits", "machine", "compute", "memory", "energy",
             "mcu", "accelerator"}
_COMPUTE_KEYS = {"clock_hz", "threads", "dispatch_overhead_us", "macs_per_cycle", "efficiency",
                 "channel_multiple", "float_allowed", "variants", "channel_tiles", "runtimes"}
_VARIANT_KEYS = {"requires_cpu_flags", "description", "measured_on", "dispatch_overhead_us", "macs_per_cycle", "efficiency",
                 "channel_multiple", "channel_tiles", "runtimes", "runtimes_from", "cpus", "extensions"}
# [[compute.variants.cpus]]: one CPU model's own kernel terms, per-op costs, thread split and weight
# streaming, over the variant's (tables.py).
_CPU_RUNTIME_KEYS = {"kernels", "parallel", "int8_pair_factors", "task_weight_reads", "rnn_steps",
                     *RUNTIME_CURVES, *CPU_FLAGS, *CPU_SCALARS, *CPU_TILES}
_VARIANT_CPU_KEYS = {"cpu", "description", "runtimes"}
# A variant that says runtimes_from: the keys its runtimes.<format> may lay over its source's (load.py).
VARIANT_OVER_KEYS = frozenset({*_CPU_RUNTIME_KEYS, "igemm_rows", "igemm_cols"})
# [[compute.variants.extensions]]: the kernels a runtime switches to on CPUs with more flags (tables.py).
_EXTENSION_KEYS = {"requires_cpu_flags", "description", "measured_on", "runtimes"}
_EXTENSION_RUNTIME_KEYS = {"kernels", "channel_tiles", "input_channel_tiles", "row_tiles", "igemm_cols"}
_MEMORY_KEYS = {"dram_bandwidth_bytes_per_s", "cache_bytes", "cache_bandwidth_bytes_per_s",
                "arena_alignment_bytes", "weights_in_ram", "private_cache_bytes", "cpus"}
# [[memory.cpus]]: one CPU model's own caches and bandwidths, over the table's (load.py).
_MEMORY_CPU_KEYS = {"cpu", "description", "dram_bandwidth_bytes_per_s", "cache_bytes", "cache_bandwidth_bytes_per_s",
                    "private_cache_bytes", "cache_bandwidth_curve", "stream_curve"}
_ENERGY_KEYS = {"pj_per_mac", "dram_pj_per_byte", "cache_pj_per_byte", "static_power_mw"}
_MCU_KEYS = {"sram_bytes", "flash_bytes", "use_tflm_arena"}
VELA_KEYS = ("vela_accelerator_config", "vela_system_config", "vela_memory_mode", "vela_config_file")
_ACCELERATOR_KEYS = {"compiler", "supported_ops", "fallback_target", "tops_int8", "tops_per_watt",
                     "sram_bytes", *VELA_KEYS}
_TABLES = {"compute": _COMPUTE_KEYS, "memory": _MEMORY_KEYS, "energy": _ENERGY_KEYS,
           "mcu": _MCU_KEYS, "accelerator": _ACCELERATOR_KEYS}
# Keys a child must state itself: a variant that kept its parent's name would be ambiguous.
_OWN_KEYS = ("name", "description")


def known_target_names() -> list[str]:
    """Names of the shipped profiles (their file stems), sorted."""
    return sorted(path.stem for path in targets_dir().glob("*.toml"))


def resolve_profile(path: Path) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """The file's table merged over its parents' (``inherits`` removed), and the files read: itself, then its parents."""
    return _resolve(path, ())


# ---------------------------------------------------------------------------- reading, merging


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise TargetError(f"{path}: invalid TOML: {error}") from error
    except OSError as error:
        raise TargetError(f"{path}: cannot read: {error.strerror or error}") from error


def _resolve(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """The file's table merged over its parents', and the files read: itself, then its parents."""
    if path in seen:
        cycle = " -> ".join(p.stem for p in (*seen, path))
        raise TargetError(f"{where(seen[-1], ('inherits',))}: inherits: loop {cycle}")
    data = _read(path)
    _check_keys(data, path)
    for key in _OWN_KEYS:
        if key not in data:
            raise TargetError(f"{path}: {key}: missing (every profile file states its own {key})")
    parent_name = data.pop("inherits", None)
    if parent_name is None:
        return data, (path,)
    if not isinstance(parent_name, str) or not parent_name:
        raise TargetError(f"{where(path, ('inherits',))}: inherits: expected a target name, got {parent_name!r}")
    parent_path = find_profile(parent_name, path, ("inherits",), "unknown parent")
    parent, chain = _resolve(parent_path, (*seen, path))
    return _merge(parent, data), (path, *chain)


def find_profile(name: str, referrer: Path, keys: tuple[str, ...], problem: str) -> Path:
    """The profile file ``name`` refers to from ``referrer`` (at key path ``keys``); ``problem`` words the error."""
    # A sibling file first (variants live beside their parent), then the shipped folder.
    for folder in (referrer.parent, targets_dir()):
        found = folder / (name if name.endswith(".toml") else f"{name}.toml")
        if found.is_file():
            return found.resolve()
    known = ", ".join(known_target_names()) or "none"
    raise TargetError(f"{where(referrer, keys)}: {dotted(keys)}: {problem} {name!r}; known targets: {known}")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_keys(data: dict[str, Any], path: Path) -> None:
    """Unknown keys are errors in every file, parents included, before anything merges."""
    _reject_unknown(data, _TOP_KEYS, (), path)
    for table, allowed in _TABLES.items():
        if isinstance(data.get(table), dict):
            _check_table(data[table], allowed, (table,), path)
    variants = data.get("compute", {}).get("variants") if isinstance(data.get("compute"), dict) else None
    for index, variant in enumerate(variants if isinstance(variants, list) else ()):
        if isinstance(variant, dict):
            _check_table(variant, _VARIANT_KEYS, ("compute", "variants", index), path)
            # [[...cpus]]: kernel terms, per-op costs, thread split and memory, measured on that CPU
            # (its tiles and flags are the variant's); [[...extensions]]: kernels and their tiles only.
            for name, allowed, costs_allowed in (("cpus", _VARIANT_CPU_KEYS, _CPU_RUNTIME_KEYS),
                                                 ("extensions", _EXTENSION_KEYS, _EXTENSION_RUNTIME_KEYS)):
                entries = variant.get(name)
                for number, entry in enumerate(entries if isinstance(entries, list) else ()):
                    if isinstance(entry, dict):
                        keys = ("compute", "variants", index, name, number)
                        _reject_unknown(entry, allowed, keys, path)
                        runtimes = entry.get("runtimes")
                        for fmt, costs in (runtimes.items() if isinstance(runtimes, dict) else ()):
                            if isinstance(costs, dict):
                                _reject_unknown(costs, costs_allowed, (*keys, "runtimes", fmt), path)
    cpus = data.get("memory", {}).get("cpus") if isinstance(data.get("memory"), dict) else None
    for index, cpu in enumerate(cpus if isinstance(cpus, list) else ()):
        if isinstance(cpu, dict):
            _reject_unknown(cpu, _MEMORY_CPU_KEYS, ("memory", "cpus", index), path)


def _check_table(table: dict[str, Any], allowed: set[str], keys: tuple, path: Path) -> None:
    _reject_unknown(table, allowed, keys, path)
    for mapping in ("macs_per_cycle", "pj_per_mac"):
        if isinstance(table.get(mapping), dict):
            _reject_unknown(table[mapping], set(DTYPES), (*keys, mapping), path)
    runtimes = table.get("runtimes")
    if isinstance(runtimes, dict):
        _reject_unknown(runtimes, set(FORMATS), (*keys, "runtimes"), path)
        for fmt, costs in runtimes.items():
            if isinstance(costs, dict):
                _reject_unknown(costs, set(RUNTIME_COST_KEYS), (*keys, "runtimes", fmt), path)
                kernels = costs.get("kernels")
                if isinstance(kernels, dict):
                    _reject_unknown(kernels, set(DTYPES), (*keys, "runtimes", fmt, "kernels"), path)
                own = costs.get("efficiency")
                if isinstance(own, dict):
                    _reject_unknown(own, set(DTYPES), (*keys, "runtimes", fmt, "efficiency"), path)
                    for dtype, kinds in own.items():
                        if isinstance(kinds, dict):
                            _reject_unknown(kinds, set(EFFICIENCY_KEYS), (*keys, "runtimes", fmt, "efficiency", dtype),
                                            path)
    efficiency = table.get("efficiency")
    if isinstance(efficiency, dict):
        _reject_unknown(efficiency, set(DTYPES), (*keys, "efficiency"), path)
        for dtype, kinds in efficiency.items():
            if isinstance(kinds, dict):
                _reject_unknown(kinds, set(EFFICIENCY_KEYS), (*keys, "efficiency", dtype), path)


def _reject_unknown(table: dict[str, Any], allowed: set[str], keys: tuple, path: Path) -> None:
    for key in table:
        if key not in allowed:
            raise TargetError(f"{where(path, (*keys, key))}: {dotted((*keys, key))}: unknown key "
                              f"(allowed here: {', '.join(sorted(allowed))})")

