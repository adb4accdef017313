"""One trial: a full ``compress`` run into its own directory, as a Ray task runs it.

``run_trial(job)`` is what a worker executes.  It never touches the study (only the driver
writes to Optuna's storage): it returns a plain dict the driver tells the study, with the
metrics the budgets read, the wall time, and where and when it ran (pid, node, start, end).
A trial that raises is returned as ``status: "fail"`` with its error, never raised: one
bad recipe must not stop the search.

Each trial runs with ONE torch thread (``TRIAL_THREADS``): Ray gives each task one CPU, and
a second intra-op thread per trial would oversubscribe the cores.  The thread count is part
of how the artifact was made (recovery and QAT sum floats in thread-dependent order), so the
chosen recipe records it (outputs.py) and the README says how to reproduce it.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["TRIAL_THREADS", "TrialJob", "run_trial"]

TRIAL_THREADS = 1


@dataclass(frozen=True)
class TrialJob:
    """Everything a worker needs, as plain data (paths must resolve on the worker's node)."""

    number: int
    recipe: dict[str, Any]  # Recipe.to_dict()
    out_dir: str
    model: str
    target: str
    data: str | None
    eval_data: str | None
    arch: str | None = None
    input_shape: tuple | None = None
    trust_pickle: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _node() -> str:
    try:
        import ray

        node_id = ray.get_runtime_context().get_node_id()
        return f"{socket.gethostname()} ({node_id[:12]})"
    except Exception:  # not inside Ray (a direct call): the host is what there is to say
        return socket.gethostname()


def _scan_facts(report: dict[str, Any]) -> dict[str, Any] | None:
    """The prune step's shared-scan facts (path, key hash, read or scanned), when it used one."""
    for step in report.get("steps", []):
        if step.get("name") == "prune" and step.get("sensitivity_scan"):
            return step["sensitivity_scan"]
    return None


def run_trial(job: TrialJob) -> dict[str, Any]:
    """Compress ``job.model`` with ``job.recipe`` into ``job.out_dir``; the outcome as a dict."""
    import torch

    from ..api import compress
    from ..config import Recipe
    from ..errors import CompressorError
    from .objectives import metrics_from_report

    torch.set_num_threads(TRIAL_THREADS)
    start, started = _now(), time.perf_counter()
    outcome: dict[str, Any] = {"number": job.number, "pid": os.getpid(), "node": _node(), "start": start,
                               "dir": job.out_dir, "threads": TRIAL_THREADS}
    try:
        result = compress(job.model, target=job.target, out=job.out_dir, recipe=Recipe.from_dict(job.recipe),
                          data=job.data, eval_data=job.eval_data, arch=job.arch, input_shape=job.input_shape,
                          trust_pickle=job.trust_pickle)
        outcome.update(status="complete", metrics=metrics_from_report(result.report),
                       artifact=result.report["artifact"], sha256=result.report.get("sha256"),
                       sensitivity_scan=_scan_facts(result.report))
    except CompressorError as error:
        outcome.update(status="fail", error=f"{type(error).__name__}: {error}")
    except Exception as error:  # a bug in a pass: recorded with where it happened, the search goes on
        where = traceback.extract_tb(error.__traceback__)[-1]
        outcome.update(status="fail", error=f"{type(error).__name__}: {error} "
                                            f"({Path(where.filename).name}:{where.lineno})")
    outcome.update(end=_now(), seconds=round(time.perf_counter() - started, 3))
    return outcome
