"""Ready-made models: the multilayer perceptron the command line and the lab train.

:func:`mlp` stacks, for each hidden layer, ``Linear -> BatchNorm1d -> activation -> Dropout``,
the placement the article recommends: batch norm between the linear map and the nonlinearity
(so sigmoid and tanh see inputs near zero, where their derivative is largest) and dropout after
the activation, i.e. on the inputs of the next linear layer ("dropping a neuron" zeroes a column
of that layer's input). ``bn_position="after"`` moves batch norm behind the activation, so the
two placements can be compared.
"""
from __future__ import annotations

import numbers
from typing import Sequence

from . import nn

ACTIVATIONS: dict[str, type] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}
"""Activation names accepted by :func:`mlp`, mapped to their module classes."""

BN_POSITIONS = ("before", "after")
"""Where :func:`mlp` puts batch norm relative to the activation."""


def mlp(in_features: int, hidden: Sequence[int], out_features: int, activation: str = "relu",
        batchnorm: bool = True, bn_position: str = "before",
        dropout: float = 0.0) -> nn.Sequential:
    """A multilayer perceptron with optional batch norm and dropout in every hidden layer.

    Hidden layer ``k`` computes, for ``bn_position="before"``,
    ``h_k = Dropout(act(BN(h_{k-1} W_k + b_k)))``, and for ``"after"``
    ``h_k = Dropout(BN(act(h_{k-1} W_k + b_k)))``; the output layer is a plain ``Linear``
    producing logits (classification) or predictions (regression). Batch norm and dropout are
    left out when ``batchnorm=False`` or ``dropout=0``, so the layers listed are exactly the ones
    that run.

    Args:
        in_features: size of each input example.
        hidden: widths of the hidden layers, in order (may be empty: a single linear layer).
        out_features: number of classes, or of regression targets.
        activation: one of ``ACTIVATIONS`` ("relu", "tanh", "sigmoid", "leaky_relu").
        batchnorm: put a ``BatchNorm1d`` in every hidden layer.
        bn_position: "before" or "after" the activation.
        dropout: probability ``p`` of zeroing each hidden unit in training, in [0, 1).

    Shape:
        input ``(N, in_features)``, output ``(N, out_features)``.

    Example:
        >>> from tinygrad_dropbn.models import mlp
        >>> mlp(2, [16], 3, dropout=0.1)
        Sequential(
          (0): Linear(in_features=2, out_features=16, bias=True)
          (1): BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
          (2): ReLU()
          (3): Dropout(p=0.1)
          (4): Linear(in_features=16, out_features=3, bias=True)
        )
    """
    _check_size("in_features", in_features)
    _check_size("out_features", out_features)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise ValueError(f"hidden must be a sequence of layer widths such as [64, 64], "
                         f"got {hidden!r}")
    for width in hidden:
        _check_size("every hidden layer width", width)
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of "
                         f"{', '.join(ACTIVATIONS)}")
    if not isinstance(batchnorm, bool):
        raise ValueError(f"batchnorm must be True or False, got {batchnorm!r}")
    if bn_position not in BN_POSITIONS:
        raise ValueError(f"bn_position must be 'before' or 'after' (the activation), "
                         f"got {bn_position!r}")
    if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real)
            or not 0.0 <= dropout < 1.0):
        raise ValueError(f"dropout probability must be in [0, 1), got {dropout!r} "
                         "(p = 1 would zero every hidden unit)")

    layers: list[nn.Module] = []
    width_in = in_features
    for width in hidden:
        layers.append(nn.Linear(width_in, width))
        if batchnorm and bn_position == "before":
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[activation]())
        if batchnorm and bn_position == "after":
            layers.append(nn.BatchNorm1d(width))
        if dropout > 0:
            layers.append(nn.Dropout(float(dropout)))
        width_in = width
    layers.append(nn.Linear(width_in, out_features))
    return nn.Sequential(*layers)


def _check_size(what: str, value: object) -> None:
    """Raise a ValueError unless ``value`` is a positive integer (bools are not sizes)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
