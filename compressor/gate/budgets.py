"""Budgets for ``compress check``: limits a report must stay within, as a frozen ``Budgets``.

A budgets file is TOML.  Top-level keys apply to every target; a ``[targets.NAME]`` table
overrides them for the target named NAME (the report's ``target``).  Every key is optional:

    max_size = "250KB"          # compressed.size_bytes      (artifact file)
    max_flash = "1.5MiB"        # estimate.flash_bytes
    max_peak_ram = 262144       # estimate.peak_ram_bytes    (a bare integer is bytes)
    max_latency_ms = 20         # estimate.latency_ms
    max_energy_mj = 5.0         # estimate.energy_mj
    min_accuracy = 0.95         # compressed.accuracy         (fraction in [0, 1], or "95%")
    min_agreement = "98%"       # compressed.agreement
    min_sqnr_db = 20            # the worst output's SQNR (compressed.outputs[].sqnr_db), dB
    max_regression = "5%"       # allowed worsening of each metric against --baseline

    [targets.cortex-m7]
    max_peak_ram = "320KiB"

Sizes: an integer number of bytes, or a number with a unit: B, kB/KB, MB, GB (powers of
1000) or KiB, MiB, GiB (powers of 1024), with or without a space ("250 kB").  Fractions
and percentages: "5%" is 0.05; a bare number is a fraction and must lie in [0, 1], so that
a forgotten "%" ("5") is an error rather than 500 %.  Only ``max_regression`` may pass
100 % ("150%").  Unknown keys are errors naming the key, so a typo cannot silently drop a
budget.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, DataError

__all__ = [
    "BUDGET_KEYS",
    "Budgets",
    "budgets_from_table",
    "load_budgets",
    "parse_fraction",
    "parse_size_bytes",
]

# Budget key (as written in the file and as a flag) -> Budgets field (which carries the unit).
BUDGET_KEYS: Mapping[str, str] = {
    "max_size": "max_size_bytes",
    "max_flash": "max_flash_bytes",
    "max_peak_ram": "max_peak_ram_bytes",
    "max_latency_ms": "max_latency_ms",
    "max_energy_mj": "max_energy_mj",
    "min_accuracy": "min_accuracy",
    "min_agreement": "min_agreement",
    "min_sqnr_db": "min_sqnr_db",
    "max_regression": "max_regression",
}
_SIZE_KEYS = ("max_size", "max_flash", "max_peak_ram")
_NUMBER_KEYS = ("max_latency_ms", "max_energy_mj", "min_sqnr_db")
_FRACTION_KEYS = ("min_accuracy", "min_agreement", "max_regression")
_TARGETS_TABLE = "targets"

# Decimal units are SI (kB = 1000 B); binary units are IEC (KiB = 1024 B).  "KB" is read as
# 1000 like "kB": storage vendors and most CI budgets mean that.
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_SIZE_TEXT = re.compile(r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-zA-Z]*)\s*$")
_SIZE_EXPECTED = 'a size: bytes (250000) or a number with B, kB, MB, GB, KiB, MiB or GiB ("250KB", "1.5MiB")'
_FRACTION_EXPECTED = 'a percentage ("5%") or a fraction in [0, 1]'


def parse_size_bytes(value: object, *, field: str) -> int:
    """Bytes from an int or a size text ("250KB", "1.5MiB", "250 kB"); ``ConfigError`` otherwise."""
    if isinstance(value, bool):
        raise ConfigError(field, value, _SIZE_EXPECTED)
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(field, value, _SIZE_EXPECTED)
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if not isinstance(value, str):
        raise ConfigError(field, value, _SIZE_EXPECTED)
    match = _SIZE_TEXT.match(value)
    unit = match["unit"].lower() if match else None
    if unit not in _SIZE_UNITS:
        raise ConfigError(field, value, _SIZE_EXPECTED)
    return round(float(match["number"]) * _SIZE_UNITS[unit])


def parse_fraction(value: object, *, field: str) -> float:
    """A fraction from "5%" (0.05) or a number in [0, 1]; ``ConfigError`` otherwise."""
    if isinstance(value, bool):
        raise ConfigError(field, value, _FRACTION_EXPECTED)
    text = value.strip() if isinstance(value, str) else None
    try:
        if text is not None and text.endswith("%"):
            fraction = float(text[:-1]) / 100
            if not (math.isfinite(fraction) and fraction >= 0):
                raise ValueError
            return fraction
        fraction = float(text if text is not None else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(field, value, _FRACTION_EXPECTED) from None
    if not 0 <= fraction <= 1:
        raise ConfigError(field, value, _FRACTION_EXPECTED)
    return fraction


def _parse_number(value: object, *, field: str, unit: str) -> float:
    expected = f"a number of {unit} >= 0"
    if isinstance(value, bool):
        raise ConfigError(field, value, expected)
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(field, value, expected) from None
    if not (math.isfinite(number) and number >= 0):
        raise ConfigError(field, value, expected)
    return number


@dataclass(frozen=True)
class Budgets:
    """Limits for one target; ``None`` means "not budgeted"."""

    version: int = 1
    max_size_bytes: int | None = None
    max_flash_bytes: int | None = None
    max_peak_ram_bytes: int | None = None
    max_latency_ms: float | None = None
    max_energy_mj: float | None = None
    min_accuracy: float | None = None  # fraction in [0, 1]
    min_agreement: float | None = None  # fraction in [0, 1]
    min_sqnr_db: float | None = None  # of the worst output, dB
    # Allowed worsening of each metric relative to its baseline value (0.05 = 5 %).
    max_regression: float | None = None

    def __post_init__(self) -> None:
        for key in _SIZE_KEYS:
            value = getattr(self, BUDGET_KEYS[key])
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ConfigError(key, value, "a whole number of bytes >= 0")
        for key in _NUMBER_KEYS:
            value = getattr(self, BUDGET_KEYS[key])
            if value is not None:
                _parse_number(value, field=key, unit=key.rsplit("_", 1)[1])
        for key in _FRACTION_KEYS:
            value = getattr(self, BUDGET_KEYS[key])
            # A regression may be allowed past 100 % ("150%"); accuracy and agreement cannot exceed 1.
            upper = math.inf if key == "max_regression" else 1
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not 0 <= value <= upper):
                raise ConfigError(key, value, f"a fraction in [0, {upper}]" if upper == 1 else "a fraction >= 0")

    def limit(self, key: str) -> float | int | None:
        """The limit for a budget key ("max_size", ...), or None."""
        return getattr(self, BUDGET_KEYS[key])

    def keys_set(self) -> tuple[str, ...]:
        """The budget keys that have a limit, in ``BUDGET_KEYS`` order."""
        return tuple(key for key in BUDGET_KEYS if self.limit(key) is not None)

    def merged_with(self, override: Budgets) -> Budgets:
        """A new ``Budgets``: this one's limits with every limit ``override`` sets replacing them."""
        changes = {field: getattr(override, field) for field in BUDGET_KEYS.values()
                   if getattr(override, field) is not None}
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Budget key -> limit (normalised: bytes, ms, mJ, fractions), only those set."""
        return {key: self.limit(key) for key in self.keys_set()}


def budgets_from_table(table: Mapping[str, Any], *, where: str = "") -> Budgets:
    """``Budgets`` from budget keys with raw values (a TOML table, or flags given inline).

    ``where`` prefixes field names in errors (``budgets.toml: targets.x.``)."""
    values: dict[str, Any] = {}
    for key, raw in table.items():
        field = f"{where}{key}"
        if key not in BUDGET_KEYS:
            raise ConfigError(field, raw, f"a budget key: {', '.join(BUDGET_KEYS)}")
        if key in _SIZE_KEYS:
            values[BUDGET_KEYS[key]] = parse_size_bytes(raw, field=field)
        elif key in _NUMBER_KEYS:
            values[BUDGET_KEYS[key]] = _parse_number(raw, field=field, unit=key.rsplit("_", 1)[1])
        else:
            fraction = parse_fraction(raw, field=field)
            if key != "max_regression" and fraction > 1:
                raise ConfigError(field, raw, "a fraction in [0, 1] or a percentage up to 100%")
            values[BUDGET_KEYS[key]] = fraction
    return Budgets(**values)


def load_budgets(path: Path | str, *, target: str | None) -> Budgets:
    """The budgets for ``target`` from a budgets file: global keys, then ``[targets.TARGET]``.

    Every section is validated, not only the one used, so a typo anywhere fails the check."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataError(path, "budgets file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the budgets file: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataError(path, f"not valid TOML: {error}") from None
    sections = data.pop(_TARGETS_TABLE, {})
    if not isinstance(sections, dict) or not all(isinstance(v, dict) for v in sections.values()):
        raise ConfigError(f"{path}: {_TARGETS_TABLE}", sections,
                          "tables of budgets, one per target: [targets.NAME]")
    global_budgets = budgets_from_table(data, where=f"{path}: ")
    per_target = {name: budgets_from_table(table, where=f"{path}: {_TARGETS_TABLE}.{name}.")
                  for name, table in sections.items()}
    if target is not None and target in per_target:
        return global_budgets.merged_with(per_target[target])
    return global_budgets
