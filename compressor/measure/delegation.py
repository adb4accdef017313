"""Which ops of a `.tflite` LiteRT hands to its XNNPACK delegate, and which it runs itself.

An int8 file can run slower than its float original when ops XNNPACK does not take split
the graph: every op left out runs on LiteRT's own kernels, and each split costs a hand-off
between delegate partitions.  ``inspect_delegation`` loads the file the way an app does
(``Interpreter`` with the default resolver, whose default delegate is XNNPACK), allocates
it, and reports the split.

Two sources, cross-checked:

* **The node list.**  After delegation the primary subgraph still lists its original nodes,
  and one ``DELEGATE`` node per partition is appended after them (``_get_ops_details``, the
  only op listing the Python API has; it lists every node, not the execution plan).  A
  delegate node's inputs are its partition's inputs (constants included) and its outputs
  are the partition's outputs, so walking back from the outputs through producing nodes,
  stopping at the partition's inputs, finds exactly the nodes it replaced.
* **The runtime's own log on fd 2.**  LiteRT prints "Created TensorFlow Lite XNNPACK
  delegate for CPU." once per process, and TFLite's ``Subgraph`` can print "Replacing N out
  of M node(s) with delegate (...) node, yielding K partitions ...", but only where that line
  is compiled in (Android and debug builds: ``TFLITE_LOG`` is a no-op in release desktop
  wheels, so ai-edge-litert 2.3 never prints it).  Because of the once-per-process line,
  the inspection runs in a fresh ``python -c`` child whose fd 2 we capture.  Where the
  Replacing line is printed, its N and M must match the node walk.

``partitions`` counts delegate partitions (DELEGATE nodes); TFLite's own "K partitions"
also counts the runs of nodes left out, so it is kept apart as ``log_subsets``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError, VerificationError

__all__ = ["Delegation", "compute_ops_splitting", "delegation_from_nodes", "inspect_delegation", "parse_delegate_log",
           "undelegated_compute_ops"]

_CREATED = re.compile(r"Created TensorFlow Lite (\w+) delegate")
_REPLACING = re.compile(r"Replacing (\d+)(?: out of (\d+))? node\(s\) with delegate \(([^)]*)\) node, "
                        r"yielding (\d+) partitions")
_CHILD_TIMEOUT_S = 120  # loading and XNNPACK weight packing; seconds even for big models

# Run in a fresh interpreter: LiteRT logs the delegate's creation once per process.
# Prints one JSON document on stdout; LiteRT's own lines go to fd 2, which the parent reads.
_CHILD = r"""
import json, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
interpreter = Interpreter(model_path=sys.argv[1], num_threads=int(sys.argv[2]))
interpreter.allocate_tensors()
tensors = {t["index"]: (np.dtype(t["dtype"]).name, t["name"]) for t in interpreter.get_tensor_details()}
nodes = [{"op": op["op_name"], "inputs": [int(i) for i in op["inputs"]],
          "outputs": [int(i) for i in op["outputs"]]} for op in interpreter._get_ops_details()]
print(json.dumps({"nodes": nodes, "tensors": {str(k): v for k, v in tensors.items()}}))
"""


@dataclass(frozen=True)
class Delegation:
    """How LiteRT split one `.tflite` between XNNPACK and its own kernels."""

    path: str
    nodes_total: int  # nodes of the model (DELEGATE nodes not counted)
    nodes_delegated: int  # of those, run inside a delegate partition
    partitions: int  # DELEGATE nodes
    not_delegated: list[dict[str, Any]] = field(default_factory=list)  # {"index","op","dtype","name"}
    delegate: str = ""  # from "Created TensorFlow Lite <X> delegate", "" when absent
    log_line: str = ""  # the runtime's delegation lines, as printed
    log_subsets: int | None = None  # TFLite's "yielding K partitions", when it prints it

    @property
    def fully_delegated(self) -> bool:
        return self.partitions == 1 and not self.not_delegated

    def ops_left_out(self) -> list[str]:
        """``OP:dtype`` of each node left out, in graph order, e.g. ``HARD_SWISH:int8``."""
        return [f"{node['op']}:{node['dtype']}" for node in self.not_delegated]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fully_delegated": self.fully_delegated}


def inspect_delegation(path: Path | str, *, num_threads: int = 1) -> Delegation:
    """Load ``path`` in LiteRT with its default delegate in a child process; report the split."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(path, "no such file")
    try:
        child = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(num_threads)],
                               capture_output=True, text=True, timeout=_CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise VerificationError(f"{path}: LiteRT took over {_CHILD_TIMEOUT_S} s to load it") from error
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no message"])[-1]
        raise VerificationError(f"{path}: LiteRT could not load and allocate it: {last[:300]}")
    listing = json.loads(child.stdout.strip().splitlines()[-1])
    tensors = {int(k): tuple(v) for k, v in listing["tensors"].items()}
    return delegation_from_nodes(str(path), listing["nodes"], tensors, child.stderr)


