"""prune/scan_cache.py: one sensitivity scan per model and data, read back exactly, never reused for another."""

from __future__ import annotations

import json

import torch

from compressor.prune.scan_cache import scan_key, scan_with_cache
from compressor.prune.sensitivity import allocate_amounts, scan_sensitivity
from tests.helpers import SmallNet

MULTIPLE = 4


def _counted_scan(model, x, calls: list):
    def scan():
        calls.append(1)
        return scan_sensitivity(model, (x[:1],), x, channel_multiple=MULTIPLE)
    return scan


def test_second_run_reads_the_scan_and_allocates_exactly_as_a_fresh_scan(tmp_path):
    torch.manual_seed(0)
    model, x = SmallNet().eval(), torch.randn(32, 1, 12, 12)
    path, calls = tmp_path / "scan" / "sensitivity.json", []
    key = scan_key(model, (x[:1],), x, channel_multiple=MULTIPLE)
    fresh, facts = scan_with_cache(path, key, _counted_scan(model, x, calls))
    again, facts_again = scan_with_cache(path, scan_key(model, (x[:1],), x, channel_multiple=MULTIPLE),
                                         _counted_scan(model, x, calls))
    assert len(calls) == 1 and fresh and again == fresh  # full-precision errors round-trip
    assert (facts["source"], facts_again["source"]) == ("scanned", "read")
    assert facts["key_sha256"] == facts_again["key_sha256"] == json.loads(path.read_text())["key_sha256"]
    assert allocate_amounts(again, 0.4) == allocate_amounts(fresh, 0.4)


def test_changed_model_data_or_multiple_scans_again_and_replaces_the_file(tmp_path):
    torch.manual_seed(0)
    model, x = SmallNet().eval(), torch.randn(32, 1, 12, 12)
    path, calls = tmp_path / "sensitivity.json", []
    first = scan_key(model, (x[:1],), x, channel_multiple=MULTIPLE)
    scan_with_cache(path, first, _counted_scan(model, x, calls))
    changed = SmallNet().eval()
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        changed.conv2.weight[0, 0, 0, 0] += 1e-3  # one weight
    others = [scan_key(changed, (x[:1],), x, channel_multiple=MULTIPLE),
              scan_key(model, (x[:1],), x + 1e-3, channel_multiple=MULTIPLE),
              scan_key(model, (x[:1],), x, channel_multiple=8)]
    assert len({json.dumps(k, sort_keys=True) for k in [first, *others]}) == 4
    _, facts = scan_with_cache(path, others[0], _counted_scan(changed, x, calls))
    assert len(calls) == 2 and facts["source"] == "scanned"
    assert facts["previous"] == "made for another model, data or scan"
    assert json.loads(path.read_text())["key"]["model_sha256"] == others[0]["model_sha256"]
    path.write_text("{not json")
    _, facts = scan_with_cache(path, others[0], _counted_scan(changed, x, calls))
    assert len(calls) == 3 and facts["previous"].startswith("unreadable")
