"""The model behind every drawing: labelled nodes, edges and module clusters.

:func:`build_graph` walks the engine's topological order (iterative, so a chain of 100,000 ops
is fine) once, forwards, and records what the DOT and text renderers show:

* a **tensor node** for each input, parameter, buffer, constant, intermediate result and the
  root, labelled with its name, shape, dtype, a data summary and -- after ``backward()`` -- a
  gradient summary;
* an **op node** for each recorded op, labelled with the op's name (Dropout and batch norm say
  which mode they ran in) and its position in the backward sweep;
* a **cluster** for each module call path, nested as the modules are; with ``depth=`` the
  modules below that depth become one node each.

The engine holds each op's inputs, and through them the graph's edges (their producers), only
until a backward pass that does not retain the graph releases them. Everything else -- the
modules that ran each op, the backward order, the gradients of intermediate results, the
values and, once released, the edges themselves -- comes from what a
:func:`~.record.record_graph` recording noted. Without one the drawing shows what the engine
still holds and says what is missing.

Node ids follow the forward walk (``t0, t1, ...`` for tensors, ``op0, op1, ...`` for ops,
``m0, ...`` for collapsed modules), never memory addresses, so the same program always yields
the same graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Sequence

from .. import engine
from ..engine import Function
from ..nn.module import Parameter
from .record import OpRecord, op_record
from .summary import GradSummary, TensorSummary, dtype_name, number, values

if TYPE_CHECKING:
    from ..tensor import Tensor

# Op attributes worth printing next to the name of an op that does not format its own label.
_KEY_ATTRIBUTES = ("axes", "axis", "keepdims", "negative_slope", "lo", "hi")
# Tensors a collapsed module reads that are not its data input.
_STATE_ROLES = ("parameter", "buffer", "constant")
RELEASED = "values released by backward()"
"""The label line of a tensor whose values the engine dropped and no recording summarised."""
NOT_RECORDED = ("not recorded with tg.record_graph(): no module clusters, backward order, "
                "gradients of intermediate results or released values")
FORWARD_NOT_RECORDED = ("forward pass not recorded with tg.record_graph(): no module clusters "
                        "or parameter names")
BACKWARD_NOT_RECORDED = ("backward() not recorded with tg.record_graph(): no backward order or "
                         "gradients of intermediate results")
EDGES_RELEASED = ("backward() released this graph, which was not recorded: only its last op is "
                  "left; draw it before backward(), or record it with tg.record_graph()")


@dataclass
class Node:
    """One drawn node.

    Attributes:
        id: the node's name in the DOT source (``t3``, ``op2``, ``m0``).
        kind: ``"tensor"``, ``"op"`` or ``"module"`` (a collapsed module).
        role: for tensors ``"input"``, ``"parameter"``, ``"buffer"``, ``"constant"``,
            ``"intermediate"``, ``"output"`` or ``"released"`` (a leaf that ``backward()``
            let go of and no recording described); otherwise equal to ``kind``.
        lines: the label, one string per line.
        shape: a tensor's shape as shown (``(64, 16)`` or ``scalar``; ``?`` when released
            unrecorded); empty for other nodes.
        grad: the summary of the gradient shown in the label (tensors, after backward), else
            None.
        grad_missing: the tensor needs a gradient but backward did not compute one.
        finite: no NaN or infinity in the tensor's value or gradient.
        released: the tensor's values are gone and were not recorded: only its place in the
            graph is known.
    """

    id: str
    kind: str
    role: str
    lines: list[str]
    shape: str = ""
    grad: Optional[GradSummary] = None
    grad_missing: bool = False
    finite: bool = True
    released: bool = False


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
    ``after_backward`` tells whether a backward pass is known to have run through the graph
    (it released the graph, or a recording saw it); ``notes`` says what the drawing cannot
    show because it was not recorded. ``op_nodes`` maps each op to the id of its node (or of
    the collapsed module drawn for it); ``tensor_nodes`` maps :func:`tensor_key` of each drawn
    tensor to its node id; ``parameter_names`` maps ``id()`` of each parameter and buffer of
    the recorded modules to its name (``0.weight``), drawn or not.
    """

    nodes: dict[str, Node]
    edges: list[tuple[str, str]]
    clusters: dict[str, Cluster]
    top: list[str]
    after_backward: bool
    notes: list[str] = field(default_factory=list)
    op_nodes: dict[Function, str] = field(default_factory=dict)
    tensor_nodes: dict[Any, str] = field(default_factory=dict)
    parameter_names: dict[int, str] = field(default_factory=dict)


