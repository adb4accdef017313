"""``search``: find the recipe that fits the budgets, trials on Ray, the study in Optuna's storage.

    from compressor import search
    result = search("models/weights/vgg_digits.pt", target="android-arm64",
                    data="models/data/digits_train.npz", eval_data="models/data/digits_test.npz",
                    budget="budgets.toml", trials=12, workers=2)
    result.ok, result.best_dir, result.search["trials"]

The driver alone writes to the study: it asks Optuna for a point of the space, turns it into a
``Recipe`` (space.py), submits a ``compress`` run of it as a Ray task (trials.py), and tells
the study the metrics the task returns (objectives.py).  At most ``workers`` trials run at once;
``trials`` counts the evaluated trials of the whole study (earlier runs included), so the same
call after a stop runs only the missing ones.  A recipe identical to an earlier trial's is not
run again: the earlier values are told back (marked "duplicate", not counted).  Ctrl-C cancels
the running trials, records them as interrupted (and queues their recipes first for the next
run), writes the outputs of every finished trial, and returns with ``interrupted`` set.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import ConfigError

__all__ = ["SearchProgress", "SearchResult", "search"]

POLL_S = 0.5  # how often the driver looks for finished trials (each takes tens of seconds)
MAX_DUPLICATES = 50  # consecutive already-tried recipes before the space counts as exhausted
SCAN_FILE = "sensitivity_scan.json"  # DIR/: the one scan every --prune-layers auto trial reads (prune/scan_cache.py)


@dataclass(frozen=True)
class SearchProgress:
    """What the display shows after every change."""

    done: int  # evaluated trials in the study (complete + failed)
    running: int
    failed: int
    total: int  # --trials
    best: Mapping[str, Any] | None  # the best trial record so far, with its verdicts
    last: str  # what just happened, one line


@dataclass(frozen=True)
class SearchResult:
    out_dir: Path
    search: dict[str, Any]  # what search.json holds
    best: Mapping[str, Any] | None
    closest: tuple[Mapping[str, Any], str] | None  # (trial, why it misses) when nothing fits
    interrupted: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """A trial meets every budget."""
        return self.best is not None

    @property
    def best_dir(self) -> Path | None:
        return self.out_dir / "best" if self.best is not None else None


def _default_out(model: Path) -> Path:
    return model.with_name(model.stem + ".search")


def _check_out_dir(out_dir: Path) -> None:
    """Only ever write into a new directory or one a search made (it has search.json or study.db)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError("out", str(out_dir), "a directory, but a file of that name exists")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not any(
            (out_dir / name).exists() for name in ("search.json", "study.db", "trials")):
        raise ConfigError("out", str(out_dir), "a new directory, or one an earlier compress search wrote")


def search(model: str | os.PathLike, *, target: str | None, data: str | os.PathLike | None,
           eval_data: str | os.PathLike | None, budget: str | os.PathLike | None, trials: int = 12, workers: int | None = None, ray_address: str | None = None,
           storage: str | None = None, study: str | None = None, timeout_s: float | None = None,
           space: str | os.PathLike | None = None, out: str | os.PathLike | None = None, arch: str | None = None,
           input_shape: str | None = None, trust_pickle: bool = False,
           enqueue: Sequence[Mapping[str, Any]] = (),
           progress: Callable[[SearchProgress], None] | None = None) -> SearchResult:
    """Search recipes for ``model`` on ``target`` until ``trials`` are evaluated (or ``timeout_s``).

    ``enqueue``: parameter sets (as search.json's ``trials[].params``) a NEW study tries first,
    instead of the default anchors (plain int8, channels:0.5 auto, --dsconv auto).
    Raises a ``CompressorError`` for bad input (``MissingExtraError`` without Ray/Optuna);
    never exits the process.
    """
    from .runtime import require_search_extra

    require_search_extra()
    from .inputs import resolve_inputs
    from .study import default_storage, default_study_name

    workers = workers if workers is not None else (os.cpu_count() or 1)
    _parse_shape(input_shape)  # a bad --input-shape is exit 2 before anything starts
    given = resolve_inputs(model, target=target, budget=budget, data=data, eval_data=eval_data, space=space,
                           arch=arch, trust_pickle=trust_pickle, trials=trials, workers=workers, timeout_s=timeout_s)
    out_dir = Path(out).resolve() if out is not None else _default_out(given.model)
    _check_out_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    storage_url = storage or default_storage(out_dir)
    name = study or default_study_name(given.model, given.model_sha256, given.target.name)
    target_arg = str(Path(target).resolve()) if Path(target).is_file() else target
    inputs = {"model": str(given.model), "target": target_arg, "data": str(given.data),
              "eval_data": str(given.eval_data), "arch": arch, "input_shape": input_shape,
              "trust_pickle": trust_pickle}
    run = _Run(given, out_dir, storage_url, name, inputs, trials=trials, workers=workers, timeout_s=timeout_s,
               ray_address=ray_address, enqueue=list(enqueue), progress=progress or (lambda event: None))
    return run.execute()


