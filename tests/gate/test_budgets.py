"""Budgets: size and percentage parsing, the TOML file with per-target tables, validation."""

from __future__ import annotations

import dataclasses

import pytest

from compressor.gate.budgets import Budgets, budgets_from_table, load_budgets, parse_fraction, parse_size_bytes
from compressor.errors import ConfigError, DataError


@pytest.mark.parametrize("text, expected", [
    (250_000, 250_000),
    ("250KB", 250_000),
    ("250 kB", 250_000),
    ("250kb", 250_000),
    ("1.5MiB", 1_572_864),
    ("1.5 MB", 1_500_000),
    ("64KiB", 65_536),
    ("2GiB", 2 * 1024**3),
    ("1GB", 10**9),
    ("512B", 512),
    ("512", 512),
    (".5KiB", 512),
    (4096.0, 4096),
])
def test_sizes_accept_si_and_iec_units(text, expected):
    assert parse_size_bytes(text, field="max_size") == expected


@pytest.mark.parametrize("text", ["250K", "1.5 Mb/s", "MiB", "-5KB", "", "lots", -1, True, 1.5, [250], "1e3KB"])
def test_bad_sizes_name_the_field(text):
    with pytest.raises(ConfigError) as error:
        parse_size_bytes(text, field="max_flash")
    assert str(error.value).startswith("max_flash: got ")
    assert "KiB" in str(error.value)


@pytest.mark.parametrize("text, expected", [("5%", 0.05), (" 97.5% ", 0.975), ("0.05", 0.05), (0.05, 0.05),
                                            (1, 1.0), (0, 0.0), ("150%", 1.5)])
def test_fractions_and_percentages(text, expected):
    assert parse_fraction(text, field="max_regression") == pytest.approx(expected)


@pytest.mark.parametrize("text", ["5", 5, 1.2, "-5%", "five%", "%", None, False, "nan%"])
def test_bare_numbers_above_one_are_not_guessed_as_percent(text):
    with pytest.raises(ConfigError) as error:
        parse_fraction(text, field="min_accuracy")
    assert "min_accuracy" in str(error.value) and "5%" in str(error.value)


def test_budgets_is_frozen_and_validated():
    budgets = Budgets(max_size_bytes=10, max_latency_ms=2.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        budgets.max_size_bytes = 20  # type: ignore[misc]
    with pytest.raises(ConfigError, match="min_accuracy"):
        Budgets(min_accuracy=97)
    with pytest.raises(ConfigError, match="max_size"):
        Budgets(max_size_bytes=-1)
    with pytest.raises(ConfigError, match="max_latency_ms"):
        Budgets(max_latency_ms=float("inf"))
    assert budgets.keys_set() == ("max_size", "max_latency_ms")
    assert budgets.to_dict() == {"max_size": 10, "max_latency_ms": 2.5}


def test_inline_table_normalises_units():
    budgets = budgets_from_table({"max_size": "250KB", "max_peak_ram": "320KiB", "max_latency_ms": "20",
                                  "max_energy_mj": 1.5, "min_accuracy": "95%", "min_agreement": 0.98,
                                  "max_regression": "5%"})
    assert budgets == Budgets(max_size_bytes=250_000, max_peak_ram_bytes=327_680, max_latency_ms=20.0,
                              max_energy_mj=1.5, min_accuracy=0.95, min_agreement=0.98, max_regression=0.05)


def test_file_target_table_overrides_globals(tmp_path):
    path = tmp_path / "budgets.toml"
    path.write_text('max_size = "250KB"\nmax_latency_ms = 20\n'
                    '[targets.android-arm64]\nmax_latency_ms = 5\nmin_accuracy = 0.9\n'
                    '[targets.cortex-m7]\nmax_peak_ram = "320KiB"\n')
    phone = load_budgets(path, target="android-arm64")
    assert phone.max_size_bytes == 250_000 and phone.max_latency_ms == 5 and phone.min_accuracy == 0.9
    assert phone.max_peak_ram_bytes is None
    other = load_budgets(path, target="host-x86")
    assert other == Budgets(max_size_bytes=250_000, max_latency_ms=20)


def test_merged_with_replaces_only_what_is_set():
    base = Budgets(max_size_bytes=100, max_latency_ms=5)
    merged = base.merged_with(Budgets(max_latency_ms=3))
    assert merged == Budgets(max_size_bytes=100, max_latency_ms=3) and base.max_latency_ms == 5


@pytest.mark.parametrize("text, names", [
    ('max_sise = "250KB"\n', "max_sise"),
    ('[targets.android-arm64]\nmax_latency = 5\n', "targets.android-arm64.max_latency"),
    ('[targets.other]\nmin_accuracy = 97\n', "targets.other.min_accuracy"),
    ('targets = 3\n', "targets"),
    ('max_size = "250 furlongs"\n', "max_size"),
])
def test_file_errors_name_the_key(tmp_path, text, names):
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_budgets(path, target="android-arm64")
    assert f"{path}: {names}" in str(error.value)


def test_missing_or_broken_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_budgets(tmp_path / "nope.toml", target=None)
    (tmp_path / "bad.toml").write_text("max_size = \n")
    with pytest.raises(DataError, match="not valid TOML"):
        load_budgets(tmp_path / "bad.toml", target=None)


def test_percentages_past_100_only_for_regressions():
    assert budgets_from_table({"max_regression": "150%"}).max_regression == 1.5
    with pytest.raises(ConfigError, match="min_agreement"):
        budgets_from_table({"min_agreement": "101%"})
