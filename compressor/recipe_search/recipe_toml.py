"""Write a ``Recipe`` as the TOML file ``compress --recipe`` reads back to the same recipe.

``config.load_recipe`` takes top-level keys (version, seed, passes) and one table per pass
section, and rejects unknown keys, so the file holds exactly ``Recipe.to_dict()``; anything
else a reader needs (the thread count the artifact was built with, the command that repeats
it) goes in ``#`` comments.  Floats are written with ``repr`` (shortest round-trip form), so
``load_recipe(write) == recipe`` holds exactly (tests/search/test_outputs.py).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..config import Recipe

__all__ = ["recipe_to_toml"]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a recipe float must be finite, got {value!r}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} into a recipe TOML")


def recipe_to_toml(recipe: Recipe, *, comments: tuple[str, ...] = ()) -> str:
    """The TOML text of ``recipe``, with ``comments`` as ``#`` lines at the top."""
    data = recipe.to_dict()
    lines = [f"# {line}".rstrip() for comment in comments for line in comment.splitlines()]
    tables = {key: value for key, value in data.items() if isinstance(value, dict)}
    for key, value in data.items():
        if key not in tables:
            lines.append(f"{key} = {_value(value)}")
    for name, table in tables.items():
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_value(value)}" for key, value in table.items())
    return "\n".join(lines) + "\n"
