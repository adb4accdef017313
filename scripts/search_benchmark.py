"""What `compress search` does on this machine, measured: fit, parallel speed-up, resume.

    python scripts/search_benchmark.py [--work DIR] [--parts zoo,custom,speed,resume] [--trials 12]

Parts (each prints what it measured, as it goes):

- zoo: vgg_digits on android-arm64.  Plain int8 first (one `compress` run): its estimated latency
  L and held-out accuracy A.  Budgets: max_latency_ms = 0.6 L, min_accuracy = A - 1 point.  Then a
  12-trial search on 2 workers; prints the best trial's latency / L and accuracy loss, whether it
  verified (report status ok), and `compress check DIR/best --budget` on the same budgets; which
  trials ran the sensitivity scan and which read the shared one.
- custom: the same for a model NOT in the zoo: a CIFAR-style ResNet-8 (He et al., "Deep Residual
  Learning for Image Recognition", CVPR 2016, section 4.2: 3 stages of n=1 basic blocks; twice
  the paper's 16/32/64 channels, see below) at 1x1x32x32, defined here and TRAINED here for a few epochs on the digits
  training set (not distilled from random weights).  Why twice as wide: android-arm64 cuts
  channels in multiples of 16, so the paper's 16-channel stage cannot be pruned at all; the
  16/32/64 net's best of 12 trials was 0.61x plain int8 within a point (measured; README).
- speed: the ceiling first (one single-thread `compress` run alone, then two at once: 2 x alone /
  together), then the same 12 enqueued recipes searched with 1 worker and with 2 workers (fresh
  studies), wall time of each whole search call and the trials' own span.
- resume: the zoo study again with --trials 14 on the same storage (the CLI): counts the new trials.

The machine is shared: every figure is one measurement, printed as measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = "android-arm64"
TRAIN, TEST = ROOT / "models/data/digits_train.npz", ROOT / "models/data/digits_test.npz"
ZOO_MODEL = ROOT / "models/weights/vgg_digits.pt"
LATENCY_RATIO, ACCURACY_LOSS = 0.6, 0.01

RESNET8 = textwrap.dedent('''
    """ResNet-8 for 1x32x32 inputs (He et al. 2016, CIFAR variant with n=1, twice as wide), 10 classes."""
    import torch
    import torch.nn as nn


    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.short = (nn.Sequential() if stride == 1 and cin == cout else
                          nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


    class ResNet8(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
            self.layer1, self.layer2, self.layer3 = Block(32, 32, 1), Block(32, 64, 2), Block(64, 128, 2)
            self.head = nn.Linear(128, classes)

        def forward(self, x):
            x = self.layer3(self.layer2(self.layer1(self.stem(x))))
            return self.head(x.mean(dim=(2, 3)))
''')


def say(text: str = "") -> None:
    print(text, flush=True)


def cpu_line() -> str:
    flags = set()
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return f"{model}; {os.cpu_count()} cores; SIMD {' '.join(simd) or 'none listed'}"


def compress_cli(*args: str, threads: int = 1, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), str(cwd) if cwd else None, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "compressor.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT)


def plain_int8(model: Path, out: Path, extra: tuple[str, ...] = (), cwd: Path | None = None) -> dict:
    done = compress_cli(str(model), "--target", TARGET, "--data", str(TRAIN), "--eval", str(TEST), "--out", str(out),
                        "--json", *extra, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"plain int8 failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def fit_part(label: str, model: Path, work: Path, trials: int, extra: tuple[str, ...] = (), arch: str | None = None,
             cwd: Path | None = None) -> Path:
    from compressor.recipe_search import search
    from compressor.recipe_search.pareto import recipe_summary

    say(f"\n== {label}: {model.name} on {TARGET}, {trials} trials, 2 workers ==")
    plain = plain_int8(model, work / f"{label}_plain", extra, cwd=cwd)
    latency, accuracy = plain["estimate"]["latency_ms"], plain["compressed"]["accuracy"]
    say(f"plain int8: estimated latency {latency:.4f} ms, accuracy {accuracy:.2%} "
        f"(fp32 original {plain['original']['accuracy']:.2%}), status {plain['status']}")
    budgets = work / f"{label}_budgets.toml"
    budgets.write_text(f"max_latency_ms = {LATENCY_RATIO * latency!r}\nmin_accuracy = {accuracy - ACCURACY_LOSS!r}\n")
    say(f"budgets: max_latency_ms = {LATENCY_RATIO} x {latency:.4f} = {LATENCY_RATIO * latency:.4f}, "
        f"min_accuracy = {accuracy - ACCURACY_LOSS:.4f}")
    out = work / f"{label}_search"
    started = time.perf_counter()
    previous = os.getcwd()
    os.chdir(cwd or previous)  # --arch module:Class imports from the directory the search runs in
    try:
        result = search(model, target=TARGET, data=TRAIN, eval_data=TEST, budget=budgets, trials=trials, workers=2,
                        out=out, arch=arch)
    finally:
        os.chdir(previous)
    wall = time.perf_counter() - started
    say(f"search: {wall:.0f} s wall, {result.search['counts']}")
    say(f"{'#':>3} {'status':<9} {'fits':<4} {'accuracy':>8} {'lat ms':>8} {'lat/L':>6} {'flash B':>9} {'s':>5}  recipe")
    for trial in result.search["trials"]:
        m = trial.get("metrics") or {}
        lat = m.get("estimate_latency_ms")
        say(f"{trial['number']:>3} {trial['status']:<9} {'yes' if trial['feasible'] else 'no':<4} "
            f"{(m.get('score') or 0):>8.2%} {lat or 0:>8.4f} {(lat or 0) / latency:>6.2f} "
            f"{m.get('estimate_flash_bytes') or 0:>9,} {trial.get('seconds') or 0:>5.0f}  "
            f"{recipe_summary(trial.get('recipe'))}{'  ERROR ' + trial['error'] if trial.get('error') else ''}")
    shared = result.search.get("sensitivity_scan")
    if shared:  # --prune-layers auto trials share one scan (DIR/sensitivity_scan.json)
        seconds = [t["sensitivity_scan"]["scan_seconds"] for t in result.search["trials"]
                   if (t.get("sensitivity_scan") or {}).get("source") == "scanned"]
        say(f"sensitivity scan: run by trial(s) {shared['scanned_by']} ({', '.join(f'{s:.1f}' for s in seconds)} s), "
            f"read from {Path(shared['path']).name} by trial(s) {shared['read_by']}")
    if result.best is None:
        trial, misses = result.closest
        say(f"RESULT {label}: no trial met the budgets; closest: trial {trial['number']} "
            f"({recipe_summary(trial['recipe'])}): {misses}")
        return out
    m = result.best["metrics"]
    say(f"RESULT {label}: best = trial {result.best['number']} ({recipe_summary(result.best['recipe'])}): "
        f"latency {m['estimate_latency_ms']:.4f} ms = {m['estimate_latency_ms'] / latency:.3f}x plain int8 "
        f"(need <= {LATENCY_RATIO}), accuracy {m['score']:.2%} = {100 * (accuracy - m['score']):+.2f} pt loss "
        f"vs plain int8 (need <= 1), verified in LiteRT: {m['status']}")
    check = compress_cli("check", str(out / "best"), "--budget", str(budgets))
    say(f"compress check {out / 'best'} --budget {budgets.name}: exit {check.returncode}")
    say(textwrap.indent(check.stdout.strip(), "  "))
    return out


def train_resnet8(work: Path) -> Path:
    import numpy as np
    import torch

    (work / "resnet8.py").write_text(RESNET8)
    sys.path.insert(0, str(work))
    import resnet8

    torch.manual_seed(0)
    model = resnet8.ResNet8()
    train = np.load(TRAIN)
    x, y = torch.from_numpy(train["x"]), torch.from_numpy(train["y"]).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    epochs, started = 6, time.perf_counter()
    for _ in range(epochs):
        model.train()
        for index in torch.randperm(len(x)).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[index]), y[index]).backward()
            optimizer.step()
    model.eval()
    test = np.load(TEST)
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(test["x"])).argmax(1).numpy() == test["y"]).mean()
    params = sum(p.numel() for p in model.parameters())
    say(f"ResNet-8 (not in the zoo): {params:,} parameters, trained {epochs} epochs on {TRAIN.name} in "
        f"{time.perf_counter() - started:.0f} s: fp32 test accuracy {accuracy:.2%}")
    path = work / "resnet8_digits.pt"
    torch.save(model.state_dict(), path)
    return path


SPEED_SPACE = textwrap.dedent("""
    # uniform trials for the speed comparison: channel pruning with 1 recovery epoch, float stem or not
    [prune]
    methods = ["channels"]
    channels_amount = [0.3, 0.6]
    layers = ["all"]
    finetune_epochs = [1]
    [dsconv]
    modes = ["none"]
    [int8]
    qat_epochs = [0]
