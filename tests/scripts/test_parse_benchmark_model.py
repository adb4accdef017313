"""scripts/parse_benchmark_model.py on real published benchmark_model outputs, and the
on-device scripts (android_benchmark.sh, rpi_benchmark.sh) against stand-ins for adb and ssh.

The samples in tests/data/benchmark_model/ are verbatim copies of published output; the
first line of each says where it came from.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def _load_parser():
    spec = importlib.util.spec_from_file_location("parse_benchmark_model", SCRIPTS / "parse_benchmark_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


parser = _load_parser()


def parse_sample(name: str, **kwargs) -> dict:
    return parser.parse_benchmark_output((SAMPLES / name).read_text(), **kwargs)


def test_every_sample_names_its_source():
    samples = sorted(SAMPLES.glob("*.txt"))
    assert len(samples) >= 2
    for sample in samples:
        assert sample.read_text().startswith("# source: https://github.com/")


def test_tflite_readme_sample_old_layout_without_indices():
    # LiteRT's tflite/tools/benchmark/README.md: MobileNet v1 quant; tab-separated with [start],
    # no section heading, names without ":index", and "Average inference timings" at the end.
    trace = parse_sample("litert_readme_mobilenet_v1_quant.txt")
    assert trace["format"] == "edge-compressor-trace" and trace["version"] == 1
    assert trace["source"] == "litert-benchmark_model"
    ops = trace["ops"]
    assert len(ops) == 31
    assert ops[0] == {"node_type": "CONV_2D", "name": "MobilenetV1/MobilenetV1/Conv2d_0/Relu6", "index": None,
                      "avg_ms": 4.269, "first_ms": 4.269, "percent": 0.107}
    assert [op["node_type"] for op in ops[-4:]] == ["AVERAGE_POOL_2D", "CONV_2D", "RESHAPE", "SOFTMAX"]
    assert ops[-1]["name"] == "MobilenetV1/Predictions/Softmax" and ops[-1]["avg_ms"] == 0.029
    assert trace["total_ms"] == pytest.approx(79.7609)
    assert trace["model"] is None and trace["threads"] is None and trace["device"] is None


def test_riscv_sample_skips_the_initialization_table():
    # meta-tensorflow-lite's doc: full stdout on qemuriscv64, 4 threads, MobileNet v1 float.
    trace = parse_sample("meta_tensorflow_lite_riscv64_mobilenet_v1.txt", device="qemuriscv64")
    ops = trace["ops"]
    assert len(ops) == 31 and "AllocateTensors" not in {op["node_type"] for op in ops}
    assert ops[0]["name"] == "MobilenetV1/MobilenetV1/Conv2d_0/Relu6" and ops[0]["index"] == 0
    assert (ops[0]["first_ms"], ops[0]["avg_ms"], ops[0]["percent"]) == (87.754, 60.957, 2.066)
    assert ops[10] == {"node_type": "CONV_2D", "name": "MobilenetV1/MobilenetV1/Conv2d_5_pointwise/Relu6",
                       "index": 10, "avg_ms": 277.374, "first_ms": 263.724, "percent": 9.403}
    assert [op["index"] for op in ops] == list(range(31))
    assert sum(op["node_type"] == "DEPTHWISE_CONV_2D" for op in ops) == 13
    assert trace["model"] == "./mobilenet_v1_1.0_224.tflite" and trace["threads"] == 4
    assert trace["total_ms"] == pytest.approx(2950.34) and trace["device"] == "qemuriscv64"


def test_nnapi_sample_keeps_delegate_nodes_and_commas_in_names():
    # deeplabv3_tflite_for_nnapi_delegate README: 8 nodes, NNAPI partitions between CPU ops.
    ops = parse_sample("deeplabv3_nnapi_delegate.txt")["ops"]
    assert [op["node_type"] for op in ops] == ["TfLiteNnapiDelegate", "AVERAGE_POOL_2D", "TfLiteNnapiDelegate",
                                               "RESIZE_BILINEAR", "TfLiteNnapiDelegate", "RESIZE_BILINEAR",
                                               "RESIZE_BILINEAR", "ARG_MAX"]
    assert ops[0]["name"] == "MobilenetV2/expanded_conv_16/project/add_fold, aspp0/Relu" and ops[0]["index"] == 71
    assert ops[6] == {"node_type": "RESIZE_BILINEAR", "name": "ResizeBilinear_2", "index": 69, "avg_ms": 22.369,
                      "first_ms": 22.826, "percent": 42.965}


def test_xnnpack_sample_new_layout_with_spaces_in_node_types():
    # Arm Total Compute TC2 docs: newer layout (no [start]), INFO: prefixes, XNNPACK operators.
    trace = parse_sample("arm_tc2_mobile_object_localizer_xnnpack.txt")
    ops = trace["ops"]
    assert len(ops) == 115  # "Number of nodes executed: 115"
    assert ops[0] == {"node_type": "Convolution (NHWC, QU8) IGEMM", "name": "Delegate/Convolution (NHWC, QU8) IGEMM",
                      "index": 0, "avg_ms": 0.278, "first_ms": 0.267, "percent": 3.783}
    assert ops[9]["node_type"] == "Add (ND, QU8)" and ops[9]["avg_ms"] == 0.051
    last = ops[-1]
    assert last["node_type"] == "TFLite_Detection_PostProcess" and last["index"] == 114
    assert last["name"].startswith("TFLite_Detection_PostProcess, TFLite_Detection_PostProcess:1")
    assert last["avg_ms"] == 1.339 and last["percent"] == 18.197
    assert trace["model"] == "mobile_object_localizer_v1.tflite" and trace["threads"] == 4
    assert trace["total_ms"] == pytest.approx(7.45497)


def test_node_types_containing_numbers_and_logcat_prefixes():
    text = "\n".join([
        "05-31 10:31:13.022 21767 21767 I tflite  : Num threads: [2]",
        "05-31 10:31:14.022 21767 21767 I tflite  : Operator-wise Profiling Info for Regular Benchmark Runs:",
        "05-31 10:31:14.022 21767 21767 I tflite  : ============================== Run Order ==============================",
        "05-31 10:31:14.022 21767 21767 I tflite  : \t [node type]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  "
        "[mem KB]\t[times called]\t[Name]",
        "05-31 10:31:14.022 21767 21767 I tflite  : \t convolution_2d 0 -> relu 1\t    0.265\t    0.272\t 15.000%\t"
        " 15.000%\t     0.000\t        1\tDelegate/convolution_2d 0 -> relu 1:0",
        "05-31 10:31:14.022 21767 21767 I tflite  : ",
    ])
    trace = parser.parse_benchmark_output(text)
    assert trace["ops"] == [{"node_type": "convolution_2d 0 -> relu 1", "name": "Delegate/convolution_2d 0 -> relu 1",
                             "index": 0, "avg_ms": 0.272, "first_ms": 0.265, "percent": 15.0}]
    assert trace["threads"] == 2 and trace["total_ms"] is None


def run_script(*args, **kwargs):
    return subprocess.run([*args], capture_output=True, text=True, timeout=60, **kwargs)


def test_cli_writes_the_trace_atomically(tmp_path):
    out = tmp_path / "traces" / "trace.json"
    result = run_script(sys.executable, str(SCRIPTS / "parse_benchmark_model.py"),
                        str(SAMPLES / "deeplabv3_nnapi_delegate.txt"), "--out", str(out), "--device", "Pixel 4")
    assert result.returncode == 0, result.stderr
    trace = json.loads(out.read_text())
    assert trace["device"] == "Pixel 4" and len(trace["ops"]) == 8
    assert [p.name for p in out.parent.iterdir()] == ["trace.json"]


@pytest.mark.parametrize("content, expected", [
    (None, "No such file"),
    ("benchmark_model without --enable_op_profiling\nInference (avg): 1234\n", "no 'Run Order' table"),
    ("Operator-wise Profiling Info for Regular Benchmark Runs:\n=== Run Order ===\n[node type]\t[avg ms]\n"
     "CONV_2D\tfast\t[x]:0\n", "unexpected Run Order columns"),
    ("============================== Run Order ==============================\n"
     "\t[node type]\t[first]\t[avg ms]\t[%]\t[cdf%]\t[mem KB]\t[times called]\t[Name]\n"
     "\tCONV_2D\t1.0\tslow\t1%\t1%\t0\t1\t[x]:0\n", "cannot read Run Order row"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, content, expected):
    log = tmp_path / "bench.log"
    if content is not None:
        log.write_text(content)
    out = tmp_path / "trace.json"
    result = run_script(sys.executable, str(SCRIPTS / "parse_benchmark_model.py"), str(log), "--out", str(out))
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {log}: ") and expected in line
    assert not out.exists()


# ---------------------------------------------------------------------------- device scripts

FAKE_ADB = r"""#!/usr/bin/env bash
# Stands in for adb: the "device" is a directory; shell commands run here with paths mapped.
root=${FAKE_ANDROID_ROOT:?}
[ "${1:-}" = "-s" ] && shift 2
cmd=$1; shift
case $cmd in
  get-state) if [ -n "${FAKE_ADB_NO_DEVICE:-}" ]; then echo "error: no devices/emulators found" >&2; exit 1; fi
             echo device ;;
  push) mkdir -p "$(dirname "$root$2")"; cp "$1" "$root$2" ;;
  pull) cp "$root$1" "$2" ;;
  shell) if [ "$*" = "getprop ro.product.model" ]; then echo "Fake Pixel"; exit 0; fi
         line="$*"; exec sh -c "${line//\/data\/local\/tmp/$root/data/local/tmp}" ;;
