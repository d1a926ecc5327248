"""tg.render_backward: the page replaying the backward sweep, frame by frame, checked from its
data and in a real (headless) browser."""
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn import engine
from tinygrad_dropbn.models import mlp
from tinygrad_dropbn.visualization import render

pytestmark = pytest.mark.skipif(not render.find_renderers(),
                                reason="the page's inline SVG needs a Graphviz renderer")


def frames_of(page) -> list:
    text = page.read_text(encoding="utf-8")
    payload = re.search(r'<script id="frames" type="application/json">(.*?)</script>', text,
                        flags=re.S).group(1)
    return json.loads(payload)["frames"]


def mlp_step(training=True, batch=8):
    """The docs' MLP on a batch, the forward pass recorded: (model, loss)."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(16, 3))
    model.train(training)
    x = tg.randn(batch, 2)
    with tg.record_graph():
        loss = nn.CrossEntropyLoss()(model(x), np.arange(batch) % 3)
    return model, loss


def test_one_frame_per_op_in_the_engines_visiting_order(tmp_path):
    _, loss = mlp_step()
    visited = [fn.name for fn in engine.topological_order(loss)]
    frames = frames_of(tg.render_backward(loss, tmp_path / "backward.html"))
    assert [f["title"] for f in frames] == visited
    assert [f["step"] for f in frames] == list(range(6))
    assert [f["op"] for f in frames] == ["op5", "op4", "op3", "op2", "op1", "op0"]
    assert frames[0]["received"] == "grad 1" and frames[0]["shape"] == "scalar"
    # What an op receives is what its consumer sent to its output.
    for consumer, producer in zip(frames, frames[1:]):
        to_output = [s for s in consumer["sent"] if s["to"] == producer["output"]]
        assert [s["grad"] for s in to_output] == [producer["received"]]


def test_it_is_the_backward_pass(tmp_path):
    model, loss = mlp_step()
    twin, twin_loss = mlp_step()  # the same seed: the same weights, batch and dropout mask
    twin_loss.backward()
    tg.render_backward(loss, tmp_path / "backward.html")
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy(), err_msg=name)
    with pytest.raises(RuntimeError, match="instead of loss.backward"):
        tg.render_backward(loss, tmp_path / "again.html")  # the graph is released now


def test_fan_out_shows_each_contribution_and_the_running_sum(tmp_path):
    x = tg.Tensor([1.0, -2.0], requires_grad=True, name="x")
    loss = (x * 2.0 + x * 3.0).sum()
    frames = frames_of(tg.render_backward(loss, tmp_path / "backward.html"))
    to_x = [s for frame in frames for s in frame["sent"] if s["name"].startswith("x")]
    assert [(s["arrived"], s["expected"]) for s in to_x] == [(1, 2), (2, 2)]
    assert {s["grad"] for s in to_x} == {"grad [2, 2]", "grad [3, 3]"}
    assert to_x[1]["total"] == "grad [5, 5]" == f"grad [{x.grad.numpy()[0]:.4g}, 5]"
    only = [s for frame in frames for s in frame["sent"] if not s["name"].startswith("x")]
    assert all(s["expected"] == 1 and s["total"] is None for s in only)


def test_broadcast_gradients_are_shown_unbroadcast_as_the_engine_adds_them(tmp_path):
    x = tg.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    b = tg.Tensor([1.0, 2.0], requires_grad=True, name="b")
    frames = frames_of(tg.render_backward((x + b).sum(), tmp_path / "backward.html"))
    to_b = [s for s in frames[1]["sent"] if s["name"].startswith("b")]
    assert to_b[0]["shape"] == "(2,)" and to_b[0]["grad"] == "grad [3, 3]"


def test_the_dropout_frame_shows_the_mask_and_its_effect(tmp_path):
    _, loss = mlp_step()
    drop = next(fn for fn in engine.topological_order(loss) if type(fn).__name__ == "Drop")
    frames = frames_of(tg.render_backward(loss, tmp_path / "backward.html"))
    frame = next(f for f in frames if f["title"].startswith("Drop"))
    assert f"kept {drop.kept} of {drop.total} units" in frame["caption"][0]
    assert "multiplied by 2" in frame["caption"][0]
    received, mask, sent = (np.array(g["rows"]) for g in frame["grids"])
    assert frame["grids"][1]["mask"] and set(np.unique(mask)) <= {0, 1}
    np.testing.assert_allclose(sent, np.where(mask == 1, 2 * received, 0), rtol=1e-3)


def test_the_batchnorm_frame_shows_its_three_gradient_paths(tmp_path):
    _, loss = mlp_step()
    frames = frames_of(tg.render_backward(loss, tmp_path / "backward.html"))
    caption = " ".join(next(f for f in frames if f["title"].startswith("BatchNorm"))["caption"])
    for path in ("through x-hat", "through the mean", "through the variance"):
        assert path in caption
    gap = float(re.search(r"largest difference (\S+)\)", caption).group(1))
    assert gap < 1e-5  # the three paths add up to the gradient the op sent


def test_eval_mode_captions_say_what_changes(tmp_path):
    _, loss = mlp_step(training=False)
    frames = frames_of(tg.render_backward(loss, tmp_path / "backward.html"))
    captions = {f["title"].split()[0]: " ".join(f["caption"]) for f in frames}
    assert "one path only, through x-hat" in captions["BatchNorm"]
    assert "no mask" in captions["Drop"] and not [f for f in frames if f["grids"]]


def test_a_single_op_works(tmp_path):
    x = tg.Tensor([3.0], requires_grad=True, name="x")
    frames = frames_of(tg.render_backward(x.sum(), tmp_path / "backward.html"))
    assert len(frames) == 1 and frames[0]["sent"][0]["grad"] == "grad [1]"


def test_the_page_is_self_contained_and_small_for_the_cli_default_model(tmp_path):
    tg.manual_seed(0)
    model = mlp(2, [64, 64], 3, dropout=0.1)  # the CLI's default model, at its batch size 32
    with tg.record_graph():
        loss = nn.CrossEntropyLoss()(model(tg.randn(32, 2)), np.arange(32) % 3)
    page = tg.render_backward(loss, tmp_path / "backward.html")
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size < 3_000_000
    assert len(frames_of(page)) == 10  # 3 Linear, 2 BatchNorm, 2 ReLU, 2 Dropout, the loss
    assert "<svg" in text and "<script src" not in text and "<link" not in text
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls


def test_unknown_options_are_rejected(tmp_path):
    x = tg.Tensor([3.0], requires_grad=True)
    with pytest.raises(TypeError, match="unexpected option"):
        tg.render_backward(x.sum(), tmp_path / "backward.html", grad_health=True)
    assert x.grad is None and not (tmp_path / "backward.html").exists()


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")


def browse(browser, page, step, tmp_path, action):
    """Run headless Chromium on ``page#step=k``: ``--screenshot`` (a PNG path) or
    ``--dump-dom`` (the DOM after the script ran)."""
    url = page.resolve().as_uri() + f"#step={step}"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1400,1000", "--virtual-time-budget=3000",
             f"--user-data-dir={tmp_path / 'profile'}"]
    if action == "dom":
        result = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True,
                                text=True, timeout=120)
        return result.stdout
    shot = tmp_path / f"step{step}.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", url], capture_output=True,
                   timeout=120)
    return shot


def highlighted(dom: str) -> list:
    """The titles of the SVG nodes the page marked as the op being processed."""
    return re.findall(r'<g id="\w+" class="node current"[^>]*>\s*<title>([^<]*)</title>', dom)


def test_a_browser_renders_the_page_and_stepping_moves_the_highlight(tmp_path):
    browser = chromium()
    image = pytest.importorskip("PIL.Image")
    _, loss = mlp_step()
    page = tg.render_backward(loss, tmp_path / "backward.html")
    frames = frames_of(page)
    first, later = browse(browser, page, 0, tmp_path, "dom"), browse(browser, page, 3, tmp_path,
                                                                        "dom")
    assert highlighted(first) == [frames[0]["op"]] and highlighted(later) == [frames[3]["op"]]
    assert "step 4 of 6" in later and frames[3]["title"] in later
    # Not reached yet at step 0: every op but the loss's.
    assert len(re.findall(r'class="node unreached"', first)) > len(
        re.findall(r'class="node unreached"', later))
    shots = [np.asarray(image.open(browse(browser, page, k, tmp_path, "png")).convert("L"),
                        dtype=np.float64) for k in (0, 3)]
    for shot in shots:
        assert shot.shape == (1000, 1400) and shot.std() > 10  # not a blank page
    assert np.abs(shots[0] - shots[1]).mean() > 0.5  # stepping changed what is drawn


def test_collapsed_modules_stand_for_their_ops_and_name_their_parameters(tmp_path):
    tg.manual_seed(0)
    deep = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU())
                           for _ in range(40)])
    with tg.record_graph():
        loss = deep(tg.randn(8, 4)).sum()
    frames = frames_of(tg.render_backward(loss, tmp_path / "backward.html"))
    assert len(frames) == 121  # every op has its frame, though 120 modules are single boxes
    assert {f["op"] for f in frames[1:]} == {f"m{i}" for i in range(120)}
    names = {s["name"] for f in frames for s in f["sent"]}
    assert {"39.0.weight", "39.1.bias", "0.0.weight"} <= names


def test_without_a_renderer_it_raises_before_running_the_backward_pass(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in
                        render.RENDERERS else real_which(name, *a, **k))
    x = tg.Tensor([3.0], requires_grad=True)
    loss = (x * x).sum()
    with pytest.raises(render.RendererNotFoundError, match="graphviz-pure"):
        tg.render_backward(loss, tmp_path / "backward.html")
    assert x.grad is None and not (tmp_path / "backward.html").exists()
    loss.backward()  # the graph is intact
    assert x.grad.numpy().tolist() == [6.0]
