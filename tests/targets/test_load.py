"""Target profiles: every shipped profile loads; every malformed file is one clear TargetError."""

from __future__ import annotations

import re
import textwrap

import pytest

from compressor.files import targets_dir
from compressor.errors import TargetError
from compressor.targets.display import format_target
from compressor.targets.load import TargetProfile, known_target_names, list_targets, load_target

VALID = textwrap.dedent("""\
    name = "toy"
    description = "A toy CPU for tests"
    kind = "cpu"
    formats = ["tflite"]
    dtypes = ["float32", "int8"]

    [compute]
    clock_hz = 1.0e9
    threads = 1
    dispatch_overhead_us = 1.0
    channel_multiple = 8
    float_allowed = true

    [compute.macs_per_cycle]
    float32 = 4
    int8 = 16

    [compute.efficiency.float32]
    conv = 0.5
    other = 0.25

    [compute.efficiency.int8]
    conv = 0.5
    other = 0.25

    [memory]
    dram_bandwidth_bytes_per_s = 1.0e9
    cache_bytes = 1024
    cache_bandwidth_bytes_per_s = 4.0e9
    arena_alignment_bytes = 16
    weights_in_ram = false

    [energy]
    pj_per_mac = { float32 = 2.0, int8 = 0.5 }
    cache_pj_per_byte = 1.0
    dram_pj_per_byte = 100.0
    static_power_mw = 10.0
""")


