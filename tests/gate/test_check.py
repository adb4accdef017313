"""`compress check`: verdicts on hand-built reports, JUnit output, and the command end to end."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from compressor.gate.budgets import Budgets
from compressor.gate.verdicts import Verdict, check_report, exit_code, format_verdict, write_junit
from compressor.cli.check import check_command
from compressor.errors import ConfigError


def make_report(**changes) -> dict:
    report = {
        "schema": 1, "target": "android-arm64", "format": "tflite", "status": "ok", "warnings": [],
        "original": {"size_bytes": 400_000, "accuracy": 0.98,
                     "estimate": {"latency_ms": 4.0, "peak_ram_bytes": 300_000, "flash_bytes": 400_000,
                                  "energy_mj": 2.0}},
        "compressed": {"size_bytes": 120_000, "gzip_bytes": 100_000, "accuracy": 0.97, "agreement": 0.99,
                       "sqnr_db": 30.0},
        "estimate": {"latency_ms": 1.5, "peak_ram_bytes": 100_000, "flash_bytes": 120_000, "energy_mj": 0.8,
                     "per_op": []},
        "artifact": "model.tflite",
    }
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = report
        for key in parents:
            node = node[key]
        node[last] = value
    return report


def by_name(verdicts):
    return {v.name: v for v in verdicts}


# ---------------------------------------------------------------------------- pure verdicts


def test_budgets_that_hold_pass_with_nothing_over():
    verdicts = check_report(make_report(), Budgets(max_size_bytes=250_000, max_latency_ms=2, min_accuracy=0.95))
    assert [v.name for v in verdicts] == ["max_size", "max_latency_ms", "min_accuracy"]
    assert all(v.passed and v.kind == "budget" and v.over_by == 0 for v in verdicts)
    assert exit_code(verdicts) == 0


def test_exceeded_budgets_say_how_far_over():
    verdicts = by_name(check_report(make_report(), Budgets(max_size_bytes=100_000, max_peak_ram_bytes=50_000,
                                                           min_agreement=0.995)))
    size = verdicts["max_size"]
    assert not size.passed and size.field == "compressed.size_bytes"
    assert size.actual == 120_000 and size.limit == 100_000
    assert size.over_by == 20_000 and size.over_by_relative == pytest.approx(0.2)
    assert verdicts["max_peak_ram"].over_by == 50_000 and verdicts["max_peak_ram"].over_by_relative == 1.0
    agreement = verdicts["min_agreement"]  # a "min" budget fails below its limit
    assert not agreement.passed and agreement.over_by == pytest.approx(0.005)
    assert exit_code(verdicts.values()) == 1


def test_violation_line_names_metric_field_actual_budget_and_amount_over():
    [verdict] = check_report(make_report(), Budgets(max_size_bytes=100_000))
    line = format_verdict(verdict)
    assert line.startswith("FAIL max_size (compressed.size_bytes): 120,000 B")
    assert "budget <= 100,000 B" in line and "over by 20,000 B (20.0% of the budget)" in line
    [accuracy] = check_report(make_report(), Budgets(min_accuracy=0.99))
    assert "under by 2.00 pp" in format_verdict(accuracy)


def test_missing_fields_are_skipped_with_a_reason_and_cannot_pass_alone():
    report = make_report(compressed__accuracy=None, estimate=None)
    verdicts = check_report(report, Budgets(min_accuracy=0.9, max_latency_ms=5))
    assert [v.kind for v in verdicts] == ["skipped", "skipped"]
    assert all(v.passed is None for v in verdicts)
    assert "--eval" in verdicts[1].reason
    assert exit_code(verdicts) == 2
    assert format_verdict(verdicts[1]).startswith("SKIP min_accuracy: cannot check")
    mixed = check_report(report, Budgets(min_accuracy=0.9, max_size_bytes=10**6))
    assert exit_code(mixed) == 0


def test_regression_against_baseline_is_relative_to_each_baseline_value():
    baseline = make_report()
    current = make_report(estimate__latency_ms=1.6, compressed__size_bytes=125_000, compressed__accuracy=0.96)
    verdicts = by_name(check_report(current, Budgets(), baseline=baseline, max_regression=0.05))
    latency = verdicts["regression estimate.latency_ms"]  # 1.5 -> 1.6 is +6.7 %: past 5 %
    assert latency.kind == "regression" and not latency.passed
    assert latency.baseline == 1.5 and latency.limit == pytest.approx(1.575)
    assert latency.over_by == pytest.approx(0.025)
    assert verdicts["regression compressed.size_bytes"].passed  # +4.2 %
    accuracy = verdicts["regression compressed.accuracy"]  # higher is better: 0.97 -> 0.96 is -1.03 %
    assert accuracy.passed and accuracy.limit == pytest.approx(0.97 * 0.95)
    line = format_verdict(latency)
    assert line.startswith("FAIL regression estimate.latency_ms") and "baseline 1.5 ms (+6.7%)" in line
    assert exit_code(verdicts.values()) == 1


def test_regression_defaults_to_the_budgets_file_then_zero():
    baseline, current = make_report(), make_report(estimate__energy_mj=0.82)
    strict = by_name(check_report(current, Budgets(), baseline=baseline))
    assert not strict["regression estimate.energy_mj"].passed
    lenient = by_name(check_report(current, Budgets(max_regression=0.05), baseline=baseline))
    assert lenient["regression estimate.energy_mj"].passed


def test_max_regression_needs_a_baseline_and_bad_fields_are_config_errors():
    with pytest.raises(ConfigError, match="--baseline"):
        check_report(make_report(), Budgets(max_size_bytes=1), max_regression=0.05)
    with pytest.raises(ConfigError, match="compressed.size_bytes"):
        check_report(make_report(compressed__size_bytes="big"), Budgets(max_size_bytes=1))
    with pytest.raises(ConfigError):
        Verdict("maybe", "max_size", "compressed.size_bytes", "bytes", 1, 1, True)


def test_junit_has_one_testcase_per_verdict_and_marks_failures(tmp_path):
    verdicts = check_report(make_report(compressed__accuracy=None),
                            Budgets(max_size_bytes=100_000, max_latency_ms=2, min_accuracy=0.9))
    path = tmp_path / "reports" / "budgets.xml"
    write_junit(verdicts, path, suite="compress-check.android-arm64")
    root = ET.parse(path).getroot()
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["max_size (compressed.size_bytes)", "max_latency_ms (estimate.latency_ms)",
                                              "min_accuracy (compressed.accuracy)"]
    assert cases[0].find("failure") is not None and "over by 20,000 B" in cases[0].find("failure").get("message")
    assert cases[1].find("failure") is None and cases[2].find("skipped") is not None
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("skipped") == "1"
    assert [p.name for p in path.parent.iterdir()] == ["budgets.xml"]  # no temporary file left


# ---------------------------------------------------------------------------- the command


def invoke(*args: str):
    return CliRunner().invoke(check_command, list(args), catch_exceptions=False)


def write_report(path, report) -> str:
    path.write_text(json.dumps(report))
    return str(path)


def test_compress_then_check_holds_and_fails(tiny_workspace):
    from compressor.cli.main import cli

    run = CliRunner().invoke(cli, ["tiny.pt", "--arch", "tinynets:TinyNet", "--target", "android-arm64",
                                   "--data", "calib.npz", "--eval", "test.npz", "--classifier-output", "0",
                                   "--out", "out", "--quiet"],
                             catch_exceptions=False)
    assert run.exit_code == 0, run.output
    report = json.loads((tiny_workspace / "out" / "report.json").read_text())
    size = report["compressed"]["size_bytes"]

    holds = tiny_workspace / "holds.toml"
    holds.write_text(f'max_size = "{size / 1000 + 1}kB"\nmin_accuracy = "50%"\n'
                     f'[targets.android-arm64]\nmax_latency_ms = {report["estimate"]["latency_ms"] * 2}\n')
    result = invoke("out/report.json", "--budget", str(holds))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "check passed: 3 within limits"

    fails = tiny_workspace / "fails.toml"
    fails.write_text(f"max_size = {size - 100}\nmax_latency_ms = 1000\n")
    result = invoke("out", "--budget", str(fails), "--junit", "junit.xml")  # a directory means its report.json
    assert result.exit_code == 1
    [violation] = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert violation.startswith("FAIL max_size (compressed.size_bytes)")
    assert f"over by 100 B ({100 / (size - 100):.1%} of the budget)" in violation
    cases = ET.parse(tiny_workspace / "junit.xml").getroot().findall("./testsuite/testcase")
    assert len(cases) == 2 and cases[0].find("failure") is not None

    as_json = invoke("out/report.json", "--max-size", "1MiB", "--json")
    assert as_json.exit_code == 0
    verdicts = json.loads(as_json.stdout)["verdicts"]
    assert verdicts[0]["name"] == "max_size" and verdicts[0]["limit"] == 1 << 20 and verdicts[0]["passed"]

    regressed = json.loads(json.dumps(report))
    regressed["estimate"]["latency_ms"] *= 1.10
    result = invoke(write_report(tiny_workspace / "new.json", regressed), "--baseline", "out/report.json",
                    "--max-regression", "5%")
    assert result.exit_code == 1
    assert any(line.startswith("FAIL regression estimate.latency_ms") for line in result.stdout.splitlines())

    # An artifact is profiled on --target; accuracy cannot be checked from it.
    artifact = f"out/{report['artifact']}"
    only_accuracy = invoke(artifact, "--target", "android-arm64", "--min-accuracy", "0.9")
    assert only_accuracy.exit_code == 2
    assert only_accuracy.stderr.startswith("error: nothing could be checked: min_accuracy")
    assert len(only_accuracy.stderr.splitlines()) == 1
    profiled = invoke(artifact, "--target", "android-arm64", "--min-accuracy", "0.9", "--max-size", f"{size}",
                      "--max-flash", "10MB")
    assert profiled.exit_code == 0, profiled.output
    assert "SKIP min_accuracy" in profiled.stdout and "check passed: 2 within limits" in profiled.stdout


@pytest.fixture
def report_file(tmp_path):
    return write_report(tmp_path / "report.json", make_report())


MALFORMED = {
    "budgets file missing": (None, ["--budget", "{tmp}/missing.toml"], "budgets file not found"),
    "unknown budget key": ('max_sise = "250KB"\n', [], "max_sise"),
    "unknown key in a target table": ("[targets.android-arm64]\nmax_ram = 5\n", [], "targets.android-arm64.max_ram"),
    "budgets not TOML": ("max_size = = 3\n", [], "not valid TOML"),
    "size unit": ('max_size = "250 parsecs"\n', [], "max_size: got '250 parsecs'"),
    "accuracy as a percent number": ("min_accuracy = 97\n", [], "min_accuracy: got 97"),
    "targets not tables": ("targets = [1, 2]\n", [], "targets"),
    "report missing": ("max_size = 1\n", ["{tmp}/none.json"], "report not found"),
    "report not JSON": ("max_size = 1\n", ["{tmp}/garbage.json"], "not JSON"),
    "report without schema": ("max_size = 1\n", ["{tmp}/other.json"], 'no "schema": 1'),
    "report field not a number": ("max_size = 1\n", ["{tmp}/bad_field.json"], "compressed.size_bytes"),
    "inline size flag": (None, ["--max-size", "12Q"], "--max-size: got '12Q'"),
    "regression without baseline": ("max_size = 1\n", ["--max-regression", "5%"], "--max-regression"),
    "regression as bare percent": ("max_size = 1\n", ["--baseline", "{report}", "--max-regression", "5"],
                                   "--max-regression: got '5'"),
    "artifact without target": ("max_size = 1\n", ["{tmp}/model.tflite"], "--target"),
    "no budgets at all": (None, [], "budgets to check"),
    "baseline for another target": ("max_size = 1\n", ["--baseline", "{tmp}/other_target.json"], "same target"),
    "target differs from the report's": ("max_size = 1\n", ["--target", "cortex-m7"], "report's own target"),
    "threads with a report": ("max_size = 1\n", ["--threads", "2"], "no --threads with a report"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_budgets_and_reports_exit_2_with_one_line(tmp_path, report_file, case):
    budgets_text, args, expected = MALFORMED[case]
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"compressed": {"size_bytes": 1}}')
    write_report(tmp_path / "bad_field.json", make_report(compressed__size_bytes="big"))
    write_report(tmp_path / "other_target.json", make_report(target="host-x86"))
    (tmp_path / "model.tflite").write_bytes(b"\0\0\0\0TFL3")
    argv = [arg.format(tmp=tmp_path, report=report_file) for arg in args]
    if not argv or argv[0].startswith("--"):
        argv.insert(0, report_file)
    if budgets_text is not None:
        (tmp_path / "budgets.toml").write_text(budgets_text)
        argv += ["--budget", str(tmp_path / "budgets.toml")]
    result = invoke(*argv)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and expected in line


def test_debug_shows_the_traceback(report_file):
    result = invoke(report_file, "--max-size", "12Q", "--debug")
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_regression_check_without_budgets(tmp_path, report_file):
    baseline = write_report(tmp_path / "old.json", copy.deepcopy(make_report(estimate__latency_ms=1.0)))
    result = invoke(report_file, "--baseline", baseline, "--max-regression", "10%")
    assert result.exit_code == 1
    assert "FAIL regression estimate.latency_ms" in result.stdout
    assert "over by 0.4 ms" in result.stdout


def test_registered_as_compress_check_and_lazy(report_file):
    from compressor.cli.main import cli

    result = CliRunner().invoke(cli, ["check", report_file, "--max-size", "1MiB"], catch_exceptions=False)
    assert result.exit_code == 0 and "ok   max_size" in result.stdout
    code = "import sys, compressor.cli.main; print(sorted(m for m in ('compressor.gate.verdicts', 'compressor.gate.budgets', 'torch') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


# ---------------------------------------------------------------------------- status and SQNR


def _outputs(*sqnrs, failed=()):
    return [{"index": i, "name": f"output_{i}", "shape": [1, 4], "kind": "regression", "sqnr_db": s, "cosine": 0.99,
             "max_abs_error": 0.1, "agreement": None, "status": "FAILED" if i in failed else "ok"}
            for i, s in enumerate(sqnrs)]


def test_a_failed_report_fails_the_check_whatever_the_budgets_say():
    report = make_report(status="FAILED", compressed__outputs=_outputs(31.0, 9.5, failed=(1,)))
    verdicts = check_report(report, Budgets(max_size_bytes=250_000))
    assert [v.name for v in verdicts] == ["status", "max_size"] and verdicts[1].passed
    assert not verdicts[0].passed and "output 1 (output_1)" in verdicts[0].reason
    assert exit_code(verdicts) == 1 and format_verdict(verdicts[0]).startswith("FAIL status: ")
    allowed = check_report(report, Budgets(max_size_bytes=250_000), allow_failed=True)
    assert [v.name for v in allowed] == ["max_size"] and exit_code(allowed) == 0


def test_min_sqnr_reads_the_worst_output_or_an_old_reports_sqnr():
    report = make_report(compressed__outputs=_outputs(37.7, 19.0, 37.9))
    [verdict] = check_report(report, Budgets(min_sqnr_db=20))
    assert verdict.actual == 19.0 and not verdict.passed and verdict.over_by == pytest.approx(1.0)
    assert "19.00 dB, budget >= 20.00 dB, under by 1.00 dB" in format_verdict(verdict)
    old = make_report()  # schema 1 before per-output verification: sqnr_db was the minimum
    [verdict] = check_report(old, Budgets(min_sqnr_db=20))
    assert verdict.actual == 30.0 and verdict.passed


def test_check_cli_min_sqnr_and_failed_reports(tmp_path):
    runner = CliRunner()
    (tmp_path / "ok.json").write_text(json.dumps(make_report(compressed__outputs=_outputs(30.0, 18.0))))
    (tmp_path / "failed.json").write_text(json.dumps(make_report(status="FAILED",
                                                                 compressed__outputs=_outputs(30.0, 9.0, failed=(1,)))))
    ok = runner.invoke(check_command, [str(tmp_path / "ok.json"), "--min-sqnr", "15"])
    assert ok.exit_code == 0, ok.output
    strict = runner.invoke(check_command, [str(tmp_path / "ok.json"), "--min-sqnr", "20"])
    assert strict.exit_code == 1 and "FAIL min_sqnr_db" in strict.output
    failed = runner.invoke(check_command, [str(tmp_path / "failed.json"), "--max-size", "1MB"])
    assert failed.exit_code == 1 and "FAIL status" in failed.output
    assert runner.invoke(check_command, [str(tmp_path / "failed.json"), "--max-size", "1MB",
                                         "--allow-failed"]).exit_code == 0
    bad = runner.invoke(check_command, [str(tmp_path / "ok.json"), "--min-sqnr", "loud"])
    assert bad.exit_code == 2 and "--min-sqnr" in bad.stderr


def test_check_an_artifact_on_two_threads_gates_the_two_thread_estimate(tmp_path):
    from tests.measure.test_bench import write_conv_onnx

    artifact = write_conv_onnx(tmp_path / "conv.onnx")
    latency = {}
    for threads in ("1", "2"):
        result = invoke(str(artifact), "--target", "host-x86", "--threads", threads, "--max-latency-ms", "1000", "--json")
        assert result.exit_code == 0, result.output
        [verdict] = [v for v in json.loads(result.stdout)["verdicts"] if v["metric"] == "max_latency_ms"]
        latency[threads] = verdict["actual"]
    assert latency["2"] < latency["1"]
