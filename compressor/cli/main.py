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
@click.option("--data", type=click.Path(path_type=Path), help="Calibration data: .npz with x (N × input shape), optional y.")
@click.option("--eval", "eval_data", type=click.Path(path_type=Path), help="Held-out .npz with x and y: accuracy of original and compressed.")
@click.option("--input-shape", help="Input shape with batch, e.g. 1,1,32,32; one per input for several: 1,3,32,32;1,16.")
@click.option("--arch", help="Architecture of a state dict: module:Class importable from here, or a zoo name.")
@click.option("--trust-pickle", is_flag=True, help="Allow loading a fully pickled nn.Module (runs code from the file).")
@click.option("--min-agreement", type=float, help="Top-1 agreement below this marks the run FAILED (exit 1) [0.97].")
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
@click.option("--qat-epochs", type=int, help="Quantization-aware fine-tuning epochs before export, on --data [0].")
@click.option("--qat-lr", type=float, help="Learning rate of --qat-epochs [1e-5].")
@click.option("--float-ops", metavar="NAME,...",
              help="Layers (module paths, e.g. features.0.0) kept in float in the int8 artifact (CPU targets).")
@click.option("--json", "as_json", is_flag=True, help="Print the report JSON on stdout and nothing else there.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary; errors only.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def run(model, target, out, fmt, data, eval_data, input_shape, arch, trust_pickle, min_agreement,
        seed, recipe, prune_spec, prune_layers, finetune_epochs, lr, dsconv_mode, dsconv_rank, io_type, layout,
        qat_epochs, qat_lr, float_ops, as_json, quiet, debug) -> None:
    """Compress MODEL for --target: fold, export, int8, verify in the real runtime, estimate."""
    console = _stderr_console(quiet)
    try:
        from ..api import compress
        from ..config import Recipe, load_recipe
        from ..data import parse_input_shapes

        base, previous = load_recipe(recipe) if recipe else (Recipe(), {})
        overrides = {key: value for key, value in (("export.format", fmt), ("seed", seed),
                                                   ("verify.min_agreement", min_agreement), ("int8.io", io_type),
                                                   ("export.layout", layout), ("int8.qat_epochs", qat_epochs),
                                                   ("int8.qat_lr", qat_lr)) if value is not None}
        if float_ops is not None:
            overrides["int8.float_ops"] = tuple(name.strip() for name in float_ops.split(","))
        overrides.update(_prune_overrides(prune_spec, prune_layers, finetune_epochs, lr))
        overrides.update({key: value.strip() for key, value in (("dsconv.mode", dsconv_mode),
                                                                ("dsconv.rank", dsconv_rank)) if value is not None})
        chosen = base.with_overrides(**overrides) if overrides else base
        target = target or previous.get("target")
        if not target:
            raise _missing_target()
        data = data if data is not None else _optional_path(previous.get("data"))
        eval_data = eval_data if eval_data is not None else _optional_path(previous.get("eval"))
        arch = arch or (previous.get("arch") if previous.get("model_format") == "state_dict" else None)
        shape = parse_input_shapes(input_shape) if input_shape else None
        with console.status("compressing") as status:
            result = compress(model, target=target, out=out, recipe=chosen, data=data, eval_data=eval_data,
                              arch=arch, input_shape=shape, trust_pickle=trust_pickle,
                              progress=lambda step: status.update(f"{step}…"))
    except Exception as error:  # mapped to exit codes; --debug shows the traceback
        sys.exit(_fail(error, debug=debug))
    _print_result(result, console, as_json=as_json, quiet=quiet)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _prune_overrides(spec, layers, epochs, lr) -> dict:
    from ..config import parse_prune_spec

    overrides = {}
    if spec is not None:
        overrides["prune.method"], overrides["prune.amount"] = parse_prune_spec(spec)
    # One recovery setting for both passes that fine-tune: pruning and depthwise substitution.
    for key, value in (("prune.layers", layers), ("prune.finetune_epochs", epochs), ("prune.lr", lr),
                       ("dsconv.finetune_epochs", epochs), ("dsconv.lr", lr)):
        if value is not None:
            overrides[key] = value
    return overrides


def _missing_target():
    from ..errors import ConfigError
    from ..targets.load import known_target_names

    return ConfigError("--target", None, "a target name (" + ", ".join(known_target_names()) + ") or a .toml file")


def _optional_path(value):
    return Path(value) if value else None


def _print_result(result, console, *, as_json: bool, quiet: bool) -> None:
    import json

    report = result.report
    for warning in report["warnings"]:
        console.print(f"[bold yellow]warning:[/] {warning}")
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    if quiet:
        return
    from rich.console import Console

    from ..report.build import render_table

    Console(highlight=False).print(render_table(report))
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