esac
"""
FAKE_SSH = r"""#!/usr/bin/env bash
# Stands in for ssh: runs the remote command here.
while [ $# -gt 0 ]; do case $1 in -o|-p|-i) shift 2;; -*) shift;; *) break;; esac; done
[ -z "${FAKE_SSH_DOWN:-}" ] || { echo "ssh: connect to host: No route to host" >&2; exit 255; }
shift
exec sh -c "$*"
"""
FAKE_SCP = r"""#!/usr/bin/env bash
args=()
while [ $# -gt 0 ]; do case $1 in -o|-P|-i) shift 2;; -*) shift;; *) args+=("${1#*:}"); shift;; esac; done
cp "${args[@]}"
"""


@pytest.fixture
def fake_tools(tmp_path):
    """A bin/ with stand-ins for adb, ssh and scp and a benchmark_model that prints a real sample."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {"adb": FAKE_ADB, "ssh": FAKE_SSH, "scp": FAKE_SCP}.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    benchmark_model = tmp_path / "benchmark_model"
    sample = SAMPLES / "meta_tensorflow_lite_riscv64_mobilenet_v1.txt"
    benchmark_model.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/benchmark_model.args\ncat "{sample}"\n')
    benchmark_model.chmod(0o755)
    artifact = tmp_path / "model.tflite"
    artifact.write_bytes(b"\0\0\0\0TFL3 not a real model")
    (tmp_path / "device").mkdir()
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_ANDROID_ROOT=str(tmp_path / "device"),
               PYTHON=sys.executable)
    return tmp_path, env


def _no_tool_env(tmp_path, missing: str) -> dict:
    """A PATH with the basic tools the scripts use but not ``missing``."""
    bin_dir = tmp_path / f"no-{missing}"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "sed", "dirname", "basename", "mktemp", "rm", "mv", "mkdir", "cat", "tail", "tr"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return dict(os.environ, PATH=str(bin_dir))


@pytest.mark.parametrize("script", ["android_benchmark.sh", "rpi_benchmark.sh", "render_report.sh"])
def test_scripts_have_help(script):
    result = run_script(str(SCRIPTS / script), "--help")
    assert result.returncode == 0 and "Exit codes" in result.stdout


def test_android_script_pushes_runs_pulls_and_parses(fake_tools):
    tmp_path, env = fake_tools
    out = tmp_path / "android"
    result = run_script(str(SCRIPTS / "android_benchmark.sh"), "--benchmark-model", str(tmp_path / "benchmark_model"),
                        "--threads", "2", "--out", str(out), str(tmp_path / "model.tflite"), "--",
                        "--use_xnnpack=false", env=env)
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "benchmark_model.args").read_text()
    assert "--num_threads=2" in args and "--enable_op_profiling=true" in args and "--use_xnnpack=false" in args
    assert sorted(p.name for p in out.iterdir()) == ["benchmark_model.log", "trace.json"]
    trace = json.loads((out / "trace.json").read_text())
    assert trace["device"] == "Fake Pixel" and trace["threads"] == 2 and len(trace["ops"]) == 31
    assert not list((tmp_path / "device" / "data" / "local" / "tmp").iterdir())  # device cleaned up


