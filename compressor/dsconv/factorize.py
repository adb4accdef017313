"""Factorise a dense k×k convolution into a depthwise k×k conv and a 1×1 pointwise conv.

A dense conv with weight W (Cout × Cin × k × k) computes, per input channel c, the
Cout × k² matrix M_c = W[:, c] (flattened filters) applied to the k×k patches of channel
c, summed over c.  Its truncated SVD M_c ≈ Σ_{r<R} σ_r u_r v_rᵀ splits that into R k×k
filters v_r (a depthwise conv with channel multiplier R) and R Cout-vectors σ_r u_r (the
pointwise conv's columns for depthwise channels c·R..c·R+R-1):

    y_o = Σ_c Σ_r P[o, cR+r] · (D[cR+r] ⋆ x_c)  =  Σ_c (Σ_r P[o, cR+r] D[cR+r]) ⋆ x_c

so the pair equals the dense conv with weights M_c truncated to rank R.  M_c has rank at
most min(Cout, k²): at R = k² (or any R ≥ that rank) the pair is exact up to float
rounding; by Eckart-Young the truncation is the best rank-R one per channel in Frobenius
norm.  This is the "separable filters" idea of Jaderberg, Vedaldi & Zisserman, "Speeding up
Convolutional Neural Networks with Low Rank Expansions" (BMVC 2014) and of the
depthwise-separable block of Chollet, "Xception" (CVPR 2017), initialised from the trained
weights instead of at random.

The singular value is split evenly (√σ into each factor) so both convs have weights of
similar scale, which int8 per-channel quantization and fine-tuning both prefer.

MACs per output pixel: dense Cin·Cout·k², pair Cin·R·k² + Cin·R·Cout.  The channel order of
the depthwise output (c·R + r) is PyTorch's for ``groups = Cin`` and TFLite's
DEPTHWISE_CONV_2D depth multiplier alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Factors", "factorize_conv_weight", "pair_macs", "reconstruct_weight"]


@dataclass(frozen=True)
class Factors:
    """Weights of the depthwise-separable pair replacing one dense conv."""

    depthwise: Any  # torch.Tensor (Cin·R) × 1 × kh × kw
    pointwise: Any  # torch.Tensor Cout × (Cin·R) × 1 × 1
    rank: int


def factorize_conv_weight(weight: Any, rank: int) -> Factors:
    """Rank-``rank`` depthwise/pointwise factors of a dense conv weight (Cout × Cin × kh × kw).

    ``rank`` may exceed min(Cout, kh·kw): the extra filters are zero and the pair stays exact.
    """
    import torch

    if weight.ndim != 4:
        raise ValueError(f"expected a 4-d conv weight, got shape {tuple(weight.shape)}")
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    cout, cin, kh, kw = weight.shape
    w = weight.detach().to(torch.float64).permute(1, 0, 2, 3).reshape(cin, cout, kh * kw)
    u, s, vh = torch.linalg.svd(w, full_matrices=False)  # u: cin×cout×q, s: cin×q, vh: cin×q×k²
    q = s.shape[1]
    keep = min(rank, q)
    root = s[:, :keep].sqrt()
    depthwise = torch.zeros(cin, rank, kh * kw, dtype=torch.float64)
    pointwise = torch.zeros(cout, cin, rank, dtype=torch.float64)
    depthwise[:, :keep] = vh[:, :keep] * root[:, :, None]
    pointwise[:, :, :keep] = (u[:, :, :keep] * root[:, None, :]).permute(1, 0, 2)
    dtype = weight.dtype
    return Factors(depthwise=depthwise.reshape(cin * rank, 1, kh, kw).to(dtype),
                   pointwise=pointwise.reshape(cout, cin * rank, 1, 1).to(dtype), rank=rank)


def reconstruct_weight(factors: Factors) -> Any:
    """The dense weight the pair computes: W_R[o, c] = Σ_r P[o, cR+r] D[cR+r]."""
    d, p, rank = factors.depthwise, factors.pointwise, factors.rank
    cout = p.shape[0]
    cin = d.shape[0] // rank
    kh, kw = d.shape[2], d.shape[3]
    d = d.reshape(cin, rank, kh * kw)
    p = p.reshape(cout, cin, rank)
    return (p.permute(1, 0, 2) @ d).permute(1, 0, 2).reshape(cout, cin, kh, kw)


def pair_macs(*, cin: int, cout: int, kernel_elements: int, rank: int, output_pixels: int) -> tuple[int, int]:
    """MACs of the depthwise and the pointwise conv for one sample."""
    return (output_pixels * cin * rank * kernel_elements, output_pixels * cin * rank * cout)