def tensor_key(t: "Tensor") -> Any:
    """How :attr:`Graph.tensor_nodes` knows a live tensor: by the op that made it, or itself."""
    return t.grad_fn if t.grad_fn is not None else ("t", id(t))


@dataclass(eq=False)
class _Value:
    """One tensor of the graph, however much of it is left: the live tensor when something
    still holds it, the summary a recording made of it, and the op that produced it."""

    key: Any
    tensor: Optional["Tensor"]
    summary: Optional[TensorSummary]
    producer: Optional[Function]
    role: str = ""


class _ModuleIndex:
    """Names of parameters, buffers and modules, found from the modules that recorded the ops.

    The outermost module of each op's scope is asked for ``named_modules``,
    ``named_parameters`` and ``named_buffers``, so ``0.weight`` is known without the user
    passing a dictionary. The first module to name an object wins.
    """

    def __init__(self, scopes: list[tuple]) -> None:
        self.module_names: dict[int, str] = {}
        self.tensor_names: dict[int, tuple[str, str, Any]] = {}  # id -> (name, role, owner)
        outermost: dict[int, Any] = {}
        for scope in scopes:
            if scope:
                outermost.setdefault(id(scope[0]), scope[0])
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


def build_graph(root: "Tensor", depth: Optional[int] = None, hide_constants: bool = False,
                max_nodes: Optional[int] = None) -> Graph:
    """The drawable graph of everything ``root`` was computed from.

    Works on a live graph and on one a backward pass released: tensors the engine no longer
    holds are drawn from what :func:`~.record.record_graph` noted, or as released.

    Args:
        root: the tensor to draw back from (usually the loss).
        depth: draw modules nested up to this depth as clusters and each module below it as a
            single node (0 collapses every outermost module); None draws every op, unless
            that makes more than ``max_nodes`` nodes.
        hide_constants: fold scalar constants into the label of the op that uses them.
        max_nodes: the node budget when ``depth`` is None: a graph with more nodes is drawn
            with the deepest ``depth`` that fits (at least 0), and a note says what was
            collapsed. None: no budget.
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be None or a non-negative integer, got {depth!r}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise ValueError(f"max_nodes must be None or a positive integer, got {max_nodes!r}")
    full = _Builder(root, depth, hide_constants)
    if depth is not None or max_nodes is None or len(full.graph.nodes) <= max_nodes:
        return full.graph
    for depth in range(full.module_depth - 1, -1, -1):
        graph = _Builder(root, depth, hide_constants).graph
        if len(graph.nodes) <= max_nodes or depth == 0:
            modules = sum(node.kind == "module" for node in graph.nodes.values())
            graph.notes.append(
                f"drawn with depth={depth}: {modules} module{'' if modules == 1 else 's'} "
                "collapsed into one 3-D box each "
                f"(the full graph has {len(full.graph.nodes)} nodes, over max_nodes="
                f"{max_nodes}); max_nodes=None draws every op")
            return graph
    return full.graph  # no module to collapse


class _Edge(NamedTuple):
    """A recorded edge, in the shape ``engine.topological_order`` reads inputs in."""

    grad_fn: Optional[Function]


def _parents(fn: Function, record: Optional[OpRecord]) -> tuple:
    """The ops that produced ``fn``'s inputs: from the inputs while the engine holds them,
    else as recorded (none when nothing was)."""
    if not fn.released:
        return fn.parents
    return record.parents if record is not None else ()


def _inputs_or_recorded_edges(fn: Function) -> Sequence:
    return fn.inputs if not fn.released else [_Edge(p) for p in _parents(fn, op_record(fn))]


class _Builder:
    """One forward walk over the recorded ops, creating nodes in the order data flows."""

    def __init__(self, root: "Tensor", depth: Optional[int], hide_constants: bool) -> None:
        self.root = root
        self.depth = depth
        self.hide_constants = hide_constants
        ops = engine.topological_order(root, inputs_of=_inputs_or_recorded_edges)
        ops.reverse()  # forward order: every op after the ops that produced its inputs
        self.records: dict[Function, Optional[OpRecord]] = {fn: op_record(fn) for fn in ops}
        recorded = [r for r in self.records.values() if r is not None]
        self.index = _ModuleIndex([r.scope for r in recorded])
        self.module_depth = max((len(r.scope) for r in recorded), default=0)
        forward_recorded = any(r.output is not None for r in recorded)
        self.backward_recorded = any(r.backward_step is not None for r in recorded)
        if ops:
            after_backward = self.backward_recorded or any(fn.released for fn in ops)
        else:
            after_backward = root.grad is not None
        self.graph = Graph({}, [], {}, [], after_backward)
        self.graph.parameter_names = {key: known[0]
                                      for key, known in self.index.tensor_names.items()}
        self.cluster_ids: dict[tuple, str] = {}
        self.node_ids = self.graph.tensor_nodes  # value key -> node id
        self.collapsed: dict[tuple, _CollapsedModule] = {}  # by the ids of the module path
        self.counters = {"t": 0, "op": 0, "m": 0}
        self.unit = {fn: self._unit_of(fn) for fn in ops}
        self.root_key = tensor_key(root)
        self.values: dict[Any, _Value] = {}
        self.inputs_of = self._find_values(ops)
        self.consumers: dict[Any, list] = {}  # value key -> units that read it
        for fn in ops:
            for value in self.inputs_of[fn]:
                self.consumers.setdefault(value.key, []).append(self.unit[fn])
        self.graph.notes = self._notes(ops, forward_recorded)
        self._walk(ops)
        if root.grad_fn is None:
            value = _Value(self.root_key, root, None, None, "output")
            self.values[value.key] = value
            self._add_tensor(value, ())
        for unit in self.collapsed.values():
            self._label_module(unit)

    def _notes(self, ops: list[Function], forward_recorded: bool) -> list[str]:
        """What the drawing lacks for want of a recording, where it shows."""
        if not ops:
            return []
        if not forward_recorded and any(fn.released and self.records[fn] is None for fn in ops):
            return [EDGES_RELEASED]
        if not forward_recorded:
            if not any(value.role in ("parameter", "released") for value in self.values.values()):
                lacking = self.graph.after_backward and not self.backward_recorded
                return [NOT_RECORDED] if lacking else []
            return [FORWARD_NOT_RECORDED if self.backward_recorded else NOT_RECORDED]
        if self.graph.after_backward and not self.backward_recorded:
            return [BACKWARD_NOT_RECORDED]
        return []

    def _find_values(self, ops: list[Function]) -> dict[Function, list[_Value]]:
        """Each op's inputs as values: an op's output is known by its producer, a leaf by the
        tensor while something holds it, else by the summary recorded of it."""
        for fn in ops:
            record = self.records[fn]
            out = record.output if record is not None else None
            live = self.root if fn is self.root_key else None
            if live is None and out is not None and out.tensor is not None:
                live = out.tensor()
            self.values[fn] = _Value(fn, live, out, fn)
        inputs_of = {}
        for fn in ops:
            record = self.records[fn]
            leaf_summaries = record.leaf_inputs if record is not None else ()
            inputs = []
            # NOTE: after release() ``inputs`` is empty and the edges are the recorded ones.
            held = fn.inputs
            for i, parent in enumerate(_parents(fn, record)):
                t = held[i] if i < len(held) else None
                if parent is not None:
                    value = self.values[parent]
                    if value.tensor is None and t is not None:
                        value.tensor = t
                    inputs.append(value)
                    continue
                summary = leaf_summaries[i] if i < len(leaf_summaries) else None
                if t is None and summary is not None and summary.tensor is not None:
                    t = summary.tensor()
                if t is not None:
                    key = tensor_key(t)
                elif summary is not None:
                    key = ("s", id(summary))
                else:
                    key = ("released", id(fn), i)
                value = self.values.get(key)
                if value is None:
                    value = self.values[key] = _Value(key, t, summary, None)
                elif value.summary is None:
                    value.summary = summary
                inputs.append(value)
            inputs_of[fn] = inputs
        for value in self.values.values():
            value.role = self._role(value)
        return inputs_of

    def _walk(self, ops: list[Function]) -> None:
        """Add each op (or its collapsed module) after its inputs and before its output."""
        for fn in ops:
            unit = self.unit[fn]
            shown_inputs = [value for value in self.inputs_of[fn] if self._is_shown(value)]
            for value in shown_inputs:
                if value.key not in self.node_ids:
                    self._add_tensor(value, self._placement(value))
            if isinstance(unit, _CollapsedModule):
                unit_id = self._module_node(unit)
                unit.ops.append(fn)
                for value in shown_inputs:
                    if value.producer is None or self.unit[value.producer] is not unit:
                        unit.connect_input(self.node_ids[value.key], self.graph.edges)
            else:
                unit_id = self._add_op(fn)
                self.graph.edges.extend((self.node_ids[value.key], unit_id)
                                        for value in shown_inputs)
            self.graph.op_nodes[fn] = unit_id
            out = self.values[fn]
            if self._is_shown(out):
                out_id = self._add_tensor(out, self._path_of(unit))
                self.graph.edges.append((unit_id, out_id))
                if isinstance(unit, _CollapsedModule):
                    unit.outputs.append(out_id)

    def _scope(self, fn: Function) -> tuple:
        record = self.records[fn]
        return record.scope if record is not None else ()

    def _unit_of(self, fn: Function) -> Any:
        """The op itself, or the collapsed module it runs inside."""
        scope = self._scope(fn)
        if self.depth is None or len(scope) <= self.depth:
            return fn
        path = scope[:self.depth + 1]
        key = tuple(id(module) for module in path)
        if key not in self.collapsed:
            self.collapsed[key] = _CollapsedModule(path)
        return self.collapsed[key]

    def _path_of(self, unit: Any) -> tuple:
        """The module path of the cluster a unit is drawn in."""
        return unit.path[:-1] if isinstance(unit, _CollapsedModule) else self._scope(unit)

    def _role(self, value: _Value) -> str:
        if value.key == self.root_key:
            return "output"
        if value.producer is not None:
            return "intermediate"
        t = value.tensor
        if t is not None:
            known = self.index.tensor_names.get(id(t))
            if known is not None:
                return known[1]
            if isinstance(t, Parameter):
                return "parameter"
            constant = not t.requires_grad and t.name is None and t.data.size <= 1
        elif value.summary is not None:
            summary = value.summary
            constant = not summary.requires_grad and summary.name is None and summary.size <= 1
        else:
            return "released"
        return "constant" if constant else "input"

    def _is_shown(self, value: _Value) -> bool:
        """False for constants folded into labels and for values internal to a collapsed module."""
        role = value.role
        if role in ("input", "output", "released"):
            return True
        if role == "constant" and self.hide_constants:
            return False
        units = self.consumers[value.key]
        if role == "intermediate":
            units = units + [self.unit[value.producer]]
        first = units[0]
        if isinstance(first, Function):
            return True
        return any(unit is not first for unit in units)

    def _placement(self, value: _Value) -> tuple:
        """Inputs go outside every cluster; a parameter or buffer goes in its module's cluster
        when that module ran the op using it; a constant goes with the op using it."""
        role = value.role
        if role == "input":
            return ()
        path = self._path_of(self.consumers[value.key][0])
        if role in ("parameter", "buffer"):
            known = self.index.tensor_names.get(id(value.tensor))
            owner = known[2] if known is not None else None
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

    def _add_tensor(self, value: _Value, path: tuple) -> str:
        role = value.role
        node = self._new_node("t", "tensor", role, path)
        self.node_ids[value.key] = node.id
        t = value.tensor
        # A tensor still held is shown as it is now; a released one as it was recorded.
        summary = TensorSummary.of(t) if t is not None else value.summary
        known = self.index.tensor_names.get(id(t)) if t is not None else None
        name = known[0] if known is not None else (summary.name if summary else None)
        if role == "intermediate":
            title = name
        elif role == "parameter":
            title = name or role
        elif role == "buffer":
            title = f"{name} (buffer)"
        elif role == "released":
            title = "leaf"
        else:
            title = f"{name} ({role})" if name else role
        lines = [title] if title else []
        if summary is None:
            node.released = True
            node.shape = "?"
            node.lines = lines + [RELEASED]
        else:
            node.shape = "scalar" if not summary.shape else str(summary.shape)
            node.lines = lines + [f"{node.shape} {dtype_name(summary.dtype)}", summary.text]
            node.finite = summary.finite
        if self.graph.after_backward and self._requires_grad(value, summary):
            grad, known_grad = self._grad_of(value)
            if grad is not None:
                node.grad = grad
                node.lines.append(grad.text)
                node.finite = node.finite and grad.finite
            elif known_grad:
                node.grad_missing = True
                node.lines.append("grad not computed")
        return node.id

    def _requires_grad(self, value: _Value, summary: Optional[TensorSummary]) -> bool:
        if value.producer is not None:
            return True
        return summary is not None and summary.requires_grad

    def _grad_of(self, value: _Value) -> tuple[Optional[GradSummary], bool]:
        """The gradient shown for a tensor, and whether its absence is known to mean "not
        computed": a leaf's ``.grad``; for a computed tensor, the summary of the gradient its
        op received in the recorded backward sweep (unknown when none was recorded, unless
        the tensor kept its own with ``retain_grad()``)."""
        t = value.tensor
        if value.producer is None:
            if t is None:
                return None, False
            return (None if t.grad is None else GradSummary.of(t.grad.data)), True
        if self.backward_recorded:
            record = self.records[value.producer]
            if record is None or record.backward_step is None:
                return None, True
            return record.grad, True
        if t is not None and t.grad is not None:
            return GradSummary.of(t.grad.data), True
        return None, False

    def _add_op(self, fn: Function) -> str:
        node = self._new_node("op", "op", "op", self._scope(fn))
        node.lines = [self._title(fn)]
        constants = [_constant_text(value) for value in self.inputs_of[fn]
                     if not self._is_shown(value)]
        if constants:
            node.lines.append("const " + ", ".join(constants))
        if self.graph.after_backward and self.backward_recorded:
            step = self.records[fn].backward_step if self.records[fn] is not None else None
            node.lines.append("no gradient reached it" if step is None else f"backward #{step}")
        return node.id

    def _title(self, fn: Function) -> str:
        """The op's label now, or as recorded if it needed an array the backward released."""
        try:
            return _op_title(fn)
        except AttributeError:
            record = self.records[fn]
            return record.title if record is not None and record.title else type(fn).__name__

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
        if len(unit.ops) == 1 and self._title(unit.ops[0]) != type(module).__name__:
            lines.append(self._title(unit.ops[0]))  # e.g. the mode a Dropout or BatchNorm ran in
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


def _constant_text(value: _Value) -> str:
    """The value of a constant folded into an op's label."""
    if value.tensor is not None:
        return values(value.tensor.data)
    return value.summary.text


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
