"""The frozen dataclasses a target profile loads into, and the values their fields may take.

``TargetProfile`` and its parts (``ComputeProfile``, ``MemoryProfile``, ``EnergyProfile``,
``McuProfile``, ``AcceleratorProfile``) are what the cost models, passes and reports read;
they live apart from the TOML loader (``target_loader.py``) and its validation
(``targets.py``) so that code which only *uses* a profile, or builds one in a test, need not
import the file machinery.  The mappings inside are read-only views (``MappingProxyType``),
so a profile built in code is as immutable, and as hashable, as one loaded from a file.

Import these names from ``compressor.targets.load``, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..graph.ir import OP_KINDS
from .kernel_terms import KERNEL_TERM_KEYS, SYMMETRIC_CONV_KEYS, KernelTerms, kernel_term_keys, log_interpolate
from .runtime_cost import (CPU_FLAGS, CPU_SCALARS, CPU_TILES, PARALLEL_KEYS, PARALLEL_OPTIONAL, PER_KIND_TABLES, RUNTIME_COST_KEYS,
                           RUNTIME_CURVES, TASK_WEIGHT_READS_KEYS, RuntimeCost, frozen, sorted_items)

__all__ = [
    "COMPILERS", "DTYPES", "EFFICIENCY_KEYS", "FORMATS", "CPU_FLAGS", "CPU_SCALARS", "CPU_TILES", "KERNEL_TERM_KEYS", "SYMMETRIC_CONV_KEYS",
    "TASK_WEIGHT_READS_KEYS", "TARGET_KINDS", "kernel_term_keys", "PARALLEL_KEYS", "PARALLEL_OPTIONAL", "AcceleratorProfile", "ComputeProfile", "EnergyProfile",
    "KernelTerms", "McuProfile", "MemoryProfile", "PER_KIND_TABLES", "RUNTIME_COST_KEYS", "RUNTIME_CURVES", "RuntimeCost", "TargetProfile",
]

TARGET_KINDS = ("cpu", "mcu", "npu")
FORMATS = ("tflite", "onnx")
# Compute dtypes a profile may give rates for; they are the `compute_dtype` names of graph_ir.
DTYPES = ("float32", "float16", "bfloat16", "int8", "int16", "int4")
# The efficiency table of a dtype must have "other"; the op kinds it omits use "other".
EFFICIENCY_KEYS = OP_KINDS
COMPILERS = ("vela", "none")  # "vela": run ethos-u-vela; "none": cost the NPU with [compute]


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
    # format ("tflite" | "onnx") -> that runtime's own costs; formats absent use dispatch_overhead_us
    runtimes: Mapping[str, RuntimeCost] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only views, so a profile built in code is as immutable as one from a file.
        object.__setattr__(self, "runtimes", frozen(self.runtimes))
        object.__setattr__(self, "macs_per_cycle", frozen(self.macs_per_cycle))
        object.__setattr__(self, "channel_tiles", frozen({d: frozen(k) for d, k in self.channel_tiles.items()}))
        object.__setattr__(self, "efficiency", frozen({d: frozen(k) for d, k in self.efficiency.items()}))

    def __hash__(self) -> int:
        return hash((self.clock_hz, self.threads, self.dispatch_overhead_us, sorted_items(self.macs_per_cycle),
                     tuple((d, sorted_items(k)) for d, k in sorted(self.efficiency.items())),
                     self.channel_multiple, self.float_allowed,
                     tuple((d, sorted_items(k)) for d, k in sorted(self.channel_tiles.items())), sorted_items(self.runtimes)))

    def runtime_cost(self, fmt: str | None) -> RuntimeCost:
        """The costs of the runtime that runs ``fmt`` files; the generic dispatch when not listed."""
        listed = self.runtimes.get(fmt) if fmt is not None else None
        return listed if listed is not None else RuntimeCost(self.dispatch_overhead_us)

    def channel_tile_of(self, dtype: str, kind: str) -> int:
        """Output channels the ``dtype`` ``kind`` kernel computes per pass (layers pad up to it)."""
        return self.channel_tiles.get(dtype, {}).get(kind, self.channel_multiple)

    def efficiency_of(self, dtype: str, kind: str, runtime: str | None = None) -> float:
        """Fraction of peak (MAC kinds) or of bandwidth (the others) of the ``dtype`` ``kind``
        kernel; the runtime's own figure (``runtimes[runtime].efficiency``) when it lists one."""
        own = self.runtimes[runtime].efficiency.get(dtype, {}) if runtime in self.runtimes else {}
        if kind in own:
            return own[kind]
        table = self.efficiency[dtype]
        return table.get(kind, table["other"])

    def lists_efficiency(self, dtype: str, kind: str, runtime: str | None = None) -> bool:
        """Does the profile (or the runtime's table) name this kind explicitly, not via "other"?"""
        own = self.runtimes[runtime].efficiency.get(dtype, {}) if runtime in self.runtimes else {}
        return kind in own or kind in self.efficiency.get(dtype, {})


@dataclass(frozen=True)
class MemoryProfile:
    dram_bandwidth_bytes_per_s: float
    cache_bytes: int | None  # the cache an op's working set must fit to run at cache speed
    cache_bandwidth_bytes_per_s: float | None
    arena_alignment_bytes: int  # offset alignment of tensors in the activation arena
    weights_in_ram: bool  # whether constant tensors count towards peak RAM
    # one core's own cache (L2): a graph whose packed weights fit it reads them hot every inference
    private_cache_bytes: int | None = None
    # ((working-set bytes, bytes/s), ...) ascending: how the shared cache's rate falls for sets past
    # the first (--probe memory); below it, and without a curve, cache_bandwidth_bytes_per_s
    cache_bandwidth_curve: tuple[tuple[float, float], ...] = ()
    # ((working-set bytes, traffic bytes/s), ...) ascending: an element-wise kernel's rate by its
    # working set (--probe stream); a memory-bound op's floor past the private cache (cost/caches.py)
    stream_curve: tuple[tuple[float, float], ...] = ()

    def shared_cache_rate(self, set_bytes: float) -> float | None:
        """Bytes/s from the shared cache for a working set of ``set_bytes`` (the curve, log-log)."""
        if self.cache_bandwidth_curve and set_bytes > self.cache_bandwidth_curve[0][0]:
            return log_interpolate(self.cache_bandwidth_curve, set_bytes)
        return self.cache_bandwidth_bytes_per_s

    def stream_rate(self, set_bytes: float) -> float | None:
        """Traffic bytes/s of an element-wise kernel with a working set of ``set_bytes`` (``stream_curve``)."""
        return log_interpolate(self.stream_curve, set_bytes)


@dataclass(frozen=True)
class EnergyProfile:
    pj_per_mac: Mapping[str, float]  # by compute dtype
    dram_pj_per_byte: float
    cache_pj_per_byte: float | None
    static_power_mw: float  # drawn for as long as the inference runs

    def __post_init__(self) -> None:
        object.__setattr__(self, "pj_per_mac", frozen(self.pj_per_mac))

    def __hash__(self) -> int:
        return hash((sorted_items(self.pj_per_mac), self.dram_pj_per_byte, self.cache_pj_per_byte, self.static_power_mw))


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
    # Set when the variant's rates were measured on another CPU than this one (its measured_on)
    variant_note: str | None = None
    # The CPU that runs what the accelerator cannot (``accelerator.fallback_target``), loaded
    # with this profile so that every user costs fallback ops on the same profile.
    fallback: TargetProfile | None = None
    machine: str | None = None  # the instruction set its CPU runs, as platform.machine() names it
