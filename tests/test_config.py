import json

import pytest

from compressor.config import Recipe, load_recipe
from compressor.errors import ConfigError


def test_recipe_round_trips_through_dict():
    recipe = Recipe().with_overrides(**{"export.format": "onnx", "seed": 7, "verify.min_agreement": 0.5})
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    assert recipe.format == "onnx" and recipe.seed == 7


@pytest.mark.parametrize("data, field", [
    ({"bogus": 1}, "bogus"),
    ({"verify": {"min_agreement": 1.5}}, "min_agreement"),
    ({"export": {"format": "coreml"}}, "format"),
    ({"passes": ["fold", "int8"]}, "passes"),
    ({"passes": ["export", "teleport"]}, "passes"),
    ({"int8": {"calibration_samples": "many"}}, "int8.calibration_samples"),
    ({"seed": -1}, "seed"),
])
def test_bad_recipes_name_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        Recipe.from_dict(data)
    assert field in str(info.value)


def test_recipe_from_toml_and_from_report(tmp_path):
    toml = tmp_path / "recipe.toml"
    toml.write_text('passes = ["fold", "export", "verify"]\nseed = 3\n[export]\nformat = "onnx"\n')
    recipe, inputs = load_recipe(toml)
    assert recipe.passes == ("fold", "export", "verify") and recipe.format == "onnx" and inputs == {}
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"recipe": recipe.to_dict(), "inputs": {"target": "host-x86"}}))
    again, inputs = load_recipe(report)
    assert again == recipe and inputs["target"] == "host-x86"


def test_unreadable_recipe_names_the_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("passes = [")
    with pytest.raises(ConfigError, match="broken.toml"):
        load_recipe(bad)
