"""Recipe search (``compress search``): the recipe that fits the budgets, on Ray, in an Optuna study.

    import compressor
    result = compressor.search("model.pt", target="cortex-m7", data="calib.npz",
                               eval_data="test.npz", budget="budgets.toml", trials=12)

One idea per module: ``space`` (what may be tried, as Recipe fields), ``layers`` (what the model
offers the space), ``inputs`` (checking what a search is given), ``objectives`` (scores and
budgets, through gate/verdicts.py), ``study`` (Optuna storage, names, records), ``trials`` (one
compress run, as a Ray task runs it), ``runtime`` (the Ray runtime), ``driver`` (the loop),
``recipe_toml``, ``outputs`` and ``pareto`` (what lands in DIR).  Ray and Optuna are imported
only when a search runs: importing this package is cheap.

``compressor.search`` is this package's ``search`` function (a lazy export of compressor/__init__.py);
the package has its own name so that importing it never rebinds that attribute.
"""

from __future__ import annotations

from .driver import SearchProgress, SearchResult, search
from .runtime import MissingExtraError

__all__ = ["MissingExtraError", "SearchProgress", "SearchResult", "search"]
