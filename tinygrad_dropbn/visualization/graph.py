"""The model behind every drawing: labelled nodes, edges and module clusters.

:func:`build_graph` walks the engine's topological order (iterative, so a chain of 100,000 ops
is fine) once, forwards, and records what the DOT and text renderers show:

* a **tensor node** for each input, parameter, buffer, constant, intermediate result and the
  root, labelled with its name, shape, dtype, a data summary and -- after ``backward()`` -- a
  gradient summary;
* an **op node** for each recorded op, labelled with the op's name (Dropout and batch norm say
  which mode they ran in) and its position in the backward sweep;
* a **cluster** for each module call path (``Module.__call__`` tags the ops it records), nested as
  the modules are; with ``depth=`` the modules below that depth become one node each.

Node ids follow the forward walk (``t0, t1, ...`` for tensors, ``op0, op1, ...`` for ops,
``m0, ...`` for collapsed modules), never memory addresses, so the same program always yields
the same graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import engine
from ..engine import Function
from .summary import data_summary, grad_summary, is_finite, number, values

if TYPE_CHECKING:
    from ..tensor import Tensor

# Op attributes worth printing next to the name of an op that does not format its own label.
_KEY_ATTRIBUTES = ("axes", "axis", "keepdims", "negative_slope", "lo", "hi")
# Tensors a collapsed module reads that are not its data input.
_STATE_ROLES = ("parameter", "buffer", "constant")


@dataclass
class Node:
    """One drawn node.

    Attributes:
        id: the node's name in the DOT source (``t3``, ``op2``, ``m0``).
        kind: ``"tensor"``, ``"op"`` or ``"module"`` (a collapsed module).
        role: for tensors ``"input"``, ``"parameter"``, ``"buffer"``, ``"constant"``,
            ``"intermediate"`` or ``"output"``; otherwise equal to ``kind``.
        lines: the label, one string per line.
        grad: the gradient summarised in the label (tensors, after backward), else None.
        grad_missing: the tensor needs a gradient but backward did not compute one.
        finite: no NaN or infinity in the tensor's value or gradient.
        shape: a tensor's shape as shown (``(64, 16)`` or ``scalar``); empty for other nodes.
    """

    id: str
    kind: str
    role: str
    lines: list[str]
    shape: str = ""
    grad: Optional[np.ndarray] = None
    grad_missing: bool = False
    finite: bool = True


@dataclass
class Cluster:
    """The ops of one module call path, labelled with the module's title; ``items`` holds node
    and cluster ids in drawing order."""

    id: str
    label: str
    items: list[str] = field(default_factory=list)


@dataclass
class Graph:
    """Nodes, edges (``(source id, target id)`` in data-flow direction) and clusters.

    ``top`` lists the node and cluster ids outside every cluster, in drawing order.
    """

    nodes: dict[str, Node]
    edges: list[tuple[str, str]]
    clusters: dict[str, Cluster]
    top: list[str]
    after_backward: bool


class _ModuleIndex:
    """Names of parameters, buffers and modules, found from the modules that recorded the ops.

    The outermost module of each op's scope is asked for ``named_modules``,
    ``named_parameters`` and ``named_buffers``, so ``0.weight`` is known without the user
    passing a dictionary. The first module to name an object wins.
    """

    def __init__(self, ops: list[Function]) -> None:
        self.module_names: dict[int, str] = {}
        self.tensor_names: dict[int, tuple[str, str, Any]] = {}  # id -> (name, role, owner)
        outermost: dict[int, Any] = {}
        for fn in ops:
            if fn.scope:
                outermost.setdefault(id(fn.scope[0]), fn.scope[0])
        for top in outermost.values():
            modules = dict(top.named_modules()) if hasattr(top, "named_modules") else {"": top}
            for name, module in modules.items():
                self.module_names.setdefault(id(module), name)
            for role, members in (("parameter", "named_parameters"), ("buffer", "named_buffers")):
                for name, tensor in getattr(top, members, lambda: ())():
                    owner = modules.get(name.rpartition(".")[0])
                    self.tensor_names.setdefault(id(tensor), (name, role, owner))

    def title(self, module: Any) -> str:
        """``1: BatchNorm1d(16)``: the module's name in its parent, then its repr header."""
        kind = type(module).__name__
        extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
        is_container = hasattr(module, "children") and any(True for _ in module.children())
        header = kind if is_container and not extra else f"{kind}({extra})"
        short_name = self.module_names.get(id(module), "").rpartition(".")[2]
        return f"{short_name}: {header}" if short_name else header


