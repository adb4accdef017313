"""Estimate an artifact on a target: the one function behind the report's ``estimate`` and
``compress profile``.

    estimate = estimate_artifact("model.tflite", "ethos-u55-128")
    estimate.latency_ms, estimate.source["latency_ms"], estimate.to_dict()

What it puts together, each figure saying where it came from (``source``):

1. the generic cost model (``cost.estimate``): latency, peak RAM, flash, energy per op;
2. kernel awareness (``cost.kernels``): where each op really runs (unsupported and float
   ops on an NPU fall back to the CPU named by ``accelerator.fallback_target``; channel
   counts off ``compute.channel_multiple`` are padded), costed there, with warnings.  These
   per-op costs replace the generic ones: latency and energy are the kernel-aware sums;
3. for ``accelerator.compiler = "vela"`` targets, the real Vela compiler (``cost.vela``):
   latency is Vela's inference time plus the CPU-fallback ops Vela reports, costed on the
   fallback CPU; peak RAM is the SRAM + DRAM Vela uses; flash is the compiled model's size;
   energy is ours from Vela's MACs and bytes moved (+ the fallback ops');
4. for ``mcu.use_tflm_arena`` targets, the arena tflite-micro's interpreter really
   allocates (``cost.micro``), with our planned arena beside it; peak RAM is the measured
   arena (unless Vela gave it).

Nothing here prints; bad input is a ``CompressorError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExportError, TargetError, UnsupportedOpError
from ..files import artifact_suffix
from ..graph.ir import Graph
from ..targets.types import TargetProfile

__all__ = ["ArtifactEstimate", "artifact_bytes", "estimate_artifact"]

_FIGURES = ("latency_ms", "peak_ram_bytes", "flash_bytes", "energy_mj")


@dataclass(frozen=True)
class ArtifactEstimate:
    artifact: Path
    target: str
    latency_ms: float
    peak_ram_bytes: int
    flash_bytes: int
    energy_mj: float
    source: dict[str, str]  # figure -> "estimate" | "vela" | "vela + cpu fallback estimate" | "tflite-micro"
    model_estimate: Any  # cost.Estimate: the generic model, before kernels/Vela/tflite-micro
    kernels: Any  # cost.kernels.KernelReport
    vela: Any = None  # cost.vela.VelaResult
    tflm: Any = None  # cost.micro.TflmArena
    arena_estimate_bytes: int | None = None
    warnings: tuple[str, ...] = field(default=())
    channel_padding: dict[str, Any] | None = None  # padding.channel_padding_cost: latency with vs without
    threads: int = 1  # the CPU runtime threads it was costed for (the profile's, or ``threads``)

    def to_dict(self) -> dict[str, Any]:
        """The report's ``estimate`` block: the old keys, then where they came from and the detail."""
        from .micro import arena_comparison

        estimate = self.model_estimate
        data: dict[str, Any] = {
            "latency_ms": float(self.latency_ms), "peak_ram_bytes": int(self.peak_ram_bytes),
            "flash_bytes": int(self.flash_bytes), "energy_mj": float(self.energy_mj), "threads": self.threads,
            "per_op": [op.to_dict() for op in self.kernels.ops],
            "source": dict(self.source),
            "model_estimate": {"latency_ms": float(estimate.latency_ms), "peak_ram_bytes": int(estimate.peak_ram_bytes),
                               "flash_bytes": int(estimate.flash_bytes), "energy_mj": float(estimate.energy_mj)},
            "ops_on_target": sum(op.runs_on == self.target for op in self.kernels.ops),
            "ops_on_cpu_fallback": len(self.kernels.fallback_ops),
            "vela": self.vela.to_dict() if self.vela is not None else None,
            "tflm_arena_bytes": None, "tflm_planned_bytes": None, "tflm_persistent_bytes": None,
            "arena_estimate_bytes": self.arena_estimate_bytes, "arena_estimate_ratio": None,
            "kernel_warnings": [w.to_dict() for w in self.kernels.warnings],
            "warnings": list(self.warnings),
            "channel_padding": self.channel_padding,
        }
        if self.tflm is not None and self.arena_estimate_bytes is not None:
            data.update(arena_comparison(self.tflm, self.arena_estimate_bytes))
        return data


def artifact_bytes(path: Path) -> int:
    """What a deployment of the file at ``path`` ships: the file, and an ``.onnx``'s external data
    files (its initializers kept beside it: a ResNet-18 of 89 KB and 44.8 MB of ``.onnx.data``)."""
    from ..graph.ort_optimized import external_data_files

    extra = external_data_files(path) if artifact_suffix(path) == ".onnx" else []
    return path.stat().st_size + sum(f.stat().st_size for f in extra if f.is_file())


