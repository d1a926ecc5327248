"""Rendering a drawn graph: one renderer discovery for render_graph and for the Digraph's
.pipe(), .render() and notebook display; SVG, PNG and PDF with Graphviz's dot or with the
pip-only graphviz-pure; a clear error without either."""
import re
import shutil
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn.visualization import RendererNotFoundError, render

PDF, PNG = b"%PDF", b"\x89PNG"


def affine_relu():
    """mean(relu(x @ W + b)), forward and backward recorded: 4 ops, 7 tensors."""
    tg.manual_seed(0)
    x = tg.randn(4, 3)
    weight = tg.Tensor(tg.randn(3, 2).numpy(), requires_grad=True, name="W")
    bias = tg.Tensor(np.zeros(2, np.float32), requires_grad=True, name="b")
    with tg.record_graph():
        loss = (x @ weight + bias).relu().mean()
        loss.backward()
    return loss


@pytest.fixture
def pip_renderer_only(tmp_path, monkeypatch):
    """``dot`` removed from PATH: the only renderer left is graphviz-pure, found next to the
    running Python as a pip install puts it."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    if shutil.which("dot", path=sysconfig.get_path("scripts")):
        pytest.skip("dot sits next to Python's scripts, so removing it from PATH hides nothing")
    found = render.find_renderers()
    if not found:
        pytest.skip("graphviz-pure (the viz extra) is not installed")
    assert [Path(p).name for p in found] == ["graphviz-pure"]


@pytest.fixture
def no_renderer(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in
                        render.RENDERERS else real_which(name, *a, **k))


def svg_titles(svg: str) -> set:
    return set(re.findall(r"<title>([^<]*)</title>", svg))


def test_dot_is_preferred_and_svg_has_the_node_ids_as_titles(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    assert Path(render.find_renderers()[0]).name == "dot"
    path = tg.render_graph(affine_relu(), tmp_path / "graph.svg", grad_health=True)
    svg = path.read_text()
    assert path == tmp_path / "graph.svg" and "graphviz-pure" not in svg
    assert {"op0", "op3", "t0", "t6", "t0&#45;&gt;op0"} <= svg_titles(svg)
    assert "backward #0" in svg and not (tmp_path / "graph.gv").exists()


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", PNG), (".pdf", PDF)])
def test_render_graph_writes_every_format_with_only_the_pip_renderer(
        pip_renderer_only, tmp_path, suffix, magic):
    if suffix == ".pdf":
        pytest.importorskip("PIL", reason="graphviz-pure's PDF is made with Pillow (viz extra)")
    path = tg.render_graph(affine_relu(), tmp_path / f"graph{suffix}")
    data = path.read_bytes()
    assert data.startswith(magic) and len(data) > 1000
    if suffix == ".svg":
        assert b"graphviz-pure" in data and "op3" in svg_titles(data.decode())


def test_notebook_display_works_with_only_the_pip_renderer(pip_renderer_only):
    formatter = pytest.importorskip("IPython.core.formatters")
    dot = tg.draw_graph(affine_relu())
    assert isinstance(dot, __import__("graphviz").Digraph)
    # What Jupyter does with the cell's value: the display formatter asks for each mimetype.
    data, _ = formatter.DisplayFormatter().format(dot)
    svg = data["image/svg+xml"]
    assert "graphviz-pure" in svg and {"op0", "t6"} <= svg_titles(svg)
    assert dot._repr_svg_() == svg
    assert dot._repr_mimebundle_(include=["image/png"])["image/png"].startswith(PNG)


def test_pipe_and_render_work_with_only_the_pip_renderer(pip_renderer_only, tmp_path):
    pytest.importorskip("PIL", reason="graphviz-pure's PDF is made with Pillow (viz extra)")
    dot = tg.draw_graph(affine_relu())
    assert dot.pipe(format="svg", encoding="utf-8").startswith("<?xml")
    assert dot.pipe(format="png").startswith(PNG)
    assert dot.pipe(format="pdf").startswith(PDF)
    written = dot.render(tmp_path / "graph", format="png")
    assert written.endswith("graph.png") and Path(written).read_bytes().startswith(PNG)
    assert (tmp_path / "graph").read_text() == dot.source  # the source is saved, as upstream
    outfile = dot.render(outfile=tmp_path / "out.pdf")
    assert Path(outfile).read_bytes().startswith(PDF)


def test_pdf_without_pillow_names_the_missing_piece(pip_renderer_only, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import Image` now fails
    loss = affine_relu()
    with pytest.raises(RendererNotFoundError, match="needs Pillow") as error:
        tg.render_graph(loss, tmp_path / "graph.pdf")
    assert "pip install pillow" in str(error.value) and "apt-get install graphviz" in str(
        error.value)
    assert not (tmp_path / "graph.pdf").exists()
    assert error.value.dot_path.read_text() == tg.draw_graph(loss).source
    with pytest.raises(RendererNotFoundError, match="needs Pillow"):
        tg.draw_graph(loss).pipe(format="pdf")
    assert tg.render_graph(loss, tmp_path / "graph.png").read_bytes().startswith(PNG)


def test_without_a_renderer_render_graph_writes_the_dot_file_and_says_how_to_get_one(
        no_renderer, tmp_path):
    loss = affine_relu()
    with pytest.raises(RendererNotFoundError) as error:
        tg.render_graph(loss, tmp_path / "graph.svg")
    message = str(error.value)
    assert str(tmp_path / "graph.gv") in message
    assert "apt-get install graphviz" in message
    assert 'pip install "tinygrad-dropbn[viz]"' in message
    assert error.value.dot_path.read_text() == tg.draw_graph(loss).source
    assert not (tmp_path / "graph.svg").exists()
    for suffix in (".gv", ".dot"):  # DOT output needs no renderer
        written = tg.render_graph(loss, tmp_path / f"source{suffix}")
        assert written.read_text() == tg.draw_graph(loss).source


def test_without_a_renderer_display_pipe_and_render_raise_one_clear_error(no_renderer,
                                                                            tmp_path):
    dot = tg.draw_graph(affine_relu())
    calls = [dot._repr_mimebundle_, dot._repr_svg_, lambda: dot.pipe(format="svg"),
             lambda: dot.render(tmp_path / "graph", format="svg")]
    for call in calls:
        with pytest.raises(RendererNotFoundError) as error:
            call()
        message = str(error.value)
        assert "neither `dot` nor `graphviz-pure`" in message
        assert "apt-get install graphviz" in message
        assert 'pip install "tinygrad-dropbn[viz]"' in message
    assert not (tmp_path / "graph.svg").exists()


def test_a_renderer_failure_is_reported_not_hidden(tmp_path):
    if not render.find_renderers():
        pytest.skip("neither Graphviz dot nor graphviz-pure is installed")
    with pytest.raises(RuntimeError, match="failed to render SVG"):
        render.render_dot("digraph { a -> }", "svg")


def test_an_unknown_extension_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"use one of \.svg, \.png, \.pdf"):
        tg.render_graph(affine_relu(), tmp_path / "graph.jpg")
