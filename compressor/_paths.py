"""Where the shipped data lives: the zoo (repo `models/`) and device profiles (repo `targets/`).

A wheel installs both folders inside the package (`compressor/zoo`, `compressor/target_files`,
see pyproject.toml), so nothing lands in site-packages as a top-level `models` or `targets`.
An editable install or a source checkout reads them from the repository's folders.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["targets_dir", "zoo_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _shipped_dir(installed_name: str, repo_name: str) -> Path:
    installed = _PACKAGE / installed_name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / repo_name


def targets_dir() -> Path:
    """The folder of the shipped target profiles (`*.toml`)."""
    return _shipped_dir("target_files", "targets")


def zoo_dir() -> Path:
    """The folder of the reference zoo (architectures, `weights/`, `data/`)."""
    return _shipped_dir("zoo", "models")
