"""The graph as a ``graphviz.Digraph`` (DOT source, rendering and Jupyter display), and saved to
a file by :func:`render_graph`.

Building the DOT source needs only the ``graphviz`` Python package, imported when a graph is
drawn (so ``import tinygrad_dropbn`` never loads it); turning it into an image needs a renderer
(see :mod:`.render`).
"""
from __future__ import annotations

import functools
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .digraph import drawing_class
from .graph import Graph, Node, build_graph
from .render import FORMATS, RendererNotFoundError, render_dot
from .summary import GRAD_SCALE, ZERO_GRAD_COLOR, grad_color

if TYPE_CHECKING:
    import graphviz

    from ..tensor import Tensor

_FILL = {
    "input": "#cfe2f3",
    "parameter": "#d9ead3",
    "buffer": "#ead1dc",
    "constant": "#f3f3f3",
    "intermediate": "#ffffff",
    "output": "#fff2cc",
    "op": "#fce5cd",
    "module": "#d9d2e9",
    "released": "#f3f3f3",
}
_SHAPE = {"op": "ellipse", "module": "box3d"}
_WRAP_COLUMNS = 40
MAX_NODES = 300
"""The default node budget of :func:`draw_graph`: beyond it a picture stops being readable."""


def draw_graph(root: "Tensor", depth: Optional[int] = None, hide_constants: bool = False,
               grad_health: bool = False, rankdir: str = "TB",
               max_nodes: Optional[int] = MAX_NODES) -> graphviz.Digraph:
    r"""Draw everything ``root`` was computed from, as a ``graphviz.Digraph``.

    Tensor nodes (boxes) show a name where one is known (parameters by their module path, such
    as ``0.weight``), shape, dtype and a data summary; after ``backward()`` also a gradient
    summary, and a dashed border where a gradient was needed but not computed. Op nodes
    (ellipses) show the op's name -- Dropout and batch norm say which mode they ran in -- and,
    after ``backward()``, their position in the backward sweep. Ops run inside a module are
    grouped in a cluster per module. A NaN or infinity in a value or gradient gets a red border.

    Module clusters, parameter names, the backward order and the gradients of intermediate
    results are known when the forward and backward passes ran inside :func:`~.record.record_graph`;
    that also draws, from small recorded summaries, the tensors a backward pass released.
    Without a recording the drawing shows what the engine still holds (ops, live tensors,
    the leaves' gradients), draws released tensors with a dotted border, and says in a note
    at the bottom what is missing.

    Args:
        root: the tensor to draw back from (usually the loss).
        depth: draw modules nested up to this depth as clusters and each deeper module as a
            single node with its input/output shapes and parameter count (0 collapses every
            outermost module); None draws every op, within ``max_nodes``.
        hide_constants: fold scalar constants into the label of the op that uses them.
        grad_health: fill tensor nodes by the order of magnitude of their mean |grad| (cool
            colours for vanishing gradients, warm ones for exploding), with a legend.
        rankdir: Graphviz layout direction: ``"TB"`` (top to bottom) or ``"LR"``.
        max_nodes: the node budget for a readable picture: when ``depth`` is None and the
            graph has more nodes, modules are collapsed (the deepest ``depth`` that fits) and
            a note at the bottom says so. None draws every op however many there are.

    Returns:
        A ``graphviz.Digraph`` (with :class:`~.digraph.AnyRenderer`): ``.source`` is the DOT
        text; ``.render()``, ``.pipe()`` and Jupyter's inline display use Graphviz's ``dot``,
        or ``graphviz-pure`` without it (see :mod:`.render`). Node ids follow the forward
        order, so the same program always produces the same source.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> x = tg.Tensor([1.0, -2.0], requires_grad=True, name="x")
        >>> with tg.record_graph():
        ...     loss = (x * x).sum()
        ...     loss.backward()
        >>> dot = tg.draw_graph(loss)
        >>> 'label="x (input)\\n(2,) float32\\n[1, -2]\\ngrad [2, -4]"' in dot.source
        True
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be one of 'TB', 'LR', 'BT', 'RL', got {rankdir!r}")
    graph = build_graph(root, depth=depth, hide_constants=hide_constants, max_nodes=max_nodes)
    return to_digraph(graph, grad_health=grad_health, rankdir=rankdir)


def render_graph(root: "Tensor", path: Union[str, Path], **options: Any) -> Path:
    """Draw the graph of ``root`` and save it; the format follows the extension.

    ``.svg``, ``.png`` and ``.pdf`` are rendered by :func:`~.render.render_dot`; ``.gv`` and
    ``.dot`` save the DOT source and need no renderer.

    Args:
        root: the tensor to draw back from.
        path: the file to write.
        **options: passed to :func:`draw_graph` (``depth``, ``hide_constants``,
            ``grad_health``, ``rankdir``, ``max_nodes``).

    Returns:
        The path written.

    Raises:
        RendererNotFoundError: no installed renderer supports the format; the DOT source was
            written next to ``path`` with the extension ``.gv`` (``error.dot_path``).
        ValueError: the extension is not one of the supported ones.
        RuntimeError: the renderer failed (its message is included).
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower(), "")
    if fmt == "":
        raise ValueError(f"cannot tell the format of {str(path)!r} from its extension; "
                         f"use one of {', '.join(FORMATS)}")
    source = draw_graph(root, **options).source
    if fmt is None:
        path.write_text(source, encoding="utf-8")
        return path
    try:
        image = render_dot(source, fmt)
    except RendererNotFoundError as error:
        dot_path = path.with_suffix(".gv")
        dot_path.write_text(source, encoding="utf-8")
        raise RendererNotFoundError(
            f"Cannot render {path}: {str(error).partition(': ')[2]} The DOT source was written "
            f"to {dot_path}: render it later with `dot -T{fmt} {dot_path} -o {path}`.",
            dot_path) from None
    path.write_bytes(image)
    return path


