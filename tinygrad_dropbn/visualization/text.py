"""The graph as indented plain text: for terminals, logs and machines without a renderer.

Modules are the levels of the tree; inside each, nodes come in the order the forward pass made
them, one per line, with the same label lines as the drawing joined by ``|``. Op lines end with
the ids they read and write, so the text holds the whole graph. Notes on what was not recorded
(see :func:`~.record.record_graph`) follow the first line, each starting with ``note:``. For
``nn.Sequential(nn.Linear(2, 2), nn.ReLU())`` (seed 0) on ``x = [[1, -2]]``, after
``with tg.record_graph(): model(x).sum().backward()``::

    computation graph: 3 ops, 6 tensors (after backward)
    t0: x (input) | (1, 2) float32 | [[1, -2]]
    Sequential
        0: Linear(in_features=2, out_features=2, bias=True)
            t1: 0.weight | (2, 2) float32 | [[0.1937, -0.3256], [-0.6492, -0.6837]] | grad [[1, -2], [1, -2]]
            t2: 0.bias | (2,) float32 | [0.443, 0.5837] | grad [1, 1]
            op0: Affine | backward #2 | t0, t1, t2 -> t3
            t3: (1, 2) float32 | [[1.288, 1.302]] | grad [[1, 1]]
        1: ReLU()
            op1: Rectify | backward #1 | t3 -> t4
            t4: (1, 2) float32 | [[1.288, 1.302]] | grad [[1, 1]]
    op2: Sum axes=(0, 1) | backward #0 | t4 -> t5
    t5: output | scalar float32 | 2.59 | grad 1
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .graph import Graph, build_graph

if TYPE_CHECKING:
    from ..tensor import Tensor

_INDENT = "    "


def graph_text(root: "Tensor", depth: Optional[int] = None, hide_constants: bool = False,
               max_nodes: Optional[int] = None) -> str:
    """Everything ``root`` was computed from, as an indented tree of modules and nodes.

    Takes the same ``depth``, ``hide_constants`` and ``max_nodes`` options as
    :func:`draw_graph` and shows the same labels; unlike the picture, the text has no node
    budget by default. Nodes whose value or gradient holds a NaN or infinity are marked
    ``[NaN/Inf]``.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> x = tg.Tensor([1.0, -2.0], requires_grad=True, name="x")
        >>> print(tg.graph_text((x * x).sum()), end="")
        computation graph: 2 ops, 3 tensors
        t0: x (input) | (2,) float32 | [1, -2]
        op0: Mul | t0, t0 -> t1
        t1: (2,) float32 | [1, 4]
        op1: Sum axes=(0,) | t1 -> t2
        t2: output | scalar float32 | 5
    """
    return to_text(build_graph(root, depth=depth, hide_constants=hide_constants,
                               max_nodes=max_nodes))


def to_text(graph: Graph) -> str:
    """The text tree of a graph built by :func:`~.graph.build_graph`."""
    inputs: dict[str, list[str]] = {}
    outputs: dict[str, list[str]] = {}
    for source, target in graph.edges:
        outputs.setdefault(source, []).append(target)
        inputs.setdefault(target, []).append(source)
    kinds = [node.kind for node in graph.nodes.values()]
    counts = [_count(kinds, "op", "op"), _count(kinds, "tensor", "tensor")]
    if "module" in kinds:
        counts.append(_count(kinds, "module", "collapsed module"))
    header = "computation graph: " + ", ".join(counts)
    lines = [header + (" (after backward)" if graph.after_backward else "")]
    lines += [f"note: {note}" for note in graph.notes]
    # An explicit stack of (items, next position, indent) instead of recursion.
    stack = [(graph.top, 0, "")]
    while stack:
        items, position, indent = stack.pop()
        if position == len(items):
            continue
        stack.append((items, position + 1, indent))
        item = items[position]
        cluster = graph.clusters.get(item)
        if cluster is not None:
            lines.append(indent + cluster.label)
            stack.append((cluster.items, 0, indent + _INDENT))
            continue
        node = graph.nodes[item]
        parts = list(node.lines)
        if node.kind != "tensor":
            parts.append(", ".join(inputs.get(item, [])) + " -> "
                         + ", ".join(outputs.get(item, [])))
        if not node.finite:
            parts.append("[NaN/Inf]")
        lines.append(f"{indent}{item}: " + " | ".join(parts))
    return "\n".join(lines) + "\n"


def _count(kinds: list[str], kind: str, noun: str) -> str:
    n = kinds.count(kind)
    return f"{n} {noun}" + ("" if n == 1 else "s")
