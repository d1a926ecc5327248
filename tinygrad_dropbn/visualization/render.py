"""Turning DOT source into SVG, PNG or PDF with whichever Graphviz renderer is installed.

Renderers are looked for in order: Graphviz's own ``dot`` on ``PATH``, then ``graphviz-pure``
(a self-contained port of the ``dot`` command line, installed by the ``viz`` extra:
``pip install "tinygrad-dropbn[viz]"``). Both take the same command line. ``graphviz-pure``
writes no PDF, so a PDF is then made from its PNG with Pillow (also in the ``viz`` extra).

Everything that renders goes through :func:`render_dot`: :func:`~.dot.render_graph`, the CLI,
and the ``.pipe()``, ``.render()`` and Jupyter display of the ``Digraph`` that
:func:`~.dot.draw_graph` returns. Without a renderer they raise
:class:`RendererNotFoundError`, which says how to get one.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Optional, Sequence

RENDERERS = ("dot", "graphviz-pure")
"""Executable names tried in order; each takes ``-T<format>`` and DOT on standard input."""

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".gv": None, ".dot": None}
"""File extension -> Graphviz output format (None: the DOT source itself)."""

HOW_TO_GET_ONE = (
    "To get a renderer, either install Graphviz (e.g. `apt-get install graphviz`, "
    "`brew install graphviz`; it provides `dot`, which writes every format) or "
    "`pip install \"tinygrad-dropbn[viz]\"` (the self-contained graphviz-pure renderer, with "
    "Pillow for PDF).")


class RendererNotFoundError(RuntimeError):
    """No installed renderer can produce the requested format.

    Attributes:
        dot_path: the DOT file :func:`~.dot.render_graph` wrote instead, to render later (None when
            nothing was written, as for ``Digraph.pipe()``).
    """

    def __init__(self, message: str, dot_path: Optional[Path] = None) -> None:
        super().__init__(message)
        self.dot_path = dot_path


def find_renderers() -> list[str]:
    """Paths of the installed renderers, best first.

    A renderer counts when it is on ``PATH`` or next to the running Python's scripts (a
    virtual environment that was not activated).
    """
    scripts = sysconfig.get_path("scripts")
    found = []
    for name in RENDERERS:
        path = shutil.which(name) or shutil.which(name, path=scripts)
        if path is not None:
            found.append(path)
    return found


def render_dot(source: str, fmt: str, engine: str = "dot", flags: Sequence[str] = ()) -> bytes:
    """DOT ``source`` rendered as ``fmt`` (``"svg"``, ``"png"``, ``"pdf"``, ...) by the first
    installed renderer that can write it.

    Args:
        source: the DOT text.
        fmt: the output format, as after Graphviz's ``-T``.
        engine: the layout engine (``-K``): ``"dot"``, ``"neato"``, ...
        flags: further command-line flags for the renderer.

    Raises:
        RendererNotFoundError: no installed renderer writes ``fmt``; the message says how to
            get one.
        RuntimeError: the renderer failed (its message is included).
    """
    data = source.encode("utf-8")
    unsupported = []
    for renderer in find_renderers():
        result = subprocess.run([renderer, f"-K{engine}", f"-T{fmt}", *flags], input=data,
                                capture_output=True)
        if result.returncode == 0:
            return result.stdout
        error = result.stderr.decode("utf-8", "replace").strip()
        if "not recognized" not in error:
            raise RuntimeError(f"{Path(renderer).name} failed to render {fmt.upper()}: {error}")
        unsupported.append(Path(renderer).name)
    if fmt == "pdf" and unsupported:
        return _pdf_from_png(render_dot(source, "png", engine, flags), unsupported)
    if unsupported:
        problem = (f"the installed renderer(s) ({', '.join(unsupported)}) cannot write "
                   f"{fmt.upper()}")
    else:
        problem = "no Graphviz renderer was found (neither `dot` nor `graphviz-pure`)"
    raise RendererNotFoundError(f"Cannot render {fmt.upper()}: {problem}. {HOW_TO_GET_ONE}")


def _pdf_from_png(png: bytes, unsupported: list[str]) -> bytes:
    """A one-page PDF of a PNG, for a renderer that writes PNG but not PDF."""
    try:
        from PIL import Image
    except ImportError:
        raise RendererNotFoundError(
            f"Cannot render PDF: {', '.join(unsupported)} writes no PDF, and making one from "
            "its PNG needs Pillow, which is not installed. Either `pip install pillow` (or "
            "`pip install \"tinygrad-dropbn[viz]\"`, which includes it) or install Graphviz "
            "(e.g. `apt-get install graphviz`, `brew install graphviz`), whose `dot` writes "
            "PDF itself.") from None
    out = io.BytesIO()
    # NOTE: Graphviz lays PNGs out at 96 pixels per inch; the PDF page keeps that size.
    Image.open(io.BytesIO(png)).convert("RGB").save(out, format="PDF", resolution=96.0)
    return out.getvalue()
