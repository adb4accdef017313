"""onnxruntime's LSTM, GRU and RNN as the GEMMs they run, plus a measured cost per time step.

onnxruntime's CPU kernels (``deep_cpu_lstm.cc``, ``deep_cpu_gru.cc``) multiply every step's input
by W in ONE GEMM before the steps (``seq x batch`` rows, ``input`` deep, ``gates x hidden`` wide),
then per time step and direction multiply the state by R in a GEMM of ``batch`` rows and run the
gates over the ``batch x gates x hidden`` values.  So a per-step rate timed at batch 1 and one
input width cannot price another batch or input width: it put a 100-row LSTM of 61 inputs at
1.8x its time and a 256-input GRU at 1.2x (scripts/microbench_kernels.py, "rnn_batch" family).

Here both GEMMs take the runtime's measured fully-connected terms, and what the steps cost beyond
them is the op type's own terms in the runtime's ``kernels`` table (fitted by
``scripts/fit_kernel_rates.py`` from the "rnn" and "rnn_batch" families): ``fixed_us`` per step
and direction, ``out_byte_ps`` per byte of gate values a step computes (``batch x gates x hidden``
floats), ``weight_byte_ps`` per byte of R it reads (the fully-connected terms were timed with
weights in L1, a step reads R from the L2), and ``in_byte_ps`` more per byte of an R the core's
private cache cannot hold, which each step reads from the shared cache again (a 400-wide GRU's
1.9 MB R on a 1 MiB L2: ~2.2 ps a byte more, where a copy-rate floor said 5.5), and ``pass_ps``
more per byte of gate values where a step's gates and the input projections it reads
(``cold_gate_bytes``) pass that cache ("rnn_batch_wide": ribodetector's 1,024-read BiLSTM), and
``call_ns`` per call and direction ("rnn_step": a streaming model's 1-step LSTM of 32 units costs ~2 us
beyond its step, its buffers and set-up).  An op type
without such terms, or an op whose input width the reader did not find, keeps the per-step curve
(``rnn_steps``).
"""

from __future__ import annotations

from typing import NamedTuple

from ..graph.ir import Op
from ..targets.kernel_terms import KernelTerms

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}  # the plain RNN: one tanh "gate" per hidden unit
_FLOAT = 4  # bytes: fp32 only (an int8 recurrent op, DynamicQuantizeLSTM, keeps its curve)


class CellShape(NamedTuple):
    gates: int
    hidden: int
    inputs: int
    batch: int
    steps: int  # time steps of one direction
    directions: int


def cell_shape(op: Op) -> CellShape | None:
    """An ONNX LSTM/GRU/RNN's shape from what the reader records: hidden = its output's last dim,
    inputs = ``Op.in_channels`` (W's last axis), batch from the MACs a step computes, directions
    from its weight bytes (W, R and the bias per direction); None for any other op."""
    gates = GATES.get(op.op_type)
    hidden, inputs = op.out_channels, op.in_channels
    if not gates or op.compute_dtype != "float32" or not op.recurrent_steps or hidden <= 0 or inputs <= 0:
        return None
    width = gates * hidden
    batch = round(op.macs / op.recurrent_steps / (width * (inputs + hidden)))
    directions = min(2, max(1, round(op.weight_bytes / (_FLOAT * width * (inputs + hidden + 2)))))
    if batch < 1 or op.recurrent_steps % directions:
        return None
    return CellShape(gates, hidden, inputs, batch, op.recurrent_steps // directions, directions)


def gemms_s(shape: CellShape, fc: KernelTerms) -> float:
    """Seconds of the op's GEMMs at the fully-connected terms ``fc``: per direction, the input's
    (``steps x batch`` rows) once and the state's (``batch`` rows) every step."""
    width = shape.gates * shape.hidden
    rows = shape.steps * shape.batch
    inputs = sum(fc.seconds(rows * shape.inputs * width, _FLOAT * rows * shape.inputs,
                            _FLOAT * width * shape.inputs, _FLOAT * rows * width))
    state = sum(fc.seconds(shape.batch * shape.hidden * width, _FLOAT * shape.batch * shape.hidden,
                           _FLOAT * width * shape.hidden, _FLOAT * shape.batch * width))
    return shape.directions * (inputs + shape.steps * state)


def cold_gate_bytes(shape: CellShape, private_cache_bytes: int | None) -> int:
    """A step's gate values where they and the slice of input projections it reads (as many bytes)
    fill the core's private cache: the step reads and writes them from the shared cache; else 0."""
    gates = step_bytes(shape)[1]
    return gates if private_cache_bytes and 2 * gates >= private_cache_bytes else 0


def step_bytes(shape: CellShape) -> tuple[int, int]:
    """(bytes of R, bytes of gate values) one step of one direction reads and computes: the cell
    terms' ``weight_byte_ps`` and ``out_byte_ps``."""
    return _FLOAT * shape.gates * shape.hidden * shape.hidden, _FLOAT * shape.batch * shape.gates * shape.hidden


# onnxruntime's GRU runs its gates' activations row by row of the batch on the calling thread
# (deep_cpu_gru.cc: only its MlasGemm calls take the thread pool); its LSTM splits them over the batch.
# The rnn_batch families on two threads (`microbench_threads.py --serial --families rnn_batch rnn_batch_wide
# --formats onnx`, 2026-12-07 09:03 UTC, scripts/data/host-x86-threads-rnn-batch-zen4.json): 64-2048-row
# LSTMs 1.9-2.1x faster, GRUs 1.2-1.7x.
SERIAL_GATES = frozenset({"GRU"})


class CellCost(NamedTuple):
    total_s: float  # the op's time on one thread
    serial_s: float  # the part of it a second thread does not share


def recurrent_cell_s(op: Op, kernels: dict, private_cache_bytes: int | None = None) -> CellCost | None:
    """The op's time from the runtime's fp32 ``kernels`` table (its op type's cell terms and the
    fully-connected terms), one thread; None where either is missing or the shape is unknown.
    An R larger than ``private_cache_bytes`` pays the terms' ``in_byte_ps`` per byte each step.

    Its serial part: each direction's call (``call_ns``: the kernel's set-up on the calling
    thread), and a GRU's gate activations (``SERIAL_GATES``), its ``out_byte_ps`` per gate byte
    (``pass_ps`` past the L2) and ``fixed_us`` per step."""
    shape = cell_shape(op)
    terms, fc = kernels.get(op.op_type), kernels.get("fully_connected")
    if shape is None or terms is None or fc is None:
        return None
    weights, gates = step_bytes(shape)
    cold = weights if private_cache_bytes and weights > private_cache_bytes else 0
    passes = cold_gate_bytes(shape, private_cache_bytes)
    per_step = sum(terms.seconds(0, cold, weights, gates, passes=passes))
    calls = shape.directions * terms.call_ns * 1e-9
    total = gemms_s(shape, fc) + shape.directions * (shape.steps * per_step + terms.call_ns * 1e-9)
    if op.op_type not in SERIAL_GATES:
        return CellCost(total, calls)
    serial_step = (terms.out_byte_ps * gates + terms.pass_ps * passes) * 1e-12 + terms.fixed_us * 1e-6
    return CellCost(total, calls + shape.directions * shape.steps * serial_step)
