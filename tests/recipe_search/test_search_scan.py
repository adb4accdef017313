"""Pruned trials of one search share one sensitivity scan: two channel-pruned trials with per-layer
amounts (``--prune-layers auto``), running at once on two Ray workers, scan once; the other reads.

A changed model never reuses it: tests/prune/test_scan_cache.py checks the key (model, data,
channel multiple) against the file at the cache's level.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.recipe_search.conftest import search_args
from tests.recipe_search.test_search_cli import run_cli

# android-arm64 with a channel multiple of 4, so TinyNet's 8-channel convs have something to cut
TARGET_TOML = ('inherits = "android-arm64"\nname = "tiny-cpu"\ndescription = "android-arm64, channel multiple 4"\n'
               '\n[compute]\nchannel_multiple = 4\n')
SPACE_TOML = textwrap.dedent("""
    [prune]
    methods = ["channels"]
    channels_amount = [0.25, 0.5]
    layers = ["auto"]
    finetune_epochs = [0]
    [dsconv]
    modes = ["none"]
    [int8]
    precisions = ["int8"]
    qat_epochs = [0]
    [recipe.verify]
    max_samples = 32
""")


def test_two_pruned_trials_share_one_scan(search_workspace, tmp_path):
    root = search_workspace
    (tmp_path / "tiny-cpu.toml").write_text(TARGET_TOML)
    (tmp_path / "space.toml").write_text(SPACE_TOML)
    out = tmp_path / "out"
    args = search_args(root, out, "--trials", "2")
    args[args.index("--target") + 1] = str(tmp_path / "tiny-cpu.toml")
    args[args.index("--space") + 1] = str(tmp_path / "space.toml")
    done = run_cli(root, args)
    assert done.returncode in (0, 1), done.stderr
    document = json.loads((out / "search.json").read_text())
    trials = [t for t in document["trials"] if t["status"] == "complete"]
    assert len(trials) == 2, [t.get("error") for t in document["trials"]]
    assert len({t["recipe"]["prune"]["amount"] for t in trials}) == 2  # two different recipes
    scans = [t["sensitivity_scan"] for t in trials]
    path = out / "sensitivity_scan.json"
    assert all(t["recipe"]["prune"]["sensitivity_cache"] == str(path) for t in trials)
    assert sorted(scan["source"] for scan in scans) == ["read", "scanned"]  # one scan for both
    assert len({scan["key_sha256"] for scan in scans}) == 1
    assert json.loads(path.read_text())["key_sha256"] == scans[0]["key_sha256"]
    shared = document["sensitivity_scan"]
    assert shared["path"] == str(path) and len(shared["scanned_by"]) == 1 and len(shared["read_by"]) == 1
    for trial in trials:  # each trial's report says so, with per-layer amounts from that one scan
        step = next(s for s in json.loads((Path(trial["dir"]) / "report.json").read_text())["steps"]
                    if s["name"] == "prune")
        assert step["sensitivity_scan"]["key_sha256"] == scans[0]["key_sha256"]
        assert step["sensitivity"] and {"allocated", "errors"} <= set(step["sensitivity"][0])
