"""Dropping input neuron i of ``f = X W`` is zeroing column i of ``X``; dropout after the
activation does that, dropout before a sigmoid does not."""
import numpy as np

from .core import Spec

TITLE = "Dropping a neuron is zeroing a column of X"
CLAIM = ("Zeroing column i of X before f = XW gives exactly the layer with input neuron i "
         "deleted; the article's mask does it with one draw per neuron shared by the whole "
         "batch, and dropout placed after the activation (before the next linear layer) "
         "drops the neuron, while placed before a sigmoid it does not.")
ARTICLE = ("Dropping input neuron i is zeroing column i of X; one Bernoulli draw per neuron; "
           "dropout goes before a linear layer, i.e. after the activation.")
SETUP = ("X (32 x 16) from U(0.5, 1.5) and W (16 x 64) from a seed; plain dropout p = 0.5 "
         "with the per-neuron mask (`F.dropout(..., per_feature=True)`), then `f` is compared "
         "with `X[:, kept] @ W[kept]`; the per-element mask is shown for contrast. A second "
         "layer `sigmoid(X W) W2` (W2: 64 x 4) gets a neuron mask after, then before, the "
         "sigmoid.")
CAPTION = ("Look at the first and fourth panels: zero difference means zeroing columns is "
           "deleting neurons; the last panel shows that dropout before a sigmoid does not "
           "silence the neurons it drops (sigmoid(0) = 0.5).")
CHECKS = (
    Spec("zeroed_vs_deleted", "zeroed columns vs deleted neurons: largest relative difference",
         "<", 1e-6),
    Spec("article_mixed", "article's mask: fraction of columns whose mask varies over rows",
         "<", 0.01, "fraction"),
    Spec("element_mixed", "per-element mask: fraction of columns whose mask varies over rows",
         ">", 0.5, "fraction"),
    Spec("after_activation", "dropout after the sigmoid vs the neurons deleted: relative "
         "difference", "<", 1e-6),
    Spec("before_activation", "dropout before the sigmoid: fraction of dropped neurons still "
         "sending a value", ">", 0.5, "fraction"),
)


def _mixed(out: np.ndarray) -> float:
    """The fraction of columns dropped for some rows and kept for others."""
    dropped = out == 0
    return float(np.mean(dropped.any(axis=0) & ~dropped.all(axis=0)))


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def measure(seed: int, lib) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=(32, 16)).astype(np.float32)
    w, w2 = (rng.standard_normal(shape).astype(np.float32) for shape in ((16, 64), (64, 4)))
    zeroed, _ = lib.dropout(x, 0.5, inverted=False, per_feature=True)
    kept = (zeroed != 0).all(axis=0)
    hidden = 1 / (1 + np.exp(-(x @ w)))
    mask, _ = lib.dropout(np.ones_like(hidden), 0.5, inverted=False, per_feature=True)
    neurons = (mask != 0).all(axis=0)
    deleted = hidden[:, neurons] @ w2[neurons]
    return {"zeroed_vs_deleted": _relative(zeroed @ w, x[:, kept] @ w[kept]),
            "article_mixed": _mixed(zeroed),
            "element_mixed": _mixed(lib.dropout(x, 0.5, inverted=False)[0]),
            "after_activation": _relative((hidden * mask) @ w2, deleted),
            "before_activation": float(np.mean(1 / (1 + np.exp(-(x @ w) * mask))[:, ~neurons]
                                               != 0)) if (~neurons).any() else 0.0}
