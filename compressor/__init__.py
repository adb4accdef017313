"""edge-compressor: make a trained PyTorch model fit a real edge device.

The public API is ``compress`` (the whole job, as the ``compress`` CLI runs it) and the
error tree; heavy libraries load only when a function needs them, so importing this
package is cheap.
"""

from .api import CompressResult, compress
from .config import Recipe
from .errors import CompressorError, ConfigError, DataError, ExportError, ModelLoadError, TargetError, UnsupportedOpError, VerificationError

__all__ = [
    "CompressResult",
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


def __getattr__(name: str):
    # Lazy: `compressor.search` (recipe search on Ray and Optuna) loads only when asked for.
    if name == "search":
        import importlib

        return importlib.import_module(".search", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