def test_android_script_errors(fake_tools):
    tmp_path, env = fake_tools
    artifact = str(tmp_path / "model.tflite")
    missing_adb = run_script(str(SCRIPTS / "android_benchmark.sh"), artifact, env=_no_tool_env(tmp_path, "adb"))
    assert missing_adb.returncode == 2 and "adb not found" in missing_adb.stderr
    no_device = run_script(str(SCRIPTS / "android_benchmark.sh"), artifact, env=dict(env, FAKE_ADB_NO_DEVICE="1"))
    assert no_device.returncode == 2 and "no Android device" in no_device.stderr
    no_binary = run_script(str(SCRIPTS / "android_benchmark.sh"), "--out", str(tmp_path / "a"), artifact, env=env)
    assert no_binary.returncode == 2 and "--benchmark-model" in no_binary.stderr
    assert not (tmp_path / "a").exists()
    no_file = run_script(str(SCRIPTS / "android_benchmark.sh"), str(tmp_path / "none.tflite"), env=env)
    assert no_file.returncode == 2 and "no such file" in no_file.stderr


def test_rpi_script_runs_the_litert_runner_over_ssh(fake_tools):
    pytest.importorskip("ai_edge_litert")
    import torch

    from compressor.passes.export_tflite import export_tflite

    tmp_path, env = fake_tools
    model = tmp_path / "linear.tflite"
    export_tflite(torch.nn.Linear(4, 2).eval(), (torch.randn(1, 4),), model)
    out = tmp_path / "pi"
    result = run_script(str(SCRIPTS / "rpi_benchmark.sh"), "--python", sys.executable, "--runs", "3",
                        "--out", str(out), "pi@raspberrypi", str(model), env=env)
    assert result.returncode == 0, result.stderr
    bench = json.loads((out / "bench.json").read_text())
    assert bench["format"] == "edge-compressor-bench" and len(bench["samples_ms"]) == 3