def build_graph(root: "Tensor", depth: Optional[int] = None,
                hide_constants: bool = False) -> Graph:
    """The drawable graph of everything ``root`` was computed from.

    Args:
        root: the tensor to draw back from (usually the loss).
        depth: draw modules nested up to this depth as clusters and each module below it as a
            single node (0 collapses every outermost module); None draws every op.
        hide_constants: fold scalar constants into the label of the op that uses them.
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be None or a non-negative integer, got {depth!r}")
    return _Builder(root, depth, hide_constants).graph


class _Builder:
    """One forward walk over the recorded ops, creating nodes in the order data flows."""

    def __init__(self, root: "Tensor", depth: Optional[int], hide_constants: bool) -> None:
        self.root = root
        self.depth = depth
        self.hide_constants = hide_constants
        ops = engine.topological_order(root)
        ops.reverse()  # forward order: every op after the ops that produced its inputs
        self.index = _ModuleIndex(ops)
        if ops:
            after_backward = any(fn.backward_step is not None for fn in ops)
        else:
            after_backward = root.grad is not None
        self.graph = Graph({}, [], {}, [], after_backward)
        self.cluster_ids: dict[tuple, str] = {}
        self.node_ids: dict[int, str] = {}  # id(tensor) -> node id
        self.collapsed: dict[tuple, _CollapsedModule] = {}  # by the ids of the module path
        self.counters = {"t": 0, "op": 0, "m": 0}
        self.unit = {fn: self._unit_of(fn) for fn in ops}
        self.outputs: dict[Function, "Tensor"] = {}  # ops record inputs only: find outputs
        self.consumers: dict[int, list] = {}  # id(tensor) -> units that read it
        for fn in ops:
            for t in fn.inputs:
                if t.grad_fn is not None:
                    self.outputs[t.grad_fn] = t
                self.consumers.setdefault(id(t), []).append(self.unit[fn])
        if root.grad_fn is not None:
            self.outputs[root.grad_fn] = root
        self._walk(ops)
        if root.grad_fn is None:
            self._add_tensor(root, ())
        for unit in self.collapsed.values():
            self._label_module(unit)

    def _walk(self, ops: list[Function]) -> None:
        """Add each op (or its collapsed module) after its inputs and before its output."""
        for fn in ops:
            unit = self.unit[fn]
            shown_inputs = [t for t in fn.inputs if self._is_shown(t)]
            for t in shown_inputs:
                if id(t) not in self.node_ids:
                    self._add_tensor(t, self._placement(t))
            if isinstance(unit, _CollapsedModule):
                unit_id = self._module_node(unit)
                unit.ops.append(fn)
                for t in shown_inputs:
                    if t.grad_fn is None or self.unit[t.grad_fn] is not unit:
                        unit.connect_input(self.node_ids[id(t)], self.graph.edges)
            else:
                unit_id = self._add_op(fn)
                self.graph.edges.extend((self.node_ids[id(t)], unit_id) for t in shown_inputs)
            out = self.outputs[fn]
            if self._is_shown(out):
                out_id = self._add_tensor(out, self._path_of(unit))
                self.graph.edges.append((unit_id, out_id))
                if isinstance(unit, _CollapsedModule):
                    unit.outputs.append(out_id)

    def _unit_of(self, fn: Function) -> Any:
        """The op itself, or the collapsed module it runs inside."""
        if self.depth is None or len(fn.scope) <= self.depth:
            return fn
        path = fn.scope[:self.depth + 1]
        key = tuple(id(module) for module in path)
        if key not in self.collapsed:
            self.collapsed[key] = _CollapsedModule(path)
        return self.collapsed[key]

    def _path_of(self, unit: Any) -> tuple:
        """The module path of the cluster a unit is drawn in."""
        return unit.path[:-1] if isinstance(unit, _CollapsedModule) else unit.scope

    def _role(self, t: "Tensor") -> str:
        if t is self.root:
            return "output"
        if t.grad_fn is not None:
            return "intermediate"
        known = self.index.tensor_names.get(id(t))
        if known is not None:
            return known[1]
        if not t.requires_grad and t.name is None and t.data.size <= 1:
            return "constant"
        return "input"

    def _is_shown(self, t: "Tensor") -> bool:
        """False for constants folded into labels and for values internal to a collapsed module."""
        role = self._role(t)
        if role in ("input", "output"):
            return True
        if role == "constant" and self.hide_constants:
            return False
        units = self.consumers[id(t)]
        if role == "intermediate":
            units = units + [self.unit[t.grad_fn]]
        first = units[0]
        if isinstance(first, Function):
            return True
        return any(unit is not first for unit in units)

    def _placement(self, t: "Tensor") -> tuple:
        """Inputs go outside every cluster; a parameter or buffer goes in its module's cluster
        when that module ran the op using it; a constant goes with the op using it."""
        role = self._role(t)
        if role == "input":
            return ()
        path = self._path_of(self.consumers[id(t)][0])
        if role in ("parameter", "buffer"):
            owner = self.index.tensor_names[id(t)][2]
            for i, module in enumerate(path):
                if module is owner:
                    return path[:i + 1]
        return path

    def _cluster(self, path: tuple) -> Optional[str]:
        """The id of the cluster for a module path, creating it and its ancestors if needed."""
        parent = None
        for i in range(1, len(path) + 1):
            key = tuple(id(module) for module in path[:i])
            cluster_id = self.cluster_ids.get(key)
            if cluster_id is None:
                cluster_id = f"cluster_{len(self.cluster_ids)}"
                self.cluster_ids[key] = cluster_id
                label = self.index.title(path[i - 1])
                self.graph.clusters[cluster_id] = Cluster(cluster_id, label)
                self._items(parent).append(cluster_id)
            parent = cluster_id
        return parent

    def _items(self, cluster_id: Optional[str]) -> list[str]:
        return self.graph.top if cluster_id is None else self.graph.clusters[cluster_id].items

    def _new_node(self, prefix: str, kind: str, role: str, path: tuple) -> Node:
        node_id = f"{prefix}{self.counters[prefix]}"
        self.counters[prefix] += 1
        node = Node(node_id, kind, role, [])
        self.graph.nodes[node_id] = node
        self._items(self._cluster(path)).append(node_id)
        return node

    def _add_tensor(self, t: "Tensor", path: tuple) -> str:
        role = self._role(t)
        node = self._new_node("t", "tensor", role, path)
        self.node_ids[id(t)] = node.id
        known = self.index.tensor_names.get(id(t))
        name = known[0] if known is not None else t.name
        if role in ("parameter", "intermediate"):
            title = name
        elif role == "buffer":
            title = f"{name} (buffer)"
        else:
            title = f"{name} ({role})" if name else role
        node.shape = "scalar" if t.data.ndim == 0 else str(t.data.shape)
        node.lines = ([title] if title else []) + [f"{node.shape} {t.data.dtype}",
                                                    data_summary(t.data)]
        node.finite = is_finite(t.data)
        if self.graph.after_backward and t.requires_grad:
            grad = self._grad_of(t)
            if grad is None:
                node.grad_missing = True
                node.lines.append("grad not computed")
            else:
                node.grad = grad
                node.lines.append(grad_summary(grad))
                node.finite = node.finite and is_finite(grad)
        return node.id

    def _grad_of(self, t: "Tensor") -> Optional[np.ndarray]:
        """A leaf's ``.grad``; for a computed tensor, the gradient its op received."""
        if t.grad_fn is None:
            return None if t.grad is None else t.grad.data
        return t.grad_fn.grad if t.grad_fn.backward_step is not None else None

    def _add_op(self, fn: Function) -> str:
        node = self._new_node("op", "op", "op", fn.scope)
        node.lines = [_op_title(fn)]
        constants = [values(t.data) for t in fn.inputs if not self._is_shown(t)]
        if constants:
            node.lines.append("const " + ", ".join(constants))
        if self.graph.after_backward:
            node.lines.append("no gradient reached it" if fn.backward_step is None
                              else f"backward #{fn.backward_step}")
        return node.id

    def _module_node(self, unit: "_CollapsedModule") -> str:
        """The node of a collapsed module (created the first time one of its ops is seen)."""
        if unit.node_id is None:
            unit.node_id = self._new_node("m", "module", "module", unit.path[:-1]).id
        return unit.node_id

    def _label_module(self, unit: "_CollapsedModule") -> None:
        """Title, input and output shapes and parameter count of a collapsed module."""
        nodes = self.graph.nodes
        module = unit.path[-1]
        count = module.num_parameters() if hasattr(module, "num_parameters") else 0
        inputs = [nodes[i].shape for i in unit.inputs if nodes[i].role not in _STATE_ROLES]
        lines = [self.index.title(module)]
        if len(unit.ops) == 1 and _op_title(unit.ops[0]) != type(module).__name__:
            lines.append(_op_title(unit.ops[0]))  # e.g. the mode a Dropout or BatchNorm ran in
        nodes[unit.node_id].lines = lines + [
            "in " + ", ".join(inputs),
            "out " + ", ".join(nodes[i].shape for i in unit.outputs),
            f"params {count}",
        ]


class _CollapsedModule:
    """A module drawn as one node: every op recorded under ``path`` belongs to it."""

    def __init__(self, path: tuple) -> None:
        self.path = path
        self.node_id: Optional[str] = None
        self.ops: list[Function] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []

    def connect_input(self, tensor_id: str, edges: list[tuple[str, str]]) -> None:
        """Add the edge from an outside tensor once, however many inner ops read it."""
        if tensor_id not in self.inputs:
            self.inputs.append(tensor_id)
            edges.append((tensor_id, self.node_id))


def _op_title(fn: Function) -> str:
    """The op's name; ops that keep the default name get their key attributes appended."""
    name = fn.name
    if getattr(type(fn), "name") is not Function.name:
        return name
    attributes = []
    for attribute in _KEY_ATTRIBUTES:
        value = fn.__dict__.get(attribute)
        if value is None or value is False:
            continue
        if value is True:
            attributes.append(attribute)
        else:
            attributes.append(f"{attribute}={number(value) if isinstance(value, float) else value}")
    return " ".join([name] + attributes)
