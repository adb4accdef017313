"""`compress search` end to end on local Ray with a real Optuna study: a 3-trial search of a tiny
model, resume, budgets changed on resume, best/ reproduced byte for byte, search.json's keys.

Each search runs the CLI in a subprocess from the workspace (its --arch module imports from there).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compressor.config import Recipe, load_recipe
from tests.recipe_search.conftest import search_args

ROOT = Path(__file__).resolve().parents[2]
TRIAL_KEYS = {"number", "recipe", "metrics", "status", "seconds", "pid", "node", "start", "end"}


def run_cli(root: Path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env}
    return subprocess.run([sys.executable, "-m", "compressor.cli", *args], cwd=root, env=environment,
                          capture_output=True, text=True, timeout=300)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def first_search(search_workspace):
    out = search_workspace / "out"
    done = run_cli(search_workspace, search_args(search_workspace, out, "--trials", "3"))
    return search_workspace, out, done


def test_three_trials_on_local_ray_write_every_output(first_search):
    root, out, done = first_search
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "search.json").read_text())
    assert document["engine"] == "ray" and document["workers"] == 2
    assert document["storage"] == f"sqlite:///{out / 'study.db'}"
    assert document["study"].startswith("tiny-") and document["study"].endswith("-android-arm64")
    trials = document["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2]
    for trial in trials:
        assert TRIAL_KEYS <= set(trial), trial.keys()
        assert trial["status"] == "complete", trial.get("error")
        assert trial["start"] < trial["end"] and trial["seconds"] > 0
        assert (Path(trial["dir"]) / "report.json").is_file() and (Path(trial["dir"]) / "model.tflite").is_file()
        Recipe.from_dict(trial["recipe"])  # a valid recipe, as compress reads it
    assert trials[0]["recipe"]["prune"]["method"] == "none"  # the plain-int8 anchor comes first
    assert len({t["pid"] for t in trials[:2]}) == 2  # the first two ran at once, in two worker processes
    best = document["best"]
    assert best is not None and trials[best]["feasible"]
    report = json.loads((out / "best" / "report.json").read_text())
    assert report["sha256"] == trials[best]["sha256"] == sha256(out / "best" / "model.tflite")
    page = (out / "pareto.html").read_text()
    assert "<svg" in page and "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert f"trial {best}:" in page  # the chosen trial is in the plot
    assert f"best: trial {best}" in done.stdout


def test_best_recipe_reproduces_the_artifact_byte_for_byte(first_search):
    root, out, done = first_search
    assert done.returncode == 0, done.stderr
    text = (out / "best" / "recipe.toml").read_text()
    recipe, _ = load_recipe(out / "best" / "recipe.toml")
    assert recipe == Recipe.from_dict(json.loads((out / "best" / "report.json").read_text())["recipe"])
    assert "# threads = 1" in text
    command = next(line[4:] for line in text.splitlines() if line.startswith("#   cd "))
    repeat = subprocess.run(["bash", "-c", command + " --quiet"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert repeat.returncode == 0, repeat.stderr
    assert sha256(out / "best-again" / "model.tflite") == sha256(out / "best" / "model.tflite")


def test_resume_runs_only_the_missing_trials(first_search):
    root, out, done = first_search
    assert done.returncode == 0, done.stderr
    before = json.loads((out / "search.json").read_text())["trials"]
    again = run_cli(root, search_args(root, out, "--trials", "4", "--json"))
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)  # --json: stdout holds search.json and nothing else
    assert document == json.loads((out / "search.json").read_text())
    assert [t["number"] for t in document["trials"]] == [0, 1, 2, 3]
    assert [(t["start"], t["pid"]) for t in document["trials"][:3]] == [(t["start"], t["pid"]) for t in before]
    assert document["trials"][3]["status"] in ("complete", "fail")
    kept = sorted(p.name for p in (out / "trials").iterdir())
    assert kept[:3] == ["0000", "0001", "0002"] and len(kept) <= 4  # a failed trial leaves no directory


def test_budgets_changed_on_resume_are_reapplied_and_exit_1_names_the_closest(first_search, tmp_path):
    root, out, done = first_search
    assert done.returncode == 0, done.stderr
    tight = tmp_path / "tight.toml"
    tight.write_text("max_latency_ms = 1e-9\n")
    other = tmp_path / "elsewhere"
    args = search_args(root, other, "--trials", "1", "--storage", f"sqlite:///{out / 'study.db'}")
    args[args.index("--budget") + 1] = str(tight)
    again = run_cli(root, args)
    assert again.returncode == 1, again.stderr
    assert "no trial meets every budget; closest: trial" in again.stdout
    assert "max_latency_ms" in again.stdout
    document = json.loads((other / "search.json").read_text())
    assert document["best"] is None and document["closest"]["number"] in range(len(document["trials"]))
    assert len(document["trials"]) >= 3 and not any(t["feasible"] for t in document["trials"])
    assert any("budgets changed" in note for note in document["notes"])
    assert not (other / "best").exists() and not (other / "trials").exists()  # nothing ran


@pytest.mark.parametrize("case", ["budget", "no-budget", "space", "storage", "changed-space"])
def test_bad_input_exits_2_with_one_line(first_search, tmp_path, monkeypatch, case):
    from click.testing import CliRunner

    from compressor.cli.main import cli

    root, out, _ = first_search
    monkeypatch.chdir(root)  # in-process (no interpreter start-up): --arch imports from here
    monkeypatch.syspath_prepend(str(root))
    args = search_args(root, tmp_path / "out", "--trials", "1")
    if case == "budget":
        bad = tmp_path / "budgets.toml"
        bad.write_text('max_latency = 3\n')
        args[args.index("--budget") + 1], expected = str(bad), "max_latency"
    elif case == "no-budget":
        at = args.index("--budget")
        del args[at:at + 2]
        expected = "--budget"
    elif case == "space":
        bad = tmp_path / "space.toml"
        bad.write_text('[int8]\nfloat_ops = ["stem.0"]\n')
        args[args.index("--target") + 1], expected = "cortex-m7", "runs int8 only"
        args[args.index("--space") + 1] = str(bad)
    elif case == "storage":
        args += ["--storage", "nosuchdialect://x/y"]
        expected = "--storage"
    else:
        bad = tmp_path / "space.toml"
        bad.write_text('[int8]\nqat_epochs = [0]\n')
        args[args.index("--space") + 1] = str(bad)
        args += ["--storage", f"sqlite:///{out / 'study.db'}"]
        expected = "--space"
    done = CliRunner().invoke(cli, args + ["--quiet"])
    assert done.exit_code == 2, (done.output, done.exception)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr and not done.stdout
