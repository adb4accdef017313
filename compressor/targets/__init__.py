"""Target profiles: TOML files loaded into a frozen, typed ``TargetProfile``."""
