"""The Optuna study a search lives in: storage, name, identity checks, sampler, records.

The study is in Optuna's RDB storage: ``sqlite:///DIR/study.db`` by default, or any SQLAlchemy
URL (``--storage``) so several machines share one study and a stopped search resumes where it
stopped.  Only the driver writes to it (ask/tell); workers return results.

Its name defaults to ``MODEL_STEM-SHA12-TARGET`` (the model file's sha256 and the target), so
re-running the same command opens the same study.  The study's user attrs record what it was
created for: the model's sha256, the target, and the space with its sha256.  Opening it for
another model, target or space is exit 2 (a changed space needs a new ``--study``); budgets
may change freely and are re-applied to every recorded trial from its stored metrics.

Each trial's user attrs hold ``recipe`` (Recipe.to_dict()), ``metrics`` (objectives.py),
``run`` (pid, node, start, end, seconds, dir, threads, and the prune step's ``sensitivity_scan``), and ``error``, ``duplicate_of`` or
``interrupted`` when they apply.  ``trial_records`` turns the study into search.json's list.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError

__all__ = ["N_STARTUP_TRIALS", "counts", "default_storage", "default_study_name", "describe_storage",
           "make_sampler", "open_study", "trial_records"]

N_STARTUP_TRIALS = 4  # random points (after the anchors) before TPE models the history
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def default_storage(out_dir: Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'study.db'}"


def default_study_name(model_path: Path, model_sha256: str, target_name: str) -> str:
    return _NAME.sub("-", f"{Path(model_path).stem}-{model_sha256[:12]}-{target_name}")


def describe_storage(url: str) -> str:
    """The URL without its password, for search.json and messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _open_storage(url: str) -> Any:
    import optuna
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError("storage", url, "a SQLAlchemy URL such as sqlite:///DIR/study.db or "
                          "postgresql://USER@HOST/DB") from None
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        parent = Path(parsed.database).parent
        if not parent.is_dir():
            raise ConfigError("storage", url, f"a SQLite file in an existing directory ({parent} does not exist)")
    try:
        return optuna.storages.RDBStorage(url, skip_compatibility_check=False)
    except Exception as error:  # unknown dialect, unreachable server, unreadable file, ...
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError("storage", describe_storage(url), f"a reachable database ({first})") from None


def open_study(storage_url: str, name: str, *, identity: dict[str, Any], directions: tuple[str, ...],
               sampler: Any) -> tuple[Any, bool]:
    """(study, created): load ``name`` from the storage, or create it recording ``identity``
    (model_sha256, target, space, space_sha256); ConfigError when it was made for something else."""
    import optuna

    storage = _open_storage(storage_url)
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        created = False
    except KeyError:
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, directions=list(directions))
        for key, value in identity.items():
            study.set_user_attr(key, value)
        return study, True
    recorded = study.user_attrs
    if recorded.get("space_sha256") != identity["space_sha256"]:
        raise ConfigError("space", recorded.get("space_sha256", "none")[:12] + " (the study's space)",
                          f"the space study {name!r} was created with; this space hashes to "
                          f"{identity['space_sha256'][:12]}: give a new study name for a new space")
    for key, what in (("model_sha256", "model"), ("target", "target")):
        if recorded.get(key) != identity[key]:
            raise ConfigError("study", name, f"a study of this {what} (it was made for {key} "
                              f"{str(recorded.get(key))[:16]!r}); give another study name")
    if [d.name.lower() for d in study.directions] != list(directions):
        raise ConfigError("study", name, "a study created by compress search (its objectives differ)")
    return study, created


def make_sampler(*, seed: int) -> Any:
    """Multi-objective TPE; it reads each trial's constraints (``Trial.set_constraint``, set by the
    driver before telling), so trials over a budget rank below every feasible one."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(multivariate=True, group=True, n_startup_trials=N_STARTUP_TRIALS,
                                          seed=seed)


def _status(trial: Any) -> str:
    state = trial.state.name.lower()
    attrs = trial.user_attrs
    if attrs.get("interrupted"):
        return "interrupted"
    if "duplicate_of" in attrs:  # told, never run: not counted by --trials
        return "duplicate"
    return {"complete": "complete", "fail": "fail", "running": "running", "waiting": "waiting",
            "pruned": "pruned"}.get(state, state)


def counts(study: Any) -> dict[str, int]:
    """Trials by status; "evaluated" = complete + fail: what --trials counts."""
    tally: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        status = _status(trial)
        tally[status] = tally.get(status, 0) + 1
    tally["evaluated"] = tally.get("complete", 0) + tally.get("fail", 0)
    return tally


def trial_records(study: Any, judge: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every trial of the study (earlier runs included) as search.json lists it; ``judge(metrics)``
    adds ``feasible`` and ``verdicts`` under the budgets in force now."""
    records = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        run = attrs.get("run") or {}
        params = dict(trial.params) or dict(trial.system_attrs.get("fixed_params") or {})  # queued: not asked yet
        record = {"number": trial.number, "status": _status(trial), "params": params,
                  "recipe": attrs.get("recipe"), "metrics": attrs.get("metrics"),
                  "seconds": run.get("seconds"), "pid": run.get("pid"), "node": run.get("node"),
                  "start": run.get("start"), "end": run.get("end"), "dir": run.get("dir"),
                  "threads": run.get("threads"), "sha256": run.get("sha256"), "artifact": run.get("artifact"),
                  "sensitivity_scan": run.get("sensitivity_scan")}
        for key in ("error", "duplicate_of"):
            if key in attrs:
                record[key] = attrs[key]
        # A duplicate re-told an earlier trial's values to the sampler; only the original counts.
        record.update(judge(record) if record["status"] == "complete" and record["metrics"]
                      else {"feasible": False, "verdicts": []})
        records.append(record)
    return records

