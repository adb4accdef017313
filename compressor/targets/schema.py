"""Typed, range-checked reads from a target profile's TOML, with errors that name file, line and key.

``targets.py`` decides *what* a profile must contain; this module knows *how* to read one
value and how to point at it: ``tomllib`` keeps no positions, so ``line_of`` finds the line
that sets a key by scanning the file's ``[table]`` / ``[[array]]`` headers and assignments,
which is how profiles are written.  A key path is a tuple of names, with an integer for an
element of an array of tables: ``("compute", "variants", 0, "macs_per_cycle", "int8")``,
shown as ``compute.variants[0].macs_per_cycle.int8``.
"""

from __future__ import annotations

import configparser
import importlib.util
import math
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import TargetError

__all__ = ["Checker", "check_vela_settings", "dotted", "line_of", "where"]

_VELA_ACCELERATOR = r"ethos-u(55|65|85)-[0-9]+"  # Vela's --accelerator-config values

Keys = tuple  # of str and int


def dotted(keys: Keys) -> str:
    """``compute.variants[0].macs_per_cycle`` for ``("compute", "variants", 0, "macs_per_cycle")``."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


class Checker:
    """Reads from the merged table; errors name the nearest file that sets the key."""

    def __init__(self, data: dict[str, Any], files: tuple[Path, ...]):
        self.data, self.files = data, files  # files: the profile itself, then its parents

    def fail(self, keys: Keys, problem: str) -> TargetError:
        # A bad value may come from a parent: name the nearest file that has a line for it.
        setter = next((f for f in self.files if line_of(f, keys)), self.files[0])
        return TargetError(f"{where(setter, keys)}: {dotted(keys)}: {problem}")

    def get(self, keys: Keys, *, optional: bool = False) -> Any:
        node: Any = self.data
        for i, key in enumerate(keys):
            if isinstance(key, int):
                if not isinstance(node, list):
                    raise self.fail(keys[:i], f"expected a list of tables, got {node!r}")
                node = node[key]
                continue
            if not isinstance(node, dict):
                raise self.fail(keys[:i], f"expected a table, got {node!r}")
            if key not in node:
                if optional:
                    return None
                raise self.fail(keys, "missing")
            node = node[key]
        return node

    def table(self, keys: Keys, *, optional: bool = False) -> dict[str, Any] | None:
        value = self.get(keys, optional=optional)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(keys, f"expected a table, got {value!r}")
        return value

    def text(self, keys: Keys, *, optional: bool = False) -> str | None:
        value = self.get(keys, optional=optional)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise self.fail(keys, f"expected one non-empty line of text, got {value!r}")
        return value

    def choice(self, keys: Keys, allowed: tuple[str, ...]) -> str:
        value = self.get(keys)
        if value not in allowed:
            raise self.fail(keys, f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    def choices(self, keys: Keys, allowed: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(keys)
        if not isinstance(value, list) or not value or any(v not in allowed for v in value) \
                or len(set(value)) != len(value):
            raise self.fail(keys, f"expected a non-empty list of distinct values from "
                                  f"{', '.join(allowed)}, got {value!r}")
        return tuple(value)

    def names(self, keys: Keys, pattern: str, meaning: str) -> tuple[str, ...]:
        """A non-empty list of distinct strings, each matching ``pattern`` (``meaning`` says what)."""
        value = self.get(keys)
        if not isinstance(value, list) or not value or len(set(map(repr, value))) != len(value):
            raise self.fail(keys, f"expected a non-empty list of distinct {meaning}, got {value!r}")
        bad = [v for v in value if not isinstance(v, str) or not re.fullmatch(pattern, v)]
        if bad:
            raise self.fail(keys, f"{bad[0]!r} is not a valid {meaning.rstrip('s')}")
        return tuple(value)

    def number(self, keys: Keys, *, positive: bool, optional: bool = False,
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

    def integer(self, keys: Keys, *, optional: bool = False) -> int | None:
        value = self.get(keys, optional=optional)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(keys, f"expected an integer, got {value!r}")
        if value <= 0:
            raise self.fail(keys, f"must be > 0, got {value!r}")
        return value

    def boolean(self, keys: Keys) -> bool:
        value = self.get(keys)
        if not isinstance(value, bool):
            raise self.fail(keys, f"expected true or false, got {value!r}")
        return value

    def per_dtype(self, keys: Keys, dtypes: tuple[str, ...], *, positive: bool,
                  partial: bool = False) -> Mapping[str, float]:
        """A number per dtype; every listed dtype unless ``partial`` (an override table)."""
        table = self.get(keys)
        if not isinstance(table, dict):
            raise self.fail(keys, f"expected a table of {', '.join(dtypes)}, got {table!r}")
        missing = [d for d in dtypes if d not in table]
        if missing and not partial:
            raise self.fail((*keys, missing[0]), "missing (the profile lists it in dtypes)")
        extra = [d for d in table if d not in dtypes]
        if extra:
            raise self.fail((*keys, extra[0]), f"not in dtypes {list(dtypes)}")
        return MappingProxyType({d: self.number((*keys, d), positive=positive) for d in dtypes if d in table})


# ---------------------------------------------------------------------------- Vela settings


def check_vela_settings(c: Checker, vela: dict[str, str | None], clock_hz: float) -> dict[str, str | None]:
    """The accelerator name's form, and that the .ini has the sections and the clock we cost with.

    The .ini is found as Vela finds ``--config``: a path (relative to the profile file here),
    else inside the installed ethos-u-vela's ``config_files``.  Without Vela installed the
    sections cannot be checked here; running Vela will fail on them instead.
    """
    if not re.fullmatch(_VELA_ACCELERATOR, vela["vela_accelerator_config"]):
        raise c.fail(("accelerator", "vela_accelerator_config"),
                     f"expected a Vela accelerator such as ethos-u55-128, got {vela['vela_accelerator_config']!r}")
    ini, bundled = _find_vela_ini(vela["vela_config_file"], c.files)
    if ini is None:
        if bundled and importlib.util.find_spec("ethosu") is None:
            return vela  # Vela is not installed: nothing to check against
        raise c.fail(("accelerator", "vela_config_file"), f"no such file {vela['vela_config_file']!r} "
                                                          "(beside the profile or in ethos-u-vela's config_files)")
    if not bundled:  # Vela runs elsewhere: hand it the absolute path
        vela = {**vela, "vela_config_file": str(ini)}
    parser = configparser.ConfigParser()
    try:
        parser.read(ini, encoding="utf-8")
    except configparser.Error as error:
        raise c.fail(("accelerator", "vela_config_file"), f"cannot parse {ini}: {error}") from error
    for key, prefix in (("vela_system_config", "System_Config"), ("vela_memory_mode", "Memory_Mode")):
        if f"{prefix}.{vela[key]}" not in parser:
            known = ", ".join(s.split(".", 1)[1] for s in parser.sections() if s.startswith(prefix + "."))
            raise c.fail(("accelerator", key), f"no [{prefix}.{vela[key]}] in {ini} (it has: {known})")
    section = parser[f"System_Config.{vela['vela_system_config']}"]
    if "core_clock" in section and abs(float(section["core_clock"]) - clock_hz) > 1e-6 * clock_hz:
        raise c.fail(("compute", "clock_hz"), f"{clock_hz:g} differs from core_clock={section['core_clock']} "
                                              f"of System_Config.{vela['vela_system_config']} in {ini}")
    return vela


def _find_vela_ini(name: str, files: tuple[Path, ...]) -> tuple[Path | None, bool]:
    """(the .ini file, whether it is the one bundled with Vela); (None, True) if not found."""
    given = Path(name)
    for folder in ([] if given.is_absolute() else [f.parent for f in files]):
        if (folder / given).is_file():
            return (folder / given).resolve(), False
    if given.is_absolute():
        return (given, False) if given.is_file() else (None, False)
    spec = importlib.util.find_spec("ethosu")  # locates the package without importing Vela
    for root in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(root) / "config_files" / given
        if bundled.is_file():
            return bundled, True
    return None, True


# ---------------------------------------------------------------------------- line numbers


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_.\-\" ]+?)\s*=")


def where(path: Path, keys: Keys) -> str:
    """``file:line`` of the line that sets ``keys``, or just ``file`` when no line does."""
    line = line_of(path, keys)
    return f"{path}:{line}" if line else str(path)


def line_of(path: Path, keys: Keys) -> int | None:
    """The 1-based line that sets ``keys`` in ``path``, if any.

    Handles ``[table]`` and ``[[array]]`` headers (a ``[a.b]`` header after ``[[a]]`` is a
    table inside the array's last element, as TOML says) and dotted keys; a key inside an
    inline table is found at the line of the inline table.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    arrays: dict[tuple, int] = {}  # array-of-tables path -> index of its latest element
    table: tuple = ()
    for number, line in enumerate(lines, start=1):
        header = _HEADER.match(line)
        if header:
            parts = tuple(part.strip().strip('"') for part in header.group(2).split("."))
            table = _with_indices(parts, arrays)
            if header.group(1) == "[[":
                arrays[parts] = arrays.get(parts, -1) + 1
                table = (*table, arrays[parts])
            if table == keys or (header.group(1) == "[[" and table[:-1] == keys):
                return number
            continue
        assign = _ASSIGN.match(line)
        if not assign:
            continue
        full = table + tuple(part.strip().strip('"') for part in assign.group(1).split("."))
        if full == keys or (len(full) < len(keys) and keys[: len(full)] == full):
            return number
    return None


def _with_indices(parts: tuple[str, ...], arrays: dict[tuple, int]) -> tuple:
    """Insert the current element index after each prefix of ``parts`` that is an array of tables."""
    out: list = []
    for i, part in enumerate(parts):
        out.append(part)
        prefix = parts[: i + 1]
        if prefix in arrays and i + 1 < len(parts):
            out.append(arrays[prefix])
    return tuple(out)
