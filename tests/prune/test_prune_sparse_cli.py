"""--prune unstructured / 2:4 end to end: masks through recovery and int8, a sparse file that
computes exactly what the dense one does, requested vs achieved in the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from compressor.cli.main import cli
from tests.helpers import save_graph_form


def run(spec: str, out: str):
    return CliRunner().invoke(cli, ["res.pt", "--arch", "tests.prune_patterns:Residual", "--target", "android-arm64",
                                    "--prune", spec, "--finetune-epochs", "2", "--data", "train.npz",
                                    "--eval", "heldout.npz", "--min-agreement", "0", "--out", out, "--quiet"])


def steps_of(directory):
    report = json.loads((directory / "report.json").read_text())
    return report, {s["name"]: s for s in report["steps"]}


def _weights(path):
    """Conv filters of a .tflite as LiteRT reads them (densified where sparse)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    interpreter.get_signature_runner()(args_0=np.zeros((1, 1, 16, 16), np.float32))
    return interpreter


def test_unstructured_prune_ships_a_smaller_sparse_file_with_the_same_outputs(residual_workspace):
    workspace, _ = residual_workspace
    result = run("unstructured:0.8", "u")
    assert result.exit_code == 0, result.output
    report, steps = steps_of(workspace / "u")
    prune, sparse = steps["prune"], steps["sparsify"]
    assert abs(prune["achieved"] - 0.8) <= 0.02
    assert {s["name"] for s in prune["skipped"]} == {"head"}  # the classifier keeps its weights
    assert sparse["kept"] and sparse["outputs_identical"]
    assert sparse["sparse_size_bytes"] < sparse["dense_size_bytes"]
    assert report["compressed"]["size_bytes"] <= sparse["sparse_size_bytes"]  # then stripped
    assert set(sparse["ota_bytes"]["sparse"]) == {"gzip", "zstd"}
    assert any("smaller, not faster" in w for w in report["warnings"])
    from ai_edge_litert.interpreter import Interpreter

    ops = [op["op_name"] for op in Interpreter(str(workspace / "u" / "model.tflite"))._get_ops_details()]
    assert "DENSIFY" in ops


def test_two_four_leaves_two_of_every_four_weights_in_the_int8_file(residual_workspace):
    workspace, _ = residual_workspace
    result = run("2:4", "nm")
    assert result.exit_code == 0, result.output
    report, steps = steps_of(workspace / "nm")
    prune = steps["prune"]
    pruned = [layer for layer in prune["layers"] if not layer["skipped"]]
    assert pruned and all(layer["achieved"] == pytest.approx(0.5, abs=1e-6) for layer in pruned)
    # zero weights stay zero through int8: the float file's 2:4 pattern is in the int8 filters
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(workspace / "nm" / "model_float.tflite"))
    filters = [interpreter.get_tensor(t["index"]) for t in interpreter.get_tensor_details()
               if len(t["shape"]) == 4 and t["shape"][-1] % 4 == 0 and t["shape"][0] > 1
               and t["dtype"] == np.float32 and interpreter.get_tensor(t["index"]).any()
               if _is_constant(interpreter, t)]
    assert filters
    for weights in filters:
        groups = weights.reshape(-1, 4)  # TFLite conv filters are O×H×W×I: input channels last
        assert np.all((groups == 0).sum(axis=1) >= 2)


def _is_constant(interpreter, detail) -> bool:
    try:
        interpreter.get_tensor(detail["index"])
        return True
    except ValueError:
        return False


def test_sparse_prune_errors_exit_2(residual_workspace):
    for spec in ("unstructured:1.2", "2:4:0.7", "unstructured:0", "sparse:0.5"):
        result = CliRunner().invoke(cli, ["res.pt", "--arch", "tests.prune_patterns:Residual", "--target",
                                          "android-arm64", "--prune", spec, "--data", "train.npz", "--out", "bad"])
        assert result.exit_code == 2, (spec, result.output)


