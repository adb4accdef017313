"""A profile's per-dtype tables, parsed and checked: efficiencies, channel tiles and each
runtime's own costs (dispatch, kernel terms, weight streams, RNN curves, how it splits over
threads).  ``load.py`` builds the profile around them."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from ..graph.ort_kernels import RECURRENT
from .schema import Checker
from .types import (CPU_FLAGS, CPU_SCALARS, CPU_TILES, EFFICIENCY_KEYS, FORMATS, KERNEL_TERM_KEYS, PARALLEL_KEYS, PARALLEL_OPTIONAL,
                    RUNTIME_CURVES, SYMMETRIC_CONV_KEYS, TASK_WEIGHT_READS_KEYS, KernelTerms, RuntimeCost)

__all__ = ["channel_tiles_table", "cpu_entries", "cpu_runtime_tables", "efficiency_table", "extension_tables",
           "overlay", "own_runtime_tables", "runtimes_table"]


def efficiency_table(c: Checker, keys: tuple, dtypes: tuple[str, ...], *, partial: bool) -> Mapping[str, Mapping[str, float]]:
    """dtype -> op kind -> fraction; a base table needs every dtype and its "other" kind."""
    table = c.table(keys)
    extra = [d for d in table if d not in dtypes]
    if extra:
        raise c.fail((*keys, extra[0]), f"not in dtypes {list(dtypes)}")
    efficiency: dict[str, Mapping[str, float]] = {}
    for dtype in dtypes:
        kinds = c.table((*keys, dtype), optional=partial)
        if kinds is None:
            continue
        if not partial:
            c.get((*keys, dtype, "other"))  # the fallback every kind can reach
        efficiency[dtype] = MappingProxyType({kind: c.number((*keys, dtype, kind), positive=True, fraction=True)
                                              for kind in kinds})
    return MappingProxyType(efficiency)


def runtimes_table(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> dict[str, RuntimeCost]:
    """Optional ``runtimes.<format> = { dispatch_overhead_us, invoke_overhead_us, rnn_step_us, rnn_efficiency,
    efficiency = { <dtype> = { <kind> = fraction } } }``: that runtime's own costs."""
    if c.table(keys, optional=True) is None:
        return {}
    runtimes = {}
    for fmt in _formats(c, keys):
        number = lambda key, optional=True: c.number((*keys, fmt, key), positive=False, optional=optional)  # noqa: E731
        runtimes[fmt] = RuntimeCost(dispatch_overhead_us=number("dispatch_overhead_us", optional=False),
                                    invoke_overhead_us=number("invoke_overhead_us") or 0.0,
                                    rnn_step_us=number("rnn_step_us") or 0.0,
                                    rnn_call_us=number("rnn_call_us") or 0.0,
                                    conv_call_us=number("conv_call_us") or 0.0,
                                    feed_us=number("feed_us") or 0.0, fetch_us=number("fetch_us") or 0.0,
                                    transpose_element_ns=number("transpose_element_ns") or 0.0,
                                    subnormal_vector_ns=number("subnormal_vector_ns") or 0.0,
                                    inplace_run_ns=number("inplace_run_ns") or 0.0,
                                    whole_rows_from=number("whole_rows_from") or 0.0,
                                    learned_branches=number("learned_branches") or 0.0,
                                    l1_ways=number("l1_ways") or 0.0,
                                    rnn_efficiency=c.number((*keys, fmt, "rnn_efficiency"), positive=True, fraction=True,
                                                            optional=True) or 0.0,
                                    efficiency=(efficiency_table(c, (*keys, fmt, "efficiency"), dtypes, partial=True)
                                                if c.get((*keys, fmt, "efficiency"), optional=True) is not None else {}),
                                    kernels=_kernel_terms(c, (*keys, fmt, "kernels"), dtypes),
                                    **{name: _bytes_curves(c, (*keys, fmt, name), dtypes, unit)
                                       for name, unit in RUNTIME_CURVES.items()},
                                    rnn_steps=_rnn_steps(c, (*keys, fmt, "rnn_steps")),
                                    parallel=_parallel(c, (*keys, fmt, "parallel"), dtypes),
                                    in_place=_op_types(c, (*keys, fmt, "in_place")),
                                    nchwc=_dtype_list(c, (*keys, fmt, "nchwc"), dtypes),
                                    whole_row_tiles=_flag(c, (*keys, fmt, "whole_row_tiles")),
                                    separate_clamps=_flag(c, (*keys, fmt, "separate_clamps")),
                                    warm_tree_revisits=_flag(c, (*keys, fmt, "warm_tree_revisits")),
                                    input_channel_tiles=channel_tiles_table(c, (*keys, fmt, "input_channel_tiles"), dtypes),
                                    input_channel_remainders=channel_tiles_table(c, (*keys, fmt, "input_channel_remainders"), dtypes),
                                    narrow_input_channel_tiles=channel_tiles_table(c, (*keys, fmt, "narrow_input_channel_tiles"), dtypes),
                                    channel_remainders=channel_tiles_table(c, (*keys, fmt, "channel_remainders"), dtypes),
                                    igemm_rows=channel_tiles_table(c, (*keys, fmt, "igemm_rows"), dtypes),
                                    igemm_cols=channel_tiles_table(c, (*keys, fmt, "igemm_cols"), dtypes),
                                    channel_tiles=channel_tiles_table(c, (*keys, fmt, "channel_tiles"), dtypes),
                                    narrow_channel_tiles=channel_tiles_table(c, (*keys, fmt, "narrow_channel_tiles"), dtypes),
                                    row_tiles=channel_tiles_table(c, (*keys, fmt, "row_tiles"), dtypes),
                                    symmetric_conv=_symmetric_conv(c, (*keys, fmt, "symmetric_conv"), dtypes),
                                    task_weight_reads=_task_weight_reads(c, (*keys, fmt, "task_weight_reads"), dtypes),
                                    int8_pair_factors=_int8_pair_factors(c, (*keys, fmt, "int8_pair_factors")))
    return runtimes


