"""The ``graphviz.Digraph`` that :func:`~.dot.draw_graph` returns, rendering with whichever
renderer is installed.

``graphviz.Digraph`` runs Graphviz's ``dot`` for ``.pipe()``, ``.render()`` and the Jupyter
display, and fails without it even when ``graphviz-pure`` is installed. :class:`AnyRenderer`
sends all three through :func:`~.render.render_dot`, the renderer discovery every entry point
shares. ``graphviz`` is imported only when a graph is drawn, so the ``Digraph`` subclass,
``GraphDrawing``, is put together then, by :func:`drawing_class`.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from .render import render_dot


class AnyRenderer:
    """What ``GraphDrawing`` adds to ``graphviz.Digraph``: ``.pipe()``, ``.render()`` and the
    notebook display (``_repr_mimebundle_``, ``_repr_svg_``) use Graphviz's ``dot`` when it is
    installed and the ``viz`` extra's ``graphviz-pure`` otherwise; with neither they raise
    :class:`~.render.RendererNotFoundError`, naming both ways to get one."""

    # NOTE: graphviz routes pipe(), render() and the Jupyter display through these three
    # hooks (properties upstream, "to simplify mocking"); overriding them keeps every public
    # behaviour -- saving the source, cleanup, view, encodings -- and changes only who renders.
    def _pipe_lines(self, engine: str, format: str, input_lines: Iterator[str], *,
                    input_encoding: str, renderer: Optional[str] = None,
                    formatter: Optional[str] = None, neato_no_op: Union[bool, int, None] = None,
                    quiet: bool = False) -> bytes:
        return render_dot("".join(input_lines), _output_format(format, renderer, formatter),
                          engine, _no_op_flags(neato_no_op))

    def _pipe_lines_string(self, engine: str, format: str, input_lines: Iterator[str], *,
                           encoding: str, **options: Any) -> str:
        return self._pipe_lines(engine, format, input_lines, input_encoding=encoding,
                                **options).decode(encoding)

    def _render(self, engine: str, format: str, filepath: Union[str, os.PathLike],
                renderer: Optional[str] = None, formatter: Optional[str] = None,
                neato_no_op: Union[bool, int, None] = None, quiet: bool = False, *,
                outfile: Union[str, os.PathLike, None] = None,
                raise_if_result_exists: bool = False, overwrite_filepath: bool = False) -> str:
        import graphviz

        filepath = Path(filepath)
        fmt = _output_format(format, renderer, formatter)
        if outfile is None:  # graphviz's naming: graph.gv -> graph.gv.svg
            outfile = filepath.with_name(f"{filepath.name}.{fmt.replace(':', '.')}")
        outfile = Path(outfile)
        if outfile.resolve() == filepath.resolve() and not overwrite_filepath:
            raise ValueError(f"outfile {outfile.name!r} must be different from input file "
                             f"{filepath.name!r} (pass overwrite_source=True to override)")
        if raise_if_result_exists and outfile.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(outfile)!r}")
        source = filepath.read_text(encoding=self.encoding)
        outfile.write_bytes(render_dot(source, fmt, engine, _no_op_flags(neato_no_op)))
        return os.fspath(outfile)

    def _repr_svg_(self) -> str:
        """The drawing as SVG text, for notebook front ends that ask for ``_repr_svg_``."""
        return self._repr_image_svg_xml()


@functools.lru_cache(maxsize=None)
def drawing_class() -> type:
    """``GraphDrawing``: ``graphviz.Digraph`` with :class:`AnyRenderer`'s rendering."""
    import graphviz

    return type("GraphDrawing", (AnyRenderer, graphviz.Digraph),
                {"__module__": __name__, "__doc__": AnyRenderer.__doc__})


def _output_format(format: str, renderer: Optional[str], formatter: Optional[str]) -> str:
    """Graphviz's ``-T`` value: ``svg``, or ``png:cairo`` with a renderer."""
    return ":".join(part for part in (format, renderer, formatter) if part is not None)


def _no_op_flags(neato_no_op: Union[bool, int, None]) -> tuple[str, ...]:
    return (f"-n{neato_no_op:d}",) if neato_no_op else ()
