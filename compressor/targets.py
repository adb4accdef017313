"""Target profiles: one TOML file per device in ``targets/``, loaded into a frozen ``TargetProfile``.

Targets are data (STYLE.md rule 3): every device number lives in its TOML file with its unit
in the key and a comment naming its source; this module only reads, merges and checks.  A
file may say ``inherits = "other-target"`` to start from another profile and override some
keys (tables merge key by key, like Vela's ``inherit=`` sections).

Every problem is a ``TargetError`` of one line naming the file, the key and, when it can be
found, the line: unknown keys, missing keys, wrong types, out-of-range numbers, unknown
parents and ``inherits`` loops.

    profile = load_target("android-arm64")        # a shipped profile, by name
    profile = load_target("boards/my-phone.toml")  # or any profile file
    profile.compute.macs_per_cycle["int8"]
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ._paths import targets_dir
from .errors import TargetError
from .graph_ir import OP_KINDS

__all__ = [
    "ComputeProfile",
    "EnergyProfile",
    "MemoryProfile",
    "TargetProfile",
    "known_target_names",
    "list_targets",
    "load_target",
]

TARGET_KINDS = ("cpu", "mcu", "npu")
FORMATS = ("tflite", "onnx")
# Compute dtypes a profile may give rates for; they are the `compute_dtype` names of graph_ir.
DTYPES = ("float32", "float16", "bfloat16", "int8", "int16", "int4")
# The efficiency table of a dtype must have "other"; the op kinds it omits use "other".
EFFICIENCY_KEYS = OP_KINDS

_TOP_KEYS = {"name", "description", "kind", "formats", "dtypes", "inherits", "compute", "memory", "energy"}
_COMPUTE_KEYS = {"clock_hz", "threads", "dispatch_overhead_us", "macs_per_cycle", "efficiency"}
_MEMORY_KEYS = {"dram_bandwidth_bytes_per_s", "cache_bytes", "cache_bandwidth_bytes_per_s",
                "arena_alignment_bytes", "weights_in_ram"}
_ENERGY_KEYS = {"pj_per_mac", "dram_pj_per_byte", "cache_pj_per_byte", "static_power_mw"}
_TABLES = {"compute": _COMPUTE_KEYS, "memory": _MEMORY_KEYS, "energy": _ENERGY_KEYS}
# Keys a child must state itself: a variant that kept its parent's name would be ambiguous.
_OWN_KEYS = ("name", "description")


@dataclass(frozen=True)
class ComputeProfile:
    clock_hz: float
    threads: int
    dispatch_overhead_us: float  # fixed cost per op: kernel dispatch, not arithmetic
    macs_per_cycle: Mapping[str, float]  # peak MACs per cycle per core, by compute dtype
    efficiency: Mapping[str, Mapping[str, float]]  # dtype -> op kind -> fraction of peak, (0, 1]

    def __post_init__(self) -> None:
        # Read-only views, so a profile built in code is as immutable as one from a file.
        object.__setattr__(self, "macs_per_cycle", _frozen(self.macs_per_cycle))
        object.__setattr__(self, "efficiency", _frozen({d: _frozen(k) for d, k in self.efficiency.items()}))

    def __hash__(self) -> int:
        return hash((self.clock_hz, self.threads, self.dispatch_overhead_us, _items(self.macs_per_cycle),
                     tuple((d, _items(k)) for d, k in sorted(self.efficiency.items()))))

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


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping if isinstance(mapping, MappingProxyType) else MappingProxyType(dict(mapping))


def _items(mapping: Mapping[str, Any]) -> tuple:
    return tuple(sorted(mapping.items()))


def known_target_names() -> list[str]:
    """Names of the shipped profiles (their file stems), sorted."""
    return sorted(path.stem for path in targets_dir().glob("*.toml"))


def list_targets() -> list[TargetProfile]:
    """Every shipped profile, loaded and checked, sorted by name."""
    return sorted((load_target(name) for name in known_target_names()), key=lambda p: p.name)


def load_target(name_or_path: str) -> TargetProfile:
    """A shipped profile by name (``android-arm64``) or any profile file by path (``*.toml``)."""
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
    profile = _build(merged, path, tuple(p.stem for p in chain[1:]), chain)
    if path.parent == targets_dir() and profile.name != path.stem:
        raise TargetError(f"{_where(path, ('name',))}: name: {profile.name!r} must match "
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
        raise TargetError(f"{_where(seen[-1], ('inherits',))}: inherits: loop {cycle}")
    data = _read(path)
    _check_keys(data, path)
    for key in _OWN_KEYS:
        if key not in data:
            raise TargetError(f"{path}: {key}: missing (every profile file states its own {key})")
    parent_name = data.pop("inherits", None)
    if parent_name is None:
        return data, (path,)
    if not isinstance(parent_name, str) or not parent_name:
        raise TargetError(f"{_where(path, ('inherits',))}: inherits: expected a target name, got {parent_name!r}")
    parent_path = _find_parent(parent_name, path)
    parent, chain = _resolve(parent_path, (*seen, path))
    return _merge(parent, data), (path, *chain)


def _find_parent(name: str, child: Path) -> Path:
    # A sibling file first (variants live beside their parent), then the shipped folder.
    for folder in (child.parent, targets_dir()):
        found = folder / (name if name.endswith(".toml") else f"{name}.toml")
        if found.is_file():
            return found.resolve()
    known = ", ".join(known_target_names()) or "none"
    raise TargetError(f"{_where(child, ('inherits',))}: inherits: unknown parent {name!r}; "
                      f"known targets: {known}")


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
            _reject_unknown(data[table], allowed, (table,), path)
            for mapping in ("macs_per_cycle", "pj_per_mac"):
                if isinstance(data[table].get(mapping), dict):
                    _reject_unknown(data[table][mapping], set(DTYPES), (table, mapping), path)
            efficiency = data[table].get("efficiency")
            if isinstance(efficiency, dict):
                _reject_unknown(efficiency, set(DTYPES), (table, "efficiency"), path)
                for dtype, kinds in efficiency.items():
                    if isinstance(kinds, dict):
                        _reject_unknown(kinds, set(EFFICIENCY_KEYS), (table, "efficiency", dtype), path)


def _reject_unknown(table: dict[str, Any], allowed: set[str], where: tuple[str, ...], path: Path) -> None:
    for key in table:
        if key not in allowed:
            dotted = ".".join((*where, key))
            raise TargetError(f"{_where(path, (*where, key))}: {dotted}: unknown key "
                              f"(allowed here: {', '.join(sorted(allowed))})")


# ---------------------------------------------------------------------------- validation


class _Checker:
    """Typed, range-checked reads from the merged table; errors name the file that set the key."""

    def __init__(self, data: dict[str, Any], files: tuple[Path, ...]):
        self.data, self.files = data, files  # files: the profile itself, then its parents

    def fail(self, keys: tuple[str, ...], problem: str) -> TargetError:
        # Name the nearest file that sets the key (a bad value may come from a parent).
        setter = next((f for f in self.files if _line_of(f, keys)), self.files[0])
        return TargetError(f"{_where(setter, keys)}: {'.'.join(keys)}: {problem}")

    def get(self, keys: tuple[str, ...], *, optional: bool = False) -> Any:
        node: Any = self.data
        for i, key in enumerate(keys):
            if not isinstance(node, dict):
                raise self.fail(keys[:i], f"expected a table, got {node!r}")
            if key not in node:
                if optional:
                    return None
                raise self.fail(keys, "missing")
            node = node[key]
        return node

    def text(self, keys: tuple[str, ...]) -> str:
        value = self.get(keys)
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise self.fail(keys, f"expected one non-empty line of text, got {value!r}")
        return value

    def choice(self, keys: tuple[str, ...], allowed: tuple[str, ...]) -> str:
        value = self.get(keys)
        if value not in allowed:
            raise self.fail(keys, f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    def choices(self, keys: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(keys)
        if not isinstance(value, list) or not value or any(v not in allowed for v in value) \
                or len(set(value)) != len(value):
            raise self.fail(keys, f"expected a non-empty list of distinct values from "
                                  f"{', '.join(allowed)}, got {value!r}")
        return tuple(value)

    def number(self, keys: tuple[str, ...], *, positive: bool, optional: bool = False,
               fraction: bool = False) -> float | None:
        value = self.get(keys, optional=optional)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(keys, f"expected a number, got {value!r}")
        if fraction and not 0 < value <= 1:
            raise self.fail(keys, f"expected a fraction in (0, 1], got {value!r}")
        if positive and value <= 0:
            raise self.fail(keys, f"must be > 0, got {value!r}")
        if value < 0:
            raise self.fail(keys, f"must be >= 0, got {value!r}")
        return float(value)

    def integer(self, keys: tuple[str, ...], *, optional: bool = False) -> int | None:
        value = self.get(keys, optional=optional)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(keys, f"expected an integer, got {value!r}")
        if value <= 0:
            raise self.fail(keys, f"must be > 0, got {value!r}")
        return value

    def boolean(self, keys: tuple[str, ...]) -> bool:
        value = self.get(keys)
        if not isinstance(value, bool):
            raise self.fail(keys, f"expected true or false, got {value!r}")
        return value

    def per_dtype(self, keys: tuple[str, ...], dtypes: tuple[str, ...], *, positive: bool) -> Mapping[str, float]:
        table = self.get(keys)
        if not isinstance(table, dict):
            raise self.fail(keys, f"expected a table of {', '.join(dtypes)}, got {table!r}")
        missing = [d for d in dtypes if d not in table]
        if missing:
            raise self.fail((*keys, missing[0]), "missing (the profile lists it in dtypes)")
        extra = [d for d in table if d not in dtypes]
        if extra:
            raise self.fail((*keys, extra[0]), f"not in dtypes {list(dtypes)}")
        return MappingProxyType({d: self.number((*keys, d), positive=positive) for d in dtypes})


def _build(data: dict[str, Any], path: Path, chain: tuple[str, ...], files: tuple[Path, ...]) -> TargetProfile:
    c = _Checker(data, files)
    dtypes = c.choices(("dtypes",), DTYPES)
    efficiency: dict[str, Mapping[str, float]] = {}
    table = c.get(("compute", "efficiency"))
    if not isinstance(table, dict):
        raise c.fail(("compute", "efficiency"), f"expected a table per dtype, got {table!r}")
    for dtype in dtypes:
        kinds = c.get(("compute", "efficiency", dtype))
        if not isinstance(kinds, dict):
            raise c.fail(("compute", "efficiency", dtype), f"expected a table of op kinds, got {kinds!r}")
        c.get(("compute", "efficiency", dtype, "other"))  # the fallback every kind can reach
        efficiency[dtype] = MappingProxyType({kind: c.number(("compute", "efficiency", dtype, kind),
                                                             positive=True, fraction=True) for kind in kinds})
    extra = [d for d in table if d not in dtypes]
    if extra:
        raise c.fail(("compute", "efficiency", extra[0]), f"not in dtypes {list(dtypes)}")
    compute = ComputeProfile(
        clock_hz=c.number(("compute", "clock_hz"), positive=True),
        threads=c.integer(("compute", "threads")),
        dispatch_overhead_us=c.number(("compute", "dispatch_overhead_us"), positive=False),
        macs_per_cycle=c.per_dtype(("compute", "macs_per_cycle"), dtypes, positive=True),
        efficiency=MappingProxyType(efficiency),
    )
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
        kind=c.choice(("kind",), TARGET_KINDS), formats=c.choices(("formats",), FORMATS), dtypes=dtypes,
        compute=compute, memory=memory, energy=energy, path=path, inherits_from=chain,
    )


# ---------------------------------------------------------------------------- line numbers


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_.\-\" ]+?)\s*=")


def _where(path: Path, keys: tuple[str, ...]) -> str:
    """``file:line`` of the line that sets ``keys``, or just ``file`` when no line does."""
    line = _line_of(path, keys)
    return f"{path}:{line}" if line else str(path)


def _line_of(path: Path, keys: tuple[str, ...]) -> int | None:
    """The 1-based line that sets ``keys`` in ``path``, if any (tomllib keeps no positions).

    Handles ``[table]`` headers and dotted keys, which is how our profiles are written; a key
    inside an inline table is found at the line of the inline table.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    table: tuple[str, ...] = ()
    for number, line in enumerate(lines, start=1):
        header = _HEADER.match(line)
        if header:
            table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            if table == keys:
                return number
            continue
        assign = _ASSIGN.match(line)
        if not assign:
            continue
        full = table + tuple(part.strip().strip('"') for part in assign.group(1).split("."))
        if full == keys or (len(full) < len(keys) and keys[: len(full)] == full):
            return number
    return None