def _flag(c: Checker, keys: tuple) -> bool:
    """An optional true / false setting; False when absent."""
    return c.get(keys, optional=True) is not None and c.boolean(keys)


INT8_PAIRS = ("u8u8", "s8s8", "integer_u8u8", "integer_u8s8", "uint8", "hybrid_u8")
INT8_PAIR_KINDS = ("conv", "pointwise", "depthwise", "conv_unaligned", "fully_connected")


def _int8_pair_factors(c: Checker, keys: tuple, *, fraction: bool = False) -> dict[str, dict[str, float]]:
    """Optional ``int8_pair_factors.<INT8_PAIRS> = { <INT8_PAIR_KINDS> = x }`` (positive; with
    ``fraction`` in [0, 1], as a ``parallel`` table's ``pairs``): types.RuntimeCost.int8_pair_factors;
    {} when absent."""
    table = c.table(keys, optional=True) or {}
    factors: dict[str, dict[str, float]] = {}
    for pair in table:
        if pair not in INT8_PAIRS:
            raise c.fail((*keys, pair), f"not one of {list(INT8_PAIRS)}")
        kinds = c.table((*keys, pair))
        for kind in kinds:
            if kind not in INT8_PAIR_KINDS:
                raise c.fail((*keys, pair, kind), f"not one of {list(INT8_PAIR_KINDS)}")
        factors[pair] = {kind: c.number((*keys, pair, kind), positive=not fraction) for kind in kinds}
        for kind, value in factors[pair].items():
            if fraction and value > 1:
                raise c.fail((*keys, pair, kind), f"expected a fraction in [0, 1], got {value!r}")
    return factors


