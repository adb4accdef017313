"""Input shapes of an artifact: which dims are dynamic, and the shape every input is costed at.

Files exported from other frameworks often leave dims open (ONNX ``dim_param`` / ``?`` /
``-1``, TFLite ``shape_signature`` -1).  Multiplying them gives 0 or negative MACs, so no op
is ever costed with a made-up dim; the rule (``resolve_input_shapes``):

* a shape given by the user (``--input-shape``, ``;`` between inputs) is taken as is, after
  checking its rank and that it keeps every fixed dim of the file (a ``.tflite``'s fixed dims
  excepted, ``resizable``: LiteRT resizes them when asked, as packages do with ``strict=False``
  to run a [1, 5] MLP over 65,536 pixels at once; a note says so);
* else a dynamic **batch** dim (dim 0) becomes 1, and a note says so (edge inference runs
  one sample at a time);
* any other dynamic dim without a given shape is a ``ConfigError`` on ``input_shape`` (the
  CLI's ``--input-shape``) naming the input, its dims and the file.

``InputSpec`` records one input as the file declares it: ``None`` for a dynamic dim.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = ["InputSpec", "check_input_values", "describe_dims", "resolve_input_shapes"]


@dataclass(frozen=True)
class InputSpec:
    name: str
    dims: tuple[int | None, ...]  # None = dynamic
    dtype: str = "float32"

    @property
    def is_dynamic(self) -> bool:
        return any(d is None for d in self.dims)


def describe_dims(dims: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def resolve_input_shapes(specs: tuple[InputSpec, ...], given: tuple[tuple[int, ...], ...] | None, *,
                         path: Path, resizable: bool = False) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]:
    """(one concrete shape per input, notes for the user); see the module docstring."""
    if given is not None:
        given = tuple(tuple(int(d) for d in shape) for shape in given)
        if len(given) != len(specs):
            raise ConfigError("input_shape", _format(given),
                              f"{len(specs)} shape(s), one per input of {path.name} "
                              f"({', '.join(f'{s.name!r} {describe_dims(s.dims)}' for s in specs)}), "
                              "separated by ';'")
        notes = []
        for spec, shape in zip(specs, given):
            fixed_ok = all(d is None or d == g for d, g in zip(spec.dims, shape))
            if len(shape) != len(spec.dims) or not (fixed_ok or resizable):
                raise ConfigError("input_shape", _format(given),
                                  f"a shape for input {spec.name!r} of {path.name} that fits its dims "
                                  f"{describe_dims(spec.dims)} (? = any size)")
            if not fixed_ok:
                notes.append(f"input {spec.name!r} of {path.name} is fixed at {describe_dims(spec.dims)}: resized "
                             f"to {list(shape)}, as LiteRT's resize_tensor_input(strict=False) does")
        return given, tuple(notes)
    shapes, notes = [], []
    for spec in specs:
        open_dims = [i for i, d in enumerate(spec.dims) if d is None]
        if any(i > 0 for i in open_dims):
            example = ",".join("N" if d is None else str(d) for d in spec.dims)
            raise ConfigError("input_shape", None,
                              f"a shape for input {spec.name!r} of {path.name}: its dims {describe_dims(spec.dims)} "
                              f"are dynamic (? at position(s) {', '.join(str(i) for i in open_dims)}) and nothing "
                              f"is costed with a made-up size; give --input-shape, e.g. {example} with N filled in"
                              + ("" if len(specs) == 1 else ", one shape per input separated by ';'"))
        if open_dims:
            notes.append(f"input {spec.name!r} of {path.name} has a dynamic batch dim "
                         f"{describe_dims(spec.dims)}: batch 1 is used (--input-shape to change it)")
        shapes.append(tuple(1 if d is None else d for d in spec.dims))
    return tuple(shapes), tuple(notes)


def _format(shapes) -> str:
    return ";".join(",".join(map(str, s)) if s else "()" for s in shapes)


def check_input_values(specs: tuple[InputSpec, ...], values: dict[str, float] | None, *, path: Path) -> dict[str, float]:
    """``values`` (input name -> number, ``--input-value``: what to evaluate an If's condition on
    instead of zeros) checked against the model's inputs: a ``ConfigError`` names one it lacks."""
    values, names = dict(values or {}), [spec.name for spec in specs]
    unknown = [name for name in values if name not in names]
    if unknown:
        raise ConfigError("input_value", unknown[0], f"the name of an input of {path.name} ({', '.join(names)})")
    return values
