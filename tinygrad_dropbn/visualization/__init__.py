"""Drawing the computation graph.

* :func:`draw_graph` -- a ``graphviz.Digraph`` (DOT source; ``.pipe()``, ``.render()`` and the
  inline display in Jupyter use Graphviz's ``dot`` or, without it, the ``graphviz-pure``
  renderer, ``pip install "tinygrad-dropbn[viz]"``);
* :func:`render_graph` -- save straight to ``.svg``, ``.png``, ``.pdf``, ``.gv`` or ``.dot``;
* :func:`graph_text` -- the same graph as an indented plain-text tree;
* :func:`render_backward` -- run the backward pass and write an HTML page that replays it,
  one frame per op;
* :func:`record_graph` -- a context manager (and decorator) that records, as small summaries,
  what the engine does not keep: the modules that ran each op, the backward order, the
  gradients of intermediate results and the values of tensors a backward pass releases.

Only rendering needs a renderer: building the DOT source and the text works everywhere, and
``graphviz`` is imported only when a graph is drawn.
"""
from .backward import render_backward
from .dot import draw_graph, render_graph
from .graph import Cluster, Graph, Node, build_graph
from .record import GraphRecording, OpRecord, is_recording, op_record, record_graph
from .render import RendererNotFoundError, find_renderers, render_dot
from .summary import GradSummary, TensorSummary
from .text import graph_text

__all__ = ["Cluster", "Graph", "GraphRecording", "GradSummary", "Node", "OpRecord",
           "RendererNotFoundError", "TensorSummary", "build_graph", "draw_graph",
           "find_renderers", "graph_text", "is_recording", "op_record", "record_graph",
           "render_backward", "render_dot", "render_graph"]