def delegation_from_nodes(path: str, nodes: list[dict], tensors: dict[int, tuple[str, str]],
                          log: str) -> Delegation:
    """The split, from the allocated node list (``op``, ``inputs``, ``outputs``), the tensors
    (index -> (dtype, name)) and what the runtime printed."""
    delegates = [node for node in nodes if node["op"] == "DELEGATE"]
    originals = {i: node for i, node in enumerate(nodes) if node["op"] != "DELEGATE"}
    covered = _replaced_nodes(originals, delegates)
    left = [_describe(i, originals[i], tensors) for i in sorted(originals) if i not in covered]
    parsed = parse_delegate_log(log)
    result = Delegation(path=path, nodes_total=len(originals), nodes_delegated=len(covered),
                        partitions=len(delegates), not_delegated=left, **parsed)
    _cross_check(result, log)
    return result


def _replaced_nodes(originals: dict[int, dict], delegates: list[dict]) -> set[int]:
    producer = {t: i for i, node in originals.items() for t in node["outputs"] if t >= 0}
    covered: set[int] = set()
    for delegate in delegates:
        mine = _partition_nodes(delegate, originals, producer)
        assert not mine & covered, f"nodes {sorted(mine & covered)} in two partitions"  # the walk's invariant
        covered |= mine
    return covered


def _partition_nodes(delegate: dict, originals: dict[int, dict], producer: dict[int, int]) -> set[int]:
    """Nodes that produce the delegate's outputs without reading past its inputs."""
    boundary = set(delegate["inputs"])
    pending, seen, nodes = list(delegate["outputs"]), set(), set()
    while pending:
        tensor = pending.pop()
        if tensor < 0 or tensor in boundary or tensor in seen or tensor not in producer:
            continue
        seen.add(tensor)
        nodes.add(producer[tensor])
        pending.extend(originals[producer[tensor]]["inputs"])
    return nodes


def _describe(index: int, node: dict, tensors: dict[int, tuple[str, str]]) -> dict[str, Any]:
    outputs = [t for t in node["outputs"] if t >= 0]
    dtype, name = tensors.get(outputs[0], ("", "")) if outputs else ("", "")
    return {"index": index, "op": node["op"], "dtype": dtype, "name": name}


def parse_delegate_log(log: str) -> dict[str, Any]:
    """``delegate``, ``log_line`` and ``log_subsets`` from what LiteRT printed on fd 2."""
    lines = [line.strip() for line in log.splitlines() if _CREATED.search(line) or _REPLACING.search(line)]
    created = next((m.group(1) for m in map(_CREATED.search, lines) if m), "")
    replacing = next((m for m in map(_REPLACING.search, lines) if m), None)
    return {"delegate": created, "log_line": "\n".join(lines),
            "log_subsets": int(replacing.group(4)) if replacing else None}


def _cross_check(result: Delegation, log: str) -> None:
    """Where the runtime printed its Replacing line, its counts must agree with the node walk."""
    match = _REPLACING.search(log)
    if match is None:
        return
    replaced, total = int(match.group(1)), match.group(2)
    if replaced != result.nodes_delegated or (total is not None and int(total) != result.nodes_total):
        raise VerificationError(f"{result.path}: LiteRT says {match.group(0)!r} but its node list shows "
                                f"{result.nodes_delegated} of {result.nodes_total} delegated")


# Left outside XNNPACK, these split the graph (MobileNetV2 dynamic-range: 17 depthwise, 18 partitions, 2.2x fp32).
_COMPUTE_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL", "TRANSPOSE_CONV"})


def undelegated_compute_ops(path: Path, baseline: Path) -> list[dict[str, Any]]:
    """Conv/FC ops XNNPACK leaves out of ``path`` that it takes in ``baseline`` (the same graph in
    float), by name: hybrid ops without an XNNPACK kernel (a dynamic-range DEPTHWISE_CONV_2D)."""
    left_in_baseline = {node["name"] for node in inspect_delegation(baseline).not_delegated}
    return [node for node in inspect_delegation(path).not_delegated
            if node["op"] in _COMPUTE_OPS and node["name"] not in left_in_baseline]


def compute_ops_splitting(path: Path, baseline: Path) -> list[str]:
    """Conv/FC ops XNNPACK leaves out of ``path`` when they split it into 3+ more partitions than
    ``baseline`` has; one left out near an edge costs little (Silero VAD's 1-channel STFT conv)."""
    delegation = inspect_delegation(path)
    slow = [node["op"] for node in delegation.not_delegated if node["op"] in _COMPUTE_OPS]
    return slow if delegation.partitions > inspect_delegation(baseline).partitions + 2 else []
