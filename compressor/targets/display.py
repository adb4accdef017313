"""A target profile as data (``target_to_dict``, for ``--json``) and as text (``format_target``).

Every number is shown with its unit, so ``compress targets rpi4`` reads like the TOML file
without its comments; the comments (the sources) are in the file named on the first line.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .load import TargetProfile

__all__ = ["format_target", "target_to_dict"]


def target_to_dict(profile: TargetProfile) -> dict[str, Any]:
    """Plain JSON-ready data: every field of the profile, mappings as dicts, path as text."""
    compute = profile.compute
    return {
        "name": profile.name, "description": profile.description, "kind": profile.kind,
        "formats": list(profile.formats), "dtypes": list(profile.dtypes),
        "path": str(profile.path), "inherits_from": list(profile.inherits_from),
        "variant": profile.variant, "machine": profile.machine,
        "compute": {
            "clock_hz": compute.clock_hz, "threads": compute.threads,
            "dispatch_overhead_us": compute.dispatch_overhead_us,
            "channel_multiple": compute.channel_multiple, "float_allowed": compute.float_allowed,
            "macs_per_cycle": dict(compute.macs_per_cycle),
            "efficiency": {dtype: dict(kinds) for dtype, kinds in compute.efficiency.items()},
        },
        "memory": asdict(profile.memory),
        "energy": {"pj_per_mac": dict(profile.energy.pj_per_mac), "dram_pj_per_byte": profile.energy.dram_pj_per_byte,
                   "cache_pj_per_byte": profile.energy.cache_pj_per_byte,
                   "static_power_mw": profile.energy.static_power_mw},
        "mcu": asdict(profile.mcu) if profile.mcu else None,
        "accelerator": ({**asdict(profile.accelerator), "supported_ops": list(profile.accelerator.supported_ops)}
                        if profile.accelerator else None),
    }


def format_target(profile: TargetProfile) -> str:
    """The profile in full, one fact per line, each number with its unit."""
    c, m, e = profile.compute, profile.memory, profile.energy
    lines = [f"{profile.name}: {profile.description}",
             f"  file            {profile.path}"
             + (f" (inherits {' <- '.join(profile.inherits_from)})" if profile.inherits_from else ""),
             f"  kind            {profile.kind}; formats {', '.join(profile.formats)}; dtypes {', '.join(profile.dtypes)}"
             + (f"; machine {profile.machine}" if profile.machine else ""),
             "compute",
             f"  clock           {c.clock_hz / 1e6:g} MHz x {c.threads} thread(s)",
             f"  CPU variant     {profile.variant or 'base values (no variant applies)'}"]
    if profile.variant_note:  # measured on another CPU: what applies here, what does not
        lines.append(f"  on this CPU     {profile.variant_note}")
    lines += [f"  dispatch        {c.dispatch_overhead_us:g} us per op",
              f"  channels        multiple of {c.channel_multiple}; float ops {'allowed' if c.float_allowed else 'NOT allowed'}"]
    for dtype in profile.dtypes:
        peak_gmacs = c.clock_hz * c.macs_per_cycle[dtype] * c.threads / 1e9
        kinds = ", ".join(f"{kind} {fraction:g}" for kind, fraction in c.efficiency[dtype].items())
        lines.append(f"  {dtype:<15} {c.macs_per_cycle[dtype]:g} MACs/cycle/core = {peak_gmacs:g} GMAC/s peak; "
                     f"efficiency: {kinds}")
    lines += ["memory",
              f"  DRAM            {m.dram_bandwidth_bytes_per_s / 1e9:g} GB/s",
              (f"  cache           {_bytes(m.cache_bytes)} at {m.cache_bandwidth_bytes_per_s / 1e9:g} GB/s"
               if m.cache_bytes else "  cache           none"),
              f"  arena           aligned to {m.arena_alignment_bytes} B; weights {'in' if m.weights_in_ram else 'not in'} RAM",
              "energy",
              "  per MAC         " + ", ".join(f"{d} {pj:g} pJ" for d, pj in e.pj_per_mac.items()),
              f"  per byte        DRAM {e.dram_pj_per_byte:g} pJ"
              + (f", cache {e.cache_pj_per_byte:g} pJ" if e.cache_pj_per_byte is not None else ""),
              f"  static          {e.static_power_mw:g} mW"]
    if profile.mcu:
        lines += ["mcu",
                  f"  SRAM            {_bytes(profile.mcu.sram_bytes)}",
                  f"  flash           {_bytes(profile.mcu.flash_bytes)}",
                  f"  arena           {'measured with tflite-micro' if profile.mcu.use_tflm_arena else 'estimated only'}"]
    a = profile.accelerator
    if a:
        lines += ["accelerator", f"  compiler        {a.compiler}"]
        if a.compiler == "vela":
            lines.append(f"  vela            --accelerator-config {a.vela_accelerator_config} --config {a.vela_config_file} "
                         f"--system-config {a.vela_system_config} --memory-mode {a.vela_memory_mode}")
        for label, value, unit in (("TOPS int8", a.tops_int8, "TOPS"), ("TOPS/W", a.tops_per_watt, "TOPS/W")):
            if value is not None:
                lines.append(f"  {label:<15} {value:g} {unit}")
        if a.sram_bytes is not None:
            lines.append(f"  SRAM            {_bytes(a.sram_bytes)}")
        lines.append(f"  fallback        {a.fallback_target or 'none (unsupported ops costed on this profile)'}")
        lines.append(f"  supported ops   {len(a.supported_ops)}: {', '.join(a.supported_ops)}")
    return "\n".join(lines)


def _bytes(count: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:g} {unit} ({count:,} B)"
    return f"{count:,} B"
