"""Experiments 5-7: batch norm's running statistics, saturation, and training speed."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import data, nn
from tinygrad_dropbn.models import mlp
from tinygrad_dropbn.training import evaluate, fit

from .datasets import in_raw_units
from .report import Z_BOUND, Check, ExperimentResult, finish, markdown_table, new_figure, sizes

ModelFactory = Callable[[str, bool], nn.Module]


def _raw_blobs(samples: int) -> tuple[data.TensorDataset, data.TensorDataset]:
    """Three Gaussian blobs in two features, moved to raw units: ``x * (3, 0.5) + (5, -2)``."""
    return in_raw_units(data.blobs(n_classes=3, n_samples=samples, noise=0.6), scale=(3.0, 0.5),
                        shift=(5.0, -2.0))


def _batch_statistics_accuracy(model: nn.Module, batches: list[tuple]) -> float:
    """Accuracy when every batch is normalised with its *own* statistics (training-mode BN).

    Training mode would also update the running statistics, so they are restored afterwards.
    """
    saved = {name: np.array(value, copy=True) for name, value in model.state_dict().items()}
    model.train()
    correct = total = 0
    with tg.no_grad():
        for x, y in batches:
            correct += int(np.sum(model(x).data.argmax(axis=1) == y.data))
            total += len(y.data)
    model.load_state_dict(saved)
    model.eval()
    return correct / total


def _chunks(x: tg.Tensor, y: tg.Tensor, size: int) -> list[tuple]:
    """Consecutive batches of ``size`` examples (a last batch of one example is dropped:
    training-mode batch norm cannot normalise a single value)."""
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(y.data), size)
            if len(y.data[i:i + size]) > 1]


def run_bn_running_stats(out_dir: Path | str, size: str = "full", seed: int = 0, *,
                         batchnorm: Callable[..., nn.Module] = nn.BatchNorm1d,
                         ) -> ExperimentResult:
    """Experiment 5: running statistics converge to the training set's; evaluation needs them.

    Part 1 feeds minibatches of a training set through a fresh ``batchnorm(2, momentum=m)``
    for ``m = 0.1`` and ``0.01`` (the article's beta = 0.9 and 0.99) and compares the final
    ``running_mean`` and ``running_var`` with the training set's mean and unbiased variance.
    An exponential moving average of batch statistics with standard deviation ``s`` has a
    stationary standard deviation ``s * sqrt(m / (2 - m))``; each deviation is measured in
    those units. Part 2 trains a classifier with batch norm and evaluates it with the running
    statistics, then with the test batch's own statistics (whole test set, batches of 4, and
    batches holding a single class).

    Args:
        batchnorm: the layer under test, called as ``batchnorm(num_features, momentum=m)``.
    """
    start = time.perf_counter()
    cfg = sizes(size, full={"steps": 1500, "samples": 1200, "epochs": 15},
                small={"steps": 600, "samples": 600, "epochs": 6})
    tg.manual_seed(seed)
    train, test = _raw_blobs(cfg["samples"])
    x_train = train.tensors[0].data.astype(np.float64)
    target = {"running_mean": x_train.mean(axis=0), "running_var": x_train.var(axis=0, ddof=1)}
    batch_size = 32
    traces, z_worst, final = {}, {}, {}
    for momentum in (0.1, 0.01):
        tg.manual_seed(seed + 1)
        layer = batchnorm(2, momentum=momentum)
        layer.train()
        loader = data.DataLoader(train, batch_size=batch_size, shuffle=True, drop_last=True)
        trace = {"running_mean": [], "running_var": [], "batch_mean": [], "batch_var": []}
        with tg.no_grad():
            while len(trace["running_mean"]) < cfg["steps"]:
                for x, _ in loader:
                    layer(x)
                    trace["running_mean"].append(np.array(layer.running_mean.data, copy=True))
                    trace["running_var"].append(np.array(layer.running_var.data, copy=True))
                    trace["batch_mean"].append(x.data.mean(axis=0))
                    trace["batch_var"].append(x.data.var(axis=0, ddof=1))
                    if len(trace["running_mean"]) == cfg["steps"]:
                        break
        trace = {k: np.array(v, dtype=np.float64) for k, v in trace.items()}
        traces[momentum] = trace
        ema_sd = np.sqrt(momentum / (2 - momentum))
        for stat, batch_stat in (("running_mean", "batch_mean"), ("running_var", "batch_var")):
            spread = trace[batch_stat].std(axis=0, ddof=1) * ema_sd
            deviation = np.abs(trace[stat][-1] - target[stat])
            z_worst[momentum, stat] = float(np.max(deviation / spread))
            final[momentum, stat] = trace[stat][-1]

    tg.manual_seed(seed + 2)
    model = mlp(2, [32, 32], 3, batchnorm=True)
    fit(model, train, test, epochs=cfg["epochs"], lr=0.01, batch_size=32)
    model.eval()
    x_test, y_test = test.tensors
    _, running_accuracy = evaluate(model, test, nn.CrossEntropyLoss())
    accuracy = {"running statistics (eval mode)": running_accuracy}
    by_class = [(x_test[rows], y_test[rows])
                for rows in (np.flatnonzero(y_test.data == c) for c in range(3))]
    for label, batches in (("whole test set", [(x_test, y_test)]),
                           ("batches of 4", _chunks(x_test, y_test, 4)),
                           ("one class per batch", by_class)):
        accuracy[f"test-batch statistics, {label}"] = _batch_statistics_accuracy(model, batches)

    figure, axes = new_figure(1, 3, width=15.0)
    mean_axis, var_axis, bar_axis = axes[0]
    steps = np.arange(1, cfg["steps"] + 1)
    for momentum, trace in traces.items():
        for feature in range(2):
            label = f"momentum {momentum} (beta {1 - momentum:g}), feature {feature}"
            mean_axis.plot(steps, trace["running_mean"][:, feature], lw=1, label=label)
            var_axis.plot(steps, trace["running_var"][:, feature], lw=1, label=label)
    for feature in range(2):
        mean_axis.axhline(target["running_mean"][feature], color="k", ls="--", lw=0.8)
        var_axis.axhline(target["running_var"][feature], color="k", ls="--", lw=0.8)
    mean_axis.set(xlabel="training step", ylabel="running_mean", xscale="log",
                  title="running_mean (dashed: training-set mean)")
    var_axis.set(xlabel="training step", ylabel="running_var", xscale="log", yscale="log",
                 title="running_var (dashed: training-set variance)")
    figure.legend(*mean_axis.get_legend_handles_labels(), loc="outside lower center", ncol=4,
                  fontsize=8)
    labels = list(accuracy)
    bar_axis.barh(range(len(labels)), [accuracy[k] for k in labels],
                  color=["tab:green", "tab:blue", "tab:orange", "tab:red"])
    bar_axis.set_yticks(range(len(labels)), [k.replace(", ", ",\n") for k in labels], fontsize=8)
    bar_axis.invert_yaxis()
    for i, k in enumerate(labels):
        bar_axis.text(accuracy[k], i, f" {accuracy[k]:.3f}", va="center", fontsize=8)
    bar_axis.set(xlim=(0, 1.15), xlabel="test accuracy",
                 title="Evaluating with whose statistics?")

    checks = [Check(f"momentum {m}: largest |{stat} - training set| over features, "
                    "in EMA standard deviations", z_worst[m, stat], "<=", Z_BOUND)
              for m in (0.1, 0.01) for stat in ("running_mean", "running_var")]
    running = accuracy["running statistics (eval mode)"]
    checks.append(Check("test accuracy: running statistics - single-class batch statistics",
                        running - accuracy["test-batch statistics, one class per batch"], ">=",
                        0.10))
    rows = [[f"{m} (beta {1 - m:g})", stat, np.array2string(final[m, stat], precision=3),
             np.array2string(target[stat], precision=3), z_worst[m, stat]]
            for m in (0.1, 0.01) for stat in ("running_mean", "running_var")]
    table = (markdown_table(["momentum", "buffer", f"after {cfg['steps']} steps", "training set",
                             "largest deviation (EMA s.d.)"], rows) + "\n\n"
             + markdown_table(["evaluation", "test accuracy"],
                              [[k, v] for k, v in accuracy.items()]))
    return finish(
        out_dir, number=5, name="bn-running-stats",
        title="Batch norm evaluates with the training set's statistics",
        claim=("running_mean and running_var converge to the training set's mean and variance "
               "(beta = 0.9 and 0.99, i.e. momentum 0.1 and 0.01); evaluation must use them, "
               "not the test batch's statistics."),
        setup=(f"Three Gaussian blobs in two features moved to raw units (x * (3, 0.5) + "
               f"(5, -2)), "
               f"{len(train)} training points. Part 1: a fresh BatchNorm1d(2) in training mode "
               f"sees {cfg['steps']} shuffled minibatches of {batch_size}; the final buffers are "
               "compared with the training set's mean and unbiased variance, in units of the "
               "moving average's stationary standard deviation `s * sqrt(m / (2 - m))` (`s`: "
               "spread of the batch statistic). Part 2: an MLP 2-32-32-3 with batch norm, Adam, "
               f"{cfg['epochs']} epochs; test accuracy with the running statistics, then with "
               "training-mode batch norm on test batches (running buffers restored after). The "
               "single-class evaluation must lose at least 10 points to count as harm."),
        checks=checks, figure=figure, table=table, size=size, seed=seed,
        started=start,
        explanation=(
            "`running = (1 - m) running + m batch_stat` forgets its starting value (0 and 1): "
            "after k steps that value's weight is `(1 - m)^k`, under 5% after about 30 steps "
            "for m = 0.1 and 300 for m = 0.01 (log axis). After that it hovers around the "
            "training set's statistics; the smaller momentum averages over more batches, so it "
            "hovers more tightly but adapts more slowly. "
            "Normalising with a test batch's own statistics makes each prediction depend on the "
            "other examples in the batch: a batch holding one class has that class's mean "
            "subtracted, erasing exactly the information that separates the classes, and tiny "
            "batches are normalised by very noisy estimates."))


def _default_deep_model(width: int, depth: int, classes: int) -> ModelFactory:
    def make_model(activation: str, batchnorm: bool) -> nn.Module:
        return mlp(2, [width] * depth, classes, activation=activation, batchnorm=batchnorm)
    return make_model


def _gradients_and_activations(model: nn.Module, x: tg.Tensor,
                               y: tg.Tensor) -> tuple[list[float], list[np.ndarray]]:
    """For one batch's cross-entropy: the root-mean-square gradient reaching each hidden
    layer, ``dL/dz`` at the output ``z`` of its Linear (input side first), and the outputs of
    every activation layer.

    The gradient at ``z`` is the signal backpropagation hands to that layer; unlike the weight
    gradient it does not depend on the layer's fan-in, so layers compare directly.
    """
    model.train()
    activations, linear_outputs = [], []
    h = x
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            linear_outputs.append(h.retain_grad())
        elif isinstance(layer, (nn.Sigmoid, nn.Tanh, nn.ReLU)):
            activations.append(h.data.ravel().copy())
    F.cross_entropy(h, y).backward()
    return ([float(np.sqrt(np.mean(z.grad.data ** 2))) for z in linear_outputs[:-1]],
            activations)


def run_bn_saturation(out_dir: Path | str, size: str = "full", seed: int = 0, *,
                      make_model: ModelFactory | None = None) -> ExperimentResult:
    """Experiment 6: without batch norm, gradients vanish in a deep sigmoid or tanh MLP.

    For one batch at initialisation, measures the size of the gradient reaching each hidden
    layer (at its Linear output); the ratio first layer / last hidden layer is how much the
    gradient shrank on its way back.

    Args:
        make_model: ``make_model(activation, batchnorm)`` builds the network; default an MLP
            with ``depth`` hidden layers of ``width`` units, batch norm before the activation.
    """
    start = time.perf_counter()
    cfg = sizes(size, full={"depth": 10, "width": 64, "batch": 256},
                small={"depth": 10, "width": 32, "batch": 128})
    tg.manual_seed(seed)
    train, _ = data.spiral(n_classes=3, points_per_class=cfg["batch"])
    x, y = (t[:cfg["batch"]] for t in train.tensors)
    if make_model is None:
        make_model = _default_deep_model(cfg["width"], cfg["depth"], 3)
    grads, activations = {}, {}
    for activation in ("sigmoid", "tanh"):
        for batchnorm in (False, True):
            tg.manual_seed(seed + 1)
            grads[activation, batchnorm], activations[activation, batchnorm] = (
                _gradients_and_activations(make_model(activation, batchnorm), x, y))
    ratio = {key: g[0] / g[-1] for key, g in grads.items()}

    figure, axes = new_figure(2, 3, width=15.0, height=7.5)
    for row, activation in enumerate(("sigmoid", "tanh")):
        norm_axis = axes[row][0]
        for batchnorm in (False, True):
            g = grads[activation, batchnorm]
            norm_axis.semilogy(range(1, len(g) + 1), g, "o-",
                               label="with batch norm" if batchnorm else "without batch norm")
        norm_axis.set(xlabel="hidden layer (1 = nearest the input)",
                      ylabel="RMS of dL/dz (z: the layer's Linear output)",
                      title=f"{activation}: gradient reaching each layer")
        norm_axis.legend(fontsize=8)
        lo, hi = (0.0, 1.0) if activation == "sigmoid" else (-1.0, 1.0)
        bins = np.linspace(lo, hi, 41)
        for col, batchnorm in ((1, False), (2, True)):
            density = np.array([np.histogram(a, bins=bins, density=True)[0]
                                for a in activations[activation, batchnorm]])
            axis = axes[row][col]
            axis.imshow(np.log1p(density), aspect="auto", origin="lower", cmap="viridis",
                        extent=(lo, hi, 0.5, len(density) + 0.5))
            axis.set(xlabel=f"{activation} output", ylabel="hidden layer",
                     title=f"{activation} {'with' if batchnorm else 'without'} batch norm: "
                     "activation histograms")
    checks = []
    for activation in ("sigmoid", "tanh"):
        checks += [
            Check(f"{activation} without batch norm: gradient at layer 1 / at layer "
                  f"{cfg['depth']}",
                  ratio[activation, False], "<=", 1e-2),
            Check(f"{activation} with batch norm: gradient at layer 1 / at layer "
                  f"{cfg['depth']}",
                  ratio[activation, True], ">=", 1e-1),
        ]
    rows = [[activation, "with" if batchnorm else "without", g[0], g[-1], ratio[activation,
                                                                                 batchnorm]]
            for (activation, batchnorm), g in grads.items()]
    table = markdown_table(["activation", "batch norm", "RMS dL/dz, layer 1",
                            f"RMS dL/dz, layer {cfg['depth']}", "ratio"], rows)
    return finish(
        out_dir, number=6, name="bn-saturation", title="Batch norm against vanishing gradients",
        claim=("In a deep sigmoid or tanh network, gradients vanish on their way back to the "
               "first layers; batch norm between the linear layer and the activation keeps "
               "them alive."),
        setup=(f"MLP 2-{'-'.join([str(cfg['width'])] * cfg['depth'])}-3 with PyTorch's default "
               "initialisation, with and without BatchNorm1d before each activation, same "
               f"initial weights. One batch of {cfg['batch']} spiral points, cross-entropy, "
               "backward, in training mode; the gradient reaching a layer is the root mean square "
               "of dL/dz at its Linear output z. \"Vanish\" means the first layer's gradient "
               "is at least 100 times smaller than the last hidden layer's; \"alive\" means at "
               "least a tenth of it."),
        checks=checks, figure=figure, table=table, size=size, seed=seed,
        started=start,
        explanation=(
            "On its way back through each layer the gradient is multiplied by the activation's "
            "derivative (at most 1/4 for sigmoid, at most 1 for tanh and only near 0) and by "
            "the weights. Without batch norm the pre-activations drift: the histograms "
            "collapse towards a narrow band (sigmoid near 0.5 with derivative 1/4, tanh "
            "towards 0 as the signal shrinks), and the product over ten layers shrinks "
            "geometrically. Batch norm rescales every pre-activation to zero mean and unit "
            "variance, keeping activations spread out where the derivative is large, and its "
            "backward divides by the batch standard deviation, undoing the shrinking. That "
            "removes the geometric decay; with this initialisation the batch standard "
            "deviations are below 1, so the gradient even grows towards the input (see the "
            "ratios above)."))


def _epochs(count: float) -> str:
    """An epoch count for the report ("never" when the target was not reached)."""
    return "never" if np.isinf(count) else str(int(count))


def run_bn_speed(out_dir: Path | str, size: str = "full", seed: int = 0, *,
                 make_model: ModelFactory | None = None) -> ExperimentResult:
    """Experiment 7: with the same learning rate, batch norm reaches a given loss sooner.

    Trains the same MLP (same initial weights, same batches) with and without batch norm using
    SGD at two learning rates, and counts the epochs each needs to bring the training loss
    down to a tenth of a uniform guess's (``ln(3) / 10``); a network that never gets there
    counts as infinitely slow.

    Args:
        make_model: ``make_model(activation, batchnorm)``; default a ReLU MLP with four hidden
            layers of 64 units (32 at small size).
    """
    start = time.perf_counter()
    cfg = sizes(size, full={"width": 64, "epochs": 40, "points": 300},
                small={"width": 32, "epochs": 15, "points": 150})
    tg.manual_seed(seed)
    train, test = data.spiral(n_classes=3, points_per_class=cfg["points"])
    if make_model is None:
        make_model = _default_deep_model(cfg["width"], 4, 3)
    learning_rates = (0.01, 0.1)
    curves = {}
    for lr in learning_rates:
        for batchnorm in (False, True):
            tg.manual_seed(seed + 1)
            model = make_model("relu", batchnorm)
            curves[lr, batchnorm] = fit(model, train, test, epochs=cfg["epochs"], lr=lr,
                                        batch_size=32, optimizer="sgd", momentum=0.9)
    # A tenth of the loss of a uniform guess (ln 3): the network classifies most points well.
    target = float(np.log(3)) / 10
    reached, speedup = {}, {}
    for key, history in curves.items():
        hits = np.flatnonzero(np.asarray(history.train_loss) <= target)
        reached[key] = int(hits[0]) + 1 if hits.size else np.inf
    for lr in learning_rates:
        # Never reaching the target with batch norm is no speed-up, whatever the other run did.
        speedup[lr] = (0.0 if np.isinf(reached[lr, True])
                       else reached[lr, False] / reached[lr, True])

    figure, axes = new_figure(1, 2)
    epochs = np.arange(1, cfg["epochs"] + 1)
    for col, lr in enumerate(learning_rates):
        axis = axes[0][col]
        for batchnorm in (False, True):
            h = curves[lr, batchnorm]
            line = axis.plot(epochs, h.train_loss, "-",
                             label=f"{'with' if batchnorm else 'without'} batch norm: train")
            axis.plot(epochs, h.test_loss, "--", color=line[0].get_color(),
                      label=f"{'with' if batchnorm else 'without'} batch norm: test")
        axis.axhline(target, color="gray", lw=0.8, ls=":", label="target: ln(3) / 10")
        axis.set(xlabel="epoch", ylabel="cross-entropy (evaluation mode)", yscale="log",
                 title=f"SGD lr={lr}, momentum 0.9")
        axis.legend(fontsize=8)
    checks = [Check(f"lr {lr}: epochs to reach the target loss, without / with batch norm",
                    speedup[lr], ">=", 2.0) for lr in learning_rates]
    rows = [[lr, _epochs(reached[lr, False]), _epochs(reached[lr, True]),
             curves[lr, False].train_loss[-1], curves[lr, True].train_loss[-1],
             curves[lr, False].test_accuracy[-1], curves[lr, True].test_accuracy[-1]]
            for lr in learning_rates]
    table = markdown_table(["lr", "epochs to target without BN", "with BN",
                            "final train loss without BN", "with BN", "final test acc without BN",
                            "with BN"], rows)
    return finish(
        out_dir, number=7, name="bn-speed", title="Batch norm speeds up training",
        claim=("At the same learning rate, a network with batch norm trains faster than the "
               "same network without it."),
        setup=(f"Spiral, 3 classes, {len(train)} training points. ReLU MLP 2-"
               f"{'-'.join([str(cfg['width'])] * 4)}-3 with and without BatchNorm1d before each "
               f"activation, same initial weights and batch order; SGD with momentum 0.9, batch "
               f"32, {cfg['epochs']} epochs, at lr 0.01 and 0.1. Losses are measured in "
               "evaluation mode on the whole training set after each epoch. Speed-up: the epochs "
               "the network without batch norm needs to bring its loss to ln(3) / 10 (a tenth "
               "of a uniform guess's) divided by the epochs the network with batch norm needs; "
               "\"faster\" requires at least 2x (never reaching the target counts as "
               "infinitely many epochs)."),
        checks=checks, figure=figure, table=table, size=size, seed=seed,
        started=start,
        explanation=(
            "Batch norm keeps every layer's inputs at zero mean and unit variance whatever the "
            "weights before it do, so each layer's gradient step does not have to chase the "
            "changing scale of the layer below, and a step size that is cautious for the plain "
            "network is well used by the normalised one."))
