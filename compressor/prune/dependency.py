"""torch-pruning's dependency graph, built so that what it cannot map is found and named.

torch-pruning (``DependencyGraph``) follows channel indices through convs, norms, adds,
concatenations and splits.  Two kinds of op move channels in ways it does not model:

* a reshape that is not a flatten / unflatten: ShuffleNet's channel shuffle
  (``view(b, g, c/g, h, w)`` → ``transpose(1, 2)`` → ``view(b, c, h, w)``, Zhang et al. 2018,
  Ma et al. 2018) splits the channel axis.  torch-pruning's reshape index mapping assumes a
  flatten and can divide by a channel count of 0 (ZeroDivisionError in
  ``update_reshape_index_mapping``), or map the indices wrongly when it does not crash;
* a transpose / permute that moves the channel axis (the shuffle's middle step, Caffe-ported
  nets' ``permute(0, 3, 2, 1)`` before a dense layer): torch-pruning treats every op it does not
  know as element-wise, i.e. channel i stays channel i, which is wrong here.

``build_dependency_graph`` builds the graph; when the index mapping fails at one op it maps the
other ops one by one, so one op torch-pruning cannot handle costs only the groups that pass
through it (that op is then left out of torch-pruning's later re-mappings).  ``unmappable_ops`` lists every such op by a readable place name; the channel
pruner (channels.py) skips each group touching one and names it in the report.
"""

from __future__ import annotations

import math
import traceback
from typing import Any

__all__ = ["build_dependency_graph", "form_groups", "unmappable_ops"]


def build_dependency_graph(model: Any, example_inputs: tuple) -> tuple[Any, dict[Any, str]]:
    """torch-pruning's DependencyGraph of ``model``, and {graph node: why its mapping failed}."""
    import torch_pruning as tp

    graph = tp.DependencyGraph()
    try:
        graph.build_dependency(model, example_inputs=list(example_inputs), verbose=False)
        return graph, {}
    except Exception as error:  # noqa: BLE001 -- only failures inside the index mapping are caught
        in_mapping = any(frame.filename.endswith("index_mapping.py")
                         for frame in traceback.extract_tb(error.__traceback__))
        if not in_mapping or not hasattr(graph, "module2node"):
            raise
    return graph, _map_indices_one_by_one(graph)


def _map_indices_one_by_one(graph: Any) -> dict[Any, str]:
    """The last step of ``build_dependency`` (index mapping), op by op: failures recorded, not raised.
    The mapping functions assign (never accumulate), so ops mapped before the failure are redone
    to the same result."""
    from torch_pruning import ops
    from torch_pruning.dependency import index_mapping

    update = {ops.OPTYPE.CONCAT: index_mapping.update_concat_index_mapping,
              ops.OPTYPE.SPLIT: index_mapping.update_split_index_mapping,
              ops.OPTYPE.RESHAPE: index_mapping.update_reshape_index_mapping,
              ops.OPTYPE.UNBIND: index_mapping.update_unbind_index_mapping,
              ops.OPTYPE.EXPAND: index_mapping.update_expand_index_mapping,
              ops.OPTYPE.SLICE: index_mapping.update_slice_index_mapping}
    failed = {}
    for node in graph.module2node.values():
        step = update.get(node.type)
        if step is None:
            continue
        try:
            step(graph, node)
        except Exception as error:  # noqa: BLE001 -- recorded and the groups through it skipped
            failed[node] = f"an op torch-pruning's index mapping fails on ({type(error).__name__})"
            # torch-pruning re-runs the whole mapping before every group it forms: this node (of our
            # own graph object) is marked element-wise so the mapping passes it by; every group
            # through it is skipped, so the identity it now stands for never cuts anything.
            node.type = ops.OPTYPE.ELEMENTWISE
    return failed


