"""What a search leaves in DIR: ``search.json``, ``pareto.html`` and ``best/``, each written whole.

``search.json`` and ``pareto.html`` go through ``files.write_atomically`` (a temporary file
renamed over the old one).  ``best/`` is the chosen trial's output directory (artifact, float
export, report.json/.md/.html) plus ``recipe.toml``: it is assembled in a temporary directory
beside DIR/best and renamed into place, so a reader sees the old best/ or the new one, never
half of either.  When no trial meets the budgets any more (budgets tightened on resume), an
old best/ is removed rather than left claiming to fit.

``recipe.toml`` is the trial's recipe as ``compress --recipe`` reads it (recipe_toml.py), headed
by comments: the trial, the thread count it ran with, and the command that repeats it byte for
byte.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from ..config import Recipe
from ..files import write_atomically
from .recipe_toml import recipe_to_toml

__all__ = ["reproduce_command", "shared_scan", "write_best", "write_search_json"]


def write_search_json(out_dir: Path, search: Mapping[str, Any]) -> Path:
    path = Path(out_dir) / "search.json"
    write_atomically(path, json.dumps(search, indent=2, sort_keys=False) + "\n")
    return path


def shared_scan(trials: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """search.json's ``sensitivity_scan``: the scan file(s) the pruned trials shared, which trial
    scanned and which read it (None when no trial used one)."""
    used = [t for t in trials if t.get("sensitivity_scan")]
    if not used:
        return None
    keys = sorted({t["sensitivity_scan"]["key_sha256"] for t in used})
    return {"path": used[0]["sensitivity_scan"]["path"], "key_sha256": keys[0] if len(keys) == 1 else keys,
            "scanned_by": [t["number"] for t in used if t["sensitivity_scan"]["source"] == "scanned"],
            "read_by": [t["number"] for t in used if t["sensitivity_scan"]["source"] == "read"]}


def reproduce_command(inputs: Mapping[str, Any], recipe_path: str, out: str, *, threads: int) -> str:
    """The shell command that repeats a trial with ``compress`` (same thread count, and the
    directory the search ran in: ``--arch module:Class`` imports from it)."""
    words = ["compress", inputs["model"], "--target", inputs["target"]]
    for flag, key in (("--data", "data"), ("--eval", "eval_data"), ("--arch", "arch")):
        if inputs.get(key):
            words += [flag, str(inputs[key])]
    if inputs.get("input_shape"):
        words += ["--input-shape", inputs["input_shape"]]
    if inputs.get("trust_pickle"):
        words.append("--trust-pickle")
    words += ["--recipe", recipe_path, "--out", out]
    return (f"cd {shlex.quote(os.getcwd())} && OMP_NUM_THREADS={threads} "
            + " ".join(shlex.quote(str(w)) for w in words))


def write_best(out_dir: Path, trial: Mapping[str, Any] | None, *, study: str, inputs: Mapping[str, Any]) -> Path | None:
    """DIR/best from ``trial`` (a search.json trial record), or remove DIR/best when ``trial`` is None."""
    out_dir = Path(out_dir)
    best = out_dir / "best"
    if trial is None:
        _replace_dir(None, best)
        return None
    source = Path(trial["dir"])
    recipe = Recipe.from_dict(trial["recipe"])
    threads = trial.get("threads") or 1
    command = reproduce_command(inputs, str(best / "recipe.toml"), str(out_dir / "best-again"), threads=threads)
    comments = (f"edge-compressor recipe: trial {trial['number']} of search study {study!r}",
                f"threads = {threads}: each trial ran with {threads} torch thread(s) (OMP_NUM_THREADS); recovery and",
                "QAT sum floats in a thread-dependent order, so repeat it with the same count to get the same bytes:",
                f"  {command}",
                "(compress --recipe best/report.json repeats it too)")
    work = Path(tempfile.mkdtemp(prefix=".best.", suffix=".tmp", dir=out_dir))
    try:
        for entry in source.iterdir():
            if entry.is_file():
                shutil.copy2(entry, work / entry.name)
        (work / "recipe.toml").write_text(recipe_to_toml(recipe, comments=comments))
        os.chmod(work, 0o755)  # mkdtemp makes it 0700
        _replace_dir(work, best)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return best


def _replace_dir(new: Path | None, target: Path) -> None:
    """Rename ``new`` onto ``target`` (or just remove ``target``), with renames only."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    if new is not None:
        new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
