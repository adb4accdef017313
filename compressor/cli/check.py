"""``compress check``: gate CI on a report's size, latency, memory, energy and accuracy.

    compress check OUT/report.json --budget budgets.toml
    compress check OUT/ --max-size 250KB --max-latency-ms 20 --junit budgets.xml
    compress check model.tflite --target cortex-m7 --budget budgets.toml
    compress check new/report.json --baseline old/report.json --max-regression 5%

A report whose verification FAILED (its "status") fails the check whatever the budgets
say, unless ``--allow-failed``.

Exit codes: 0 every budget holds, 1 a budget is exceeded, a metric regressed past the
baseline or the report's status is FAILED (one line per violation), 2 bad input or nothing could be checked (one line on
stderr; ``--debug`` for the traceback), 3 an internal error.  Parsing only: the budgets
live in ``budgets.py``, the verdicts in ``check.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import EXIT_BAD_INPUT
from .common import fail as _fail

__all__ = ["check_command"]

# Inline budget flags: click parameter name -> budget key (the budgets file's spelling).
_INLINE_FLAGS = {
    "max_size": ("--max-size", "Artifact file size limit: bytes or 250KB, 1.5MiB, ..."),
    "max_flash": ("--max-flash", "Estimated flash limit (size units as --max-size)."),
    "max_peak_ram": ("--max-peak-ram", "Estimated peak RAM limit (size units as --max-size)."),
    "max_latency_ms": ("--max-latency-ms", "Estimated latency limit in milliseconds."),
    "max_energy_mj": ("--max-energy-mj", "Estimated energy per inference limit in millijoules."),
    "min_accuracy": ("--min-accuracy", "Lowest allowed top-1 accuracy: 0.95 or 95%."),
    "min_agreement": ("--min-agreement", "Lowest allowed top-1 agreement with the original: 0.98 or 98%."),
    "min_sqnr_db": ("--min-sqnr", "Lowest allowed SQNR of the worst output, in dB (e.g. 20)."),
}


def _inline_budget_options(function):
    for key, (flag, help_text) in reversed(_INLINE_FLAGS.items()):
        function = click.option(flag, key, metavar="LIMIT", help=help_text)(function)
    return function


@click.command("check", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("source", metavar="REPORT.json|DIR|ARTIFACT", type=click.Path(path_type=Path))
@click.option("--budget", "budget_file", type=click.Path(path_type=Path), metavar="BUDGETS.toml",
              help="Budgets file: global keys, [targets.NAME] tables override them.")
@click.option("--target", "-t", help="Target whose budgets apply; required to profile an artifact [the report's target].")
@click.option("--baseline", type=click.Path(path_type=Path), metavar="OLD.json",
              help="An earlier report.json: fail when a metric got worse than it by more than --max-regression.")
@click.option("--max-regression", metavar="PCT", help="Allowed worsening against --baseline, of each metric's baseline value: 5% or 0.05 [0].")
@click.option("--input-shape", help="Input shape(s) for dynamic dims, as `compress`: 1,3,48,320; one per input: 1,3,32,32;1,16. A dynamic batch dim is 1 unless given. (ARTIFACT only)")
@click.option("--input-value", "input_values", multiple=True, metavar="NAME=NUMBER",
              help="Input NAME's value where an If's branch depends on it, as `compress profile` (ARTIFACT only).")
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="Runtime threads on a CPU target, as `compress profile --threads` (ARTIFACT only) [the profile's own].")
@_inline_budget_options
@click.option("--allow-failed", is_flag=True,
              help="Check the budgets only: a report whose verification FAILED may still pass.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON on stdout and nothing else there.")
@click.option("--junit", type=click.Path(path_type=Path), metavar="FILE.xml", help="Write a JUnit XML file: one testcase per budget.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def check_command(source: Path, budget_file: Path | None, target: str | None, baseline: Path | None,
                  max_regression: str | None, allow_failed: bool, input_shape: str | None,
                  input_values: tuple[str, ...], threads: int | None,
                  as_json: bool, junit: Path | None, debug: bool, **inline: str | None) -> None:
    """Check a report (or an artifact, profiled on --target) against budgets; exit 1 if any is
    exceeded or the report's verification FAILED."""
    try:
        result = _run_check(source, budget_file, target, baseline, max_regression, junit, inline,
                            allow_failed=allow_failed, input_shape=input_shape, threads=threads,
                            input_values=input_values)
    except Exception as error:
        sys.exit(_fail(error, debug=debug))
    verdicts, checked_target, profiled = result
    _print(verdicts, source=source, target=checked_target, profiled=profiled, as_json=as_json)


