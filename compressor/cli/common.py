"""What every `compress` subcommand shares: exit codes and the one-line error report.

Light on purpose (click only): every CLI module imports it at start-up, and
`compress --help` must stay fast.
"""

from __future__ import annotations

import sys
import traceback

import click

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERNAL", "EXIT_OK", "fail"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def fail(error: BaseException, *, debug: bool) -> int:
    """Report ``error`` on stderr in one line (with the traceback under --debug); the exit code.

    Bad input (a ``CompressorError``) is exit 2; anything else is a bug in this package, exit 3.
    """
    from ..errors import CompressorError

    if debug:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, CompressorError):
        click.echo(f"error: {error}", err=True)
        return EXIT_BAD_INPUT
    click.echo(f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback)", err=True)
    return EXIT_INTERNAL
