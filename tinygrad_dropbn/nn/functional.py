"""Stateless forms of the layers and losses: ``F.linear(x, weight, bias)``, ``F.relu(x)``, ...

Modules hold parameters and mode; these functions take everything as arguments. The fused
``LinearOp`` lives here, beside the function that uses it.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..batchnorm import batch_norm
from ..dropout import dropout
from ..engine import Function
from ..tensor import Tensor
from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss

__all__ = [
    "LinearOp", "batch_norm", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "leaky_relu", "linear", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax",
    "tanh",
]


class LinearOp(Function):
    """out = x @ weight^T + bias, as one op;
    dx = grad @ weight,  dweight = grad^T @ x,  dbias = grad summed over the batch.

    ``x`` has shape (*, in), ``weight`` (out, in), ``bias`` (out,); leading axes of ``x`` are
    batch axes, so ``dweight`` and ``dbias`` sum over all of them. Fusing the transpose, the
    matmul and the bias add saves two graph nodes and a temporary per layer, and ``dweight``
    comes out in the weight's own (out, in) layout.
    """

    def forward(self, x: np.ndarray, weight: np.ndarray,
                bias: Optional[np.ndarray] = None) -> np.ndarray:
        self.x, self.weight = x, weight
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, grad: np.ndarray) -> tuple:
        needs = self.needs_input_grad
        grad_x = grad @ self.weight if needs[0] else None
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_weight = None
        if needs[1]:
            grad_weight = grad_2d.T @ self.x.reshape(-1, self.x.shape[-1])
        if len(needs) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, (grad_2d.sum(axis=0) if needs[2] else None)

    @property
    def name(self) -> str:
        return "Linear"


def linear(x: Any, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """out = x @ weight^T + bias.

    Args:
        x: input of shape (*, in_features); arrays and integer tensors are converted to the
            weight's dtype.
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Shape:
        (*, in_features) -> (*, out_features).
    """
    if not isinstance(x, Tensor) or x.dtype.kind != "f":
        x = Tensor._from_op(np.asarray(x.data if isinstance(x, Tensor) else x,
                                       dtype=weight.dtype), None)
    elif x.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} does not match weight dtype "
                        f"{weight.dtype}; convert the input (x.astype({weight.dtype})) or the "
                        f"model (model.to({x.dtype}))")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} "
                         f"features but the weight of shape {weight.shape} expects "
                         f"{weight.shape[1]} (the input's last dimension)")
    if bias is None:
        return LinearOp.apply(x, weight)
    return LinearOp.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return x.leaky_relu(negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    """tanh(x)."""
    return x.tanh()


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``."""
    return x.softmax(axis=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x - logsumexp(x) along ``dim``."""
    return x.log_softmax(axis=dim)

