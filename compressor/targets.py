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
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ._paths import targets_dir
from .cpu_flags import read_cpu_flags
from .errors import TargetError
from .graph_ir import OP_KINDS
from .target_schema import Checker, check_vela_settings, dotted, line_of, where

__all__ = [
    "AcceleratorProfile",
    "ComputeProfile",
    "EnergyProfile",
    "McuProfile",
    "MemoryProfile",
    "TargetProfile",
    "known_target_names",
    "list_targets",
    "load_target",
    "read_cpu_flags",
]

TARGET_KINDS = ("cpu", "mcu", "npu")
FORMATS = ("tflite", "onnx")
# Compute dtypes a profile may give rates for; they are the `compute_dtype` names of graph_ir.
DTYPES = ("float32", "float16", "bfloat16", "int8", "int16", "int4")
# The efficiency table of a dtype must have "other"; the op kinds it omits use "other".
EFFICIENCY_KEYS = OP_KINDS
COMPILERS = ("vela", "none")  # "vela": run ethos-u-vela; "none": cost the NPU with [compute]

_TOP_KEYS = {"name", "description", "kind", "formats", "dtypes", "inherits", "compute", "memory", "energy",
             "mcu", "accelerator"}
_COMPUTE_KEYS = {"clock_hz", "threads", "dispatch_overhead_us", "macs_per_cycle", "efficiency",
                 "channel_multiple", "float_allowed", "variants", "channel_tiles"}
_VARIANT_KEYS = {"requires_cpu_flags", "description", "dispatch_overhead_us", "macs_per_cycle", "efficiency",
                 "channel_multiple", "channel_tiles"}
_MEMORY_KEYS = {"dram_bandwidth_bytes_per_s", "cache_bytes", "cache_bandwidth_bytes_per_s",
                "arena_alignment_bytes", "weights_in_ram"}
_ENERGY_KEYS = {"pj_per_mac", "dram_pj_per_byte", "cache_pj_per_byte", "static_power_mw"}
_MCU_KEYS = {"sram_bytes", "flash_bytes", "use_tflm_arena"}
_VELA_KEYS = ("vela_accelerator_config", "vela_system_config", "vela_memory_mode", "vela_config_file")
_ACCELERATOR_KEYS = {"compiler", "supported_ops", "fallback_target", "tops_int8", "tops_per_watt",
                     "sram_bytes", *_VELA_KEYS}
_TABLES = {"compute": _COMPUTE_KEYS, "memory": _MEMORY_KEYS, "energy": _ENERGY_KEYS,
           "mcu": _MCU_KEYS, "accelerator": _ACCELERATOR_KEYS}
# Keys a child must state itself: a variant that kept its parent's name would be ambiguous.
_OWN_KEYS = ("name", "description")
_CPU_FLAG = r"[a-z0-9_]+"  # as /proc/cpuinfo spells them
_TFLITE_OP = r"[A-Z][A-Z0-9_]*"  # TFLite BuiltinOperator names: CONV_2D, DEPTHWISE_CONV_2D, ...


@dataclass(frozen=True)
class ComputeProfile:
    clock_hz: float
    threads: int
    dispatch_overhead_us: float  # fixed cost per op: kernel dispatch, not arithmetic
    macs_per_cycle: Mapping[str, float]  # peak MACs per cycle per core, by compute dtype
    efficiency: Mapping[str, Mapping[str, float]]  # dtype -> op kind -> fraction of peak, (0, 1]
    channel_multiple: int = 1  # channel counts the kernels like; others are padded up to it
    float_allowed: bool = True  # may ops stay float on this target (CPU yes; MCU/NPU no)
    # dtype -> op kind -> output-channel tile of that kernel, where it differs from channel_multiple
    channel_tiles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only views, so a profile built in code is as immutable as one from a file.
        object.__setattr__(self, "macs_per_cycle", _frozen(self.macs_per_cycle))
        object.__setattr__(self, "channel_tiles", _frozen({d: _frozen(k) for d, k in self.channel_tiles.items()}))
        object.__setattr__(self, "efficiency", _frozen({d: _frozen(k) for d, k in self.efficiency.items()}))

    def __hash__(self) -> int:
        return hash((self.clock_hz, self.threads, self.dispatch_overhead_us, _items(self.macs_per_cycle),
                     tuple((d, _items(k)) for d, k in sorted(self.efficiency.items())),
                     self.channel_multiple, self.float_allowed,
                     tuple((d, _items(k)) for d, k in sorted(self.channel_tiles.items()))))

    def channel_tile_of(self, dtype: str, kind: str) -> int:
        """Output channels the ``dtype`` ``kind`` kernel computes per pass (layers pad up to it)."""
        return self.channel_tiles.get(dtype, {}).get(kind, self.channel_multiple)

    def efficiency_of(self, dtype: str, kind: str) -> float:
        table = self.efficiency[dtype]
        return table.get(kind, table["other"])


@dataclass(frozen=True)
class MemoryProfile:
    dram_bandwidth_bytes_per_s: float
    cache_bytes: int | None  # the cache an op's working set must fit to run at cache speed
    cache_bandwidth_bytes_per_s: float | None
    arena_alignment_bytes: int  # offset alignment of tensors in the activation arena
    weights_in_ram: bool  # whether constant tensors count towards peak RAM


