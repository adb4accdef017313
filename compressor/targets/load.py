"""Target profiles: one TOML file per device in ``targets/``, loaded into a frozen ``TargetProfile``.

Targets are data (STYLE.md rule 3): every device number lives in its TOML file with its unit
in the key and a comment naming its source; this module only reads, merges and checks.  A
file may say ``inherits = "other-target"`` to start from another profile and override some
keys (tables merge key by key, like Vela's ``inherit=`` sections; lists are replaced).

Beyond ``[compute]``, ``[memory]`` and ``[energy]`` (every profile), a profile may have
``[[compute.variants]]`` (rates that apply only on a CPU with the named ``/proc/cpuinfo``
features: the first variant whose flags are all present overrides the base values), ``[mcu]``
(the microcontroller's SRAM and flash; required for ``kind = "mcu"``) and ``[accelerator]``
(``kind = "npu"`` only, and required there: the ops it runs, the Vela settings or the
datasheet TOPS).

Every problem is a ``TargetError`` of one line naming the file, the key and, when it can be
found, the line: unknown keys, missing keys, wrong types, out-of-range numbers, unknown
parents and ``inherits`` loops, a System_Config missing from the Vela .ini.

    profile = load_target("android-arm64")        # a shipped profile, by name
    profile = load_target("boards/my-phone.toml")  # or any profile file
    profile = load_target("host-x86", cpu_flags=frozenset({"avx2"}))  # as on an AVX2-only CPU
    profile.compute.macs_per_cycle["int8"], profile.variant

The work is split three ways: ``target_profile.py`` holds the frozen dataclasses and the
values their fields may take, ``target_loader.py`` reads a file and its ``inherits`` chain
(merging, unknown keys, loops), and this module checks the merged values (types, ranges,
required tables, CPU variants, the accelerator) and builds the ``TargetProfile``.  The
public names of all three are importable from here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..files import targets_dir
from .cpu_flags import read_cpu_flags, read_cpu_identity
from ..errors import TargetError
from .files import VARIANT_OVER_KEYS, VELA_KEYS, find_profile, known_target_names, resolve_profile
from .types import (COMPILERS, CPU_FLAGS, CPU_SCALARS, CPU_TILES, DTYPES, FORMATS, PARALLEL_KEYS, RUNTIME_CURVES, TARGET_KINDS, AcceleratorProfile,
                    ComputeProfile, EnergyProfile, KernelTerms, McuProfile, MemoryProfile, RuntimeCost, TargetProfile)
from .schema import Checker, check_vela_settings, line_of, where
from .tables import (channel_tiles_table, cpu_entries, cpu_runtime_tables, efficiency_table, extension_tables,
                     overlay, own_runtime_tables, runtimes_table)

__all__ = [
    "AcceleratorProfile",
    "ComputeProfile",
    "EnergyProfile",
    "KernelTerms",
    "McuProfile",
    "MemoryProfile",
    "TargetProfile",
    "known_target_names",
    "list_targets",
    "load_target",
    "read_cpu_flags",
    "with_threads",
]

_CPU_FLAG = r"[a-z0-9_]+"  # as /proc/cpuinfo spells them
_TFLITE_OP = r"[A-Z][A-Z0-9_]*"  # TFLite BuiltinOperator names: CONV_2D, DEPTHWISE_CONV_2D, ...


def list_targets(*, cpu_flags: frozenset[str] | None = None) -> list[TargetProfile]:
    """Every shipped profile, loaded and checked, sorted by name."""
    return sorted((load_target(name, cpu_flags=cpu_flags) for name in known_target_names()),
                  key=lambda p: p.name)


def load_target(name_or_path: str, *, cpu_flags: frozenset[str] | None = None,
                cpu_identity: str | None = None) -> TargetProfile:
    """A shipped profile by name (``android-arm64``) or any profile file by path (``*.toml``).

    ``cpu_flags`` picks among ``[[compute.variants]]``; ``None`` reads this machine's
    (``read_cpu_flags``), which only matters for profiles of the machine itself.  ``cpu_identity``
    (``"GenuineIntel family 6 model 167"``) names the CPU for ``[[memory.cpus]]`` and a variant's
    ``measured_on``; ``None`` reads this machine's unless ``cpu_flags`` name another CPU.
    """
    text = str(name_or_path)
    candidate = Path(text)
    if text.endswith(".toml") or candidate.is_file():
        if not candidate.is_file():
            raise TargetError(f"{candidate}: no such target file")
        path = candidate.resolve()
    else:
        path = targets_dir() / f"{text}.toml"
        if not path.is_file():
            known = ", ".join(known_target_names()) or "none"
            raise TargetError(f"unknown target {text!r}; known targets: {known} (or give a .toml file)")
    return _load_path(path, cpu_flags, loading=(), cpu_identity=cpu_identity)


def with_threads(profile: TargetProfile, threads: int | None) -> TargetProfile:
    """``profile`` running ``threads`` runtime threads (``--threads``): its measured thread split
    (``parallel``) then prices the others.  ``None`` keeps the profile's own.  A CPU target only:
    an MCU or an NPU has the cores its file says."""
    if threads is None or threads == profile.compute.threads:
        return profile
    if threads < 1:
        raise TargetError(f"--threads: expected a positive thread count, got {threads}")
    if profile.kind != "cpu":
        raise TargetError(f"{profile.path}: --threads {threads}: {profile.name} is a {profile.kind} target that "
                          f"runs {profile.compute.threads} thread(s); threads apply to CPU targets only")
    return replace(profile, compute=replace(profile.compute, threads=threads))


def _load_path(path: Path, cpu_flags: frozenset[str] | None, *, loading: tuple[Path, ...],
               cpu_identity: str | None = None) -> TargetProfile:
    """The profile at ``path`` with its fallback CPU loaded too (``accelerator.fallback_target``),
    so every user costs fallback ops on the one profile; a fallback chain that loops is refused."""
    merged, chain = resolve_profile(path)
    identity = cpu_identity if cpu_identity is not None else (read_cpu_identity() if cpu_flags is None else None)
    profile = _build(merged, path, tuple(p.stem for p in chain[1:]), chain, cpu_flags, identity)
    if path.parent == targets_dir() and profile.name != path.stem:
        raise TargetError(f"{where(path, ('name',))}: name: {profile.name!r} must match "
                          f"the file name {path.stem!r}")
    accelerator = profile.accelerator
    if accelerator is None or accelerator.fallback_target is None:
        return profile
    name = accelerator.fallback_target
    fallback_path = (Path(name) if name.endswith(".toml") else targets_dir() / f"{name}.toml").resolve()
    if fallback_path in (*loading, path):
        chain_text = " -> ".join(p.stem for p in (*loading, path, fallback_path))
        raise TargetError(f"{where(path, ('accelerator', 'fallback_target'))}: loops back ({chain_text})")
    return replace(profile, fallback=_load_path(fallback_path, cpu_flags, loading=(*loading, path),
                                                cpu_identity=cpu_identity))


# ---------------------------------------------------------------------------- validation


def _build(data: dict[str, Any], path: Path, chain: tuple[str, ...], files: tuple[Path, ...],
           cpu_flags: frozenset[str] | None, identity: str | None = None) -> TargetProfile:
    c = Checker(data, files)
    dtypes = c.choices(("dtypes",), DTYPES)
    kind = c.choice(("kind",), TARGET_KINDS)
    compute = ComputeProfile(
        clock_hz=c.number(("compute", "clock_hz"), positive=True),
        threads=c.integer(("compute", "threads")),
        dispatch_overhead_us=c.number(("compute", "dispatch_overhead_us"), positive=False),
        macs_per_cycle=c.per_dtype(("compute", "macs_per_cycle"), dtypes, positive=True),
        efficiency=efficiency_table(c, ("compute", "efficiency"), dtypes, partial=False),
        channel_multiple=c.integer(("compute", "channel_multiple")),
        float_allowed=c.boolean(("compute", "float_allowed")),
        channel_tiles=channel_tiles_table(c, ("compute", "channel_tiles"), dtypes),
        runtimes=runtimes_table(c, ("compute", "runtimes"), dtypes),
    )
    compute, variant, variant_note = _apply_variant(c, compute, dtypes, cpu_flags, identity)
    cache_keys = (("memory", "cache_bytes"), ("memory", "cache_bandwidth_bytes_per_s"), ("energy", "cache_pj_per_byte"))
    present = [keys for keys in cache_keys if c.get(keys, optional=True) is not None]
    if present and len(present) != len(cache_keys):
        absent = next(keys for keys in cache_keys if keys not in present)
        raise c.fail(absent, f"missing (a cache needs all of {', '.join('.'.join(k) for k in cache_keys)})")
    memory = MemoryProfile(
        dram_bandwidth_bytes_per_s=c.number(("memory", "dram_bandwidth_bytes_per_s"), positive=True),
        cache_bytes=c.integer(("memory", "cache_bytes"), optional=True),
        cache_bandwidth_bytes_per_s=c.number(("memory", "cache_bandwidth_bytes_per_s"), positive=True, optional=True),
        arena_alignment_bytes=c.integer(("memory", "arena_alignment_bytes")),
        weights_in_ram=c.boolean(("memory", "weights_in_ram")),
        private_cache_bytes=c.integer(("memory", "private_cache_bytes"), optional=True),
    )
    memory = _memory_of_this_cpu(c, memory, identity)
    energy = EnergyProfile(
        pj_per_mac=c.per_dtype(("energy", "pj_per_mac"), dtypes, positive=False),
        dram_pj_per_byte=c.number(("energy", "dram_pj_per_byte"), positive=False),
        cache_pj_per_byte=c.number(("energy", "cache_pj_per_byte"), positive=False, optional=True),
        static_power_mw=c.number(("energy", "static_power_mw"), positive=False),
    )
    return TargetProfile(
        name=c.text(("name",)), description=c.text(("description",)),
        kind=kind, formats=c.choices(("formats",), FORMATS), dtypes=dtypes,
        compute=compute, memory=memory, energy=energy, path=path, inherits_from=chain,
        mcu=_mcu(c, kind), accelerator=_accelerator(c, kind, compute), variant=variant,
        variant_note=variant_note, machine=c.text(("machine",), optional=True),
    )


def _memory_of_this_cpu(c: Checker, memory: MemoryProfile, here: str | None) -> MemoryProfile:
    """``[[memory.cpus]]``: a CPU model's own caches and bandwidths (``cpu`` as ``read_cpu_identity``
    names it) over the table's, on that CPU (``here``); every entry is checked."""
    for keys, is_here in cpu_entries(c, ("memory", "cpus"), here):
        values = {name: c.number((*keys, name), positive=True, optional=True)
                  for name in ("dram_bandwidth_bytes_per_s", "cache_bandwidth_bytes_per_s")}
        values |= {name: c.integer((*keys, name), optional=True) for name in ("cache_bytes", "private_cache_bytes")}
        values["cache_bandwidth_curve"] = _rate_curve(c, (*keys, "cache_bandwidth_curve")) or None
        values["stream_curve"] = _rate_curve(c, (*keys, "stream_curve")) or None
        if is_here:
            memory = replace(memory, **{k: v for k, v in values.items() if v is not None})
    return memory


