"""Vela on a tiny int8 model: the figures are Vela's own, and failures are typed errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from compressor.measure.vela import compile_with_vela, vela_energy_mj
from compressor.errors import ExportError, TargetError
from tests.helpers import build_int8_model

U55 = SimpleNamespace(vela_accelerator_config="ethos-u55-128", vela_system_config="Ethos_U55_High_End_Embedded",
                      vela_memory_mode="Shared_Sram", vela_config_file="Arm/vela.ini")


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    return build_int8_model(tmp_path_factory.mktemp("vela"))


def test_vela_reports_its_own_figures(small_models, tmp_path):
    int8, _ = small_models
    result = compile_with_vela(int8, U55)
    # Cycles and time agree through Vela's clock: time = cycles / clock.
    assert result.clock_hz == 500e6
    assert result.inference_time_ms == pytest.approx(result.cycles_total / result.clock_hz * 1e3, rel=1e-6)
    assert result.cycles_total >= result.cycles_npu > 0
    # The conv MACs Vela counts are the model's: 12x12x8x9 + 12x12x16x8x9 (+ the head and mean).
    assert result.macs >= 12 * 12 * 8 * 9 + 12 * 12 * 16 * 8 * 9
    # The float QUANTIZE in and DEQUANTIZE out leave the NPU (and whatever else Vela lists).
    assert result.npu_ops > 0 and result.cpu_ops == len(result.cpu_layers) >= 2
    assert {"Quantize", "Dequantize"} <= {layer.original_op for layer in result.cpu_layers}
    assert all(layer.reason for layer in result.cpu_layers)
    assert result.sram_used_bytes > 0 and result.off_chip_flash_used_bytes > 0
    assert result.output_size_bytes > result.off_chip_flash_used_bytes // 2
    assert compile_with_vela(int8, U55) == result  # deterministic


def test_vela_energy_uses_the_profile_table(small_models):
    result = compile_with_vela(small_models[0], U55)
    energy = SimpleNamespace(pj_per_mac={"int8": 0.5}, cache_pj_per_byte=2.0, dram_pj_per_byte=100.0,
                             static_power_mw=10.0)
    profile = SimpleNamespace(name="t", energy=energy)
    expected_pj = (result.macs * 0.5 + result.sram_moved_bytes * 2.0 + 100.0 * (
        result.dram_moved_bytes + result.on_chip_flash_moved_bytes + result.off_chip_flash_moved_bytes)
        + 10.0 * result.inference_time_ms / 1e3 * 1e9)
    assert vela_energy_mj(result, profile) == pytest.approx(expected_pj / 1e9)


def test_float_model_compiles_to_zero_npu_ops(small_models):
    result = compile_with_vela(small_models[1], U55)
    assert result.npu_ops == 0 and result.cpu_ops > 0
    assert any("Float32" in (layer.reason or "") for layer in result.cpu_layers)


def test_vela_failure_and_missing_settings_are_typed(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(ExportError, match="Vela failed"):
        compile_with_vela(bad, U55)
    with pytest.raises(TargetError, match="vela_memory_mode"):
        compile_with_vela(bad, SimpleNamespace(**{**vars(U55), "vela_memory_mode": None}))