@dataclass(frozen=True)
class EnergyProfile:
    pj_per_mac: Mapping[str, float]  # by compute dtype
    dram_pj_per_byte: float
    cache_pj_per_byte: float | None
    static_power_mw: float  # drawn for as long as the inference runs

    def __post_init__(self) -> None:
        object.__setattr__(self, "pj_per_mac", _frozen(self.pj_per_mac))

    def __hash__(self) -> int:
        return hash((_items(self.pj_per_mac), self.dram_pj_per_byte, self.cache_pj_per_byte, self.static_power_mw))


@dataclass(frozen=True)
class McuProfile:
    sram_bytes: int  # on-chip RAM for the tensor arena (and everything else)
    flash_bytes: int  # on-chip flash for the model and the code
    use_tflm_arena: bool  # measure the exact arena with the tflite-micro interpreter


@dataclass(frozen=True)
class AcceleratorProfile:
    compiler: str  # "vela" | "none"
    supported_ops: tuple[str, ...]  # TFLite builtin op names it runs; the others fall back
    fallback_target: str | None  # shipped name or absolute .toml path of the CPU costing fallbacks
    tops_int8: float | None  # datasheet int8 TOPS
    tops_per_watt: float | None
    sram_bytes: int | None
    vela_accelerator_config: str | None  # Vela's --accelerator-config
    vela_system_config: str | None  # a System_Config section of vela_config_file
    vela_memory_mode: str | None  # a Memory_Mode section of vela_config_file
    vela_config_file: str | None  # as Vela's --config takes it (bundled "Arm/vela.ini", or a path)


@dataclass(frozen=True)
class TargetProfile:
    name: str
    description: str
    kind: str  # "cpu" | "mcu" | "npu"
    formats: tuple[str, ...]
    dtypes: tuple[str, ...]
    compute: ComputeProfile
    memory: MemoryProfile
    energy: EnergyProfile
    path: Path  # the file it was loaded from (parents are named in ``inherits_from``)
    inherits_from: tuple[str, ...] = ()  # parent chain, nearest first
    mcu: McuProfile | None = None
    accelerator: AcceleratorProfile | None = None
    variant: str | None = None  # description of the CPU variant whose rates apply; None = base


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping if isinstance(mapping, MappingProxyType) else MappingProxyType(dict(mapping))


def _items(mapping: Mapping[str, Any]) -> tuple:
    return tuple(sorted(mapping.items()))


def known_target_names() -> list[str]:
    """Names of the shipped profiles (their file stems), sorted."""
    return sorted(path.stem for path in targets_dir().glob("*.toml"))


def list_targets(*, cpu_flags: frozenset[str] | None = None) -> list[TargetProfile]:
    """Every shipped profile, loaded and checked, sorted by name."""
    return sorted((load_target(name, cpu_flags=cpu_flags) for name in known_target_names()),
                  key=lambda p: p.name)


