"""Depthwise-separable substitution: dense k×k convs -> depthwise k×k + 1×1, where the target says it pays.

``factorize.py`` (SVD initialisation, exact at rank k²), ``select.py`` (which layers and ranks,
from the target's cost model and the data), ``substitute.py`` (module swap, and the lift of
torch.export / TorchScript graph convs to modules).  The pass is passes/substitute_dsconv.py.
"""

__all__: list[str] = []