def form_groups(graph: Any, *, ignored: list[Any], root_types: tuple) -> Any:
    """Yield (root module, torch-pruning Group or None, why it could not be formed or None).

    ``DependencyGraph.get_all_groups`` with one change: a root whose group torch-pruning cannot
    form (its index mappings fail on the way, e.g. split offsets inferred through a shuffle) is
    yielded with the error instead of ending the whole search.
    """
    visited: set[int] = set()
    ignored_ids = {id(m) for m in list(ignored) + list(graph.IGNORED_LAYERS_IN_TRACING)}
    for module in list(graph.module2node):
        if id(module) in ignored_ids or not isinstance(module, root_types) or id(module) in visited:
            continue
        pruner = graph.get_pruner_of_module(module)
        if pruner is None or pruner.get_out_channels(module) is None:
            continue
        try:
            group = graph.get_pruning_group(module, pruner.prune_out_channels,
                                            list(range(pruner.get_out_channels(module))))
        except Exception as error:  # noqa: BLE001 -- torch-pruning cannot map this group: skip and name it
            visited.add(id(module))
            yield module, None, (f"channels torch-pruning cannot follow from it "
                                 f"({type(error).__name__} in its index mapping)")
            continue
        prunable = True
        for dep, _ in group:
            if graph.is_out_channel_pruning_fn(dep.handler):
                visited.add(id(dep.target.module))
                prunable = prunable and id(dep.target.module) not in ignored_ids
        if prunable:
            yield module, group, None


def _output_shape(grad_fn: Any) -> list[int] | None:
    metadata = getattr(grad_fn, "_input_metadata", None)  # the op's output, as autograd recorded it
    return list(metadata[0].shape) if metadata else None


def _input_shape(grad_fn: Any) -> list[int] | None:
    sizes = getattr(grad_fn, "_saved_self_sym_sizes", None) or getattr(grad_fn, "_saved_self_sizes", None)
    return [int(s) for s in sizes] if sizes is not None else None


def _reshape_keeps_channels(grad_fn: Any) -> bool:
    """A reshape torch-pruning maps right: channels kept on axis 1, or a flatten / unflatten of
    (C, spatial...) to C·spatial and back (the index of channel c becomes a block of positions)."""
    before, after = _input_shape(grad_fn), _output_shape(grad_fn)
    if before is None or after is None or len(before) < 2 or len(after) < 2 or before[0] != after[0]:
        return False
    if before[1] == after[1] and math.prod(before[2:]) == math.prod(after[2:]):
        return True
    if len(after) == 2 and after[1] == math.prod(before[1:]):
        return True  # flatten (B, C, H, W) -> (B, C·H·W)
    return len(before) == 2 and before[1] == math.prod(after[1:])  # unflatten (B, C·H·W) -> (B, C, H, W)


def _moves_channel_axis(grad_fn: Any) -> bool:
    """A transpose / permute touching axis 1 (a negative axis may be axis 1: counted as moving it)."""
    name = grad_fn.name()
    if name.startswith("TransposeBackward"):
        dims = (getattr(grad_fn, "_saved_dim0", None), getattr(grad_fn, "_saved_dim1", None))
        return None in dims or (dims[0] != dims[1] and any(int(d) == 1 or int(d) < 0 for d in dims))
    if name.startswith("PermuteBackward"):
        dims = getattr(grad_fn, "_saved_dims", None)
        return dims is None or len(dims) < 2 or int(dims[1]) not in (1, 1 - len(dims))
    return False


def unmappable_ops(graph: Any, failed: dict[Any, str]) -> dict[Any, str]:
    """{graph node: why channels cannot be followed through it}: failed mappings, channel-splitting
    reshapes and channel-moving transposes, each described by the layer that feeds it."""
    from torch_pruning import ops

    found = {}
    for node in graph.module2node.values():
        grad_fn = node.grad_fn
        if node in failed:
            found[node] = failed[node]
        elif node.type == ops.OPTYPE.RESHAPE and not _reshape_keeps_channels(grad_fn):
            found[node] = (f"a reshape {_input_shape(grad_fn)} -> {_output_shape(grad_fn)} that rearranges "
                           "channels (a channel shuffle's view)")
        elif node.type == ops.OPTYPE.ELEMENTWISE and grad_fn is not None and _moves_channel_axis(grad_fn):
            found[node] = f"a {grad_fn.name().removesuffix('Backward0').lower()} that moves the channel axis"
        else:
            continue
        found[node] += f" after {_feeding_layer(graph, node)}"
    return found


def _feeding_layer(graph: Any, node: Any) -> str:
    """The nearest named layer upstream of ``node`` (breadth first), for the report."""
    names = {module: name for name, module in graph.model.named_modules()}
    seen, frontier = set(), [node]
    while frontier:
        current = frontier.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        name = names.get(current.module)
        if name and current is not node:
            return name
        frontier.extend(current.inputs)
    return "the model's input"
