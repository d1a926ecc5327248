"""Drawing the computation graph.

* :func:`draw_graph` -- a ``graphviz.Digraph`` (DOT source; rendered and shown inline in Jupyter
  when Graphviz is installed);
* :func:`render_graph` -- save straight to ``.svg``, ``.png``, ``.pdf``, ``.gv`` or ``.dot``, with
  Graphviz's ``dot`` or the ``graphviz-pure`` renderer (``pip install "tinygrad-dropbn[viz]"``);
* :func:`graph_text` -- the same graph as an indented plain-text tree.

Only rendering needs a renderer: building the DOT source and the text works everywhere.
"""
from .dot import draw_graph
from .graph import Cluster, Graph, Node, build_graph
from .render import RendererNotFoundError, find_renderers, render_graph
from .text import graph_text

__all__ = ["Cluster", "Graph", "Node", "RendererNotFoundError", "build_graph", "draw_graph",
           "find_renderers", "graph_text", "render_graph"]