def load_target(name_or_path: str, *, cpu_flags: frozenset[str] | None = None) -> TargetProfile:
    """A shipped profile by name (``android-arm64``) or any profile file by path (``*.toml``).

    ``cpu_flags`` picks among ``[[compute.variants]]``; ``None`` reads this machine's
    (``read_cpu_flags``), which only matters for profiles of the machine itself.
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
    merged, chain = _resolve(path, ())
    profile = _build(merged, path, tuple(p.stem for p in chain[1:]), chain, cpu_flags)
    if path.parent == targets_dir() and profile.name != path.stem:
        raise TargetError(f"{where(path, ('name',))}: name: {profile.name!r} must match "
                          f"the file name {path.stem!r}")
    return profile


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
    parent_path = _find_profile(parent_name, path, ("inherits",), "unknown parent")
    parent, chain = _resolve(parent_path, (*seen, path))
    return _merge(parent, data), (path, *chain)


def _find_profile(name: str, referrer: Path, keys: tuple[str, ...], problem: str) -> Path:
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


def _check_table(table: dict[str, Any], allowed: set[str], keys: tuple, path: Path) -> None:
    _reject_unknown(table, allowed, keys, path)
    for mapping in ("macs_per_cycle", "pj_per_mac"):
        if isinstance(table.get(mapping), dict):
            _reject_unknown(table[mapping], set(DTYPES), (*keys, mapping), path)
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


# ---------------------------------------------------------------------------- validation


def _build(data: dict[str, Any], path: Path, chain: tuple[str, ...], files: tuple[Path, ...],
           cpu_flags: frozenset[str] | None) -> TargetProfile:
    c = Checker(data, files)
    dtypes = c.choices(("dtypes",), DTYPES)
    kind = c.choice(("kind",), TARGET_KINDS)
    compute = ComputeProfile(
        clock_hz=c.number(("compute", "clock_hz"), positive=True),
        threads=c.integer(("compute", "threads")),
        dispatch_overhead_us=c.number(("compute", "dispatch_overhead_us"), positive=False),
        macs_per_cycle=c.per_dtype(("compute", "macs_per_cycle"), dtypes, positive=True),
        efficiency=_efficiency(c, ("compute", "efficiency"), dtypes, partial=False),
        channel_multiple=c.integer(("compute", "channel_multiple")),
        float_allowed=c.boolean(("compute", "float_allowed")),
        channel_tiles=_channel_tiles(c, ("compute", "channel_tiles"), dtypes),
    )
    compute, variant = _apply_variant(c, compute, dtypes, cpu_flags)
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
    )
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
    )


def _efficiency(c: Checker, keys: tuple, dtypes: tuple[str, ...], *, partial: bool) -> Mapping[str, Mapping[str, float]]:
    """dtype -> op kind -> fraction; a base table needs every dtype and its "other" kind."""
    table = c.table(keys)
    extra = [d for d in table if d not in dtypes]
    if extra:
        raise c.fail((*keys, extra[0]), f"not in dtypes {list(dtypes)}")
    efficiency: dict[str, Mapping[str, float]] = {}
    for dtype in dtypes:
        kinds = c.table((*keys, dtype), optional=partial)
        if kinds is None:
            continue
        if not partial:
            c.get((*keys, dtype, "other"))  # the fallback every kind can reach
        efficiency[dtype] = MappingProxyType({kind: c.number((*keys, dtype, kind), positive=True, fraction=True)
                                              for kind in kinds})
    return MappingProxyType(efficiency)


def _apply_variant(c: Checker, base: ComputeProfile, dtypes: tuple[str, ...],
                   cpu_flags: frozenset[str] | None) -> tuple[ComputeProfile, str | None]:
    """Every variant is checked; the first whose flags this CPU has overrides the base rates."""
    variants = c.get(("compute", "variants"), optional=True)
    if variants is None:
        return base, None
    if not isinstance(variants, list) or not variants or not all(isinstance(v, dict) for v in variants):
        raise c.fail(("compute", "variants"), "expected [[compute.variants]] tables")
    chosen: tuple[ComputeProfile, str] | None = None
    flags = read_cpu_flags() if cpu_flags is None else cpu_flags
    for index in range(len(variants)):
        keys = ("compute", "variants", index)
        required = c.names((*keys, "requires_cpu_flags"), _CPU_FLAG, "CPU flag names")
        description = c.text((*keys, "description"))
        overhead = c.number((*keys, "dispatch_overhead_us"), positive=False, optional=True)
        multiple = c.integer((*keys, "channel_multiple"), optional=True)
        tiles = _channel_tiles(c, (*keys, "channel_tiles"), dtypes)
        macs = (c.per_dtype((*keys, "macs_per_cycle"), dtypes, positive=True, partial=True)
                if c.get((*keys, "macs_per_cycle"), optional=True) is not None else {})
        efficiency = (_efficiency(c, (*keys, "efficiency"), dtypes, partial=True)
                      if c.get((*keys, "efficiency"), optional=True) is not None else {})
        if chosen is None and set(required) <= flags:
            chosen = (replace(
                base,
                dispatch_overhead_us=base.dispatch_overhead_us if overhead is None else overhead,
                channel_multiple=base.channel_multiple if multiple is None else multiple,
                channel_tiles={d: {**base.channel_tiles.get(d, {}), **tiles.get(d, {})}
                               for d in {*base.channel_tiles, *tiles}},
                macs_per_cycle={**base.macs_per_cycle, **macs},
                efficiency={d: {**base.efficiency[d], **efficiency.get(d, {})} for d in base.efficiency},
            ), description)
    return chosen if chosen is not None else (base, None)


def _channel_tiles(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Optional ``channel_tiles.<dtype>.<kind> = N`` table: kernels whose tile is not channel_multiple."""
    table = c.table(keys, optional=True)
    if table is None:
        return {}
    tiles: dict[str, dict[str, int]] = {}
    for dtype, kinds in table.items():
        if dtype not in dtypes:
            raise c.fail((*keys, dtype), f"not in dtypes {list(dtypes)}")
        if not isinstance(kinds, dict):
            raise c.fail((*keys, dtype), f"expected a table of op kinds, got {kinds!r}")
        for kind in kinds:
            if kind not in EFFICIENCY_KEYS:
                raise c.fail((*keys, dtype, kind), f"unknown op kind (known: {', '.join(EFFICIENCY_KEYS)})")
        tiles[dtype] = {kind: c.integer((*keys, dtype, kind)) for kind in kinds}
    return tiles


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
    vela = {key: c.text(("accelerator", key), optional=compiler != "vela") for key in _VELA_KEYS}
    if compiler != "vela":
        stray = next((key for key in _VELA_KEYS if vela[key] is not None), None)
        if stray:
            raise c.fail(("accelerator", stray), 'only with compiler = "vela"')
    else:
        vela = check_vela_settings(c, vela, compute.clock_hz)
    fallback = c.text(("accelerator", "fallback_target"), optional=True)
    if fallback is not None:
        keys = ("accelerator", "fallback_target")
        setter = next((f for f in c.files if line_of(f, keys)), c.files[0])
        found = _find_profile(fallback, setter, keys, "unknown target")
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
