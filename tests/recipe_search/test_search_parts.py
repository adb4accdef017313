"""The search's pure parts, checked by hand: space -> Recipe, budget margins, the chosen trial,
the recipe TOML round trip, the Pareto page.  No Ray here (test_search_cli.py runs the real thing)."""

from __future__ import annotations

import pytest

from compressor.config import Recipe, load_recipe
from compressor.errors import ConfigError
from compressor.gate.budgets import budgets_from_table
from compressor.recipe_search.layers import ModelLayers
from compressor.recipe_search.objectives import choose_best, margins, pareto_front, verdicts_for
from compressor.recipe_search.pareto import render_pareto_html
from compressor.recipe_search.recipe_toml import recipe_to_toml
from compressor.recipe_search.space import SearchSpace, anchor_params, default_space, load_space, recipe_from_params
from compressor.targets.load import load_target

LAYERS = ModelLayers(True, ("stem.0", "body.0"), ("stem.0", "body.0", "head"), ("stem.0", "body.0"))


def test_default_space_never_samples_what_the_target_forbids():
    cpu = default_space(LAYERS, load_target("android-arm64"))
    assert set(cpu.prune_methods) == {"none", "channels", "unstructured"}
    assert (cpu.precision_layers, cpu.precisions) == (("stem.0", "body.0"), ("int8", "float"))  # no int16 kernels
    mcu = default_space(LAYERS, load_target("cortex-m7"))
    assert mcu.prune_methods == ("none", "channels")  # no DENSIFY in tflite-micro: no sparse pruning
    assert (mcu.precision_layers, mcu.precisions) == ((), ("int8",))  # int8-only target: one precision
    npu = default_space(LAYERS, load_target("ethos-u55-128"))  # dtypes int8, int16; no float
    assert (npu.precision_layers, npu.precisions) == (("stem.0", "body.0"), ("int8", "int16x8"))
    graph = default_space(ModelLayers(False, (), ("c",), ("c",)), load_target("android-arm64"))
    assert "channels" not in graph.prune_methods


