"""Target profiles: every shipped profile loads; every malformed file is one clear TargetError."""

from __future__ import annotations

import re
import textwrap

import pytest

from compressor._paths import targets_dir
from compressor.errors import TargetError
from compressor.targets import TargetProfile, known_target_names, list_targets, load_target

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
