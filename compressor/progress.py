"""Progress of long work (fine-tuning epochs, evaluation over data), for whoever shows it.

The library reports through one callback, ``progress(update)``, handed down from
``compress(..., progress=)`` into ``Context.progress``.  ``update`` is either a short step
message (a ``str``: ``"export"``, ``"prune: sensitivity scan"``) or a ``ProgressUpdate``: a task
with units done out of a total (when known) and a detail such as the epoch and the loss.  The
command line renders both on one rich display on stderr (cli/progress.py); a notebook can
pass ``print``, since ``str(update)`` is one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ProgressCallback", "ProgressUpdate", "no_progress", "sample_reporter"]


@dataclass(frozen=True)
class ProgressUpdate:
    task: str  # what runs: "recovery", "qat", "verify: torch", "verify: LiteRT"
    done: int  # units done so far
    total: int | None  # units in all, None when unknown
    unit: str = "batches"
    detail: str = ""  # "epoch 2/8, loss 0.4123"

    def __str__(self) -> str:
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        return f"{self.task}: {count} {self.unit}" + (f", {self.detail}" if self.detail else "")


ProgressCallback = Callable[["str | ProgressUpdate"], None]


def no_progress(update: str | ProgressUpdate) -> None:
    """The callback when nobody watches."""


def sample_reporter(progress: Callable[..., None] | None, task: str
                    ) -> Callable[[int, int], None] | None:
    """An ``on_samples(done, total)`` hook (``run_torch``, ``Runner.run_batch``) that reports
    ``ProgressUpdate(task, done, total, unit="samples")`` to ``progress``; None without one."""
    if progress is None:
        return None
    return lambda done, total: progress(ProgressUpdate(task, done, total, unit="samples"))
