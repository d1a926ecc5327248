"""The backward pass, step by step: :func:`render_backward` writes one HTML page that replays it.

The page shows the graph (drawn before the sweep, so every value is still there) and one frame
per op, in the order the engine visited it. A frame notes what the sweep did at that op:

* the gradient the op's output received -- the sum of what every consumer sent it;
* what the op sent to each input: the values just added (un-broadcast to the input's shape, as
  the engine does), and, for a tensor that feeds several ops, the sum so far and how many of
  its contributions have arrived (the ``+=`` of fan-out);
* the op's backward rule, and for the two ops this package is about, what it did: dropout's
  mask zeroes the gradient of the dropped units and scales the rest, batch norm's gradient to
  ``x`` is the sum of three paths (through ``x_hat``, the mean and the variance).

The frames are collected through ``engine.backward_hooks`` while :func:`render_backward` runs
the backward pass itself; only summaries and a few small grids of numbers are kept.
"""
from __future__ import annotations

import html
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from .. import engine
from ..engine import Function
from ..ops.batchnorm import BatchNorm
from ..ops.dropout import Drop
from .dot import MAX_NODES, to_digraph
from .graph import Graph, build_graph, tensor_key
from .page import PAGE
from .render import render_dot
from .summary import grad_summary, number

if TYPE_CHECKING:
    from ..tensor import Tensor

GRID_ROWS, GRID_COLUMNS = 8, 16
"""The corner of a 2-D gradient a frame shows value by value (dropout's mask)."""


@dataclass
class Sent:
    """What one op sent to one input in the sweep.

    Attributes:
        to: the node id of the input (None when it is not drawn: a folded constant, or a
            tensor inside a collapsed module).
        input: the input's position among the op's inputs.
        name: how the input is called in the caption (its name, or its node id).
        shape: the input's shape as text.
        grad: :func:`~.summary.grad_summary` of the values sent.
        arrived: how many of the tensor's contributions have arrived with this one.
        expected: how many ops send it one in this sweep (more than 1: fan-out).
        total: the summary of the sum so far, when ``expected`` is more than 1.
    """

    to: Optional[str]
    input: int
    name: str
    shape: str
    grad: str
    arrived: int
    expected: int
    total: Optional[str] = None


@dataclass
class Frame:
    """One step of the backward sweep: the op visited, what it received and what it sent."""

    step: int
    op: Optional[str]
    output: Optional[str]
    title: str
    rule: str
    shape: str
    received: str
    sent: list[Sent] = field(default_factory=list)
    caption: list[str] = field(default_factory=list)
    grids: list[dict] = field(default_factory=list)


def render_backward(loss: "Tensor", path: Union[str, Path], **options: Any) -> Path:
    """Run ``loss.backward()`` and write a self-contained HTML page that replays it, one frame
    per op in the order the engine visited the ops.

    The page needs no network: the graph is inline SVG, the frames inline JSON, the controls a
    short script (previous/next buttons, a slider, the arrow keys, and ``#step=k`` in the
    address to open frame ``k``). Each frame highlights the op being processed, shows the
    gradient it received and what it sent to each input, and greys out what the sweep has not
    reached yet. Calling it *is* the backward pass: leaves' ``.grad`` accumulate as with
    ``loss.backward()``, and the graph is released unless ``retain_graph=True``. Record the
    forward pass with :func:`~.record.record_graph` to get module frames and parameter names.

    Args:
        loss: a scalar tensor whose graph has not been back-propagated (and released) yet.
        path: the ``.html`` file to write.
        **options: ``retain_graph`` (False) for the backward pass; ``depth``,
            ``hide_constants``, ``max_nodes`` (default 300) and ``rankdir`` as for
            :func:`~.dot.draw_graph`; ``title`` for the page.

    Returns:
        The path written.

    Raises:
        RendererNotFoundError: no Graphviz renderer is installed to draw the inline SVG.
        RuntimeError: the graph was already released by an earlier ``backward()``.

    Example::

        x = tg.Tensor([1.0, -2.0], requires_grad=True, name="x")
        page = tg.render_backward((x * x).sum(), "backward.html")
        print(x.grad)  # the backward pass ran: [2, -4]
    """
    allowed = {"retain_graph", "depth", "hide_constants", "max_nodes", "rankdir", "title"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"render_backward() got unexpected option(s) {', '.join(unknown)}; "
                        f"it takes {', '.join(sorted(allowed))}")
    released = [fn for fn in engine.topological_order(loss) if fn.released]
    if released:
        raise RuntimeError(
            "render_backward() runs the backward pass itself, but this graph was already "
            f"released by an earlier backward() ({released[0].name} holds nothing any more). "
            "Call tg.render_backward(loss, path) instead of loss.backward(), or recompute "
            "the forward pass.")
    graph = build_graph(loss, depth=options.get("depth"),
                        hide_constants=options.get("hide_constants", False),
                        max_nodes=options.get("max_nodes", MAX_NODES))
    source = to_digraph(graph, rankdir=options.get("rankdir", "TB")).source
    svg = render_dot(source, "svg").decode("utf-8")
    frames = record_backward(loss, graph, retain_graph=options.get("retain_graph", False))
    path = Path(path)
    title = options.get("title", "The backward pass, step by step")
    path.write_text(backward_page(svg, frames, graph.tensor_nodes.get(tensor_key(loss)), title),
                    encoding="utf-8")
    return path