def _rate_curve(c: Checker, keys: tuple) -> tuple[tuple[float, float], ...]:
    """``[[bytes, bytes per second], ...]``, bytes ascending, all positive; () when absent."""
    raw = c.get(keys, optional=True)
    if raw is None:
        return ()
    pairs = raw if isinstance(raw, list) else []
    if not pairs or not all(isinstance(p, list) and len(p) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in p) for p in pairs) \
            or [p[0] for p in pairs] != sorted({p[0] for p in pairs}):
        raise c.fail(keys, "a list of [bytes, bytes per second] pairs, positive, bytes ascending")
    return tuple((float(a), float(b)) for a, b in pairs)


def _apply_variant(c: Checker, base: ComputeProfile, dtypes: tuple[str, ...],
                   cpu_flags: frozenset[str] | None, here: str | None) -> tuple[ComputeProfile, str | None, str | None]:
    """Every variant is checked; the first whose flags this CPU has overrides the base rates.
    A variant's ``measured_on`` (the CPU its rates were measured on, as ``read_cpu_identity``
    names it) that is not the CPU ``here`` gives a note for the estimates."""
    variants = c.get(("compute", "variants"), optional=True)
    if variants is None:
        return base, None, None
    if not isinstance(variants, list) or not variants or not all(isinstance(v, dict) for v in variants):
        raise c.fail(("compute", "variants"), "expected [[compute.variants]] tables")
    chosen: tuple[ComputeProfile, str, str | None, bool, list[str]] | None = None
    parsed: dict[str, dict[str, RuntimeCost]] = {}  # each variant's runtime tables, by description
    flags = cpu_flags if cpu_flags is not None else _flags_of(variants, here) or read_cpu_flags()
    for index in range(len(variants)):
        keys = ("compute", "variants", index)
        required = c.names((*keys, "requires_cpu_flags"), _CPU_FLAG, "CPU flag names")
        description = c.text((*keys, "description"))
        measured_on = c.text((*keys, "measured_on"), optional=True)
        overhead = c.number((*keys, "dispatch_overhead_us"), positive=False, optional=True)
        multiple = c.integer((*keys, "channel_multiple"), optional=True)
        tiles = channel_tiles_table(c, (*keys, "channel_tiles"), dtypes)
        source = c.text((*keys, "runtimes_from"), optional=True)
        if source is None:
            runtimes = runtimes_table(c, (*keys, "runtimes"), dtypes)
        elif source not in parsed:
            raise c.fail((*keys, "runtimes_from"), f"names no earlier variant (their descriptions: {list(parsed)})")
        else:  # another variant's tables, with the keys this one names laid over them
            runtimes = _lay_over(c, (*keys, "runtimes"), dict(parsed[source]),
                                 own_runtime_tables(c, (*keys, "runtimes"), dtypes, allowed=VARIANT_OVER_KEYS)
                                 if c.get((*keys, "runtimes"), optional=True) is not None else {})
        parsed[description] = runtimes
        cpu_own = cpu_runtime_tables(c, keys, dtypes, here)
        extensions, ext_own = extension_tables(c, keys, dtypes, flags, _CPU_FLAG)
        macs = (c.per_dtype((*keys, "macs_per_cycle"), dtypes, positive=True, partial=True)
                if c.get((*keys, "macs_per_cycle"), optional=True) is not None else {})
        efficiency = (efficiency_table(c, (*keys, "efficiency"), dtypes, partial=True)
                      if c.get((*keys, "efficiency"), optional=True) is not None else {})
        if chosen is None and set(required) <= flags:
            merged = _lay_over(c, (*keys, "cpus"), {**base.runtimes, **runtimes}, cpu_own)
            for fmt, own in ext_own.items():  # the kernels this CPU's extra flags switch the runtime to
                if fmt not in merged:
                    raise c.fail((*keys, "extensions"), f"names runtime {fmt!r}, which the variant has no costs for")
                merged[fmt] = replace(merged[fmt], **{name: overlay(getattr(merged[fmt], name), table)
                                                      for name, table in own.items()})
            chosen = (replace(
                base,
                dispatch_overhead_us=base.dispatch_overhead_us if overhead is None else overhead,
                channel_multiple=base.channel_multiple if multiple is None else multiple,
                channel_tiles=overlay(base.channel_tiles, tiles),
                macs_per_cycle={**base.macs_per_cycle, **macs},
                runtimes=merged,
                efficiency={d: {**base.efficiency[d], **efficiency.get(d, {})} for d in base.efficiency},
            ), description, measured_on, _measured_here(cpu_own), extensions)
    if chosen is None:
        return base, None, None
    profile, description, measured_on, own, extensions = chosen
    verb = "were" if " and " in own or own.endswith("rates") else "was"  # "its thread split was measured"
    mine = ([f"its {own} {verb} measured on it"] if own else []) + \
        [f"{' + '.join(extensions)} replace those rates where they apply"] * bool(extensions)
    split = f" ({'; '.join(mine)})" if mine else ""
    note = None
    if here and measured_on and here != measured_on:
        note = (f"this CPU ({here}) has its own measured {own}{' + ' + ' + '.join(extensions) if extensions else ''}; "
                f"the rest comes from the {description!r} variant, measured on {measured_on} (README: 'On another CPU')"
                if own.startswith("kernel rates") else
                f"the {description!r} rates were measured on {measured_on}; this CPU is {here}{split}: expect larger "
                "errors (README: 'On another CPU')")
    return profile, " + ".join([description, *extensions]), note


