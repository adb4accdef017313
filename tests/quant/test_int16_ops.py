"""``int8.int16_ops`` / ``--int16-ops``: the named layer ships with int16 activations (int8 weights),
read back from the artifact's tensors in LiteRT; refused on targets without int16 and for unknown names."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from compressor import compress
from compressor.cli.main import cli
from compressor.config import Int8Config, Recipe
from compressor.errors import ConfigError

INT16_TARGET = "ethos-u55-128"  # dtypes int8, int16: Vela and CMSIS-NN have 16x8 kernels


def _op_output_types(path) -> list[tuple[str, str]]:
    """(op type, its first output's dtype) of every op of the shipped (name-stripped) artifact."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    return [(op["op_name"], dtypes[op["outputs"][0]]) for op in interpreter._get_ops_details()]


def test_int16_ops_gives_that_layer_int16_activations_and_only_it(tiny_workspace):
    recipe = Recipe().with_overrides(**{"int8.int16_ops": ("stem.0",), "verify.max_samples": 32})
    result = compress(tiny_workspace / "tiny.pt", target=INT16_TARGET, arch="tinynets:TinyNet", recipe=recipe,
                      data=tiny_workspace / "calib.npz", eval_data=tiny_workspace / "test.npz",
                      out=tiny_workspace / "out")
    assert result.ok
    # TinyNet: stem.0 (1 -> 8 channels) converts to DEPTHWISE_CONV_2D, body.0 to CONV_2D
    ops = _op_output_types(result.out_dir / "model.tflite")
    assert ("DEPTHWISE_CONV_2D", "int16") in ops
    assert ("CONV_2D", "int8") in ops and ("CONV_2D", "int16") not in ops  # the other conv stays int8
    step = next(s for s in result.report["steps"] if s["name"] == "int8")
    assert set(step["int16_ops_requested"]) == {"stem.0"}
    computed = [op for op in step["int16_ops"] if op["op"] not in ("QUANTIZE", "DEQUANTIZE")]
    assert computed and all("stem.0" in op["layers"] for op in computed)
    assert [op["op"] for op in computed] == [op for op, dtype in ops if dtype == "int16"
                                             and op not in ("QUANTIZE", "DEQUANTIZE")]


@pytest.mark.parametrize("target, names, expected", [
    ("android-arm64", "stem.0", "no int16 layers on android-arm64"),  # dtypes float32, int8
    (INT16_TARGET, "nope", "a layer of model_float.tflite"),
])
def test_int16_ops_refused_with_one_line_exit_2(tiny_workspace, target, names, expected):
    out = tiny_workspace / f"out-{target}"
    args = [str(tiny_workspace / "tiny.pt"), "--arch", "tinynets:TinyNet", "--target", target,
            "--data", str(tiny_workspace / "calib.npz"), "--int16-ops", names, "--out", str(out), "--quiet"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --int16-ops: ") and expected in lines[0]
    assert not out.exists()  # never a half-written artifact


def test_a_layer_has_one_precision():
    with pytest.raises(ConfigError, match="int8.int16_ops"):
        Int8Config(float_ops=("stem.0",), int16_ops=("stem.0", "body.0"))
    assert Int8Config(int16_ops=["a"]).int16_ops == ("a",)  # a TOML list reads as a tuple