def record_backward(loss: "Tensor", graph: Graph, retain_graph: bool = False) -> list[Frame]:
    """Run ``loss.backward()`` and return its frames, with node ids from ``graph``."""
    sweep = _Sweep(loss, graph)
    engine.backward_hooks.append(sweep.on_backward)
    try:
        loss.backward(retain_graph=retain_graph)
    finally:
        engine.backward_hooks.remove(sweep.on_backward)
    return sweep.frames


class _Sweep:
    """Turns each ``backward_hooks`` call of one thread's backward pass into a :class:`Frame`."""

    def __init__(self, loss: "Tensor", graph: Graph) -> None:
        self.graph = graph
        self.thread = threading.get_ident()
        self.frames: list[Frame] = []
        self.totals: dict[Any, Any] = {}  # tensor key -> the gradient summed so far
        self.arrived: dict[Any, int] = {}
        # How many ops will send each tensor a gradient: one per use by an op that requires it.
        self.expected: dict[Any, int] = {}
        for fn in engine.topological_order(loss):
            for t in fn.inputs:
                if t.requires_grad:
                    key = tensor_key(t)
                    self.expected[key] = self.expected.get(key, 0) + 1

    def on_backward(self, fn: Function, grad: Any, input_grads: tuple) -> None:
        if threading.get_ident() != self.thread:
            return
        grad = np.asarray(grad)
        frame = Frame(step=len(self.frames), op=self.graph.op_nodes.get(fn),
                      output=self.graph.tensor_nodes.get(fn), title=fn.name,
                      rule=_rule(fn), shape=_shape(grad.shape), received=grad_summary(grad))
        sent_arrays = []
        for i, (t, g) in enumerate(zip(fn.inputs, input_grads)):
            if g is None or not t.requires_grad:
                continue
            g = np.asarray(g)
            if g.shape != t.data.shape:
                g = engine.unbroadcast(g, t.data.shape)
            sent_arrays.append((i, g))
            frame.sent.append(self._sent(t, i, g))
        frame.caption, frame.grids = _explain(fn, grad, dict(sent_arrays))
        self.frames.append(frame)

    def _sent(self, t: "Tensor", i: int, g: np.ndarray) -> Sent:
        key = tensor_key(t)
        node = self.graph.tensor_nodes.get(key)
        total = g if key not in self.totals else self.totals.pop(key) + g
        self.arrived[key] = self.arrived.get(key, 0) + 1
        expected = self.expected.get(key, 1)
        if self.arrived[key] < expected:  # the sum is kept only while contributions are due
            self.totals[key] = total
        return Sent(to=node, input=i, name=self._name(t, node, i),
                    shape=_shape(t.data.shape), grad=grad_summary(g),
                    arrived=self.arrived[key], expected=expected,
                    total=grad_summary(total) if expected > 1 else None)


    def _name(self, t: "Tensor", node_id: Optional[str], i: int) -> str:
        """``0.weight``, ``x (input)``, ``t7 = Rectify's output``: as the caption calls it."""
        node = self.graph.nodes.get(node_id) if node_id is not None else None
        if t.grad_fn is not None:
            return f"{node_id or 'input ' + str(i)} = {t.grad_fn.name}'s output"
        if node is not None and node.lines and node.role != "released":
            return node.lines[0]
        return self.graph.parameter_names.get(id(t)) or t.name or node_id or f"input {i}"


def _shape(shape: tuple) -> str:
    return "scalar" if not shape else str(tuple(shape))