@pytest.mark.parametrize("form", ["torch.export", "torchscript"])
def test_graph_models_get_masks_on_their_lifted_convs(residual_workspace, form):
    import torch

    workspace, model = residual_workspace
    path = save_graph_form(model, workspace, form, (torch.zeros(1, 1, 16, 16),))
    result = CliRunner().invoke(cli, [path, "--target", "android-arm64", "--prune", "unstructured:0.8",
                                      "--finetune-epochs", "1", "--data", "train.npz", "--eval", "heldout.npz",
                                      "--input-shape", "1,1,16,16", "--min-agreement", "0", "--min-sqnr", "0",
                                      "--out", "g", "--quiet"])
    assert result.exit_code == 0, result.output
    report, steps = steps_of(workspace / "g")
    prune = steps["prune"]
    assert prune["lifted_graph_convs"] == 3 and prune["lifted_graph_linears"] == 1
    assert abs(prune["achieved"] - 0.8) <= 0.02
    # the head (an aten.linear call, lifted like the convs) stays dense, as in the nn.Module form
    assert {s["name"] for s in prune["skipped"]} == {"head"} and steps["sparsify"]["outputs_identical"]
    assert prune["params_before"] == prune["params_after"] == sum(p.numel() for p in model.parameters())


def test_torchscript_big_hidden_linear_is_masked_and_gzip_shrinks(residual_workspace):
    """Issue 12, point 5: a TorchScript net whose weights are mostly one hidden Linear (VGG's
    shape): the Linear is lifted and masked, so the int8 file gzips to <= 0.12x the fp32 file,
    and the report counts its parameters (a TorchScript graph holds them as buffers)."""
    import torch

    from tests.prune_patterns import WideHead

    workspace, _ = residual_workspace
    torch.manual_seed(0)
    model = WideHead().eval()
    torch.jit.save(torch.jit.trace(model, (torch.zeros(1, 1, 16, 16),)), workspace / "wide.ts")
    result = CliRunner().invoke(cli, ["wide.ts", "--target", "android-arm64", "--prune", "unstructured:0.8",
                                      "--finetune-epochs", "1", "--data", "train.npz", "--eval", "heldout.npz",
                                      "--input-shape", "1,1,16,16", "--min-agreement", "0", "--classifier-output", "0", "--out", "w", "--quiet"])
    assert result.exit_code == 0, result.output
    report, steps = steps_of(workspace / "w")
    prune = steps["prune"]
    hidden = next(layer for layer in prune["layers"] if layer["name"] == "hidden")
    assert hidden["kind"] == "Linear" and hidden["achieved"] >= 0.75
    assert prune["params_before"] == sum(p.numel() for p in model.parameters()) == prune["params_after"]
    assert report["compressed"]["gzip_bytes"] <= 0.12 * prune["float_size_bytes_before"]


def test_unstructured_prune_repeats_byte_for_byte(residual_workspace):
    workspace, _ = residual_workspace
    for out in ("a", "b"):
        assert run("unstructured:0.8", out).exit_code == 0
    assert (workspace / "a" / "model.tflite").read_bytes() == (workspace / "b" / "model.tflite").read_bytes()


def test_mcu_targets_keep_the_dense_file_their_runtime_can_read(residual_workspace):
    workspace, _ = residual_workspace
    result = CliRunner().invoke(cli, ["res.pt", "--arch", "tests.prune_patterns:Residual", "--target", "cortex-m7",
                                      "--prune", "unstructured:0.8", "--finetune-epochs", "1", "--data", "train.npz",
                                      "--min-agreement", "0", "--out", "m7", "--quiet"])
    assert result.exit_code == 0, result.output
    report, steps = steps_of(workspace / "m7")
    assert "sparsify" not in steps  # tflite-micro has no DENSIFY
    assert any("no DENSIFY kernel" in w for w in report["warnings"])
    assert report["estimate"]["tflm_arena_bytes"] > 0  # tflite-micro runs the artifact