def estimate_artifact(path: Path | str, target: TargetProfile | str | Path, *, graph: Graph | None = None,
                     strict: bool = True, input_shapes: tuple[tuple[int, ...], ...] | None = None,
                     threads: int | None = None, input_values: dict[str, float] | None = None) -> ArtifactEstimate:
    """Estimate the ``.tflite``/``.onnx`` at ``path`` on ``target`` (a name, a .toml path or a
    loaded ``TargetProfile``).

    ``input_shapes`` (one per model input, as ``--input-shape``) fixes dynamic input dims: a
    dynamic batch dim is otherwise costed as 1 (a warning says so) and any other dynamic dim
    is a ``ConfigError`` naming the input (``graph.shapes``).  ``threads`` (``--threads``) runs a
    CPU target's runtime on that many threads instead of the profile's own (``with_threads``).
    ``input_values`` (``--input-value``, input name -> number): an If whose condition depends on
    those inputs runs the branch they select (graph.read_graph), not the one holding more weights.

    ``strict`` (``compress profile``): a float model on a target that runs integer ops only
    raises.  Not strict (the compress pipeline, whose artifact is already written): it
    becomes a warning.  A Vela failure never raises: the kernel estimate stands (unsupported
    ops on the fallback CPU) with Vela's reason among the warnings.
    """
    from ..cost import Estimate, estimate, estimate_memory
    from ..cost.kernels import check_kernels, is_float_model
    from ..cost.memory import plan_arena
    from .padding import channel_padding_cost
    from ..graph.read import read_graph
    from ..targets.load import load_target, with_threads

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    profile = with_threads(load_target(target) if isinstance(target, (str, Path)) else target, threads)
    # An .onnx is costed as onnxruntime runs it (its optimized graph), a .tflite as written.
    graph = graph if graph is not None else read_graph(path, input_shapes=input_shapes, as_run=True,
                                                       input_values=input_values)
    accelerator, mcu = profile.accelerator, profile.mcu
    warnings: list[str] = list(graph.notes)
    if profile.variant_note:
        warnings.append(f"{profile.name}: {profile.variant_note}")

    float_only = not profile.compute.float_allowed
    if float_only and is_float_model(graph):
        first = next(op for op in graph.ops if op.macs)
        detail = (f"{path.name} is a float model ({first.op_type} {first.name!r} computes in "
                  f"{first.compute_dtype}) and {profile.name} runs integer ops only; quantize it to int8 "
                  "first (the compress pipeline's int8 pass)")
        if strict:
            raise UnsupportedOpError(first.op_type, None, detail)
        warnings.append(detail)

    size_bytes = artifact_bytes(path)
    kernels = _with_file_nodes(check_kernels(graph, profile), graph, path)
    padding = channel_padding_cost(graph, profile, kernels)  # before Vela's figures replace the kernels'
    try:
        model_estimate = estimate(graph, profile, artifact_size_bytes=size_bytes)
    except TargetError:
        # An op in a dtype the target has no rate for (float on an int8-only NPU): the
        # generic model cannot cost it; the kernel check already placed it on a CPU.
        memory = estimate_memory(graph, profile, artifact_size_bytes=size_bytes)
        model_estimate = Estimate(latency_ms=kernels.latency_ms, peak_ram_bytes=memory.peak_ram_bytes,
                                  flash_bytes=memory.flash_bytes, energy_mj=kernels.energy_mj, per_op=())
    kernel_notes = [w for w in kernels.warnings]
    figures = {"latency_ms": kernels.latency_ms, "peak_ram_bytes": model_estimate.peak_ram_bytes,
               "flash_bytes": model_estimate.flash_bytes, "energy_mj": kernels.energy_mj}
    source = dict.fromkeys(_FIGURES, "estimate")

    vela = None
    if accelerator is not None and accelerator.compiler == "vela":
        vela = _run_vela(path, graph, accelerator, strict=strict, warnings=warnings)
        if vela is not None:
            kernels = _take_vela_figures(vela, graph, profile, kernels, figures, source, warnings)

    # Where Vela ran, its own list of CPU ops replaces the supported-ops guess.
    guessed = ("unsupported_op", "float_op") if vela is not None else ()
    warnings += [str(w) for w in kernel_notes if w.kind not in guessed]

    tflm = arena_estimate = None
    if mcu is not None and mcu.use_tflm_arena:
        order = "tflm"
        arena_estimate = plan_arena(graph, alignment_bytes=profile.memory.arena_alignment_bytes,
                                    order=order).size_bytes
        if artifact_suffix(path) != ".tflite":
            warnings.append(f"tflite-micro runs .tflite files only: {path.name}'s arena is the estimate")
        else:
            from .micro import measure_tflm_arena

            try:
                tflm = measure_tflm_arena(path)
            except ExportError as error:
                warnings.append(f"tflite-micro arena not measured: {error}")
        if tflm is not None and vela is None:
            weights = model_estimate.peak_ram_bytes - plan_arena(
                graph, alignment_bytes=profile.memory.arena_alignment_bytes, order=order).size_bytes
            figures["peak_ram_bytes"] = tflm.total_bytes + max(weights, 0)
            source["peak_ram_bytes"] = "tflite-micro"

    return ArtifactEstimate(artifact=path, target=profile.name, latency_ms=float(figures["latency_ms"]),
                   peak_ram_bytes=int(figures["peak_ram_bytes"]), flash_bytes=int(figures["flash_bytes"]),
                   energy_mj=float(figures["energy_mj"]), source=source, model_estimate=model_estimate,
                   kernels=kernels, vela=vela, tflm=tflm, arena_estimate_bytes=arena_estimate,
                   warnings=tuple(dict.fromkeys(warnings)), channel_padding=padding, threads=profile.compute.threads)