def _task_weight_reads(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Optional ``task_weight_reads.<dtype> = { rows, tasks_per_thread, resident_bytes, bytes_per_s }``
    (all four, positive): types.RuntimeCost.task_weight_reads."""
    rules: dict[str, dict[str, float]] = {}
    for dtype in _dtype_table(c, keys, dtypes):
        entry = c.table((*keys, dtype))
        wrong = sorted(set(entry) ^ set(TASK_WEIGHT_READS_KEYS))
        if wrong:
            raise c.fail((*keys, dtype, wrong[0]), f"expected exactly {list(TASK_WEIGHT_READS_KEYS)}")
        rules[dtype] = {k: c.number((*keys, dtype, k), positive=True) for k in TASK_WEIGHT_READS_KEYS}
    return rules


def _symmetric_conv(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Optional ``symmetric_conv.<dtype> = { <SYMMETRIC_CONV_KEYS> = N }`` (integers, each
    optional): the convs the runtime's symmetric kernel takes (types.RuntimeCost.symmetric_conv)."""
    rules: dict[str, dict[str, int]] = {}
    for dtype in _dtype_table(c, keys, dtypes):
        entry = c.table((*keys, dtype))
        unknown = [k for k in entry if k not in SYMMETRIC_CONV_KEYS]
        if unknown:
            raise c.fail((*keys, dtype, unknown[0]), f"not one of {list(SYMMETRIC_CONV_KEYS)}")
        rules[dtype] = {k: c.integer((*keys, dtype, k)) for k in entry}
    return rules


def cpu_runtime_tables(c: Checker, keys: tuple, dtypes: tuple[str, ...],
                       here: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    """``[[<variant>.cpus]]``: what one CPU model measured of its own for the runtimes: ``cpu``
    (as ``read_cpu_identity`` names it), ``description`` and ``runtimes.<format>`` holding any of
    ``kernels.<dtype>.<key>`` (its kernel terms, fitted to its own single-op microbenchmarks),
    ``dispatch_overhead_us`` / ``invoke_overhead_us``, ``parallel.<dtype>`` (how its threads split
    ops: the keys it names, over the variant's), ``weight_stream.<dtype>`` /
    ``conv_weight_stream.<dtype>`` (its memory's curves), ``indirection_ns.<dtype>`` and
    ``transpose_element_ns`` (its IGEMM's pointer walk, onnxruntime's element-wise Transpose),
    ``channel_tiles`` / ``input_channel_tiles`` / ``row_tiles`` (the tiles its kernel terms were fitted with),
    ``task_weight_reads`` (its caches' share of onnxruntime's per-task weight walks), ``rnn_steps`` /
    ``rnn_step_us`` / ``rnn_efficiency`` (its recurrent kernels' time per step) --
    format -> {key: its table or figure} (the keys it names) for the CPU ``here``, {} for any
    other; every entry is checked."""
    chosen: dict[str, dict[str, dict[str, Any]]] = {}
    for entry, is_here in cpu_entries(c, (*keys, "cpus"), here):
        tables = own_runtime_tables(c, (*entry, "runtimes"), dtypes)
        if is_here:
            chosen = tables
    return chosen


def own_runtime_tables(c: Checker, keys: tuple, dtypes: tuple[str, ...], *,
                       allowed: frozenset[str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """``runtimes.<format>`` naming only the keys it changes (a CPU entry's, or a variant's that
    says ``runtimes_from``, whose ``allowed`` keys are checked here): format -> {key: its table or
    figure}."""
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for fmt in _formats(c, keys):
        at = (*keys, fmt)
        own = c.table(at)
        if allowed is not None and (unknown := sorted(set(own) - allowed)):
            raise c.fail((*at, unknown[0]), f"not a key a variant with runtimes_from lays over its source's "
                                            f"(one of {sorted(allowed)})")
        tables[fmt] = {}
        if "parallel" in own:
            tables[fmt]["parallel"] = _parallel(c, (*at, "parallel"), dtypes, partial=True)
        for name, unit in RUNTIME_CURVES.items():
            if name in own:
                tables[fmt][name] = _bytes_curves(c, (*at, name), dtypes, unit)
        if "kernels" in own:
            tables[fmt]["kernels"] = _kernel_terms(c, (*at, "kernels"), dtypes)
        if "rnn_steps" in own:
            tables[fmt]["rnn_steps"] = _rnn_steps(c, (*at, "rnn_steps"))
        for name in (*CPU_TILES, "igemm_rows", "igemm_cols"):  # the last two: a variant's only (files.py)
            if name in own:
                tables[fmt][name] = channel_tiles_table(c, (*at, name), dtypes)
        if "int8_pair_factors" in own:
            tables[fmt]["int8_pair_factors"] = _int8_pair_factors(c, (*at, "int8_pair_factors"))
        if "task_weight_reads" in own:
            tables[fmt]["task_weight_reads"] = _task_weight_reads(c, (*at, "task_weight_reads"), dtypes)
        for name in CPU_FLAGS:
            if name in own:
                tables[fmt][name] = c.boolean((*at, name))
        for name in CPU_SCALARS:
            if name in own:
                tables[fmt][name] = c.number((*at, name), positive=False)
    return tables


def extension_tables(c: Checker, keys: tuple, dtypes: tuple[str, ...], flags: frozenset[str],
                     flag_pattern: str) -> tuple[list[str], dict[str, dict[str, dict[str, Any]]]]:
    """``[[<variant>.extensions]]``: kernels a runtime switches to on a CPU with more flags than
    the variant needs (XNNPACK's AMX int8 GEMMs where the CPU has ``amx_int8``), each with
    ``requires_cpu_flags``, a ``description`` and ``runtimes.<format>`` holding ``kernels``,
    ``channel_tiles``, ``input_channel_tiles``, ``row_tiles`` and ``igemm_cols`` (as a runtime's own): the
    descriptions of those this CPU's ``flags`` satisfy and format -> key -> dtype -> table of
    theirs merged in order; every entry is checked."""
    entries = c.get((*keys, "extensions"), optional=True) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise c.fail((*keys, "extensions"), "expected [[...extensions]] tables")
    applied: list[str] = []
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for index in range(len(entries)):
        entry = (*keys, "extensions", index)
        required = c.names((*entry, "requires_cpu_flags"), flag_pattern, "CPU flag names")
        description = c.text((*entry, "description"))
        c.text((*entry, "measured_on"), optional=True)
        parsed: dict[str, dict[str, dict[str, Any]]] = {}
        for fmt in _formats(c, (*entry, "runtimes")):
            at = (*entry, "runtimes", fmt)
            parsed[fmt] = {"kernels": _kernel_terms(c, (*at, "kernels"), dtypes),
                           **{name: channel_tiles_table(c, (*at, name), dtypes)
                              for name in ("channel_tiles", "input_channel_tiles", "row_tiles", "igemm_cols")}}
        if set(required) <= flags:
            applied.append(description)
            for fmt, own in parsed.items():
                mine = tables.setdefault(fmt, {})
                for name, table in own.items():
                    mine[name] = overlay(mine.get(name, {}), table)
    return applied, tables


def overlay(base: Mapping[str, Mapping[str, Any]], over: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-dtype tables (``dtype -> key -> value``: channel tiles, kernel terms) with ``over``'s
    entries over ``base``'s, dtype by dtype."""
    return {d: {**base.get(d, {}), **over.get(d, {})} for d in {*base, *over}}


def _formats(c: Checker, keys: tuple) -> list[str]:
    """The keys of a ``runtimes`` table, each checked to be a format."""
    table = c.table(keys)
    for fmt in table:
        if fmt not in FORMATS:
            raise c.fail((*keys, fmt), f"not a format {list(FORMATS)}")
    return list(table)


def cpu_entries(c: Checker, keys: tuple, here: str | None) -> list[tuple[tuple, bool]]:
    """A ``[[...cpus]]`` list of per-CPU tables (``[[memory.cpus]]``, ``[[compute.variants.cpus]]``),
    each with its ``cpu`` (as ``read_cpu_identity`` names it) and a ``description``: every
    entry's keys and whether it is the CPU ``here``; [] when absent."""
    cpus = c.get(keys, optional=True) or []
    if not isinstance(cpus, list) or not all(isinstance(e, dict) for e in cpus):
        raise c.fail(keys, f"expected [[{'.'.join(map(str, keys))}]] tables")
    entries = []
    for index in range(len(cpus)):
        entry = (*keys, index)
        c.text((*entry, "description"))  # required, for the reader of the profile
        entries.append((entry, c.text((*entry, "cpu")) == here))
    return entries


def _dtype_table(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> dict[str, Any]:
    """An optional table keyed by compute dtype (``<key>.<dtype> = ...``), each key checked
    against the profile's ``dtypes``; {} when absent."""
    table = c.table(keys, optional=True)
    if table is None:
        return {}
    for dtype in table:
        if dtype not in dtypes:
            raise c.fail((*keys, dtype), f"not in dtypes {list(dtypes)}")
    return table


def _parallel(c: Checker, keys: tuple, dtypes: tuple[str, ...], partial: bool = False) -> dict[str, dict[str, Any]]:
    """Optional ``parallel.<dtype> = { efficiency = fraction, sync_us = us, step_sync_us = us,
    serial = [op types], nchwc_block = { <kind> = channels }, stripe = { <kind> = positions },
    kinds = { <kind> = { efficiency, sync_us } }, handoff_us = us, step_split_macs = MACs,
    pairs = { <INT8_PAIRS> = { <INT8_PAIR_KINDS> = efficiency } } }``, all but the first two optional
    (types.py).  ``partial``: a CPU's own table, only the keys it names (laid over its variant's)."""
    terms: dict[str, dict[str, Any]] = {}
    for dtype in _dtype_table(c, keys, dtypes):
        entry = c.table((*keys, dtype))
        for key in () if partial else PARALLEL_KEYS:
            if key not in entry:
                raise c.fail((*keys, dtype), f"needs {key}")
        unknown = [k for k in entry if k not in (*PARALLEL_KEYS, *PARALLEL_OPTIONAL)]
        if unknown:
            raise c.fail((*keys, dtype, unknown[0]), f"not one of {[*PARALLEL_KEYS, *PARALLEL_OPTIONAL]}")
        terms[dtype] = {"efficiency": c.number((*keys, dtype, "efficiency"), positive=False, fraction=True,
                                               optional=partial),
                        "sync_us": c.number((*keys, dtype, "sync_us"), positive=False, optional=partial),
                        "step_sync_us": c.number((*keys, dtype, "step_sync_us"), positive=False, optional=True),
                        "handoff_us": c.number((*keys, dtype, "handoff_us"), positive=False, optional=True),
                        "step_split_macs": c.number((*keys, dtype, "step_split_macs"), positive=True, optional=True),
                        "serial": _op_types(c, (*keys, dtype, "serial")),
                        "nchwc_block": tuple(sorted(_kind_table(c, (*keys, dtype, "nchwc_block")).items())),
                        "stripe": tuple(sorted(_kind_table(c, (*keys, dtype, "stripe")).items())),
                        "kinds": tuple(sorted((kind, c.number((*keys, dtype, "kinds", kind, "efficiency"), positive=False,
                                                              fraction=True),
                                               c.number((*keys, dtype, "kinds", kind, "sync_us"), positive=False))
                                              for kind in _kind_keys(c, (*keys, dtype, "kinds")))),
                        "pairs": tuple(sorted((pair, tuple(sorted(kinds.items()))) for pair, kinds in _int8_pair_factors(
                            c, (*keys, dtype, "pairs"), fraction=True).items()))}
        if partial:
            terms[dtype] = {key: value for key, value in terms[dtype].items() if key in entry}
    return terms


def _kind_keys(c: Checker, keys: tuple) -> list[str]:
    """The op kinds an optional table is keyed by (``EFFICIENCY_KEYS``); [] when absent."""
    table = c.table(keys, optional=True) or {}
    for kind in table:
        if kind not in EFFICIENCY_KEYS:
            raise c.fail((*keys, kind), f"unknown op kind (known: {', '.join(EFFICIENCY_KEYS)})")
    return list(table)


def _kind_table(c: Checker, keys: tuple) -> dict[str, int]:
    """An optional ``{ <op kind> = N }`` table of positive integers; {} when absent."""
    return {kind: c.integer((*keys, kind)) for kind in _kind_keys(c, keys)}


def _op_types(c: Checker, keys: tuple) -> tuple[str, ...]:
    """An optional list of op type names (either format's: ``RELU``, ``Reshape``); () when absent."""
    return c.names(keys, r"[A-Za-z][A-Za-z0-9_]*", "op types") if c.get(keys, optional=True) is not None else ()


def _dtype_list(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> tuple[str, ...]:
    """An optional list of the profile's dtypes; () when absent."""
    names = c.names(keys, r"[a-z0-9]+", "dtypes") if c.get(keys, optional=True) is not None else ()
    wrong = [n for n in names if n not in dtypes]
    if wrong:
        raise c.fail(keys, f"{wrong[0]!r} is not one of {list(dtypes)}")
    return tuple(names)


def _curve(c: Checker, keys: tuple, points: Any, x_name: str, y_name: str, ascending: str) -> tuple[tuple[float, float], ...]:
    """A measured curve ``[[x, y], ...]``: a non-empty list of pairs, both > 0, x ascending (the
    runtime costs' ``weight_stream`` and ``rnn_steps``, which ``kernel_terms.log_interpolate`` reads)."""
    if (not isinstance(points, list) or not points
            or not all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in p)
                       for p in points)):
        raise c.fail(keys, f"must be a list of [{x_name}, {y_name}] pairs, both > 0")
    if any(x[0] >= y[0] for x, y in zip(points, points[1:])):
        raise c.fail(keys, f"{ascending} must ascend")
    return tuple((float(x), float(y)) for x, y in points)


def _bytes_curves(c: Checker, keys: tuple, dtypes: tuple[str, ...], y_name: str) -> dict[str, tuple[tuple[float, float], ...]]:
    """Optional ``<curve>.<dtype> = [[bytes, y], ...]`` (``RUNTIME_CURVES``: ``weight_stream``'s
    set bytes and bytes/s, ...), bytes ascending."""
    return {dtype: _curve(c, (*keys, dtype), points, "set bytes", y_name, "set sizes")
            for dtype, points in _dtype_table(c, keys, dtypes).items()}


def _rnn_steps(c: Checker, keys: tuple) -> dict[str, tuple[tuple[float, float], ...]]:
    """Optional ``rnn_steps.<LSTM|GRU|RNN|DynamicQuantizeLSTM> = [[MACs per step, ps per MAC], ...]``,
    ascending."""
    curves = {}
    for op_type, points in (c.table(keys, optional=True) or {}).items():
        if op_type not in RECURRENT:
            raise c.fail((*keys, op_type), f"not a recurrent op type ({', '.join(RECURRENT)})")
        curves[op_type] = _curve(c, (*keys, op_type), points, "MACs per step", "ps per MAC", "MACs per step")
    return curves


def _kernel_terms(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> dict[str, dict[str, KernelTerms]]:
    """Optional ``kernels.<dtype>.<op type or kind> = { mac_ps, in_byte_ps, weight_byte_ps, out_byte_ps,
    fixed_us, call_ns, ... }`` (each >= 0, omitted = 0; ``stream_reach`` at most 1): a kernel's measured
    terms (types.KernelTerms)."""
    terms: dict[str, dict[str, KernelTerms]] = {}
    for dtype in _dtype_table(c, keys, dtypes):
        for name in c.table((*keys, dtype)):
            entry = c.table((*keys, dtype, name))
            unknown = [k for k in entry if k not in KERNEL_TERM_KEYS]
            if unknown:
                raise c.fail((*keys, dtype, name, unknown[0]), f"not a kernel term {list(KERNEL_TERM_KEYS)}")
            values = {k: c.number((*keys, dtype, name, k), positive=False) for k in entry}
            if any(v < 0 for v in values.values()):
                raise c.fail((*keys, dtype, name), "kernel terms must be >= 0")
            if values.get("stream_reach", 0.0) > 1:
                raise c.fail((*keys, dtype, name, "stream_reach"), "a fraction of the stream rate: at most 1")
            terms.setdefault(dtype, {})[name] = KernelTerms(**values)
    return terms


def channel_tiles_table(c: Checker, keys: tuple, dtypes: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Optional ``channel_tiles.<dtype>.<kind> = N`` table: kernels whose tile is not channel_multiple."""
    tiles: dict[str, dict[str, int]] = {}
    for dtype, kinds in _dtype_table(c, keys, dtypes).items():
        if not isinstance(kinds, dict):
            raise c.fail((*keys, dtype), f"expected a table of op kinds, got {kinds!r}")
        tiles[dtype] = _kind_table(c, (*keys, dtype))
    return tiles
