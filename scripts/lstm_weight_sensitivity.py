"""Where int8 weights hurt resemblyzer's LSTM speaker encoder: each weight matrix alone, in torch.

Usage:
    python scripts/lstm_weight_sensitivity.py [--models-dir DIR] [--samples-dir DIR]

Rounds one weight matrix of the model to int8 (symmetric, one scale per output row, or one per
tensor), leaves the rest float, and prints the embedding's SQNR and mean cosine against the float
model on the corpus's eval partials (scripts/real_models.py: 16 mel-power partials of synthesized
speech).  Then the same with every matrix int8, and every matrix but the first layer's input
weights.  Pure torch: what the weights alone cost, before any converter or runtime.  Skips with
one line when the weights are not under --models-dir.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_models  # noqa: E402  (beside this script)


def int8_weights(weight: torch.Tensor, *, per_channel: bool) -> torch.Tensor:
    scale = (weight.abs().amax(dim=1, keepdim=True) if per_channel else weight.abs().max()) / 127
    return torch.clamp(torch.round(weight / scale.clamp_min(1e-12)), -127, 127) * scale


def measure(model: torch.nn.Module, names: list[str], x: torch.Tensor, reference: torch.Tensor, *,
            per_channel: bool) -> tuple[float, float]:
    quantized = copy.deepcopy(model)
    state = quantized.state_dict()
    for name in names:
        state[name] = int8_weights(state[name], per_channel=per_channel)
    quantized.load_state_dict(state)
    with torch.no_grad():
        out = quantized(x)
    sqnr_db = 10 * torch.log10((reference ** 2).sum() / ((reference - out) ** 2).sum())
    return float(sqnr_db), float(torch.nn.functional.cosine_similarity(reference, out).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=real_models.DEFAULT_MODELS_DIR)
    parser.add_argument("--samples-dir", type=Path, default=real_models.DEFAULT_SAMPLES_DIR)
    args = parser.parse_args(argv)
    spec = next(s for s in real_models.CORPUS if s.name == "resemblyzer")
    if not (args.models_dir / spec.weights).exists():
        print(f"resemblyzer: skipped: {args.models_dir / spec.weights} absent", file=sys.stderr)
        return 0
    torch.set_num_threads(1)
    model = real_models.build_model(spec, args.models_dir, random_weights=False)
    x = torch.from_numpy(spec.inputs(args.samples_dir, 48)[32:])  # the corpus's eval partials
    with torch.no_grad():
        reference = model(x)
    matrices = [name for name, value in model.state_dict().items() if value.dim() == 2]
    print("| int8 weights | per-channel SQNR dB | cosine | per-tensor SQNR dB | cosine |\n|---|---|---|---|---|")
    for label, names in ([(name, [name]) for name in matrices]
                         + [("all", matrices), ("all but lstm.weight_ih_l0", matrices[1:])]):
        row = [measure(model, names, x, reference, per_channel=pc) for pc in (True, False)]
        print(f"| {label} | {row[0][0]:.1f} | {row[0][1]:.4f} | {row[1][0]:.1f} | {row[1][1]:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