def _with_file_nodes(kernels: Any, graph: Graph, path: Path) -> Any:
    """``kernels`` with each op and warning naming the node of the user's ``.onnx`` it comes from
    (onnxruntime's optimized graph renames them: ort_names.py); a ``.tflite`` runs as written."""
    if graph.format != "onnx":
        return kernels
    import dataclasses

    import onnx

    from ..graph.ort_names import file_node_names

    found = file_node_names(graph, onnx.load(str(path), load_external_data=False))

    node = lambda name: found.get(name, name)  # the file's node; "" = onnxruntime inserted it
    ops = tuple(dataclasses.replace(op, file_node=None if node(op.name) == op.name else node(op.name))
                for op in kernels.ops)
    warnings = tuple(dataclasses.replace(w, file_node=node(w.name)) if node(w.name) not in ("", w.name) else w
                     for w in kernels.warnings)
    return dataclasses.replace(kernels, ops=ops, warnings=warnings)


def _run_vela(path: Path, graph: Any, accelerator: Any, *, strict: bool, warnings: list[str]):
    from .vela import compile_with_vela

    if artifact_suffix(path) != ".tflite":
        if strict:  # an Ethos-U runs what Vela compiles: an .onnx cannot go there at all
            raise ExportError(f"{path}: Vela compiles .tflite files only, so an Ethos-U cannot run this file; profile "
                              "the model's .tflite (compress MODEL --format tflite writes one)")
        warnings.append(f"Vela compiles .tflite files only: {path.name} is costed by the estimate")
        return None
    try:
        return compile_with_vela(path, accelerator)
    except ExportError as error:
        # Vela refusing the graph is not the user's last word: the kernel check has already
        # placed every op (unsupported and float ones on the fallback CPU), so that answer stands.
        warnings.append(f"Vela could not compile it, so the figures are the kernel estimate (ops it cannot run "
                        f"costed on the CPU): {error}")
        return None


def _take_vela_figures(vela, graph, profile, kernels, figures, source, warnings) -> Any:
    """Vela's figures into ``figures``; returns ``kernels`` with Vela's CPU ops costed on the CPU."""
    from ..cost.kernels import place_on_cpu
    from .vela import vela_energy_mj

    kernels = place_on_cpu(kernels, graph, profile, {layer.name: layer.reason or "Vela left it on the CPU"
                                                     for layer in vela.cpu_layers})
    placed = {op.name: op for op in kernels.ops}
    cpu_latency = cpu_energy = 0.0
    for layer in vela.cpu_layers:
        op = placed.get(layer.name)
        warnings.append(f"Vela runs {layer.original_op} ({layer.name}) on the CPU"
                        + (f": {layer.reason}" if layer.reason else "")
                        + (f"; costed on {op.runs_on} at {op.latency_ms:.4g} ms" if op is not None else ""))
        if op is not None:
            cpu_latency += op.latency_ms
            cpu_energy += op.energy_mj
    if vela.npu_ops == 0:
        warnings.append(f"Vela put no op on the NPU of {profile.name}: everything runs on the CPU")
    costed_cpu = " + cpu fallback estimate" if vela.cpu_layers else ""
    figures["latency_ms"] = vela.inference_time_ms + cpu_latency
    figures["energy_mj"] = vela_energy_mj(vela, profile) + cpu_energy
    figures["flash_bytes"] = vela.output_size_bytes or figures["flash_bytes"]
    source.update(latency_ms=f"vela{costed_cpu}", energy_mj=f"vela counts{costed_cpu}", flash_bytes="vela")
    if vela.npu_ops:  # with nothing on the NPU, Vela's SRAM/DRAM use is 0: the CPU's arena is the estimate's
        figures["peak_ram_bytes"] = vela.sram_used_bytes + vela.dram_used_bytes
        source["peak_ram_bytes"] = "vela"
    return kernels