def to_digraph(graph: Graph, grad_health: bool = False, rankdir: str = "TB") -> graphviz.Digraph:
    """The ``graphviz.Digraph`` of a graph built by :func:`~.graph.build_graph`."""
    import graphviz

    dot = drawing_class()("computation_graph")
    dot.attr(rankdir=rankdir, fontname="Helvetica", fontsize="11")
    # Defaults fit intermediate tensors, the most common node, so their lines stay short.
    dot.attr("node", fontname="Helvetica", fontsize="10", shape="box", style="filled",
             fillcolor=_FILL["intermediate"])
    dot.attr("edge", color="#555555", arrowsize="0.7")
    built: dict[str, graphviz.Digraph] = {}
    # NOTE: Digraph.subgraph() copies a finished subgraph's lines, so clusters are built
    # innermost first: a cluster is complete once every cluster listed after it (its
    # descendants were all created after it) has been added.
    for cluster_id in reversed(list(graph.clusters)):
        cluster = graph.clusters[cluster_id]
        sub = graphviz.Digraph(cluster_id)
        sub.attr(label=_label(_wrap(cluster.label), end="\\l"), labeljust="l", style="rounded",
                 color="#999999", fontsize="10")
        _add_items(sub, cluster.items, graph, built, grad_health)
        built[cluster_id] = sub
    _add_items(dot, graph.top, graph, built, grad_health)
    # NOTE: the lines Digraph.edge() writes; node ids need no quoting.
    dot.body.extend([f"\t{source} -> {target}\n" for source, target in graph.edges])
    if grad_health and graph.after_backward:
        dot.node("legend", _legend(), shape="plaintext")
    if graph.notes:
        # NOTE: last, so no cluster inherits this label.
        dot.attr(label=_label(graph.notes, end="\\l"), labelloc="b", labeljust="l",
                 fontsize="9", fontcolor="#666666")
    return dot


def _add_items(dot: graphviz.Digraph, items: list[str], graph: Graph,
               built: dict[str, graphviz.Digraph], grad_health: bool) -> None:
    from graphviz.quoting import quote

    body = dot.body
    for item in items:
        if item in built:
            dot.subgraph(built[item])
        else:
            node = graph.nodes[item]
            lines = _wrap(node.lines[0]) + node.lines[1:] if node.kind == "module" else node.lines
            # NOTE: the line Digraph.node() writes, assembled here: node ids need no quoting
            # and few nodes differ in style, so a 100,000-op graph skips ~10 quote() calls
            # per node.
            style = _attributes(tuple(sorted(_style(node, grad_health).items())))
            body.append(f"\t{node.id} [label={quote(_label(lines))}{style}]\n")


@functools.lru_cache(maxsize=None)
def _attributes(items: tuple[tuple[str, str], ...]) -> str:
    """`` key=value`` pairs, quoted as DOT needs, in the order Digraph.node() writes them."""
    from graphviz.quoting import quote

    return "".join(f" {quote(key)}={quote(value)}" for key, value in items)


def _style(node: Node, grad_health: bool) -> dict[str, str]:
    """The attributes that differ from the node defaults set in :func:`to_digraph`."""
    fill = _FILL[node.role]
    if grad_health and node.grad is not None:
        fill = grad_color(node.grad.mean_magnitude)
    style = {}
    if node.kind != "tensor":
        style["shape"] = _SHAPE[node.kind]
    if fill != _FILL["intermediate"]:
        style["fillcolor"] = fill
    if node.grad_missing:
        style["style"] = "filled,dashed"
    elif node.released:
        style["style"] = "filled,dotted"
    if node.role == "output":
        style["penwidth"] = "2"
    if not node.finite:
        style.update(color="red", penwidth="3")
    return style


def _label(lines: list[str], end: str = "\\n") -> str:
    """Lines joined by DOT's ``\\n`` (centred) or ``\\l`` (left-aligned) escape; backslashes
    and ``<...>`` in names stay literal."""
    import graphviz

    text = end.join(line.replace("\\", "\\\\") for line in lines)
    return graphviz.nohtml(text + end if end == "\\l" else text)


def _wrap(title: str) -> list[str]:
    """A long module title split after commas, so clusters and nodes stay narrow."""
    lines = [""]
    for piece in title.split(", "):
        if lines[-1] and len(lines[-1]) + len(piece) > _WRAP_COLUMNS:
            lines[-1] += ","
            lines.append("    " + piece)
        else:
            lines[-1] += (", " if lines[-1] else "") + piece
    return lines


def _legend() -> str:
    """An HTML-like table of the gradient colour scale."""
    cells = [f'<td bgcolor="{ZERO_GRAD_COLOR}">0</td>']
    cells += [f'<td bgcolor="{color}">{html.escape(text)}</td>' for _, color, text in GRAD_SCALE]
    return ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
            '<tr><td colspan="8">mean |grad|</td></tr>'
            f'<tr>{"".join(cells)}</tr></table>>')
