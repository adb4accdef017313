"""Target profiles: TOML files loaded into a frozen, typed ``TargetProfile``.

    from compressor.targets import load_target
    profile = load_target("android-arm64")    # or a path to any profile .toml
"""

from .load import list_targets, load_target
from .types import TargetProfile

__all__ = ["TargetProfile", "list_targets", "load_target"]
