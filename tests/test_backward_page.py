"""tg.render_backward: the page replaying the backward sweep, frame by frame, checked from its
data and in a real (headless) browser."""
import base64
import io
import json
import os
import re
import shutil
import subprocess
import time

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


class Browser:
    """Headless Chromium driven through the DevTools protocol on a pipe
    (``--remote-debugging-pipe``: JSON messages ending in a NUL byte, read by the browser on
    file descriptor 3 and written on 4), so a test presses keys and buttons as a user would."""

    def __init__(self, executable: str, profile) -> None:
        to_browser, self.to_browser = os.pipe()
        self.from_browser, from_browser = os.pipe()

        def on_descriptors_3_and_4():
            ours = os.dup(to_browser), os.dup(from_browser)  # out of the way of 3 and 4
            os.dup2(ours[0], 3)
            os.dup2(ours[1], 4)

        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1400,1000",
             "about:blank"], close_fds=False, preexec_fn=on_descriptors_3_and_4,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self.pending, self.last_id, self.session = b"", 0, None

    def call(self, method: str, **params):
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.pending:
                chunk = os.read(self.from_browser, 1 << 16)
                assert chunk, "the browser exited"
                self.pending += chunk
            raw, _, self.pending = self.pending.partition(b"\0")
            reply = json.loads(raw)
            if reply.get("id") == self.last_id:
                assert "error" not in reply, reply["error"]
                return reply["result"]

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        deadline = time.monotonic() + 60
        while not self.evaluate("document.readyState == 'complete' && "
                                "!!document.querySelector('g.current')"):
            assert time.monotonic() < deadline, "the page did not finish loading"
            time.sleep(0.1)

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")

    def press(self, key: str, code: int) -> None:
        self.call("Input.dispatchKeyEvent", type="keyDown", key=key, code=key,
                  windowsVirtualKeyCode=code)

    def screenshot(self, image_module) -> np.ndarray:
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        return np.asarray(image_module.open(io.BytesIO(png)).convert("L"), dtype=np.float64)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        os.close(self.to_browser)
        os.close(self.from_browser)


CURRENT = "document.querySelector('g.node.current title').textContent"


@pytest.fixture
def browser(tmp_path):
    session = Browser(chromium(), tmp_path / "profile")
    yield session
    session.close()


def test_a_browser_renders_the_page_and_stepping_moves_the_highlight(browser, tmp_path):
    image = pytest.importorskip("PIL.Image")
    _, loss = mlp_step()
    page = tg.render_backward(loss, tmp_path / "backward.html")
    frames = frames_of(page)
    browser.open(page.resolve().as_uri())
    first = browser.screenshot(image)
    assert browser.evaluate(CURRENT) == frames[0]["op"]
    unreached_at_start = browser.evaluate("document.querySelectorAll('g.unreached').length")
    for _ in range(3):
        browser.press("ArrowRight", 39)
    assert browser.evaluate(CURRENT) == frames[3]["op"]
    assert browser.evaluate("document.getElementById('counter').textContent") == "step 4 of 6"
    assert frames[3]["title"] in browser.evaluate("document.getElementById('frame').textContent")
    assert browser.evaluate("document.querySelectorAll('g.unreached').length") < \
        unreached_at_start
    later = browser.screenshot(image)
    for shot in (first, later):
        assert shot.shape[1] == 1400 and shot.shape[0] > 600  # the window, less its frame
        assert shot.std() > 10  # not a blank page
    assert np.abs(first - later).mean() > 0.5  # stepping changed what is drawn
    browser.evaluate("document.getElementById('next').click()")
    assert browser.evaluate(CURRENT) == frames[4]["op"]
    browser.press("ArrowLeft", 37)
    assert browser.evaluate(CURRENT) == frames[3]["op"]
    browser.evaluate("var s = document.getElementById('slider'); s.value = 5; "
                     "s.dispatchEvent(new Event('input'))")
    assert browser.evaluate(CURRENT) == frames[5]["op"]
    assert browser.evaluate("location.hash") == "#step=5"
    browser.press("ArrowRight", 39)  # past the last frame: stays there
    assert browser.evaluate(CURRENT) == frames[5]["op"]


def test_the_address_opens_a_frame(browser, tmp_path):
    _, loss = mlp_step()
    page = tg.render_backward(loss, tmp_path / "backward.html")
    browser.open(page.resolve().as_uri() + "#step=2")
    assert browser.evaluate(CURRENT) == frames_of(page)[2]["op"]
    assert "kept" in browser.evaluate("document.querySelector('.caption').textContent")
    assert browser.evaluate("document.querySelectorAll('.grid td').length") == 3 * 8 * 16


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