def test_space_file_asking_for_a_forbidden_dimension_is_a_config_error(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[prune]\nmethods = ["2:4"]\n')
    with pytest.raises(ConfigError, match="no sparse format"):
        load_space(space, LAYERS, load_target("ethos-u55-128"))
    space.write_text('[prune]\nmethod = ["none"]\n')
    with pytest.raises(ConfigError, match=r"space.toml: prune.method"):
        load_space(space, LAYERS, load_target("android-arm64"))
    space.write_text('[int8]\nlayers = ["stem.0"]\nprecisions = ["int8", "int16x8"]\n')
    with pytest.raises(ConfigError, match=r"int8.precisions.*android-arm64 runs: int8, float"):
        load_space(space, LAYERS, load_target("android-arm64"))
    assert load_space(space, LAYERS, load_target("ethos-u65-256")).precisions == ("int8", "int16x8")
    space.write_text('[int8]\nfloat_ops = ["stem.0"]\n')  # the first spelling: each layer int8 or float
    assert load_space(space, LAYERS, load_target("android-arm64")).precisions == ("int8", "float")
    with pytest.raises(ConfigError, match="runs int8 only"):
        load_space(space, LAYERS, load_target("ethos-u55-128"))


@pytest.mark.parametrize("target, allowed", [("android-arm64", {"int8", "float"}), ("cortex-m7", {"int8"}),
                                             ("ethos-u55-128", {"int8", "int16x8"})])
def test_sampled_precisions_are_only_those_the_target_runs(target, allowed):
    import optuna

    from compressor.recipe_search.space import suggest_params

    space = default_space(LAYERS, load_target(target))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        recipe = recipe_from_params(suggest_params(trial, space), space)
        seen |= {"float" for _ in recipe.int8.float_ops} | {"int16x8" for _ in recipe.int8.int16_ops}
        seen |= {"int8" for layer in space.precision_layers
                 if layer not in (*recipe.int8.float_ops, *recipe.int8.int16_ops)}
        study.tell(trial, 0.0)
    assert set(space.precisions) == allowed
    # each allowed precision sampled in 40 trials, nothing else ever (one precision: no dimension at all)
    assert seen == (allowed if len(allowed) > 1 else set())


def test_params_map_onto_existing_recipe_fields():
    space = SearchSpace(prune_methods=("none", "channels"), dsconv_modes=("none", "layers"),
                        dsconv_layers=("stem.0", "body.0"), precision_layers=("stem.0", "body.0"),
                        precisions=("int8", "int16x8", "float"), qat_epochs=(0, 2), base={"seed": 3})
    recipe = recipe_from_params({"prune.method": "channels", "prune.channels_amount": 0.35, "prune.layers": "auto",
                                 "dsconv.mode": "layers", "dsconv.layer:stem.0": False, "dsconv.layer:body.0": True,
                                 "dsconv.rank": "2", "recovery_epochs": 4, "int8.precision:stem.0": "float",
                                 "int8.precision:body.0": "int16x8", "int8.qat_epochs": 2}, space,
                                sensitivity_cache="/tmp/scan.json")
    assert recipe.seed == 3
    assert (recipe.prune.method, recipe.prune.amount, recipe.prune.layers) == ("channels", 0.35, "auto")
    assert (recipe.dsconv.mode, recipe.dsconv.rank) == ("body.0", "2")
    assert recipe.prune.finetune_epochs == recipe.dsconv.finetune_epochs == 4
    assert recipe.int8.float_ops == ("stem.0",) and recipe.int8.int16_ops == ("body.0",)
    assert recipe.int8.qat_epochs == 2
    assert recipe.prune.sensitivity_cache == "/tmp/scan.json"  # channels with per-layer amounts share a scan
    whole = recipe_from_params({"prune.method": "channels", "prune.channels_amount": 0.5, "prune.layers": "all"},
                               space, sensitivity_cache="/tmp/scan.json")
    assert whole.prune.sensitivity_cache == ""  # no scan without per-layer amounts
    plain = recipe_from_params(anchor_params(space)[0], space)
    assert plain == Recipe(seed=3)  # the first anchor is plain int8
    assert space.sha256 != SearchSpace().sha256


def test_margins_are_signed_distances_to_each_budget():
    budgets = budgets_from_table({"max_latency_ms": 2.0, "min_accuracy": "90%"})
    metrics = {"estimate_latency_ms": 3.0, "compressed_accuracy": 0.99, "status": "ok"}
    values = margins(verdicts_for(metrics, budgets), metrics)
    assert values == pytest.approx({"max_latency_ms": 0.5, "min_accuracy": -0.1, "verified": 0.0})
    failed = margins(verdicts_for({**metrics, "status": "FAILED"}, budgets), {**metrics, "status": "FAILED"})
    assert failed["verified"] == 1.0


def test_best_is_the_most_accurate_fit_then_the_fastest():
    def trial(number, score, latency, feasible=True):
        return {"number": number, "status": "complete", "feasible": feasible,
                "metrics": {"score": score, "estimate_latency_ms": latency}}
    trials = [trial(0, 0.99, 1.0), trial(1, 0.995, 0.9), trial(2, 0.995, 0.5), trial(3, 1.0, 0.1, feasible=False)]
    assert choose_best(trials)["number"] == 2
    assert pareto_front(trials) == [3]
    assert choose_best([trial(0, 1.0, 1.0, feasible=False)]) is None


def test_recipe_toml_reads_back_to_the_same_recipe(tmp_path):
    recipe = Recipe().with_overrides(**{"prune.method": "unstructured", "prune.amount": 0.7,
                                        "int8.float_ops": ("a.0", 'we"ird'), "int8.qat_lr": 1e-05, "seed": 7})
    path = tmp_path / "recipe.toml"
    path.write_text(recipe_to_toml(recipe, comments=("threads = 1", "second line")))
    assert path.read_text().startswith("# threads = 1\n# second line\n")
    assert load_recipe(path)[0] == recipe


def test_pareto_page_is_self_contained_and_escapes_trial_text():
    budgets = budgets_from_table({"max_latency_ms": 1.0})
    trials = [{"number": 0, "status": "complete", "feasible": True, "recipe": Recipe().to_dict(),
               "metrics": {"score": 0.9, "score_kind": "accuracy", "estimate_latency_ms": 0.5,
                           "estimate_flash_bytes": 1000}},
              {"number": 1, "status": "fail", "feasible": False, "error": "<script>alert(1)</script>"}]
    page = render_pareto_html({"trials": trials, "best": 0, "pareto_front": [0], "study": "s", "target": "t"},
                              budgets)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") == 1 and "max_latency_ms 1<" in page and "chosen" in page


def test_compressor_search_is_callable_lazy_and_raises_typed_errors():
    import subprocess
    import sys

    import compressor
    from compressor.recipe_search import search

    with pytest.raises(ConfigError) as raised:  # the API raises; it never exits the process
        compressor.search("missing.pt", target="android-arm64", data="d.npz", eval_data="e.npz",
                          budget="b.toml", trials=0)
    assert raised.value.field == "trials"  # the argument's name; cli/common.SETTING_FLAGS maps it to --trials
    assert callable(compressor.search) and compressor.search is search
    heavy = subprocess.run([sys.executable, "-c", "import sys, compressor, compressor.cli.main; "
                            "print(sorted(m for m in ('ray', 'optuna', 'torch', 'matplotlib') if m in sys.modules))"],
                           capture_output=True, text=True, check=True)
    assert heavy.stdout.strip() == "[]"  # `compress --help` stays fast


def test_calibration_methods_are_a_dimension_when_listed(tmp_path):
    import optuna

    from compressor.recipe_search.space import suggest_params

    target = load_target("android-arm64")
    assert default_space(LAYERS, target).calibration_methods == ("auto",)  # auto measures all three per trial
    space_file = tmp_path / "space.toml"
    space_file.write_text('[int8]\ncalibration_methods = ["min_max", "moving_average"]\n')
    space = load_space(space_file, LAYERS, target)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        seen.add(recipe_from_params(suggest_params(trial, space), space).int8.calibration)
        study.tell(trial, 0.0)
    assert seen == {"min_max", "moving_average"}
    assert recipe_from_params({}, default_space(LAYERS, target)).int8.calibration == "auto"
    space_file.write_text('[int8]\ncalibration_methods = ["entropy"]\n')
    with pytest.raises(ConfigError, match="calibration_methods"):
        load_space(space_file, LAYERS, target)