def test_rpi_script_with_benchmark_model_brings_back_a_trace(fake_tools):
    tmp_path, env = fake_tools
    out = tmp_path / "pi"
    result = run_script(str(SCRIPTS / "rpi_benchmark.sh"), "--benchmark-model", str(tmp_path / "benchmark_model"),
                        "--out", str(out), "pi@raspberrypi", str(tmp_path / "model.tflite"), env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["benchmark_model.log", "trace.json"]
    assert len(json.loads((out / "trace.json").read_text())["ops"]) == 31


def test_rpi_script_errors(fake_tools):
    tmp_path, env = fake_tools
    artifact = str(tmp_path / "model.tflite")
    missing_ssh = run_script(str(SCRIPTS / "rpi_benchmark.sh"), "pi@x", artifact, env=_no_tool_env(tmp_path, "ssh"))
    assert missing_ssh.returncode == 2 and "ssh not found" in missing_ssh.stderr
    down = run_script(str(SCRIPTS / "rpi_benchmark.sh"), "--out", str(tmp_path / "p"), "pi@x", artifact,
                      env=dict(env, FAKE_SSH_DOWN="1"))
    assert down.returncode == 2 and "cannot reach pi@x" in down.stderr and not (tmp_path / "p").exists()
    broken = run_script(str(SCRIPTS / "rpi_benchmark.sh"), "--python", sys.executable, "--out", str(tmp_path / "p"),
                        "pi@x", artifact, env=env)  # not a real model: the runner fails on the board
    assert broken.returncode == 1 and "runner failed" in broken.stderr and not (tmp_path / "p").exists()