class _Run:
    """One call of ``search``: the study, the loop, the outputs."""

    def __init__(self, given, out_dir: Path, storage_url: str, name: str, inputs: dict[str, Any], *,
                 trials: int, workers: int, timeout_s: float | None, ray_address: str | None,
                 enqueue: list, progress: Callable[[SearchProgress], None]):
        self.given, self.out_dir, self.storage_url, self.name, self.inputs = given, out_dir, storage_url, name, inputs
        self.trials, self.workers, self.timeout_s, self.ray_address = trials, workers, timeout_s, ray_address
        self.enqueue, self.progress = enqueue, progress
        self.notes: list[str] = []
        self.pending: dict[int, tuple[Any, Any]] = {}  # trial number -> (optuna trial, job)

    # ---------------------------------------------------------------- study
    def _tell_complete(self, trial, metrics: dict[str, Any], values: list[float]) -> None:
        """Metrics and constraints first (the sampler reads them when told), then the values."""
        from .objectives import margins, verdicts_for

        trial.set_user_attr("metrics", metrics)
        for name, value in margins(verdicts_for(metrics, self.given.budgets), metrics).items():
            trial.set_constraint(name, value)
        self.study.tell(trial, values)

    def _judge(self, record: dict[str, Any]) -> dict[str, Any]:
        from .objectives import is_feasible, verdicts_for

        verdicts = verdicts_for(record["metrics"], self.given.budgets)
        return {"feasible": is_feasible(verdicts, record["metrics"]), "verdicts": [v.to_dict() for v in verdicts]}

    def _open(self):
        import hashlib

        from .objectives import DIRECTIONS
        from .space import anchor_params
        from .study import make_sampler, open_study

        seed = int(hashlib.sha256(self.name.encode()).hexdigest()[:8], 16)
        identity = {"model_sha256": self.given.model_sha256, "target": self.given.target.name,
                    "space": self.given.space.to_dict(), "space_sha256": self.given.space.sha256}
        study, created = open_study(self.storage_url, self.name, identity=identity, directions=DIRECTIONS,
                                    sampler=make_sampler(seed=seed))
        if not created:  # a resumed TPE must not replay the first run's random points: seed by history
            study.sampler = make_sampler(seed=seed + len(study.get_trials(deepcopy=False)))
        if created:
            for params in self.enqueue or anchor_params(self.given.space):
                study.enqueue_trial(dict(params))
        budgets = self.given.budgets.to_dict()
        if not created and study.user_attrs.get("budgets") not in (None, budgets):
            self.notes.append(f"budgets changed since the last run ({study.user_attrs['budgets']} -> {budgets}): "
                              "feasibility of every recorded trial recomputed from its stored metrics")
        study.set_user_attr("budgets", budgets)
        return study

    # ---------------------------------------------------------------- loop
    def execute(self) -> SearchResult:
        import optuna

        from .runtime import ray_runtime
        from .study import counts

        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # restored below: no trial-by-trial log lines
        try:
            self.study = self._open()
            interrupted = False
            if counts(self.study)["evaluated"] >= self.trials:  # nothing to run: budgets re-applied only
                self._emit(None, f"study {self.name}: all {self.trials} trials already evaluated")
                return self._finish(interrupted)
            try:
                with ray_runtime(self.workers, address=self.ray_address) as runner:
                    try:
                        self._loop(runner)
                    except KeyboardInterrupt:
                        interrupted = True
                        self._interrupt(runner)
            except KeyboardInterrupt:  # during Ray start or shutdown: nothing of ours is running
                interrupted = True
            return self._finish(interrupted)
        finally:
            optuna.logging.set_verbosity(verbosity)

    def _loop(self, runner) -> None:
        from .study import counts

        started = time.monotonic()
        duplicates = 0
        tally = counts(self.study)
        self._emit(tally, f"study {self.name}: {tally['evaluated']} of {self.trials} trials already evaluated")
        while True:
            timed_out = self.timeout_s is not None and time.monotonic() - started > self.timeout_s
            while (not timed_out and len(self.pending) < self.workers and duplicates < MAX_DUPLICATES
                   and counts(self.study)["evaluated"] + len(self.pending) < self.trials):
                duplicates = 0 if self._start_one(runner) else duplicates + 1
            if duplicates >= MAX_DUPLICATES and "exhausted" not in " ".join(self.notes):
                self.notes.append(f"stopped early: {MAX_DUPLICATES} proposals in a row repeated tried recipes "
                                  "(the space is exhausted; widen it with a space file)")
            if timed_out and "timeout" not in " ".join(self.notes):
                self.notes.append(f"timeout of {self.timeout_s:g} s reached: no new trials started after it")
            if not self.pending:
                return
            for job, outcome in runner.wait(POLL_S):
                self._record(job, outcome)

    def _start_one(self, runner) -> bool:
        """Ask for one trial and submit it; False when it repeated an earlier recipe (told, not run)."""
        from optuna.trial import TrialState

        from .space import recipe_from_params, suggest_params
        from .trials import TrialJob

        trial = self.study.ask()
        params = suggest_params(trial, self.given.space)
        try:
            recipe = recipe_from_params(params, self.given.space,
                                        sensitivity_cache=str(self.out_dir / SCAN_FILE)).to_dict()
        except ConfigError as error:  # a combination the Recipe refuses: recorded, not fatal
            trial.set_user_attr("error", f"ConfigError: {error}")
            self.study.tell(trial, state=TrialState.FAIL)
            return True
        trial.set_user_attr("recipe", recipe)
        earlier = self._same_recipe(recipe, trial.number)
        if earlier is not None:
            trial.set_user_attr("duplicate_of", earlier.number)
            if earlier.state == TrialState.COMPLETE:
                self._tell_complete(trial, earlier.user_attrs.get("metrics"), earlier.values)
            else:  # the same recipe is running now: nothing to tell the sampler yet
                self.study.tell(trial, state=TrialState.FAIL)
            return False
        job = TrialJob(number=trial.number, recipe=recipe, out_dir=str(self.out_dir / "trials" / f"{trial.number:04d}"),
                       model=self.inputs["model"], target=self.inputs["target"], data=self.inputs["data"],
                       eval_data=self.inputs["eval_data"], arch=self.inputs["arch"],
                       input_shape=_parse_shape(self.inputs["input_shape"]), trust_pickle=self.inputs["trust_pickle"])
        runner.submit(job)
        self.pending[trial.number] = (trial, job)
        self._emit(None, f"trial {trial.number} started: {_summary(recipe)}")
        return True

    def _same_recipe(self, recipe: dict[str, Any], number: int):
        from optuna.trial import TrialState

        key = json.dumps(recipe, sort_keys=True)
        for other in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING)):
            if (other.number != number and "duplicate_of" not in other.user_attrs
                    and json.dumps(other.user_attrs.get("recipe"), sort_keys=True) == key):
                return other
        return None

    def _record(self, job, outcome: dict[str, Any]) -> None:
        from optuna.trial import TrialState

        from .objectives import objective_values
        from .study import counts

        trial, _ = self.pending.pop(job.number)
        run = {key: outcome.get(key) for key in ("pid", "node", "start", "end", "seconds", "dir", "threads",
                                                 "artifact", "sha256", "sensitivity_scan")}
        trial.set_user_attr("run", run)
        if outcome["status"] == "complete":
            try:
                values = objective_values(outcome["metrics"])
            except ValueError as error:
                outcome = {**outcome, "status": "fail", "error": str(error)}
            else:
                self._tell_complete(trial, outcome["metrics"], values)
        if outcome["status"] != "complete":
            trial.set_user_attr("error", outcome.get("error", "unknown error"))
            self.study.tell(trial, state=TrialState.FAIL)
        what = "finished" if outcome["status"] == "complete" else f"failed: {outcome.get('error')}"
        self._emit(counts(self.study), f"trial {job.number} {what} ({outcome.get('seconds') or 0:.0f} s)")

    def _interrupt(self, runner) -> None:
        """Ctrl-C: cancel what runs, mark it interrupted, queue its recipes first for the next run."""
        from optuna.trial import TrialState

        runner.cancel_all()
        for trial, _job in self.pending.values():
            trial.set_user_attr("interrupted", True)
            self.study.tell(trial, state=TrialState.FAIL)
            self.study.enqueue_trial(dict(trial.params))
        self.notes.append(f"interrupted: {len(self.pending)} running trial(s) cancelled and queued for the next run; "
                          "finished trials are kept")
        self.pending.clear()

    def _emit(self, tally: dict[str, int] | None, last: str) -> None:
        from .objectives import choose_best
        from .study import counts, trial_records

        tally = tally or counts(self.study)
        best = choose_best(trial_records(self.study, self._judge))
        self.progress(SearchProgress(done=tally["evaluated"], running=len(self.pending), failed=tally.get("fail", 0),
                                     total=self.trials, best=best, last=last))

    # ---------------------------------------------------------------- outputs
    def _finish(self, interrupted: bool) -> SearchResult:
        from .objectives import choose_best, closest_to_budgets, pareto_front
        from .outputs import shared_scan, write_best, write_search_json
        from .pareto import render_pareto_html
        from .study import counts, describe_storage, trial_records
        from ..files import write_atomically

        records = trial_records(self.study, self._judge)
        best = choose_best(records)
        closest = None if best is not None else closest_to_budgets(records, self.given.budgets)
        document = {"schema": 1, "engine": "ray", "workers": self.workers, "ray_address": self.ray_address,
                    "storage": describe_storage(self.storage_url), "study": self.name,
                    "target": self.given.target.name, "model": str(self.given.model),
                    "model_sha256": self.given.model_sha256, "score": "accuracy" if self.given.labelled else "agreement",
                    "budgets": self.given.budgets.to_dict(), "space": self.given.space.to_dict(),
                    "space_sha256": self.given.space.sha256, "counts": counts(self.study),
                    "best": best["number"] if best else None,
                    "closest": {"number": closest[0]["number"], "misses": closest[1]} if closest else None,
                    "pareto_front": pareto_front(records), "sensitivity_scan": shared_scan(records),
                    "interrupted": interrupted, "notes": self.notes,
                    "trials": records}
        write_best(self.out_dir, best, study=self.name, inputs=self.inputs)
        write_atomically(self.out_dir / "pareto.html", render_pareto_html(document, self.given.budgets))
        write_search_json(self.out_dir, document)
        return SearchResult(self.out_dir, document, best, closest, interrupted, tuple(self.notes))


def _summary(recipe: Mapping[str, Any]) -> str:
    from .pareto import recipe_summary

    return recipe_summary(recipe)


def _parse_shape(text: str | None):
    if not text:
        return None
    from ..data import parse_input_shapes

    shapes = parse_input_shapes(text)
    return shapes[0] if len(shapes) == 1 else shapes
