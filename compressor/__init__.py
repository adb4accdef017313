"""edge-compressor: make a trained PyTorch model fit a real edge device.

The public API is ``compress`` (the whole job, as the ``compress`` CLI runs it), its typed
settings (``Int8Config``, ``PruneConfig``, ..., ``Preprocess``), ``profile`` / ``bench`` /
``check`` (the other commands as functions) and the error tree; heavy libraries load only when a function needs them, so importing this
package is cheap.
"""

from .api import CompressResult, compress
from .config import DsconvConfig, ExportConfig, Int8Config, PruneConfig, Recipe, VerifyConfig
from .data.folders import Preprocess
from .errors import CompressorError, ConfigError, DataError, ExportError, ModelLoadError, TargetError, UnsupportedOpError, VerificationError

__all__ = [
    "CompressResult",
    "DsconvConfig",
    "ExportConfig",
    "Int8Config",
    "Preprocess",
    "PruneConfig",
    "VerifyConfig",
    "bench",
    "check",
    "profile",
    "CompressorError",
    "ConfigError",
    "DataError",
    "ExportError",
    "ModelLoadError",
    "Recipe",
    "TargetError",
    "UnsupportedOpError",
    "VerificationError",
    "compress",
    "search",
]
__version__ = "0.1.0"

# Loaded on first use (PEP 562), so `import compressor` does not pull in the cost models or
# runtimes.  Another lazy export joins by adding its name here.
_LAZY = {"profile": ".tools", "bench": ".tools", "check": ".tools", "search": ".recipe_search"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
