"""Regenerate the computation-graph pictures in docs/images/ used by docs/visualization.md.

A small MLP -- Linear, BatchNorm1d, ReLU, Dropout, Linear, then cross-entropy -- drawn in
training and in evaluation mode, before and after ``backward()``, plus a collapsed view and the
text rendering; the graph of a gradient recorded with ``create_graph=True``; and the backward
step-through page of the same MLP (``tg.render_backward``) with screenshots of two of its
frames, taken by headless Chromium when it is installed. Each forward and backward pass runs
inside ``tg.record_graph()``, which notes the module clusters, the backward order and the
gradient summaries the pictures show.

Run:  python docs/make_graph_images.py   (needs Graphviz ``dot`` or ``pip install -e ".[viz]"``;
      Chromium for the screenshots)
"""
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn

IMAGES = Path(__file__).resolve().parent / "images"


def forward(model: nn.Sequential, training: bool) -> tg.Tensor:
    """The loss of one fixed batch of 8 points, with the model in the given mode."""
    tg.manual_seed(1)
    x = tg.randn(8, 2)
    x.name = "x"
    target = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model.train(training)
    return nn.CrossEntropyLoss()(model(x), target)


def double_backward() -> Path:
    """The graph that ``grad(tanh(x), x, create_graph=True)`` records: its backward pass,
    ``1 * (1 - out * out)``, built on the forward's own tanh node (docs/autograd.md)."""
    x = tg.Tensor([0.5], dtype=np.float64, requires_grad=True, name="x")
    y = x.tanh()
    (dy,) = tg.autograd.grad(y, x, create_graph=True)
    dy.name = "dy/dx"
    return tg.render_graph(dy, IMAGES / "double-backward.png")


def backward_steps(model: nn.Sequential) -> list[Path]:
    """The step-through page of one training step, and screenshots of its dropout and batch
    norm frames (steps 3 and 5: the sweep visits the loss, the last Linear, then Dropout)."""
    with tg.record_graph():
        loss = forward(model, training=True)
    page = tg.render_backward(loss, IMAGES / "backward-steps.html")
    written = [page]
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                   "google-chrome"))), None)
    if browser is None:
        print("Chromium not found: the step-through screenshots were not taken")
        return written
    for step, name in ((2, "dropout"), (4, "batchnorm")):
        shot = IMAGES / f"backward-step-{name}.png"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                            "--hide-scrollbars", "--window-size=1400,940",
                            "--virtual-time-budget=3000", f"--user-data-dir={profile}",
                            f"--screenshot={shot}", f"{page.as_uri()}#step={step}"],
                           check=True, capture_output=True, timeout=120)
        written.append(shot)
    return written


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(16, 3))
    written = []
    for mode, training in (("train", True), ("eval", False)):
        # Recorded: module clusters, the backward order and every gradient summary are drawn,
        # also after backward() released the graph.
        with tg.record_graph():
            loss = forward(model, training)
            written.append(tg.render_graph(loss, IMAGES / f"graph-{mode}-before-backward.svg"))
            loss.backward()
        written.append(tg.render_graph(loss, IMAGES / f"graph-{mode}-after-backward.svg",
                                       grad_health=True))
        if training:
            written.append(tg.render_graph(loss, IMAGES / "graph-train-after-backward.png",
                                           grad_health=True))
            written.append(tg.render_graph(loss, IMAGES / "graph-train-depth1.svg", depth=1))
            text = IMAGES / "graph-train-after-backward.txt"
            text.write_text(tg.graph_text(loss), encoding="utf-8")
            written.append(text)
        model.zero_grad()
    written.append(double_backward())
    written.extend(backward_steps(model))
    for path in written:
        print(path.relative_to(IMAGES.parent.parent))


if __name__ == "__main__":
    main()