def _flags_of(variants: list[dict], cpu: str | None) -> frozenset[str]:
    """The flags of ``cpu`` (another machine's, named by ``cpu_identity``) as the profile knows
    them: those of the variants and extensions measured on it or holding an entry of its own, so
    the profile is loaded as that CPU sees it, whatever machine loads it; empty for this
    machine's own CPU or one the profile does not name (then this machine's flags are read)."""
    if cpu is None or cpu == read_cpu_identity():
        return frozenset()
    names = lambda entry: entry.get("measured_on") == cpu or any(  # noqa: E731
        isinstance(own, dict) and own.get("cpu") == cpu for own in entry.get("cpus") or ())
    flags: set[str] = set()
    for variant in variants:
        for entry in (variant, *(variant.get("extensions") or ())):
            if isinstance(entry, dict) and names(entry) and isinstance(entry.get("requires_cpu_flags"), list):
                flags.update(str(flag) for flag in entry["requires_cpu_flags"])
    return frozenset(flags)


def _lay_over(c: Checker, keys: tuple, merged: dict[str, RuntimeCost],
              own_tables: dict[str, dict[str, Any]]) -> dict[str, RuntimeCost]:
    """``merged``'s runtime tables with the keys ``own_tables`` names (a CPU entry's, or a variant's
    over the variant it takes its tables from) laid over them, format by format."""
    for fmt, own in own_tables.items():
        if fmt not in merged:
            raise c.fail(keys, f"names runtime {fmt!r}, which the variant has no costs for")
        parallel = {**merged[fmt].parallel, **{dtype: {**merged[fmt].parallel.get(dtype, {}), **table}
                                               for dtype, table in own.get("parallel", {}).items()}}
        for dtype, table in parallel.items():
            if missing := [key for key in PARALLEL_KEYS if key not in table]:
                raise c.fail(keys, f"runtimes.{fmt}.parallel.{dtype} needs {missing[0]} "
                                   "(the variant has no such table to lay it over)")
        merged[fmt] = replace(merged[fmt], parallel=parallel,
                              **{name: {**getattr(merged[fmt], name), **own[name]}
                                 for name in (*RUNTIME_CURVES, "rnn_steps") if name in own},
                              kernels=overlay(merged[fmt].kernels, own.get("kernels", {})),
                              **{name: overlay(getattr(merged[fmt], name), own[name])
                                 for name in (*CPU_TILES, "igemm_rows", "igemm_cols", "task_weight_reads",
                                              "int8_pair_factors") if name in own},
                              **{k: own[k] for k in (*CPU_SCALARS, *CPU_FLAGS) if k in own})
    return merged


