"""``compress search``: parse, call ``compressor.search``, print.  The search itself is compressor/recipe_search/.

    compress search MODEL --target T --data CALIB.npz --eval TEST.npz --budget BUDGETS.toml
                   [--trials 12] [--workers 2] [--ray-address auto|ray://HOST:PORT] [--storage URL]
                   [--study NAME] [--timeout S] [--space SPACE.toml] [--out DIR] [--json] [--quiet]

Exit codes: 0 a trial meets every budget (DIR/best holds it), 1 none does (the closest is
named), 2 bad input or Ray/Optuna missing (one line on stderr, ``--debug`` for the
traceback), 3 an internal error, 130 interrupted (finished trials kept; run it again to resume).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .common import EXIT_FAILED, EXIT_OK
from .common import fail as _fail

__all__ = ["search_command"]

EXIT_INTERRUPTED = 130  # the shell's code for SIGINT


@click.command("search", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", "-t", help="Target name (see `compress targets`) or a target .toml file.")
@click.option("--data", type=click.Path(path_type=Path),
              help="Calibration and recovery data: .npz with x (and y).")
@click.option("--eval", "eval_data", type=click.Path(path_type=Path),
              help="Held-out .npz with x and y: every trial's accuracy (agreement without y).")
@click.option("--budget", "budget_file", type=click.Path(path_type=Path), metavar="BUDGETS.toml",
              help="The budgets file `compress check` reads: a trial fits when every budget holds.")
@click.option("--trials", type=int, default=12, show_default=True,
              help="Evaluated trials of the study in total (a resumed study runs only the missing ones).")
@click.option("--workers", type=int, help="Trials at once: CPUs of the local Ray runtime, one each [all cores].")
@click.option("--ray-address", metavar="auto|ray://HOST:PORT", help="Run trials on this Ray cluster instead.")
@click.option("--storage", metavar="URL", help="Optuna storage (SQLAlchemy URL) [sqlite:///DIR/study.db].")
@click.option("--study", "study_name", metavar="NAME", help="Study name [MODEL_STEM-SHA12-TARGET].")
@click.option("--timeout", "timeout_s", type=float, metavar="S", help="Start no trial after S seconds.")
@click.option("--space", "space_file", type=click.Path(path_type=Path), metavar="SPACE.toml",
              help="Narrow or widen the search space (README, Recipe search).")
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Output directory [MODEL_STEM.search/ beside the model].")
@click.option("--input-shape", help="Input shape with batch, e.g. 1,1,32,32 (as for compress).")
@click.option("--arch", help="Architecture of a state dict: module:Class importable from here, or a zoo name.")
@click.option("--trust-pickle", is_flag=True, help="Allow loading a fully pickled nn.Module (runs code from the file).")
@click.option("--json", "as_json", is_flag=True, help="Print search.json on stdout and nothing else there.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary; errors only.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def search_command(model, target, data, eval_data, budget_file, trials, workers, ray_address, storage, study_name,
                   timeout_s, space_file, out, input_shape, arch, trust_pickle, as_json, quiet, debug) -> None:
    """Search recipes (pruning, depthwise-separable convs, per-layer precision, QAT) for the one that fits the budgets."""
    console = _stderr_console(quiet)
    display = _Display(console, total=trials)
    try:
        from ..recipe_search import search

        with display:
            result = search(model, target=target, data=data, eval_data=eval_data, budget=budget_file, trials=trials,
                            workers=workers, ray_address=ray_address, storage=storage, study=study_name,
                            timeout_s=timeout_s, space=space_file, out=out, arch=arch, input_shape=input_shape,
                            trust_pickle=trust_pickle, progress=display.update)
    except Exception as error:
        sys.exit(_fail(error, debug=debug))
    _print_result(result, console, as_json=as_json, quiet=quiet)
    if result.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _stderr_console(quiet: bool):
    """A console on a duplicate of fd 2 (the converters' output may be captured meanwhile)."""
    from rich.console import Console

    return Console(file=os.fdopen(os.dup(2), "w", buffering=1), stderr=True, quiet=quiet, highlight=False)


class _Display:
    """The live panel: trials done / running / failed, the last event, the best so far per budget."""

    def __init__(self, console, *, total: int):
        self.console, self.total, self.live = console, total, None

    def __enter__(self):
        from rich.live import Live

        if not self.console.quiet:
            self.live = Live(self._render(None), console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def update(self, event) -> None:
        if self.live is not None:
            self.live.update(self._render(event))

    def _render(self, event):
        from rich.table import Table

        from ..gate.verdicts import format_verdict
        from ..recipe_search.pareto import recipe_summary

        table = Table.grid(padding=(0, 1))
        if event is None:
            table.add_row("[bold]search[/]", "starting: loading the model, opening the study, starting Ray…")
            return table
        table.add_row("[bold]trials[/]", f"{event.done}/{event.total} done, {event.running} running, "
                                         f"{event.failed} failed")
        table.add_row("[bold]last[/]", event.last)
        best = event.best
        if best is None:
            table.add_row("[bold]best[/]", "no trial meets every budget yet")
        else:
            m = best["metrics"]
            table.add_row("[bold]best[/]", f"trial {best['number']}: {recipe_summary(best.get('recipe'))}, "
                                           f"{m['score_kind']} {100 * m['score']:.2f}%")
            for verdict in best.get("verdicts", []):
                from ..gate.verdicts import Verdict

                table.add_row("", format_verdict(Verdict(**{k: v for k, v in verdict.items() if k != "name"})))
        return table


def _print_result(result, console, *, as_json: bool, quiet: bool) -> None:
    import json

    for note in result.notes:
        console.print(f"[bold yellow]note:[/] {note}")
    if as_json:
        click.echo(json.dumps(result.search, indent=2))
        return
    if quiet:
        return
    from ..gate.verdicts import Verdict, format_verdict
    from ..recipe_search.pareto import recipe_summary

    document = result.search
    counts = document["counts"]
    click.echo(f"study {document['study']}: {counts['evaluated']} trials evaluated "
               f"({counts.get('fail', 0)} failed), storage {document['storage']}")
    if result.best is not None:
        best = result.best
        click.echo(f"best: trial {best['number']} ({recipe_summary(best.get('recipe'))}) meets every budget:")
        for verdict in best["verdicts"]:
            click.echo("  " + format_verdict(Verdict(**{k: v for k, v in verdict.items() if k != "name"})))
        click.echo(f"wrote {result.best_dir} (recipe.toml repeats it), {result.out_dir / 'search.json'} "
                   f"and {result.out_dir / 'pareto.html'}")
    elif result.closest is not None:
        trial, misses = result.closest
        click.echo(f"no trial meets every budget; closest: trial {trial['number']} "
                   f"({recipe_summary(trial.get('recipe'))}): {misses}")
    else:
        click.echo("no trial completed: see the errors in " + str(result.out_dir / "search.json"))
