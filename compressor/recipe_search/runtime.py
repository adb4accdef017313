"""The Ray runtime trials run on: a local one by default, or a cluster at ``--ray-address``.

``ray_runtime(workers, address=...)`` is a context manager.  Local: ``ray.init(num_cpus=W,
include_dashboard=False)``, so at most W trials (one CPU each) run at once; usage reporting
off (``RAY_USAGE_STATS_ENABLED=0``, set only around ``ray.init``, whose processes inherit it,
and given to the workers through the runtime environment), and trials at normal priority
(``RAY_worker_niceness=0``; see ``_RAY_START_ENV``).  ``address`` ("auto" or
"ray://HOST:PORT") connects to a running cluster instead, where W caps the trials in flight.
If the calling process already runs Ray, that runtime is used and left running.

Files reach the workers by path: the model, data and output directory must be at the same
path on every node (a shared filesystem; README "Recipe search on a Ray cluster").  The
runtime environment puts this package's source folder and the current directory on the
workers' ``PYTHONPATH`` (so ``--arch module:Class`` imports as it does for ``compress``).
Worker output (converter chatter) stays in Ray's log files: ``log_to_driver=False``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import CompressorError, ConfigError

__all__ = ["MissingExtraError", "TrialRunner", "ray_runtime", "require_search_extra"]

INSTALL_HINT = "pip install -e '.[search]'  (or: pip install ray optuna)"
OBJECT_STORE_BYTES = 128 * 1024 * 1024  # trials return small dicts; Ray's default takes 30% of RAM


class MissingExtraError(CompressorError):
    """Ray or Optuna is not installed: ``compress search`` needs the ``search`` extra."""

    def __init__(self, module: str):
        self.module = module
        super().__init__(f"compress search needs {module}, which is not installed: {INSTALL_HINT}")


def require_search_extra() -> None:
    """Raise ``MissingExtraError`` unless ray and optuna import."""
    import importlib.util

    for module in ("ray", "optuna"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(module)


def _check_address(address: str | None) -> None:
    if address is None or address == "auto" or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    if not (host and port.isdigit()):
        raise ConfigError("ray_address", address, "auto, ray://HOST:PORT or HOST:PORT of a Ray cluster")


def _worker_env() -> dict[str, Any]:
    source = str(Path(__file__).resolve().parents[2])  # the folder holding the compressor package
    paths = [source, os.getcwd(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)), "RAY_USAGE_STATS_ENABLED": "0",
                         "OMP_NUM_THREADS": "1"}}


# Read by Ray's processes when ray.init starts them: no usage reporting; workers at the priority
# of any other process (Ray's default worker niceness, 15, let every other job on a shared
# machine starve the trials: ~12% of a core each beside a load of 12 here).
_RAY_START_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}


@contextlib.contextmanager
def _ray_start_env() -> Iterator[None]:
    """The variables above, set only while Ray starts or stops, then restored."""
    previous = {key: os.environ.get(key) for key in _RAY_START_ENV}
    os.environ.update(_RAY_START_ENV)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def ray_runtime(workers: int, *, address: str | None = None) -> Iterator[TrialRunner]:
    """A ``TrialRunner`` on a fresh local runtime (or the cluster at ``address``); shut down after."""
    _check_address(address)
    import ray

    owned = not ray.is_initialized()
    if owned:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": logging.ERROR, "runtime_env": _worker_env()}
        if address is None:
            # "local": a new runtime of our own even when a `ray start` cluster runs on this machine
            # (ray.init() alone would join that one, and refuse num_cpus there).
            options.update(address="local", num_cpus=workers, object_store_memory=OBJECT_STORE_BYTES)
        else:
            options["address"] = address
        try:
            with _ray_start_env():
                ray.init(**options)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ConfigError("ray_address", address, f"a reachable Ray cluster ({error})") from None
    try:
        yield TrialRunner(ray)
    finally:
        if owned:
            with _ray_start_env():
                ray.shutdown()


class TrialRunner:
    """Submit ``run_trial`` jobs as Ray tasks (one CPU each), wait for them, cancel them."""

    def __init__(self, ray: Any):
        from .trials import run_trial

        self._ray = ray
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        self._running: dict[Any, Any] = {}  # object ref -> job

    def submit(self, job: Any) -> None:
        self._running[self._remote.remote(job)] = job

    @property
    def running(self) -> list[Any]:
        return list(self._running.values())

    def wait(self, timeout_s: float) -> list[tuple[Any, dict[str, Any]]]:
        """(job, outcome) of every trial that finished within ``timeout_s``; a task that died
        (worker crash, out of memory) is an outcome with status "fail" and Ray's reason."""
        if not self._running:
            return []
        ready, _ = self._ray.wait(list(self._running), num_returns=len(self._running), timeout=timeout_s)
        finished = []
        for ref in ready:
            job = self._running.pop(ref)
            try:
                outcome = self._ray.get(ref)
            except Exception as error:  # RayTaskError, WorkerCrashedError, ...: the trial failed
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                outcome = {"number": job.number, "status": "fail", "dir": job.out_dir,
                           "error": f"{type(error).__name__}: {first}"}
            finished.append((job, outcome))
        return finished

    def cancel_all(self) -> list[Any]:
        """Cancel every running trial (its worker is killed); the jobs that were running."""
        jobs = list(self._running.values())
        for ref in self._running:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._running.clear()
        return jobs
