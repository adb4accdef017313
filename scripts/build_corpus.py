#!/usr/bin/env python3
"""Export the architecture zoo (scripts/corpus_models.py CORPUS) as the fidelity corpus.

    python scripts/build_corpus.py --out /tmp/corpus                 # fp32 + int8 .onnx
    python scripts/build_corpus.py --out /tmp/corpus --tflite        # + fp32 .tflite (litert-torch)
    python scripts/build_corpus.py --out /tmp/corpus --tflite-int8   # + fp32 and int8 .tflite
    python scripts/real_model_fidelity.py --models-dir /tmp/corpus --entries /tmp/corpus/corpus.toml

For each model: fp32 ONNX (torch.onnx legacy exporter, opset 17), int8 ONNX (onnxruntime
``quantize_static``: QDQ, per-channel int8 weights, uint8 activations as PITFALLS.md advises,
8 random calibration samples after ORT's pre-processing), and with ``--tflite`` an fp32
.tflite through litert-torch, with ``--tflite-int8`` also its int8 form (ai-edge-quantizer
``static_wi8_ai8``, 4 random calibration samples: what LiteRT's int8 kernels and tflite-micro
run).  It writes ``corpus.toml`` in the entry format the fidelity
script reads, so a model added to CORPUS is one line.  Files already in --out are reused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def export_onnx(model, shape, path: Path) -> None:
    import torch

    # Not under no_grad: there nn.TransformerEncoderLayer takes its fused fast path
    # (aten::_transformer_encoder_layer_fwd), which the ONNX exporter cannot write.
    torch.onnx.export(model, (torch.zeros(shape),), str(path), dynamo=False, opset_version=17)


def quantize_onnx(fp32: Path, shape, path: Path) -> None:
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = path.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(prepared))
    import onnx

    name = onnx.load(str(prepared), load_external_data=False).graph.input[0].name
    rng = np.random.default_rng(0)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.items, None)

    quantize_static(str(prepared), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    prepared.unlink()


def export_tflite(model, shape, path: Path) -> None:
    import litert_torch
    import torch

    litert_torch.convert(model, (torch.zeros(shape),)).export(str(path))


def quantize_tflite(fp32: Path, shape, path: Path) -> None:
    """ai-edge-quantizer ``static_wi8_ai8`` (int8 weights and activations, float I/O) on 4 random
    samples: the route PITFALLS.md found cleanest, as the compress pipeline's int8 pass takes it (which
    since 2026-12-06 also makes BATCH_MATMULs' right-hand operands symmetric: these files keep the
    library's zero points, so the corpus holds both of LiteRT's int8 BATCH_MATMUL kernels)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    signatures = Interpreter(model_path=str(fp32)).get_signature_list()
    key = next(iter(signatures))
    names = list(signatures[key]["inputs"])
    rng = np.random.default_rng(0)
    samples = [{n: rng.standard_normal(shape).astype(np.float32) for n in names} for _ in range(4)]
    qt = quantizer.Quantizer(str(fp32), recipe.static_wi8_ai8())
    qt.quantize(qt.calibrate({key: samples})).export_model(str(path), overwrite=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--out", required=True)
    parser.add_argument("--tflite", action="store_true", help="also fp32 .tflite through litert-torch (slow)")
    parser.add_argument("--tflite-int8", action="store_true",
                        help="also int8 .tflite (ai-edge-quantizer static_wi8_ai8 of the fp32 .tflite; slow)")
    parser.add_argument("--no-int8", action="store_true")
    parser.add_argument("--only", nargs="*", help="model names from CORPUS")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "scripts"))
    import torch

    from corpus_models import CORPUS

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, (family, build, shape) in CORPUS.items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(0)
        model = build().eval()
        forms = [("fp32", ".onnx", export_onnx)]
        if not args.no_int8:
            forms.append(("int8", ".int8.onnx", None))
        if args.tflite or args.tflite_int8:
            forms.append(("fp32", ".tflite", export_tflite))
        if args.tflite_int8:
            forms.append(("int8", ".int8.tflite", None))
        for precision, suffix, export in forms:
            path = out / f"{name}{suffix}"
            if not path.is_file():
                log(f"[build] {name} {precision} {suffix}")
                try:
                    if export is None and suffix == ".int8.tflite":
                        quantize_tflite(out / f"{name}.tflite", shape, path)
                    elif export is None:
                        quantize_onnx(out / f"{name}.onnx", shape, path)
                    else:
                        export(model, shape, path)
                except Exception as error:  # one architecture a tool cannot take must not stop the zoo
                    log(f"[skip] {name} {suffix}: {type(error).__name__}: {str(error)[:200]}")
                    continue
            entries.append(f'[[model]]\npath = "{path.name}"\nfamily = "{family}, {precision}"\n')
    (out / "corpus.toml").write_text("# written by scripts/build_corpus.py\n" + "\n".join(entries))
    log(f"[done] {len(entries)} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
