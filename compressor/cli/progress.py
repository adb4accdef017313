"""The live progress display of `compress`: the step that runs, and a bar for long work inside it.

The library reports through one callback (compressor/progress.py): a ``str`` names the step
(``"export"``, ``"prune: sensitivity scan"``), a ``ProgressUpdate`` counts units of long work
(recovery and QAT batches with the epoch and the loss, samples evaluated by the verify pass).
Both land on one rich ``Progress`` on stderr: a spinner line for the step, and one bar per task
with done/total.  A new step clears the bars of the previous one.  The display is transient
(nothing is left on the screen afterwards) and is off under ``--quiet``, under ``--json`` (the
machine-readable output stays alone) and when stderr is not a terminal (rich's own rule for
live displays, as the step spinner always had): logs and CI get no control characters.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProgressDisplay"]


class ProgressDisplay:
    """``with ProgressDisplay(console, enabled=...) as display: compress(..., progress=display.update)``."""

    def __init__(self, console: Any, *, enabled: bool = True):
        self.console = console
        self.enabled = enabled and not console.quiet and console.is_terminal
        self.progress: Any = None
        self.step: Any = None
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> ProgressDisplay:
        if self.enabled:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=24),
                                     TextColumn("{task.fields[count]} {task.fields[detail]}"), TimeElapsedColumn(),
                                     console=self.console, transient=True, refresh_per_second=8)
            self.progress.__enter__()
            self.step = self.progress.add_task("compressing…", total=None, count="", detail="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)
            self.progress = None

    def update(self, update: Any) -> None:
        """A step message (str) or a ``ProgressUpdate``."""
        if self.progress is None:
            return
        if isinstance(update, str):
            for task in self.bars.values():
                self.progress.remove_task(task)
            self.bars.clear()
            self.progress.update(self.step, description=f"{update}…")
            return
        task = self.bars.get(update.task)
        if task is None:
            task = self.progress.add_task(update.task, total=update.total, count="", detail="")
            self.bars[update.task] = task
        count = f"{update.done}/{update.total}" if update.total is not None else str(update.done)
        self.progress.update(task, completed=update.done, total=update.total, count=f"{count} {update.unit}",
                             detail=f"· {update.detail}" if update.detail else "")
