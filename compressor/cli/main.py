"""The ``compress`` command: parse, call the API, print.  Nothing else lives here.

    compress MODEL --target android-arm64 [--data calib.npz --eval test.npz] [--json]
    compress targets

Exit codes: 0 done, 1 the artifact was written but verification FAILED, 2 bad input
(one line on stderr, ``--debug`` for the traceback), 3 an internal error (a bug: please
report it with the ``--debug`` output).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .common import EXIT_FAILED, EXIT_OK
from .common import fail as _fail

from .check import check_command
from .profile import profile_command
from .bench import bench_command
from .calibrate import calibrate_command
from .search import search_command

__all__ = ["main"]

_SUBCOMMANDS_HELP = ("Subcommands: targets (list device profiles), "
                     "check (gate a report or artifact on budgets), "
                     "profile (cost any .tflite/.onnx on a target), bench (time an artifact here), "
                     "calibrate (fit a target to measured traces).")


class _DefaultToRun(click.Group):
    """``compress MODEL ...`` runs the main job; ``compress targets`` etc. are subcommands."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # `compress --help` shows the main job's options first: that is what people run.
        run_command = self.commands["run"]
        with click.Context(run_command, info_name=ctx.info_name, parent=None) as run_ctx:
            formatter.write_usage(ctx.info_name or "compress", "MODEL --target NAME [OPTIONS]")
            run_command.format_help_text(run_ctx, formatter)
            run_command.format_options(run_ctx, formatter)
        formatter.write_paragraph()
        formatter.write_usage(ctx.info_name or "compress", "COMMAND [ARGS]...")
        self.format_commands(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _stderr_console(quiet: bool):
    """A console on a duplicate of fd 2, so it still reaches the terminal while the
    converters' own output is being captured (see capture.py)."""
    from rich.console import Console

    stream = os.fdopen(os.dup(2), "w", buffering=1)
    return Console(file=stream, stderr=True, quiet=quiet, highlight=False)




@click.group(cls=_DefaultToRun, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Run `compress MODEL --help` for the main job's options. " + _SUBCOMMANDS_HELP)
@click.version_option(package_name="edge-compressor")
def cli() -> None:
    """Compress a trained PyTorch model for an edge device."""


@cli.command("run", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(path_type=Path, dir_okay=True))
@click.option("--target", "-t", help="Target name (see `compress targets`) or a target .toml file.")
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Output directory [MODEL_STEM.compressed/ beside the model].")
@click.option("--format", "fmt", type=click.Choice(["tflite", "onnx", "c"]),
              help="Artifact format; c: the .tflite plus a C array and its TFLM op resolver [tflite].")
@click.option("--data", type=click.Path(path_type=Path),
              help="Calibration data: .npz with x (N × input shape) and optional y, .npy, a folder of PNG/JPEG "
                   "images or of WAV clips (labels from class subfolder names).")
@click.option("--eval", "eval_data", type=click.Path(path_type=Path),
              help="Held-out data, the same kinds as --data, with labels: accuracy of original and compressed.")
@click.option("--resize", metavar="H,W", help="Resize folder images to H,W (bilinear); needed for mixed sizes.")
@click.option("--mean", metavar="M[,M,M]", help="Subtract per channel from folder images scaled to [0, 1].")
@click.option("--std", metavar="S[,S,S]", help="Divide per channel, after --mean.")
@click.option("--sample-rate", type=int, help="Resample WAV folder clips to this rate in Hz (clips are cut "
                                              "into the model's input length).")
@click.option("--input-shape", help="Input shape with batch, e.g. 1,1,32,32; one per input for several: 1,3,32,32;1,16.")
@click.option("--arch", help="Architecture of a state dict: module:Class importable from here, or a zoo name.")
@click.option("--trust-pickle", is_flag=True, help="Allow loading a fully pickled nn.Module (runs code from the file).")
@click.option("--min-agreement", type=float,
              help="Top-1 agreement of a class output below this marks the run FAILED (exit 1) [0.97].")
@click.option("--min-sqnr", "min_sqnr", type=float, metavar="DB",
              help="SQNR in dB of an output that is not class scores below this marks the run FAILED "
                   "(exit 1) [15].")
@click.option("--classifier-output", metavar="INDEX|NAME,...",
              help="Outputs to score as class scores (top-1 agreement) besides softmax / log-softmax outputs and "
                   "outputs as wide as the labels' classes, e.g. 0 or output_2.")
@click.option("--seed", type=int, help="Seed for sampling and random calibration [0].")
@click.option("--recipe", type=click.Path(path_type=Path), help="A recipe .toml, or an earlier run's report.json to repeat it.")
@click.option("--prune", "prune_spec", metavar="METHOD[:AMOUNT]",
              help="Prune before export: channels:0.5 (whole channels), unstructured:0.8 (weights), 2:4.")
@click.option("--prune-layers", metavar="auto|all|NAME,...",
              help="Layers to prune: all, auto (amounts per layer from a sensitivity scan), or names [all].")
@click.option("--finetune-epochs", type=int, help="Recovery epochs after pruning or --dsconv, distilled from the original on --data.")
@click.option("--lr", type=float, help="Learning rate of the recovery fine-tuning [0.002].")
@click.option("--dsconv", "dsconv_mode", metavar="auto|all|none|NAME,...",
              help="Replace dense k x k convs by depthwise + 1x1 pairs: auto (where the target's cost model "
                   "says it pays), all, or Conv2d names; recovered by distillation on --data [none].")
@click.option("--dsconv-rank", metavar="auto|R",
              help="Depthwise filters per input channel: auto (smallest rank under the error bound) or R [auto].")
@click.option("--io", "io_type", type=click.Choice(["float", "int8"]),
              help="Artifact input/output type [float on CPU targets, int8 on MCU and NPU targets].")
@click.option("--layout", type=click.Choice(["nchw", "nhwc"]),
              help="Artifact input/output layout: the model's own (nchw) or channels-last (nhwc) [nchw].")
@click.option("--calibration", "calibration", type=click.Choice(["auto", "min_max", "moving_average", "percentile"]),
              help="Activation ranges: measured per model (auto), true min/max, the moving average "
                   "(ai-edge-quantizer's default) or clipped at the 99.99th percentile [auto].")
@click.option("--qat-epochs", type=int, help="Quantization-aware fine-tuning epochs before export, on --data [0].")
@click.option("--qat-lr", type=float, help="Learning rate of --qat-epochs [1e-5].")
@click.option("--float-ops", metavar="NAME,...",
              help="Layers (module paths, e.g. features.0.0) kept in float in the int8 artifact (CPU targets).")
@click.option("--int16-ops", metavar="NAME,...",
              help="Layers with int16 activations and int8 weights (int16x8), on targets with int16 kernels.")
@click.option("--json", "as_json", is_flag=True, help="Print the report JSON on stdout and nothing else there.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary; errors only.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def run(model: Path, **flags) -> None:
    """Compress MODEL for --target: fold, export, int8, verify in the real runtime, estimate."""
    console = _stderr_console(flags["quiet"])
    try:
        from ..api import compress
        from ..data import parse_input_shapes

        shape = parse_input_shapes(flags["input_shape"]) if flags["input_shape"] else None
        preprocess = _preprocess(flags)
        from .progress import ProgressDisplay

        with ProgressDisplay(console, enabled=not flags["as_json"]) as display:
            result = compress(model, target=flags["target"], out=flags["out"], recipe=flags["recipe"],
                              overrides=_overrides(flags), data=flags["data"], eval_data=flags["eval_data"],
                              arch=flags["arch"], input_shape=shape, trust_pickle=flags["trust_pickle"],
                              preprocess=preprocess, progress=display.update)
    except Exception as error:  # mapped to exit codes; --debug shows the traceback
        sys.exit(_fail(error, debug=flags["debug"]))
    _print_result(result, console, as_json=flags["as_json"], quiet=flags["quiet"])
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


# Flags that set one recipe setting each (the parameter click passes -> the dotted setting).
_SETTING_OF_FLAG = {"fmt": "export.format", "seed": "seed", "min_agreement": "verify.min_agreement",
                    "min_sqnr": "verify.min_sqnr_db",
                    "io_type": "int8.io", "calibration": "int8.calibration", "layout": "export.layout", "qat_epochs": "int8.qat_epochs",
                    "qat_lr": "int8.qat_lr", "prune_layers": "prune.layers", "dsconv_mode": "dsconv.mode",
                    "dsconv_rank": "dsconv.rank"}


def _preprocess(flags: dict):
    """How folders become inputs; None (a report's own, under --recipe) when no flag says."""
    from ..data import Preprocess, parse_floats, parse_size

    given = {"resize": parse_size(flags["resize"]) if flags["resize"] else None,
             "mean": parse_floats(flags["mean"], "mean") if flags["mean"] else None,
             "std": parse_floats(flags["std"], "std") if flags["std"] else None,
             "sample_rate": flags["sample_rate"]}
    return Preprocess(**given) if any(v is not None for v in given.values()) else None


def _overrides(flags: dict) -> dict:
    """The settings the flags give, by dotted name, on top of the recipe."""
    overrides = {setting: flags[name].strip() if isinstance(flags[name], str) else flags[name]
                 for name, setting in _SETTING_OF_FLAG.items() if flags[name] is not None}
    if flags["classifier_output"] is not None:
        overrides["verify.classifier_output"] = tuple(name.strip() for name in flags["classifier_output"].split(","))
    if flags["float_ops"] is not None:
        overrides["int8.float_ops"] = tuple(name.strip() for name in flags["float_ops"].split(","))
    if flags["int16_ops"] is not None:
        overrides["int8.int16_ops"] = tuple(name.strip() for name in flags["int16_ops"].split(","))
    if flags["prune_spec"] is not None:
        overrides["prune.method"], overrides["prune.amount"] = _parse_prune_spec(flags["prune_spec"])
    # One recovery setting for both passes that fine-tune: pruning and depthwise substitution.
    for section in ("prune", "dsconv"):
        for name in ("finetune_epochs", "lr"):
            if flags[name] is not None:
                overrides[f"{section}.{name}"] = flags[name]
    return overrides


def _parse_prune_spec(text: str) -> tuple[str, float]:
    """``--prune METHOD[:AMOUNT]`` -> (method, amount): "channels:0.5", "unstructured:0.8", "2:4"."""
    from ..config import PRUNE_METHODS
    from ..errors import ConfigError

    text = text.strip()
    if text in ("2:4", "none"):
        return text, 0.5
    method, _, amount = text.rpartition(":") if ":" in text else (text, "", "0.5")
    expected = ("METHOD[:AMOUNT] with METHOD one of " + ", ".join(m for m in PRUNE_METHODS if m != "none")
                + " and AMOUNT a fraction strictly between 0 and 1 (e.g. channels:0.5)")
    if method not in PRUNE_METHODS or method in ("none", "2:4"):
        raise ConfigError("prune", text, expected)
    try:
        value = float(amount)
    except ValueError:
        raise ConfigError("prune", text, expected) from None
    if not 0.0 < value < 1.0:
        raise ConfigError("prune", text, expected)
    return method, value


def _print_result(result, console, *, as_json: bool, quiet: bool) -> None:
    import json

    report = result.report
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    if quiet:
        return
    from rich.console import Console
    from rich.markup import escape

    from ..report.markdown import render_table
    from ..report.warnings import group_warnings

    Console(highlight=False).print(render_table(report))
    for group in group_warnings(report):  # summary first, then one line per kind of warning
        more = f" (all {len(group.items)} in report.html)" if len(group.items) > 1 else ""
        console.print(f"[bold yellow]warning:[/] {escape(group.headline)}{more}")
    click.echo(f"wrote {result.artifact_path} and {result.out_dir / 'report.json'}")


@cli.command("targets", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the target(s) as JSON.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def targets(name: str | None, as_json: bool, debug: bool) -> None:
    """List the known targets, one line each; with NAME (or a .toml file), show one in full."""
    import json

    try:
        from ..targets.display import format_target, target_to_dict
        from ..targets.load import list_targets, load_target

        profiles = [load_target(name)] if name else list_targets()
    except Exception as error:
        sys.exit(_fail(error, debug=debug))
    if name:
        click.echo(json.dumps(target_to_dict(profiles[0]), indent=2) if as_json else format_target(profiles[0]))
        return
    if as_json:
        click.echo(json.dumps([{"name": p.name, "kind": p.kind, "description": p.description} for p in profiles], indent=2))
        return
    width = max(len(p.name) for p in profiles)
    for profile in profiles:
        click.echo(f"{profile.name:<{width}}  {profile.kind:<4}  {profile.description}")


cli.add_command(check_command, "check")
cli.add_command(profile_command, "profile")
cli.add_command(bench_command, "bench")
cli.add_command(calibrate_command, "calibrate")
cli.add_command(search_command, "search")


def main() -> None:
    cli(prog_name="compress")


if __name__ == "__main__":
    main()
