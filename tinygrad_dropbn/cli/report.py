"""What the command line shows and draws: progress bars, training curves, decision boundaries
and computation graphs.

Progress bars (tqdm) and plots (matplotlib) are optional, from the ``train`` extra: without them
training runs all the same, and the notes returned here say what was skipped and how to get it.
Figures are drawn on a bare ``matplotlib.figure.Figure`` (no pyplot), so nothing here changes
matplotlib's global state or needs a display.
"""
from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

import tinygrad_dropbn as tg
from .. import nn
from ..visualization import RendererNotFoundError
from .models import CLIError, Problem, TrainConfig

TRAIN_EXTRA_HINT = "pip install 'tinygrad-dropbn[train]'"
GRAPH_MODES = {"train": "training", "eval": "evaluation"}
"""Model modes a graph can be drawn in, with the words used in labels."""
BOUNDARY_GRID = 300
"""Points per axis of the grid a decision boundary is evaluated on."""


@dataclasses.dataclass
class Report:
    """Files written (label, path) and notes about what was skipped."""

    files: list[tuple[str, Path]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def extend(self, other: "Report") -> None:
        self.files += other.files
        self.notes += other.notes


class Progress:
    """One progress bar per epoch with the running loss and accuracy (or a line per epoch).

    With tqdm installed each epoch gets a bar over its batches that stays on screen, ending
    with the epoch's evaluation-mode test figures; without it one line per epoch is printed;
    with ``quiet`` nothing is shown.
    """

    def __init__(self, epochs: int, batches: int, quiet: bool,
                 say: Callable[[str], None]) -> None:
        self.epochs = epochs
        self.batches = batches
        self.quiet = quiet
        self.say = say
        self.notes: list[str] = []
        self.epoch = 0
        self._tqdm: Any = None
        self._bar: Any = None
        if not quiet:
            try:
                from tqdm import tqdm
            except ImportError:
                self.notes.append("tqdm is not installed: printing one line per epoch instead "
                                  f"of progress bars ({TRAIN_EXTRA_HINT})")
            else:
                self._tqdm = tqdm

    def on_batch(self, loss: float, accuracy: Optional[float]) -> None:
        """After every batch: open this epoch's bar if needed and show the running figures."""
        if self._tqdm is None:
            return
        if self._bar is None:
            self.epoch += 1
            width = len(str(self.epochs))
            self._bar = self._tqdm(total=self.batches, unit="batch", leave=True,
                                   desc=f"epoch {self.epoch:>{width}}/{self.epochs}",
                                   dynamic_ncols=True)
        self._bar.set_postfix_str(_running_text(loss, accuracy), refresh=False)
        self._bar.update()

    def close(self) -> None:
        """Close the open bar, if any."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def finish_epoch(self, row: dict[str, float]) -> None:
        """Add the epoch's evaluation-mode test figures to its bar, or print its line."""
        running = _running_text(row["running_loss"], row.get("running_accuracy"))
        test = _running_text(row["test_loss"], row.get("test_accuracy"))
        if self._bar is not None:
            self._bar.set_postfix_str(f"{running} | test {test}")
            self.close()
        elif not self.quiet:
            width = len(str(self.epochs))
            self.say(f"epoch {int(row['epoch']):>{width}}/{self.epochs}  {running} | test {test}")


def write_figures(run_dir: Path, model: nn.Module, loss_fn: nn.Module, problem: Problem,
                  history: list[dict[str, float]], config: TrainConfig) -> Report:
    """Write the curves, the decision boundary (2-D inputs) and the two computation graphs as
    SVG and PNG (as plain text, with a note, when Graphviz is missing)."""
    report = Report()
    figure = _figure_class()
    if figure is None:
        report.notes.append("matplotlib is not installed: skipped the training curves and the "
                            f"decision boundary ({TRAIN_EXTRA_HINT})")
    else:
        path = run_dir / "curves.png"
        plot_curves(figure, history, problem.is_classification, config.dataset, path)
        report.files.append(("training curves", path))
        if problem.is_classification and problem.in_features == 2:
            path = run_dir / "decision-boundary.png"
            plot_decision_boundary(figure, model, problem, config.dataset, path)
            report.files.append(("decision boundary", path))
        elif not problem.is_classification and problem.in_features == 1:
            path = run_dir / "fit.png"
            plot_fit(figure, model, problem, config.dataset, path)
            report.files.append(("fitted curve", path))
    x, y = problem.train.tensors
    batch = min(config.batch_size, len(x))
    for fmt in ("svg", "png"):
        try:
            report.extend(draw_graphs(model, loss_fn, x[:batch], y[:batch], run_dir, fmt))
        except CLIError as err:
            for mode in GRAPH_MODES:
                label = f"graph ({GRAPH_MODES[mode]})"
                with unchanged(model):
                    loss = graph_of(model, loss_fn, x[:batch], y[:batch], mode)
                    dot = tg.render_graph(loss, run_dir / f"graph-{mode}.gv")
                    text = run_dir / f"graph-{mode}.txt"
                    text.write_text(tg.graph_text(loss) + "\n")
                report.files += [(label + " DOT", dot), (label + " text", text)]
            report.notes.append(f"{err} The graphs were written as DOT and plain text instead.")
            break
    return report


def draw_graphs(model: nn.Module, loss_fn: nn.Module, x: tg.Tensor, y: tg.Tensor,
                out_dir: Path, fmt: str, modes: Sequence[str] = ("train", "eval")) -> Report:
    """Render the graph of ``loss_fn(model(x), y)`` once per mode, as ``graph-<mode>.<fmt>``
    with :func:`tg.render_graph <tinygrad_dropbn.render_graph>`.

    Raises:
        CLIError: no renderer for ``fmt`` (nothing but the DOT source is written), or the
            renderer failed.
    """
    report = Report()
    for mode in modes:
        with unchanged(model):
            loss = graph_of(model, loss_fn, x, y, mode)
            try:
                path = tg.render_graph(loss, out_dir / f"graph-{mode}.{fmt}")
            except (RendererNotFoundError, RuntimeError) as err:
                raise CLIError(f"cannot write {fmt.upper()}: {err}") from None
        report.files.append((f"graph ({GRAPH_MODES[mode]})", path))
    return report


def draw_backward_steps(model: nn.Module, loss_fn: nn.Module, x: tg.Tensor, y: tg.Tensor,
                        out_dir: Path, modes: Sequence[str]) -> list[tuple[str, Path]]:
    """Write ``backward-<mode>.html`` per mode with :func:`tg.render_backward
    <tinygrad_dropbn.render_backward>`: a page replaying the backward pass one op at a time."""
    render = getattr(tg, "render_backward", None)
    if render is None:
        raise CLIError("this version of tinygrad_dropbn cannot draw the backward pass step by "
                       "step (tg.render_backward is missing); upgrade the package")
    files = []
    for mode in modes:
        with unchanged(model):
            model.train(mode == "train")
            model.zero_grad()
            try:
                with tg.record_graph():
                    path = Path(render(loss_fn(model(x), y), out_dir / f"backward-{mode}.html"))
            except RendererNotFoundError as err:
                raise CLIError(f"cannot draw the backward steps: {err}") from None
        files.append((f"backward steps ({GRAPH_MODES[mode]})", path))
    return files


def graph_of(model: nn.Module, loss_fn: nn.Module, x: tg.Tensor, y: tg.Tensor,
             mode: str) -> tg.Tensor:
    """The loss of one batch with the model in ``mode`` ("train" or "eval"), after backward.

    Both passes run inside :func:`tg.record_graph <tinygrad_dropbn.record_graph>`, so the
    drawing groups ops by module and shows each op's backward step and gradient beside its
    value, from small summaries: the graph need not be retained. Call it inside
    :func:`unchanged`: a training-mode pass moves batch norm's running statistics.
    """
    model.train(mode == "train")
    model.zero_grad()
    with tg.record_graph():
        loss = loss_fn(model(x), y)
        loss.backward()
    return loss


@contextlib.contextmanager
def unchanged(model: nn.Module) -> Iterator[nn.Module]:
    """Restore the model's parameters, buffers, mode and gradients on exit, so a drawing
    (which runs forward and backward) never changes the model, and each mode is drawn from the
    same state."""
    state, was_training = model.state_dict(), model.training
    try:
        yield model
    finally:
        model.load_state_dict(state)
        model.train(was_training)
        model.zero_grad()


def plot_curves(figure: type, history: list[dict[str, float]], classification: bool,
                dataset: str, path: Path) -> None:
    """Loss (and accuracy) per epoch: train vs test in evaluation mode, and the running
    training-mode figures the progress bar showed, dashed."""
    from matplotlib.ticker import PercentFormatter

    loss_title = "loss (cross-entropy)" if classification else "loss (MSE)"
    metrics = [("loss", loss_title)] + ([("accuracy", "accuracy")] if classification else [])
    fig = figure(figsize=(5.2 * len(metrics), 4.0), layout="constrained")
    epochs = [row["epoch"] for row in history]
    for i, (key, title) in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        ax.plot(epochs, [row[f"train_{key}"] for row in history], color="tab:blue",
                label="train (evaluation mode)")
        ax.plot(epochs, [row[f"test_{key}"] for row in history], color="tab:orange",
                label="test (evaluation mode)")
        ax.plot(epochs, [row[f"running_{key}"] for row in history], color="tab:blue",
                linestyle="--", alpha=0.6, label="train, running (training mode)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        ax.set_title(f"{dataset}: {title}")
        ax.grid(alpha=0.3)
        if key == "accuracy":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.legend(fontsize="small")
    fig.savefig(path, dpi=110)


def plot_decision_boundary(figure: type, model: nn.Module, problem: Problem, dataset: str,
                           path: Path) -> None:
    """The class the model (evaluation mode) predicts over the plane, with the data on top."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    x_train, y_train = (t.numpy() for t in problem.train.tensors)
    x_test, y_test = (t.numpy() for t in problem.test.tensors)
    points = np.concatenate([x_train, x_test])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.08 * (high - low)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], BOUNDARY_GRID, dtype=np.float32)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], BOUNDARY_GRID, dtype=np.float32)
    grid_x, grid_y = np.meshgrid(xs, ys)
    predicted = predict(model, np.stack([grid_x.ravel(), grid_y.ravel()], axis=1))
    classes = problem.out_features
    colors = colormaps["tab10"].colors[:classes]

    fig = figure(figsize=(5.6, 5.0), layout="constrained")
    ax = fig.add_subplot()
    ax.contourf(grid_x, grid_y, predicted.argmax(axis=1).reshape(grid_x.shape),
                levels=np.arange(classes + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.25)
    ax.scatter(x_train[:, 0], x_train[:, 1], c=[colors[k] for k in y_train], s=9, alpha=0.55,
               linewidths=0)
    ax.scatter(x_test[:, 0], x_test[:, 1], c=[colors[k] for k in y_test], s=16,
               edgecolors="black", linewidths=0.6)
    accuracy = np.mean(predict(model, x_test).argmax(axis=1) == y_test)
    ax.set_title(f"{dataset}: decision boundary (test accuracy {accuracy:.1%})")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    # Colours are classes; the legend tells the two splits apart by marker only.
    ax.legend(handles=[
        Line2D([], [], marker="o", linestyle="", color="gray", alpha=0.55, markersize=4,
               markeredgewidth=0, label="train"),
        Line2D([], [], marker="o", linestyle="", markerfacecolor="gray",
               markeredgecolor="black", markersize=5, label="test"),
    ], loc="upper right", fontsize="small")
    fig.savefig(path, dpi=110)


def plot_fit(figure: type, model: nn.Module, problem: Problem, dataset: str,
             path: Path) -> None:
    """A 1-D regression: the data and the curve the model (evaluation mode) predicts."""
    x_train, y_train = (t.numpy() for t in problem.train.tensors)
    x_test, y_test = (t.numpy() for t in problem.test.tensors)
    points = np.concatenate([x_train, x_test])[:, 0]
    xs = np.linspace(points.min(), points.max(), 400, dtype=np.float32)[:, None]
    fig = figure(figsize=(6.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(x_train[:, 0], y_train[:, 0], s=9, alpha=0.5, label="train")
    ax.scatter(x_test[:, 0], y_test[:, 0], s=14, alpha=0.8, label="test")
    ax.plot(xs[:, 0], predict(model, xs)[:, 0], color="black", label="model")
    ax.set_title(f"{dataset}: fitted curve")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=110)


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The model's outputs in evaluation mode (its mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    with tg.no_grad():
        out = model(tg.Tensor(x)).numpy()
    model.train(was_training)
    return out


def _figure_class() -> Optional[type]:
    """matplotlib's Figure class, or None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def _running_text(loss: float, accuracy: Optional[float]) -> str:
    return f"loss {loss:.4f}" + ("" if accuracy is None else f" acc {accuracy:.1%}")
