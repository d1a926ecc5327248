"""Saving a drawn graph to a file, with whichever Graphviz renderer is installed.

Renderers are looked for in order: Graphviz's own ``dot`` on ``PATH``, then ``graphviz-pure``
(a self-contained port of the ``dot`` command line, installed by the ``viz`` extra:
``pip install "tinygrad-dropbn[viz]"``). Both take the same command line. Without either, the
DOT source is still written and :class:`RendererNotFoundError` says where and how to get one.
"""
from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .dot import draw_graph

if TYPE_CHECKING:
    from ..tensor import Tensor

RENDERERS = ("dot", "graphviz-pure")
"""Executable names tried in order; each takes ``-T<format>`` and DOT on standard input."""

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".gv": None, ".dot": None}
"""File extension -> Graphviz output format (None: the DOT source itself)."""


class RendererNotFoundError(RuntimeError):
    """No installed renderer can produce the requested format; the DOT source was written.

    Attributes:
        dot_path: the DOT file written instead, to render later.
    """

    def __init__(self, message: str, dot_path: Path) -> None:
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


def render_graph(root: "Tensor", path: Union[str, Path], **options: Any) -> Path:
    """Draw the graph of ``root`` and save it; the format follows the extension.

    ``.svg``, ``.png`` and ``.pdf`` are rendered by the first renderer that can produce them;
    ``.gv`` and ``.dot`` save the DOT source and need no renderer.

    Args:
        root: the tensor to draw back from.
        path: the file to write.
        **options: passed to :func:`draw_graph` (``depth``, ``hide_constants``,
            ``grad_health``, ``rankdir``).

    Returns:
        The path written.

    Raises:
        RendererNotFoundError: no installed renderer supports the format; the DOT source was
            written next to ``path`` with the extension ``.gv``.
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
    return render_source(source, path, fmt)


def render_source(source: str, path: Path, fmt: str) -> Path:
    """Render DOT ``source`` into ``path`` as ``fmt`` with the first renderer that can."""
    renderers = find_renderers()
    unsupported = []
    for renderer in renderers:
        result = subprocess.run([renderer, f"-T{fmt}"], input=source.encode("utf-8"),
                                capture_output=True)
        if result.returncode == 0:
            path.write_bytes(result.stdout)
            return path
        error = result.stderr.decode("utf-8", "replace").strip()
        if "not recognized" not in error:
            raise RuntimeError(f"{Path(renderer).name} failed to render {path}: {error}")
        unsupported.append(Path(renderer).name)
    dot_path = path.with_suffix(".gv")
    dot_path.write_text(source, encoding="utf-8")
    if unsupported:
        problem = (f"the installed renderer(s) ({', '.join(unsupported)}) cannot write "
                   f"{fmt.upper()}")
    else:
        problem = "no Graphviz renderer was found"
    raise RendererNotFoundError(
        f"Cannot render {path}: {problem}. The DOT source was written to {dot_path}. To get a "
        "renderer, either install Graphviz (e.g. `apt-get install graphviz`, `brew install "
        "graphviz`; it provides `dot`, which writes every format) or `pip install "
        "\"tinygrad-dropbn[viz]\"` (the self-contained graphviz-pure renderer, SVG and PNG), "
        f"then render again or run `dot -T{fmt} {dot_path} -o {path}`.", dot_path)