def write(tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


@pytest.mark.parametrize("name", known_target_names())
def test_every_shipped_profile_loads(name):
    profile = load_target(name)
    assert isinstance(profile, TargetProfile)
    assert profile.name == name
    assert profile.kind in ("cpu", "mcu", "npu")
    assert "\n" not in profile.description and profile.description
    for dtype in profile.dtypes:
        assert profile.compute.macs_per_cycle[dtype] > 0
        assert 0 < profile.compute.efficiency_of(dtype, "conv") <= 1
        assert profile.energy.pj_per_mac[dtype] >= 0


def test_shipped_profiles_are_listed_sorted_and_include_the_reference_targets():
    names = [p.name for p in list_targets()]
    assert names == sorted(names)
    assert {"android-arm64", "host-x86"} <= set(names)
    assert names == known_target_names()


def test_every_number_in_a_shipped_profile_has_a_comment():
    # STYLE.md: a constant says where it comes from.  Each numeric assignment needs a comment
    # on its line or in the comment block right above it (or above its table).
    for path in sorted(targets_dir().glob("*.toml")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if re.match(r"^\s*[\w.]+\s*=\s*[-\d{]", line) and "#" not in line:
                above = number - 1
                while above >= 0 and lines[above].strip() and not lines[above].lstrip().startswith("#") \
                        and "#" not in lines[above]:
                    above -= 1
                assert above >= 0 and "#" in lines[above], f"{path.name}:{number + 1} has no source comment"


def test_load_by_path(tmp_path):
    profile = load_target(str(write(tmp_path, "toy", VALID)))
    assert profile.name == "toy"
    assert profile.compute.clock_hz == 1e9
    assert profile.compute.efficiency_of("int8", "conv") == 0.5
    assert profile.compute.efficiency_of("int8", "depthwise") == 0.25  # falls back to "other"
    assert profile.memory.cache_bytes == 1024
    assert profile.energy.pj_per_mac["int8"] == 0.5
    assert profile.inherits_from == ()
    hash(profile)  # frozen and usable as a key
    with pytest.raises(AttributeError):
        profile.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        profile.compute.macs_per_cycle["int8"] = 1  # type: ignore[index]


def test_unknown_name_lists_the_known_targets():
    with pytest.raises(TargetError) as error:
        load_target("no-such-device")
    message = str(error.value)
    assert "no-such-device" in message and "android-arm64" in message and "host-x86" in message
    assert "\n" not in message


def test_unknown_key_names_the_key_file_and_line(tmp_path):
    text = VALID.replace("threads = 1", "threads = 1\nturbo_hz = 3.0e9")
    path = write(tmp_path, "toy", text)
    with pytest.raises(TargetError) as error:
        load_target(str(path))
    message = str(error.value)
    assert f"{path}:{line_of(text, 'turbo_hz')}:" in message
    assert "compute.turbo_hz" in message and "unknown key" in message
    assert "\n" not in message


def test_unknown_op_kind_in_efficiency_is_rejected(tmp_path):
    text = VALID.replace("conv = 0.5\nother = 0.25\n\n[compute.efficiency.int8]",
                         "convolution = 0.5\nother = 0.25\n\n[compute.efficiency.int8]")
    with pytest.raises(TargetError, match=r"compute\.efficiency\.float32\.convolution: unknown key"):
        load_target(str(write(tmp_path, "toy", text)))


def test_missing_key_is_named(tmp_path):
    text = VALID.replace("dram_bandwidth_bytes_per_s = 1.0e9\n", "")
    with pytest.raises(TargetError, match=r"toy\.toml: memory\.dram_bandwidth_bytes_per_s: missing"):
        load_target(str(write(tmp_path, "toy", text)))


@pytest.mark.parametrize("old, new, key, problem", [
    ("clock_hz = 1.0e9", "clock_hz = -1.0e9", "compute.clock_hz", "must be > 0"),
    ("clock_hz = 1.0e9", "clock_hz = 0", "compute.clock_hz", "must be > 0"),
    ("threads = 1", "threads = 1.5", "compute.threads", "expected an integer"),
    ("conv = 0.5\nother = 0.25\n\n[compute.efficiency.int8]", "conv = 1.5\nother = 0.25\n\n[compute.efficiency.int8]",
     "compute.efficiency.float32.conv", "fraction in (0, 1]"),
    ("other = 0.25\n\n[memory]", "other = 0\n\n[memory]", "compute.efficiency.int8.other", "fraction in (0, 1]"),
    ("dispatch_overhead_us = 1.0", "dispatch_overhead_us = -1.0", "compute.dispatch_overhead_us", "must be >= 0"),
    ("weights_in_ram = false", "weights_in_ram = 0", "memory.weights_in_ram", "expected true or false"),
    ('kind = "cpu"', 'kind = "gpu"', "kind", "expected one of cpu, mcu, npu"),
    ("clock_hz = 1.0e9", 'clock_hz = "fast"', "compute.clock_hz", "expected a number"),
    ("int8 = 16", "int8 = 0", "compute.macs_per_cycle.int8", "must be > 0"),
])
def test_bad_value_names_key_and_line(tmp_path, old, new, key, problem):
    text = VALID.replace(old, new, 1)
    assert text != VALID
    path = write(tmp_path, "toy", text)
    with pytest.raises(TargetError) as error:
        load_target(str(path))
    message = str(error.value)
    assert key in message and problem in message, message
    assert re.match(rf"{re.escape(str(path))}:\d+: ", message), message
    assert "\n" not in message


def test_dtype_tables_must_match_the_dtypes_list(tmp_path):
    text = VALID.replace('dtypes = ["float32", "int8"]', 'dtypes = ["float32"]')
    with pytest.raises(TargetError, match=r"compute\.efficiency\.int8: not in dtypes|int8: not in dtypes"):
        load_target(str(write(tmp_path, "toy", text)))


def test_cache_keys_come_together(tmp_path):
    text = VALID.replace("cache_bandwidth_bytes_per_s = 4.0e9\n", "")
    with pytest.raises(TargetError, match=r"memory\.cache_bandwidth_bytes_per_s: missing"):
        load_target(str(write(tmp_path, "toy", text)))


def test_bad_toml_syntax_names_the_file(tmp_path):
    path = write(tmp_path, "toy", VALID.replace("threads = 1", "threads = = 1"))
    with pytest.raises(TargetError) as error:
        load_target(str(path))
    assert str(path) in str(error.value) and "invalid TOML" in str(error.value)
    assert "line" in str(error.value)


def test_inheritance_overrides_keys_and_keeps_the_rest(tmp_path):
    write(tmp_path, "toy", VALID)
    child = write(tmp_path, "toy-fast", textwrap.dedent("""\
        inherits = "toy"
        name = "toy-fast"
        description = "The toy at twice the clock, two threads"

        [compute]
        clock_hz = 2.0e9
        threads = 2

        [compute.efficiency.int8]
        conv = 0.75
    """))
    profile = load_target(str(child))
    assert profile.name == "toy-fast" and profile.inherits_from == ("toy",)
    assert profile.compute.clock_hz == 2e9 and profile.compute.threads == 2
    assert profile.compute.efficiency_of("int8", "conv") == 0.75
    assert profile.compute.efficiency_of("int8", "other") == 0.25  # merged, not replaced
    assert profile.compute.dispatch_overhead_us == 1.0  # inherited
    assert profile.memory.dram_bandwidth_bytes_per_s == 1e9


def test_variant_of_a_shipped_target(tmp_path):
    path = write(tmp_path, "phone-4t", textwrap.dedent("""\
        inherits = "android-arm64"
        name = "phone-4t"
        description = "The phone profile on four threads"
        [compute]
        threads = 4
    """))
    profile = load_target(str(path))
    base = load_target("android-arm64")
    assert profile.compute.threads == 4
    assert profile.compute.clock_hz == base.compute.clock_hz


def test_inherits_loop_is_rejected(tmp_path):
    write(tmp_path, "a", 'inherits = "b"\nname = "a"\ndescription = "a"\n')
    write(tmp_path, "b", 'inherits = "a"\nname = "b"\ndescription = "b"\n')
    with pytest.raises(TargetError) as error:
        load_target(str(tmp_path / "a.toml"))
    message = str(error.value)
    assert "inherits: loop" in message and "a -> b -> a" in message
    assert re.search(r"\.toml:1: ", message)


def test_self_inheritance_is_a_loop(tmp_path):
    path = write(tmp_path, "a", 'inherits = "a"\nname = "a"\ndescription = "a"\n')
    with pytest.raises(TargetError, match="inherits: loop a -> a"):
        load_target(str(path))


def test_unknown_parent_is_named(tmp_path):
    path = write(tmp_path, "child", 'name = "child"\ndescription = "c"\ninherits = "no-such-parent"\n')
    with pytest.raises(TargetError) as error:
        load_target(str(path))
    message = str(error.value)
    assert f"{path}:3: inherits: unknown parent 'no-such-parent'" in message
    assert "android-arm64" in message


def test_child_must_name_itself(tmp_path):
    write(tmp_path, "toy", VALID)
    path = write(tmp_path, "child", 'inherits = "toy"\ndescription = "c"\n')
    with pytest.raises(TargetError, match=r"child\.toml: name: missing"):
        load_target(str(path))


def test_bad_value_in_parent_names_the_parent_file(tmp_path):
    write(tmp_path, "toy", VALID.replace("clock_hz = 1.0e9", "clock_hz = -5.0"))
    child = write(tmp_path, "child", 'inherits = "toy"\nname = "child"\ndescription = "c"\n')
    with pytest.raises(TargetError) as error:
        load_target(str(child))
    assert f"{tmp_path / 'toy.toml'}:8: compute.clock_hz: must be > 0" in str(error.value)


def test_missing_file_path(tmp_path):
    with pytest.raises(TargetError, match="no such target file"):
        load_target(str(tmp_path / "nothing.toml"))


# ---------------------------------------------------------------------------- schema extension

NPU = VALID.replace('kind = "cpu"', 'kind = "npu"').replace('dtypes = ["float32", "int8"]', 'dtypes = ["int8"]') \
    .replace("float32 = 4\n", "").replace("pj_per_mac = { float32 = 2.0, int8 = 0.5 }", "pj_per_mac = { int8 = 0.5 }") \
    .replace("[compute.efficiency.float32]\nconv = 0.5\nother = 0.25\n\n", "") \
    .replace("clock_hz = 1.0e9", "clock_hz = 500e6") + textwrap.dedent("""
    [accelerator]
    compiler = "vela"
    supported_ops = ["CONV_2D", "ADD"]
    fallback_target = "cortex-m55"
    vela_accelerator_config = "ethos-u55-128"
    vela_system_config = "Ethos_U55_High_End_Embedded"
    vela_memory_mode = "Shared_Sram"
    vela_config_file = "Arm/vela.ini"
""")

VARIANTS = VALID.replace("[compute.macs_per_cycle]", textwrap.dedent("""\
    [[compute.variants]]
    requires_cpu_flags = ["avx512_vnni", "avx512f"]
    description = "AVX-512 VNNI"
    dispatch_overhead_us = 0.5
    macs_per_cycle = { int8 = 64 }
    efficiency.int8.conv = 0.9

    [[compute.variants]]
    requires_cpu_flags = ["avx2"]
    description = "AVX2 only"
    macs_per_cycle = { int8 = 32 }

    [compute.macs_per_cycle]"""))


def test_npu_profile_loads_with_its_accelerator(tmp_path):
    profile = load_target(str(write(tmp_path, "npu", NPU)))
    assert profile.kind == "npu" and profile.mcu is None
    accelerator = profile.accelerator
    assert accelerator.compiler == "vela" and accelerator.supported_ops == ("CONV_2D", "ADD")
    assert accelerator.fallback_target == "cortex-m55"
    assert accelerator.vela_system_config == "Ethos_U55_High_End_Embedded"
    assert accelerator.tops_int8 is None
    hash(profile)


@pytest.mark.parametrize("flags, variant, int8_rate, conv, overhead", [
    ({"avx512_vnni", "avx512f", "avx2"}, "AVX-512 VNNI", 64, 0.9, 0.5),
    ({"avx2", "avx512f"}, "AVX2 only", 32, 0.5, 1.0),   # avx512f alone is not enough for the first
    ({"sse4_2"}, None, 16, 0.5, 1.0),                  # no variant: the base values
])
def test_cpu_variant_is_chosen_by_flags(tmp_path, flags, variant, int8_rate, conv, overhead):
    profile = load_target(str(write(tmp_path, "toy", VARIANTS)), cpu_flags=frozenset(flags))
    assert profile.variant == variant
    assert profile.compute.macs_per_cycle["int8"] == int8_rate
    assert profile.compute.macs_per_cycle["float32"] == 4  # not overridden
    assert profile.compute.efficiency_of("int8", "conv") == conv
    assert profile.compute.efficiency_of("int8", "other") == 0.25  # merged, not replaced
    assert profile.compute.dispatch_overhead_us == overhead


def test_a_variant_measured_on_another_cpu_says_so_on_this_one(tmp_path, monkeypatch):
    import compressor.targets.load as load

    text = VARIANTS.replace('description = "AVX2 only"', 'description = "AVX2 only"\n'
                                                          'measured_on = "AuthenticAMD family 23 model 49"')
    path = str(write(tmp_path, "toy", text))
    monkeypatch.setattr(load, "read_cpu_flags", lambda: frozenset({"avx2"}))
    monkeypatch.setattr(load, "read_cpu_identity", lambda: "GenuineIntel family 6 model 167")
    note = load_target(path).variant_note
    assert "AuthenticAMD family 23 model 49" in note and "GenuineIntel family 6 model 167" in note
    monkeypatch.setattr(load, "read_cpu_identity", lambda: "AuthenticAMD family 23 model 49")
    assert load_target(path).variant_note is None  # the CPU it was measured on
    monkeypatch.setattr(load, "read_cpu_identity", lambda: "GenuineIntel family 6 model 167")
    assert load_target(path, cpu_flags=frozenset({"avx2"})).variant_note is None  # flags named: another CPU on purpose
    monkeypatch.setattr(load, "read_cpu_flags", lambda: frozenset({"avx512_vnni"}))
    assert load_target(path).variant_note is None  # the variant that applies names no CPU


def test_parse_cpu_identity_reads_the_first_core():
    from compressor.targets.cpu_flags import parse_cpu_identity

    text = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 167\nmodel name\t: Xeon\n" * 2
    assert parse_cpu_identity(text) == "GenuineIntel family 6 model 167"
    assert parse_cpu_identity("processor : 0\nFeatures : asimd\n") is None  # Arm: no vendor_id


def test_bad_value_in_a_variant_is_an_error_on_every_cpu(tmp_path):
    text = VARIANTS.replace("macs_per_cycle = { int8 = 32 }", "macs_per_cycle = { int8 = -32 }")
    path = write(tmp_path, "toy", text)
    with pytest.raises(TargetError) as error:
        load_target(str(path), cpu_flags=frozenset())  # the variant does not apply, still checked
    assert str(error.value).startswith(f"{path}:{line_of(text, 'int8 = -32')}: compute.variants[1].macs_per_cycle.int8: "
                                       "must be > 0")


def test_unknown_key_in_a_variant_names_its_line(tmp_path):
    text = VARIANTS.replace('description = "AVX2 only"', 'description = "AVX2 only"\nturbo = true')
    path = write(tmp_path, "toy", text)
    with pytest.raises(TargetError, match=rf"^{re.escape(str(path))}:{line_of(text, 'turbo')}: "
                                          r"compute\.variants\[1\]\.turbo: unknown key"):
        load_target(str(path), cpu_flags=frozenset())


def test_parse_cpu_flags_reads_x86_and_arm_cpuinfo():
    from compressor.targets.cpu_flags import parse_cpu_flags

    x86 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512_vnni\nbugs\t\t: spectre\n"
    arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid asimddp\nCPU part\t: 0xd0b\n"
    assert parse_cpu_flags(x86) == {"fpu", "sse", "avx2", "avx512_vnni"}
    assert "asimddp" in parse_cpu_flags(arm) and "0xd0b" not in parse_cpu_flags(arm)
    assert parse_cpu_flags("") == frozenset()


@pytest.mark.parametrize("old, new, key, problem", [
    ("channel_multiple = 8", 'channel_multiple = "8"', "compute.channel_multiple", "expected an integer"),
    ("channel_multiple = 8", "channel_multiple = 0", "compute.channel_multiple", "must be > 0"),
    ("float_allowed = true", "float_allowed = 1", "compute.float_allowed", "expected true or false"),
    ("[memory]", "[mcu]\nsram_bytes = 1024\nflash_bytes = 2048\nuse_tflm_arena = true\n\n[memory]",
     "mcu", 'not kind = "cpu"'),
    ('kind = "cpu"', 'kind = "mcu"', "mcu", "missing"),
    ('kind = "cpu"', 'kind = "npu"', "accelerator", "missing"),
])
def test_new_compute_keys_and_kind_tables_are_checked(tmp_path, old, new, key, problem):
    text = VALID.replace(old, new, 1)
    path = write(tmp_path, "toy", text)
    with pytest.raises(TargetError) as error:
        load_target(str(path))
    message = str(error.value)
    assert f"{key}: " in message and problem in message and str(path) in message, message
    if key.startswith("compute"):
        assert message.startswith(f"{path}:{line_of(text, new.split(' =')[0])}: "), message


@pytest.mark.parametrize("old, new, key, problem", [
    ('compiler = "vela"', 'compiler = "vela"\nturbo_tops = 2.0', "accelerator.turbo_tops", "unknown key"),
    ('vela_memory_mode = "Shared_Sram"\n', "", "accelerator.vela_memory_mode", "missing"),
    ('compiler = "vela"', 'compiler = "none"', "accelerator.vela_accelerator_config", 'only with compiler = "vela"'),
    ('compiler = "vela"', 'compiler = "tvm"', "accelerator.compiler", "expected one of vela, none"),
    ('"Ethos_U55_High_End_Embedded"', '"Ethos_U55_Imaginary"', "accelerator.vela_system_config",
     "no [System_Config.Ethos_U55_Imaginary]"),
    ('"ethos-u55-128"', '"ethos-u55-100x"', "accelerator.vela_accelerator_config", "expected a Vela accelerator"),
    ('"cortex-m55"', '"no-such-cpu"', "accelerator.fallback_target", "unknown target 'no-such-cpu'"),
    ('"CONV_2D", "ADD"', '"CONV_2D", "conv"', "accelerator.supported_ops", "not a valid TFLite builtin op name"),
    ("clock_hz = 500e6", "clock_hz = 400e6", "compute.clock_hz", "differs from core_clock=500e6"),
])
def test_malformed_accelerator_names_file_key_and_line(tmp_path, old, new, key, problem):
    text = NPU.replace(old, new, 1)
    assert text != NPU
    path = write(tmp_path, "npu", text)
    with pytest.raises(TargetError) as error:
        load_target(str(path))
    message = str(error.value)
    assert f"{key}: " in message and problem in message, message
    assert "\n" not in message
    if problem != "missing":  # a missing key has no line; the others name theirs
        assert re.match(rf"{re.escape(str(path))}:\d+: ", message), message


def test_vela_config_file_beside_the_profile_is_used_and_checked(tmp_path):
    (tmp_path / "my.ini").write_text("[System_Config.Mine]\ncore_clock=500e6\n[Memory_Mode.Shared_Sram]\n")
    text = NPU.replace('"Arm/vela.ini"', '"my.ini"').replace('"Ethos_U55_High_End_Embedded"', '"Mine"')
    profile = load_target(str(write(tmp_path, "npu", text)))
    assert profile.accelerator.vela_config_file == str(tmp_path / "my.ini")  # absolute: Vela runs elsewhere


def test_shipped_npu_and_mcu_profiles_are_consistent():
    for name in ("ethos-u55-128", "ethos-u55-256", "ethos-u65-256"):
        profile = load_target(name)
        accelerator = profile.accelerator
        assert profile.kind == "npu" and accelerator.compiler == "vela"
        assert accelerator.vela_accelerator_config == name
        assert not profile.compute.float_allowed
        assert profile.compute.macs_per_cycle["int8"] == int(name.rsplit("-", 1)[1])
        assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD"} <= set(accelerator.supported_ops)
        assert load_target(accelerator.fallback_target).kind in ("cpu", "mcu")
    generic = load_target("npu-generic")
    assert generic.accelerator.compiler == "none" and generic.accelerator.vela_system_config is None
    # [compute] is derived from the datasheet TOPS: 2 ops per MAC.
    assert generic.compute.clock_hz * generic.compute.macs_per_cycle["int8"] * 2 == generic.accelerator.tops_int8 * 1e12
    for name in ("cortex-m7", "cortex-m55"):
        profile = load_target(name)
        assert profile.kind == "mcu" and profile.mcu.use_tflm_arena and not profile.compute.float_allowed
        assert 0 < profile.mcu.sram_bytes < profile.mcu.flash_bytes


def test_rpi4_int8_has_no_dot_product_speedup():
    rpi4, phone, rpi5 = load_target("rpi4"), load_target("android-arm64"), load_target("rpi5")
    assert rpi4.compute.macs_per_cycle["int8"] < phone.compute.macs_per_cycle["int8"]
    # A72: no SDOT; its widening multiplies give 8 int8 MACs per cycle, its 64-bit FP pipes 4 fp32.
    assert rpi4.compute.macs_per_cycle["int8"] == 2 * rpi4.compute.macs_per_cycle["float32"] == 8
    # The fp32 calibration is unchanged: peak x fraction is the same 1.28 MACs/cycle it was.
    assert rpi4.compute.macs_per_cycle["float32"] * rpi4.compute.efficiency["float32"]["conv"] == pytest.approx(1.28)
    assert rpi5.compute.macs_per_cycle["int8"] == phone.compute.macs_per_cycle["int8"]  # same A76 core
    assert rpi5.inherits_from == ("android-arm64",) and rpi5.compute.clock_hz == 2.4e9


# ---------------------------------------------------------------------------- `compress targets`


def run_cli(*args):
    from click.testing import CliRunner

    from compressor.cli.main import cli

    return CliRunner().invoke(cli, ["targets", *args])


def test_cli_lists_every_target_one_line_each():
    result = run_cli()
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == known_target_names()
    assert all(line.split()[1] in ("cpu", "mcu", "npu") for line in lines)


def test_cli_shows_one_target_with_units():
    result = run_cli("rpi4")
    assert result.exit_code == 0, result.output
    assert "1500 MHz x 4 thread(s)" in result.output
    assert "int8            8 MACs/cycle/core" in result.output
    assert "12.8 GB/s" in result.output and "pJ" in result.output and "mW" in result.output
    npu = run_cli("ethos-u55-128").output
    assert "--system-config Ethos_U55_High_End_Embedded" in npu and "fallback        cortex-m55" in npu
    assert "SRAM            2 MiB" in npu


def test_cli_shows_a_target_file_as_json(tmp_path):
    import json

    data = json.loads(run_cli("rpi4", "--json").output)
    assert data["name"] == "rpi4" and data["compute"]["macs_per_cycle"] == {"float32": 4.0, "int8": 8.0}
    assert data["accelerator"] is None and data["memory"]["cache_bytes"] == 1_048_576
    path = write(tmp_path, "toy", VALID)
    assert json.loads(run_cli(str(path), "--json").output)["name"] == "toy"


def test_cli_unknown_target_is_one_line_exit_2():
    result = run_cli("missing")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: unknown target 'missing'")


def test_channel_tiles_follow_the_cpu_variant_and_are_checked(tmp_path):
    vnni = load_target("host-x86", cpu_flags=frozenset({"avx512_vnni", "avx2"}))
    assert vnni.compute.channel_multiple == 16
    assert vnni.compute.channel_tile_of("int8", "depthwise") == 32
    assert vnni.compute.channel_tile_of("float32", "depthwise") == 16
    avx2 = load_target("host-x86", cpu_flags=frozenset({"avx2"}))  # the AVX2 variant: XNNPACK's 16-channel int8 dwconv
    assert avx2.compute.channel_multiple == 8 and avx2.compute.channel_tile_of("int8", "depthwise") == 16
    older = load_target("host-x86", cpu_flags=frozenset())  # no variant: the derived rates
    assert older.compute.channel_tile_of("int8", "depthwise") == older.compute.channel_multiple == 8
    text = 'name = "tiles"\ndescription = "bad tile"\ninherits = "host-x86"\n\n[compute.channel_tiles.int8]\nbogus = 4\n'
    with pytest.raises(TargetError, match=r"tiles\.toml:6.*channel_tiles\.int8\.bogus.*unknown op kind"):
        load_target(str(write(tmp_path, "tiles", text)), cpu_flags=frozenset())


def test_a_cpu_models_own_memory_replaces_the_tables_on_that_cpu_only(tmp_path):
    text = VALID + ('\n[[memory.cpus]]\ncpu = "GenuineIntel family 6 model 167"\ndescription = "a Xeon VM"\n'
                    'cache_bandwidth_bytes_per_s = 28.5e9\nprivate_cache_bytes = 2_097_152\n')
    path = str(write(tmp_path, "toy", text))
    base = load_target(path, cpu_identity="AuthenticAMD family 26 model 2").memory
    xeon = load_target(path, cpu_identity="GenuineIntel family 6 model 167").memory
    assert xeon.cache_bandwidth_bytes_per_s == 28.5e9 and xeon.private_cache_bytes == 2_097_152
    assert base.cache_bandwidth_bytes_per_s != 28.5e9
    assert xeon.dram_bandwidth_bytes_per_s == base.dram_bandwidth_bytes_per_s  # not named: the table's
    with pytest.raises(TargetError, match="unknown key"):
        load_target(str(write(tmp_path, "toy", text.replace('description = "a Xeon VM"', "turbo = true"))))
    with pytest.raises(TargetError, match="must be > 0"):
        load_target(str(write(tmp_path, "toy", text.replace("28.5e9", "-1"))))


def test_a_cpu_models_shared_cache_rate_falls_by_its_curve_past_the_flat_range(tmp_path):
    curve = "cache_bandwidth_curve = [[8388608, 28.5e9], [33554432, 14.25e9]]\n"
    text = VALID + ('\n[[memory.cpus]]\ncpu = "GenuineIntel family 6 model 167"\ndescription = "a Xeon VM"\n'
                    'cache_bandwidth_bytes_per_s = 28.5e9\nprivate_cache_bytes = 2_097_152\n' + curve)
    memory = load_target(str(write(tmp_path, "toy", text)), cpu_identity="GenuineIntel family 6 model 167").memory
    assert memory.shared_cache_rate(4 * 2 ** 20) == 28.5e9  # within the flat range
    assert memory.shared_cache_rate(16 * 2 ** 20) == pytest.approx(28.5e9 / 2 ** 0.5)  # half-way, log-log
    assert memory.shared_cache_rate(64 * 2 ** 20) == pytest.approx(14.25e9)  # its last point past the end
    for bad in ("[[8388608, 28.5e9], [4194304, 30e9]]", "[[8388608, -1]]", "[8388608, 28.5e9]"):
        with pytest.raises(TargetError, match="cache_bandwidth_curve.*pairs"):
            load_target(str(write(tmp_path, "toy", text.replace(curve.split(" = ")[1].strip(), bad))),
                        cpu_identity="GenuineIntel family 6 model 167")


def test_a_cpu_models_stream_curve_is_read_and_validated(tmp_path):
    curve = "stream_curve = [[16777216, 106e9], [33554432, 57e9], [134217728, 33.8e9]]\n"
    text = VALID + ('\n[[memory.cpus]]\ncpu = "GenuineIntel family 6 model 167"\ndescription = "a Xeon VM"\n' + curve)
    memory = load_target(str(write(tmp_path, "toy", text)), cpu_identity="GenuineIntel family 6 model 167").memory
    assert memory.stream_rate(8 * 2 ** 20) == 106e9 and memory.stream_rate(256 * 2 ** 20) == pytest.approx(33.8e9)
    assert memory.stream_rate(64 * 2 ** 20) == pytest.approx((57e9 * 33.8e9) ** 0.5)  # half-way, log-log
    assert not load_target(str(write(tmp_path, "toy", text)), cpu_identity="AuthenticAMD family 26 model 2").memory.stream_curve
    for bad in ("[[33554432, 57e9], [16777216, 106e9]]", "[[16777216, 0]]"):
        with pytest.raises(TargetError, match="stream_curve.*pairs"):
            load_target(str(write(tmp_path, "toy", text.replace(curve.split(" = ")[1].strip(), bad))),
                        cpu_identity="GenuineIntel family 6 model 167")


def test_a_cpu_models_own_rates_replace_the_variants_on_that_cpu_only(tmp_path):
    """[[compute.variants.cpus]]: one CPU model's own kernel terms and per-op costs (its own
    single-op files), how its threads split the runtimes' ops (its own two-thread chains) and its
    weight-stream curves, over the variant's, and the tiles its own kernel terms were fitted with
    (onnxruntime's int8 convs on the Xeon: MLAS's symmetric kernel's 6 rows and 4 input channels);
    anything else stays the variant's."""
    xeon, epyc = "GenuineIntel family 6 model 167", "AuthenticAMD family 26 model 2"
    here = load_target("host-x86", cpu_flags=frozenset({"avx512_vnni"}), cpu_identity=xeon)
    there = load_target("host-x86", cpu_flags=frozenset({"avx512_vnni"}), cpu_identity=epyc)
    assert here.compute.runtimes["tflite"].parallel["float32"]["sync_us"] > there.compute.runtimes["tflite"].parallel["float32"]["sync_us"]
    assert here.compute.runtimes["onnx"].parallel["float32"]["sync_us"] > there.compute.runtimes["onnx"].parallel["float32"]["sync_us"]
    mine, theirs = (t.compute.runtimes["onnx"] for t in (here, there))
    assert mine.kernels["float32"]["conv"] != theirs.kernels["float32"]["conv"]
    assert mine.dispatch_overhead_us != theirs.dispatch_overhead_us
    assert mine.channel_tiles == theirs.channel_tiles and mine.igemm_rows == theirs.igemm_rows
    assert mine.row_tile("int8", "conv") == 6 and theirs.row_tile("int8", "conv") == 1
    assert mine.input_channel_tile("int8", "pointwise") == 4 and theirs.input_channel_tile("int8", "pointwise") == 1
    # ...and its memory's weight-stream curve (a 67 MB set: 10 GB/s there, 27 on the EPYC)
    assert (here.compute.runtimes["tflite"].weight_stream_rate("float32", 67e6)
            < 0.6 * there.compute.runtimes["tflite"].weight_stream_rate("float32", 67e6))
    # and how its GEMMs over many rows read cold weights (chains of 1x1 convs; the EPYC has none)
    assert (here.compute.runtimes["tflite"].weight_stream_rate("float32", 17e6, gemm_rows=True)
            < 0.5 * here.compute.runtimes["tflite"].weight_stream_rate("float32", 17e6))
    assert (there.compute.runtimes["tflite"].weight_stream_rate("float32", 17e6, gemm_rows=True)
            == there.compute.runtimes["tflite"].weight_stream_rate("float32", 17e6))
    assert "kernel rates, thread split and weight streaming" in here.variant_note and there.variant_note is None
    # `compress targets host-x86` says it too
    assert "on this CPU" in format_target(here) and "on this CPU" not in format_target(there)
    text = load_target("host-x86").path.read_text().replace('name = "host-x86"', 'name = "split"', 1)
    bad = text.replace('[compute.variants.cpus.runtimes.tflite]\n', '[compute.variants.cpus.runtimes.tflite]\nigemm_cols.int8 = { conv = 8 }\n', 1)
    with pytest.raises(TargetError, match="unknown key"):
        load_target(str(write(tmp_path, "split", bad)), cpu_identity=xeon)
    bad = text.replace('sync_us = 6.2', 'sync_us = -6.2', 1)
    with pytest.raises(TargetError, match="sync_us"):
        load_target(str(write(tmp_path, "split", bad)), cpu_identity=epyc)  # checked on every CPU
    # its onnxruntime NCHWc Upsample has terms of its own (the EPYC's are the variant's, the Zen 4's figures)
    assert mine.kernel_terms("float32", "Upsample", "other").out_byte_ps == 97
    assert theirs.kernel_terms("float32", "Upsample", "other").out_byte_ps == 89
    # an entry with only a thread split says so in the singular
    from compressor.targets.load import _measured_here
    assert _measured_here({"tflite": {"parallel": {}}}) == "thread split"
    assert _measured_here({"tflite": {"conv_weight_stream": {}}, "onnx": {"kernels": {}}}) == \
        "kernel rates and weight streaming"


def test_a_cpu_models_thread_split_names_only_what_it_changes(tmp_path):
    """A CPU's ``parallel.<dtype>`` is laid over its variant's key by key: the Zen 4's onnxruntime fp32
    line names its step hand-off and serial ops, the rest (per-kind splits, NCHWc blocks) is the
    variant's; where the variant has no such table, the CPU's must name the required keys itself."""
    zen4, epyc, xeon = "AuthenticAMD family 25 model 17", "AuthenticAMD family 26 model 2", "GenuineIntel family 6 model 167"
    here, there = (load_target("host-x86", cpu_identity=cpu).compute.runtimes["onnx"].parallel["float32"]
                   for cpu in (zen4, epyc))
    assert here["step_sync_us"] != there["step_sync_us"] and "STFT" in here["serial"] and "STFT" not in there["serial"]
    assert here["kinds"] == there["kinds"] and here["nchwc_block"] == there["nchwc_block"] and here["kinds"]
    assert here["efficiency"] == there["efficiency"]
    text = load_target("host-x86").path.read_text().replace('name = "host-x86"', 'name = "split"', 1)
    variant_line = next(line for line in text.splitlines()
                        if line.startswith("parallel.float32 = { efficiency = 0.89, sync_us = 1, step_sync_us = 3.1"))
    # (and the AVX2 variant's, which lays its NCHWc block over that line)
    text = text.replace("parallel.float32 = { nchwc_block = { conv = 32, pointwise = 32, depthwise = 8 } }\n", "", 1)
    path = write(tmp_path, "split", text.replace(variant_line + "\n", "", 1))
    assert load_target(str(path), cpu_identity=xeon).compute.runtimes["onnx"].parallel["float32"]["sync_us"] == 15
    with pytest.raises(TargetError, match="parallel.float32 needs efficiency"):
        load_target(str(path), cpu_identity=zen4)


def test_a_cpu_models_own_recurrent_steps_replace_the_variants(tmp_path):
    """A CPU's own entry takes its recurrent kernels' per-step curves and figures (its own LSTM/GRU
    sweep), on that CPU only; a malformed curve is refused on every CPU."""
    xeon, epyc = "GenuineIntel family 6 model 167", "AuthenticAMD family 26 model 2"
    text = load_target("host-x86").path.read_text().replace('name = "host-x86"', 'name = "steps"', 1)
    own = '[compute.variants.cpus.runtimes.onnx]\nrnn_steps.GRU = [[1e4, 99.0], [1e6, 88.0]]\nrnn_step_us = 0.5\n'
    path = write(tmp_path, "steps", text.replace("[compute.variants.cpus.runtimes.onnx]\n", own, 1))
    here, there = (load_target(str(path), cpu_flags=frozenset({"avx512_vnni"}), cpu_identity=cpu).compute.runtimes["onnx"]
                   for cpu in (xeon, epyc))
    assert here.rnn_steps["GRU"] == ((1e4, 99.0), (1e6, 88.0)) and here.rnn_step_us == 0.5
    assert there.rnn_steps["GRU"] != here.rnn_steps["GRU"] and there.rnn_step_us != 0.5
    assert here.rnn_steps["LSTM"] == there.rnn_steps["LSTM"]  # what it does not list stays the variant's
    bad = text.replace("[compute.variants.cpus.runtimes.onnx]\n", own.replace("88.0", "-1"), 1)
    with pytest.raises(TargetError, match="rnn_steps"):
        load_target(str(write(tmp_path, "steps", bad)), cpu_flags=frozenset({"avx512_vnni"}), cpu_identity=epyc)


def test_a_variant_extension_applies_with_its_flags_and_takes_kernels_and_tiles_only(tmp_path):
    """``[[compute.variants.extensions]]``: kernels a runtime switches to where the CPU has more
    flags (XNNPACK's AMX int8 GEMMs), over the variant's, only on such a CPU; any other key refused."""
    extension = ('\n[[compute.variants]]\nrequires_cpu_flags = ["avx2"]\ndescription = "AVX2"\n'
                 '[compute.variants.runtimes.tflite]\ndispatch_overhead_us = 0.1\n'
                 'kernels.int8.conv = { mac_ps = 4 }\n'
                 '[[compute.variants.extensions]]\nrequires_cpu_flags = ["amx_int8"]\ndescription = "AMX"\n'
                 '[compute.variants.extensions.runtimes.tflite]\nrow_tiles.int8 = { conv = 16 }\n'
                 'kernels.int8.conv = { mac_ps = 1 }\n')
    path = write(tmp_path, "toy", VALID + extension)
    plain = load_target(str(path), cpu_flags=frozenset({"avx2"}))
    amx = load_target(str(path), cpu_flags=frozenset({"avx2", "amx_int8"}))
    assert plain.compute.runtimes["tflite"].kernels["int8"]["conv"].mac_ps == 4
    assert plain.compute.runtimes["tflite"].row_tile("int8", "conv") == 1
    assert amx.compute.runtimes["tflite"].kernels["int8"]["conv"].mac_ps == 1
    assert amx.compute.runtimes["tflite"].row_tile("int8", "conv") == 16
    assert amx.compute.runtimes["tflite"].dispatch_overhead_us == 0.1  # the rest stays the variant's
    assert amx.variant == "AVX2 + AMX"
    bad = write(tmp_path, "bad", VALID + extension.replace("row_tiles.int8", "dispatch_overhead_us = 1\nrow_tiles.int8"))
    with pytest.raises(TargetError, match="dispatch_overhead_us"):
        load_target(str(bad), cpu_flags=frozenset({"avx2"}))
    assert not amx.compute.runtimes["tflite"].whole_row_tiles  # the runtime's rule for its row tiles: off unless set
    whole = write(tmp_path, "whole", VALID + extension.replace("dispatch_overhead_us = 0.1\n",
                                                               "dispatch_overhead_us = 0.1\nwhole_row_tiles = true\n"))
    assert load_target(str(whole), cpu_flags=frozenset({"avx2", "amx_int8"})).compute.runtimes["tflite"].whole_row_tiles
    wrong = write(tmp_path, "wrong", VALID + extension.replace("dispatch_overhead_us = 0.1\n",
                                                               "dispatch_overhead_us = 0.1\nwhole_row_tiles = 16\n"))
    with pytest.raises(TargetError, match="whole_row_tiles"):
        load_target(str(wrong), cpu_flags=frozenset({"avx2"}))


def test_a_cpu_with_its_own_kernel_rates_is_told_so_not_to_expect_larger_errors():
    """host-x86 on the Zen 4 (its own entry) and on an AVX-512 CPU no entry names."""
    flags = frozenset({"avx2", "avx512f", "avx512_vnni"})
    own = load_target("host-x86", cpu_flags=flags, cpu_identity="AuthenticAMD family 25 model 17").variant_note
    assert "has its own measured kernel rates" in own and "expect larger errors" not in own
    unknown = load_target("host-x86", cpu_flags=flags, cpu_identity="GenuineIntel family 6 model 143").variant_note
    assert "expect larger errors" in unknown and "GenuineIntel family 6 model 143" in unknown


def test_with_threads_applies_to_cpu_targets_only():
    from compressor.targets.load import with_threads

    rpi4 = load_target("rpi4")
    assert with_threads(rpi4, None) is rpi4 and with_threads(rpi4, 4) is rpi4
    assert with_threads(rpi4, 1).compute.threads == 1 and rpi4.machine == "aarch64"
    with pytest.raises(TargetError, match="CPU targets only"):
        with_threads(load_target("cortex-m7"), 2)
    with pytest.raises(TargetError, match="positive"):
        with_threads(rpi4, 0)


def test_recorded_flags_read_back_what_a_measurement_recorded():
    from compressor.targets.cpu_flags import recorded_flags

    assert recorded_flags("AMD EPYC [avx2 avx512f avx512_vnni]") == frozenset({"avx2", "avx512f", "avx512_vnni"})
    assert recorded_flags("AMD EPYC") is None and recorded_flags(None) is None
    assert recorded_flags("x86_64 [no SIMD flags read]") is None


def test_a_variant_takes_another_variants_runtime_tables_and_lays_its_own_keys_over(tmp_path):
    """``runtimes_from``: an AVX2 variant starts from the AVX-512 variant's runtime tables (glue,
    recurrent terms, thread split) and replaces only the keys it measured; naming no earlier
    variant is an error on every CPU."""
    shipped = load_target("host-x86").path.read_text().replace('name = "host-x86"', 'name = "avx2"', 1)
    vnni = load_target("host-x86", cpu_flags=frozenset({"avx512_vnni"}))
    source = re.search(r'^description = "(AVX-512 VNNI[^"]*)"', shipped, re.M).group(1)
    avx2 = textwrap.dedent(f'''
        [[compute.variants]]
        requires_cpu_flags = ["sse4a"]
        description = "AVX2 test"
        runtimes_from = "{source}"
        [compute.variants.runtimes.tflite]
        dispatch_overhead_us = 0.5
        kernels.float32.conv = {{ mac_ps = 40, in_byte_ps = 0, weight_byte_ps = 0, out_byte_ps = 0, fixed_us = 0 }}
        ''')
    text = shipped.replace("\n[memory]\n", avx2 + "\n[memory]\n", 1)
    if "AVX2 test" not in text.split("[[compute.variants]]")[-1]:  # inserted after every shipped variant
        pytest.skip("host-x86.toml layout changed")
    path = str(write(tmp_path, "avx2", text))
    mine = load_target(path, cpu_flags=frozenset({"sse4a"}))  # none of the shipped variants' flags
    assert mine.variant == "AVX2 test"
    tflite, theirs = mine.compute.runtimes["tflite"], vnni.compute.runtimes["tflite"]
    assert tflite.dispatch_overhead_us == 0.5 != theirs.dispatch_overhead_us
    assert tflite.kernels["float32"]["conv"].mac_ps == 40 != theirs.kernels["float32"]["conv"].mac_ps
    assert tflite.kernels["float32"]["pointwise"] == theirs.kernels["float32"]["pointwise"]
    assert tflite.parallel == theirs.parallel and tflite.invoke_overhead_us == theirs.invoke_overhead_us
    assert mine.compute.runtimes["onnx"] == vnni.compute.runtimes["onnx"]
    # a CPU with both flag sets takes the first variant that matches, as before
    assert load_target(path, cpu_flags=frozenset({"sse4a", "avx512_vnni"})).compute.runtimes["tflite"] == theirs
    bad = str(write(tmp_path, "avx2", text.replace(f'runtimes_from = "{source}"', 'runtimes_from = "AVX-1024"')))
    with pytest.raises(TargetError, match="runtimes_from: names no earlier variant"):
        load_target(bad, cpu_flags=frozenset({"avx512_vnni"}))
    # a key it cannot lay over (a runtime's op list) is refused, not dropped
    bad = str(write(tmp_path, "avx2", text.replace("dispatch_overhead_us = 0.5\n", 'in_place = ["ADD"]\n', 1)))
    with pytest.raises(TargetError, match="in_place: not a key a variant with runtimes_from lays over"):
        load_target(bad, cpu_flags=frozenset({"avx512_vnni"}))


def test_a_named_cpu_is_loaded_with_the_flags_the_profile_knows_it_by(monkeypatch):
    """``cpu_identity`` naming another machine's CPU loads the profile as that CPU sees it (the
    flags of the variant and extensions measured on it), whatever this machine's flags are; this
    machine's own identity, or a CPU the profile does not name, reads this machine's flags."""
    import compressor.targets.load as load

    monkeypatch.setattr(load, "read_cpu_flags", lambda: frozenset({"avx2", "fma"}))
    monkeypatch.setattr(load, "read_cpu_identity", lambda: "AuthenticAMD family 23 model 1")
    zen4 = load_target("host-x86", cpu_identity="AuthenticAMD family 25 model 17")
    assert zen4.variant.startswith("AVX-512 VNNI") and "AMX" not in zen4.variant
    xeon = load_target("host-x86", cpu_identity="GenuineIntel family 6 model 167")
    assert "AMX" in xeon.variant  # its extension was measured on it
    assert not (load_target("host-x86", cpu_identity="GenuineIntel family 6 model 85").variant or "").startswith("AVX-512")
    assert not (load_target("host-x86").variant or "").startswith("AVX-512")  # this machine: its own flags