def _run_check(source, budget_file, target, baseline_path, max_regression, junit, inline, *, allow_failed=False,
               input_shape=None, threads=None, input_values=()):
    from ..gate.budgets import Budgets, budgets_from_table, load_budgets, parse_fraction
    from ..gate.verdicts import ARTIFACT_SUFFIXES, check_report, load_report, report_from_artifact, write_junit
    from ..errors import ConfigError

    if source.is_dir():
        source = source / "report.json"
    from ..files import artifact_suffix

    profiled = artifact_suffix(source) in ARTIFACT_SUFFIXES
    if profiled:
        if not target:
            raise ConfigError("--target", None, f"a target name: an artifact ({source.name}) is profiled on a target")
        from ..data import parse_input_shapes, parse_input_values

        shapes = parse_input_shapes(input_shape) if input_shape else None
        report = report_from_artifact(source, target, input_shapes=shapes, threads=threads,
                                      input_values=parse_input_values(input_values) or None)
    else:
        if input_shape:
            raise ConfigError("input_shape", input_shape, "no --input-shape with a report (it applies to an ARTIFACT)")
        if input_values:
            raise ConfigError("input_value", input_values[0], "no --input-value with a report (it applies to an ARTIFACT)")
        if threads:
            raise ConfigError("--threads", threads, "no --threads with a report (it applies to an ARTIFACT: a report "
                                                    "was costed when it was made)")
        report = load_report(source)
        if target and target != report["target"]:
            raise ConfigError("--target", target, f"the report's own target {report['target']!r} (or leave it out)")
    target = report["target"]

    budgets = load_budgets(budget_file, target=target) if budget_file else Budgets()
    for key, raw in inline.items():
        if raw is None:
            continue
        flag = _INLINE_FLAGS[key][0]
        try:
            budgets = budgets.merged_with(budgets_from_table({key: raw}))
        except ConfigError as error:
            raise ConfigError(flag, error.value, error.expected) from None
    regression = parse_fraction(max_regression, field="--max-regression") if max_regression is not None else None
    baseline = None
    if baseline_path is not None:
        baseline = load_report(baseline_path)
        if baseline["target"] != target:
            raise ConfigError("--baseline", str(baseline_path),
                              f"a report for the same target ({target!r}), not {baseline['target']!r}")
    if not budgets.keys_set() and baseline is None:
        raise ConfigError("--budget", None, "budgets to check: a budgets file or flags such as --max-size 250KB "
                                            "(or --baseline OLD.json)")
    verdicts = check_report(report, budgets, baseline=baseline, max_regression=regression, allow_failed=allow_failed)
    if junit is not None:
        write_junit(verdicts, junit, suite=f"compress-check.{target}")
    return verdicts, target, profiled


def _print(verdicts, *, source: Path, target: str, profiled: bool, as_json: bool) -> None:
    from ..gate.verdicts import exit_code, format_verdict

    code = exit_code(verdicts)
    if as_json:
        import json

        click.echo(json.dumps({"source": str(source), "target": target, "profiled_artifact": profiled,
                               "exit_code": code, "verdicts": [v.to_dict() for v in verdicts]}, indent=2))
    else:
        if profiled:
            click.echo(f"{source.name} profiled on {target}: latency, RAM, flash and energy are estimates")
        for verdict in verdicts:
            click.echo(format_verdict(verdict))
    if code == EXIT_BAD_INPUT:
        reasons = "; ".join(f"{v.name}: {v.reason}" for v in verdicts) or "no budgets"
        click.echo(f"error: nothing could be checked: {reasons}", err=True)
    elif not as_json:
        failed = sum(v.passed is False for v in verdicts)
        checked = sum(v.passed is not None for v in verdicts)
        click.echo(f"check FAILED: {failed} of {checked} exceeded" if failed
                   else f"check passed: {checked} within limits")
    sys.exit(code)


