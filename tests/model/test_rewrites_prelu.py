"""PReLU after a Linear: litert-torch folded relu(-x)'s negation into a second copy of the Linear's
weights; the rewrite keeps one copy (the int8 file's weight bytes are the model's parameters)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from compressor.model.rewrites import PReluAsRelu, rewrite_for_int8_


class _LinearPrelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.act1 = nn.PReLU(8)
        self.dense = nn.Linear(8 * 6 * 6, 64)
        self.act2 = nn.PReLU(64)
        self.head = nn.Linear(64, 4)
        with torch.no_grad():
            self.act1.weight.uniform_(0.05, 0.5)
            self.act2.weight.uniform_(0.05, 0.5)

    def forward(self, x):
        return self.head(self.act2(self.dense(self.act1(self.conv(x)).flatten(1))))


def test_prelu_rewrite_is_exact_and_keeps_one_copy_of_the_weights(tmp_path):
    from compressor.passes.export_tflite import export_tflite
    from compressor.tflite.size import size_breakdown

    torch.manual_seed(0)
    model = _LinearPrelu().eval()
    rewritten = copy.deepcopy(model)
    done = rewrite_for_int8_(rewritten)
    assert [d["rewrite"] for d in done].count("prelu_as_relu") == 2
    assert isinstance(rewritten.act2, PReluAsRelu)
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), rewritten(x), atol=1e-6)
    weight_bytes = 4 * sum(p.numel() for name, p in model.named_parameters()
                           if name.endswith("weight") and not name.startswith("act"))
    sizes = {}
    for name, net in (("before", model), ("after", rewritten)):
        export_tflite(net, (x[:1],), tmp_path / f"{name}.tflite")
        sizes[name] = size_breakdown(Path(tmp_path / f"{name}.tflite"))["weights"]
    assert sizes["after"] < weight_bytes * 1.05  # weights (+ the PReLU slopes), each once
    assert sizes["before"] > weight_bytes * 1.5  # what the converter made of nn.PReLU: dense twice