""")


def speed_part(work: Path) -> None:
    from compressor.recipe_search import search

    say("\n== speed: the same 12 enqueued recipes on 1 and on 2 workers ==")
    recipe = ("--prune", "channels:0.45", "--prune-layers", "all", "--finetune-epochs", "1")
    args = (str(ZOO_MODEL), "--target", TARGET, "--data", str(TRAIN), "--eval", str(TEST), "--quiet", *recipe)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

    def runs(count: int) -> float:
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "compressor.cli", *args, "--out", str(work / f"ceiling_{i}")],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i in range(count)]
        for proc in procs:
            proc.wait()
        return time.perf_counter() - started
    load = os.getloadavg()[0]
    alone, together = runs(1), runs(2)
    ceiling = 2 * alone / together
    say(f"ceiling: one single-thread compress run alone {alone:.1f} s, two at once {together:.1f} s "
        f"-> at most {ceiling:.2f}x from 2 workers on this machine now (1-min load average before: {load:.1f})")
    space = work / "speed_space.toml"
    space.write_text(SPEED_SPACE)
    amounts = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
    enqueue = [{"prune.method": "channels", "prune.channels_amount": a, "prune.layers": "all", "recovery_epochs": 1,
                "dsconv.mode": "none", "int8.precision:features.0.0": "float" if f else "int8",
                "int8.precision:features.5.0": "int8",
                "int8.qat_epochs": 0} for a in amounts for f in (False, True)]
    budgets = work / "speed_budgets.toml"
    budgets.write_text('min_agreement = "90%"\n')
    walls, spans = {}, {}
    for workers in (1, 2):
        out = work / f"speed_{workers}w"
        load = os.getloadavg()[0]
        started = time.perf_counter()
        result = search(ZOO_MODEL, target=TARGET, data=TRAIN, eval_data=TEST, budget=budgets, trials=12,
                        workers=workers, out=out, space=space, enqueue=enqueue, study=f"speed-{workers}w")
        walls[workers] = time.perf_counter() - started
        trials = [t for t in result.search["trials"] if t["status"] in ("complete", "fail")]
        from datetime import datetime

        first = min(datetime.fromisoformat(t["start"]) for t in trials)
        last = max(datetime.fromisoformat(t["end"]) for t in trials)
        spans[workers] = (last - first).total_seconds()
        busy = sum(t["seconds"] for t in trials)
        say(f"{workers} worker(s): search call {walls[workers]:.1f} s wall, trials' span {spans[workers]:.1f} s, "
            f"sum of trial times {busy:.0f} s, {len(trials)} trials ({result.search['counts']}), "
            f"pids {sorted({t['pid'] for t in trials})}, 1-min load average before {load:.1f}")
    say(f"RESULT speed: 2 workers vs 1: {walls[1] / walls[2]:.2f}x on the whole call, {spans[1] / spans[2]:.2f}x on "
        f"the trials' span (need >= 1.6; the ceiling measured above: {ceiling:.2f}x)")


def resume_part(work: Path) -> None:
    say("\n== resume: the zoo study again with --trials 14 on the same storage ==")
    out = work / "zoo_search"
    before = json.loads((out / "search.json").read_text())["counts"]["evaluated"]
    started = time.perf_counter()
    done = compress_cli("search", str(ZOO_MODEL), "--target", TARGET, "--data", str(TRAIN), "--eval", str(TEST),
                        "--budget", str(work / "zoo_budgets.toml"), "--out", str(out), "--workers", "2",
                        "--trials", "14", "--quiet")
    after = json.loads((out / "search.json").read_text())
    say(f"exit {done.returncode} in {time.perf_counter() - started:.0f} s; evaluated before {before}, after "
        f"{after['counts']['evaluated']}: RESULT resume ran {after['counts']['evaluated'] - before} new trials "
        f"(need 2, not 14); storage {after['storage']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="Working directory (kept) [a new temporary one]")
    parser.add_argument("--parts", default="zoo,custom,speed,resume")
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="search_benchmark."))
    work.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    say(f"search_benchmark: {cpu_line()}; Python {platform.python_version()}; work dir {work}")
    if "zoo" in parts:
        fit_part("zoo", ZOO_MODEL, work, args.trials)
    if "custom" in parts:
        model = train_resnet8(work)
        fit_part("custom", model, work, args.trials, extra=("--arch", "resnet8:ResNet8"), arch="resnet8:ResNet8",
                 cwd=work)
    if "speed" in parts:
        speed_part(work)
    if "resume" in parts:
        resume_part(work)
    if args.work is None:
        say(f"(work dir kept: {work}; remove it with: rm -r {work})")


if __name__ == "__main__":
    main()
