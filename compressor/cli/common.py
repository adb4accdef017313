"""What every `compress` subcommand shares: exit codes and the one-line error report.

Light on purpose (click only): every CLI module imports it at start-up, and
`compress --help` must stay fast.
"""

from __future__ import annotations

import sys
import traceback

import click

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERNAL", "EXIT_OK", "SETTING_FLAGS", "fail"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

# The library names settings (``ConfigError.field``); the command line names its flags.  A
# setting that came from a recipe file keeps the file's name and the setting's in its field.
SETTING_FLAGS = {
    "data": "--data", "eval": "--eval", "input_shape": "--input-shape", "out": "--out", "recipe": "--recipe",
    "target": "--target", "arch": "--arch", "seed": "--seed",
    "resize": "--resize", "mean": "--mean", "std": "--std", "sample_rate": "--sample-rate",
    "export.format": "--format", "export.layout": "--layout",
    "int8.io": "--io", "int8.calibration": "--calibration", "int8.float_ops": "--float-ops",
    "int8.int16_ops": "--int16-ops", "int8.qat_epochs": "--qat-epochs", "int8.qat_lr": "--qat-lr",
    "verify.min_agreement": "--min-agreement", "verify.min_sqnr_db": "--min-sqnr",
    "verify.classifier_output": "--classifier-output",
    "prune": "--prune", "prune.method": "--prune", "prune.amount": "--prune", "prune.layers": "--prune-layers",
    "prune.finetune_epochs": "--finetune-epochs", "prune.lr": "--lr",
    "dsconv.mode": "--dsconv", "dsconv.rank": "--dsconv-rank", "dsconv.finetune_epochs": "--finetune-epochs",
    "dsconv.lr": "--lr",
    "max_regression": "--max-regression", "runs": "--runs", "warmup": "--warmup", "threads": "--threads",
    # compress search (compressor.search's arguments)
    "budget": "--budget", "trials": "--trials", "workers": "--workers", "timeout_s": "--timeout",
    "storage": "--storage", "study": "--study", "space": "--space", "ray_address": "--ray-address",
}


def fail(error: BaseException, *, debug: bool) -> int:
    """Report ``error`` on stderr in one line (with the traceback under --debug); the exit code.

    Bad input (a ``CompressorError``) is exit 2; anything else is a bug in this package, exit 3.
    """
    from ..errors import CompressorError, ConfigError

    if debug:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, ConfigError) and error.field in SETTING_FLAGS:
        click.echo(f"error: {SETTING_FLAGS[error.field]}: {error.given}, expected {error.expected}", err=True)
        return EXIT_BAD_INPUT
    if isinstance(error, CompressorError):
        click.echo(f"error: {error}", err=True)
        return EXIT_BAD_INPUT
    click.echo(f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback)", err=True)
    return EXIT_INTERNAL