def _mcu(c: Checker, kind: str) -> McuProfile | None:
    if c.table(("mcu",), optional=True) is None:
        if kind == "mcu":
            raise c.fail(("mcu",), 'missing (kind = "mcu" needs an [mcu] table: sram_bytes, flash_bytes, use_tflm_arena)')
        return None
    if kind == "cpu":
        raise c.fail(("mcu",), 'only for kind = "mcu" or an NPU hosted by an MCU, not kind = "cpu"')
    return McuProfile(sram_bytes=c.integer(("mcu", "sram_bytes")), flash_bytes=c.integer(("mcu", "flash_bytes")),
                      use_tflm_arena=c.boolean(("mcu", "use_tflm_arena")))


def _accelerator(c: Checker, kind: str, compute: ComputeProfile) -> AcceleratorProfile | None:
    keys = ("accelerator",)
    table = c.table(keys, optional=True)
    if table is None:
        if kind == "npu":
            raise c.fail(keys, 'missing (kind = "npu" needs an [accelerator] table)')
        return None
    if kind != "npu":
        raise c.fail(keys, f'only for kind = "npu", not kind = {kind!r}')
    compiler = c.choice(("accelerator", "compiler"), COMPILERS)
    vela = {key: c.text(("accelerator", key), optional=compiler != "vela") for key in VELA_KEYS}
    if compiler != "vela":
        stray = next((key for key in VELA_KEYS if vela[key] is not None), None)
        if stray:
            raise c.fail(("accelerator", stray), 'only with compiler = "vela"')
    else:
        vela = check_vela_settings(c, vela, compute.clock_hz)
    fallback = c.text(("accelerator", "fallback_target"), optional=True)
    if fallback is not None:
        keys = ("accelerator", "fallback_target")
        setter = next((f for f in c.files if line_of(f, keys)), c.files[0])
        found = find_profile(fallback, setter, keys, "unknown target")
        if found == c.files[0]:
            raise c.fail(keys, "names this profile itself; name the CPU that runs the ops the NPU cannot")
        fallback = fallback if found.parent == targets_dir() else str(found)
    return AcceleratorProfile(
        compiler=compiler,
        supported_ops=c.names(("accelerator", "supported_ops"), _TFLITE_OP, "TFLite builtin op names"),
        fallback_target=fallback,
        tops_int8=c.number(("accelerator", "tops_int8"), positive=True, optional=True),
        tops_per_watt=c.number(("accelerator", "tops_per_watt"), positive=True, optional=True),
        sram_bytes=c.integer(("accelerator", "sram_bytes"), optional=True),
        **vela,
    )


def _measured_here(cpu_own: dict[str, dict[str, Any]]) -> str:
    """What a CPU's own entry replaced, in words: "kernel rates, thread split and weight streaming"."""
    streaming = ("weight_stream", "conv_weight_stream")
    names = {"kernel rates": ("kernels", "rnn_steps", "int8_pair_factors", "task_weight_reads", *CPU_TILES,
                              *(name for name in RUNTIME_CURVES if name not in streaming),
                              *(name for name in CPU_SCALARS if name not in ("dispatch_overhead_us", "invoke_overhead_us"))),
             "thread split": ("parallel",),
             "weight streaming": streaming}
    parts = [words for words, keys in names.items() if any(k in own for own in cpu_own.values() for k in keys)]
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