def _rule(fn: Function) -> str:
    """The first line of the op's docstring: its forward and derivative, in one line."""
    doc = type(fn).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _explain(fn: Function, grad: np.ndarray, sent: dict[int, np.ndarray]
             ) -> tuple[list[str], list[dict]]:
    """What dropout and batch norm did to the gradient, for their frames' captions."""
    if isinstance(fn, Drop):
        return _explain_dropout(fn, grad, sent.get(0))
    if isinstance(fn, BatchNorm):
        return _explain_batchnorm(fn, grad, sent.get(0)), []
    return [], []


def _explain_dropout(fn: Drop, grad: np.ndarray, dx: Optional[np.ndarray]
                     ) -> tuple[list[str], list[dict]]:
    if dx is None:
        return [], []
    if not fn.training:
        factor = "1 (the identity)" if fn.inverted else number(float(fn.keep))
        return [f"Evaluation mode: no mask; the gradient passes through times {factor}."], []
    mask = np.broadcast_to(fn.mask, grad.shape)
    scale = 1 / float(fn.keep) if fn.inverted and fn.kept else 1.0
    why = f"1/(1-p) with p={number(fn.p)}" if fn.inverted else "plain dropout: no scaling"
    caption = [
        f"The mask kept {int(mask.sum())} of {mask.size} units: their gradient is multiplied "
        f"by {number(scale)} ({why}), the dropped ones get exactly 0 -- the same mask as in "
        "the forward pass.",
    ]
    grids = [_grid("gradient received", grad), _grid("mask (dark: kept)", mask, is_mask=True),
             _grid("gradient sent to x", dx)]
    return caption, grids


def _explain_batchnorm(fn: BatchNorm, grad: np.ndarray, dx: Optional[np.ndarray]) -> list[str]:
    if dx is None:
        return []
    if not fn.training:
        return ["Evaluation mode: the running mean and variance are constants, so the gradient "
                "reaches x by one path only, through x-hat: dx = g * weight / sqrt(var + eps)."]
    shape = (1, -1) + (1,) * (grad.ndim - 2)
    inv_std = fn.inv_std.reshape(shape)
    x_hat = fn.centered * inv_std
    weight = fn.saved[-1].reshape(shape) if fn.affine else 1.0
    axes = tuple(fn.axes)
    scale = weight * inv_std
    direct = scale * grad
    through_mean = -scale * grad.mean(axis=axes, keepdims=True) * np.ones_like(grad)
    through_var = -scale * x_hat * (grad * x_hat).mean(axis=axes, keepdims=True)
    paths = [("through x-hat (g * weight / std)", direct),
             ("through the mean (-mean(g) * weight / std)", through_mean),
             ("through the variance (-x_hat * mean(g * x_hat) * weight / std)", through_var)]
    lines = ["Training mode: the batch mean and variance depend on x, so dx is the sum of three "
             "paths:"]
    lines += [f"{label}: {grad_summary(part)[5:]}" for label, part in paths]
    gap = float(np.abs(direct + through_mean + through_var - dx).max())
    lines.append(f"sum of the three = dx sent (largest difference {number(gap)}); the mean and "
                 "variance paths remove the part of g that only shifts or rescales the batch.")
    return lines


def _grid(title: str, values: np.ndarray, is_mask: bool = False) -> dict:
    """The top-left corner of a 2-D view of ``values``, for a small table of coloured cells
    (red positive, blue negative, grey zero; a mask dark where kept)."""
    matrix = values.reshape(values.shape[0], -1) if values.ndim > 1 else values.reshape(1, -1)
    corner = matrix[:GRID_ROWS, :GRID_COLUMNS].astype(np.float64)
    return {"title": f"{title} {_shape(values.shape)}" + (
        f", top-left {corner.shape[0]}x{corner.shape[1]}" if corner.shape != matrix.shape
        else ""), "mask": is_mask, "rows": [[float(f"{v:.4g}") for v in row] for row in corner]}


def backward_page(svg: str, frames: list[Frame], root: Optional[str], title: str) -> str:
    """The HTML page: the inline SVG, the frames as JSON, and the script that steps them."""
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE, which HTML does not take
    data = {"root": root, "frames": [asdict(frame) for frame in frames]}
    # NOTE: "</" inside a <script> element would end it early.
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (PAGE.replace("{{title}}", html.escape(title)).replace("{{svg}}", svg)
            .replace("{{frames}}", payload))
