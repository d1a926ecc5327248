"""Loss functions, as functions (``F.cross_entropy``) and as modules (``nn.CrossEntropyLoss``).

Every loss takes ``reduction``: ``"mean"`` (the default) averages the per-sample losses,
``"sum"`` adds them, ``"none"`` returns them unreduced. Losses keep the input's dtype: integer
labels and array targets never promote a float32 computation to float64.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function
from ..tensor import Tensor
from .module import Module

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _class_labels(target: Any, scores: Tensor, loss: str) -> np.ndarray:
    """``target`` as an integer array of shape (N,), every label in [0, C) for scores (N, C)."""
    if scores.ndim != 2:
        raise ValueError(f"{loss} expects scores of shape (N, C), got shape {scores.shape}")
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{loss} expects integer class labels (int64), got dtype {labels.dtype}; "
                        "convert them with labels.astype(np.int64) (class probabilities as "
                        "targets are not supported)")
    n, classes = scores.shape
    if labels.shape != (n,):
        raise ValueError(f"{loss}: labels of shape {labels.shape} do not match scores of shape "
                         f"{scores.shape}; expected one label per row, shape ({n},)")
    if n and (labels.min() < 0 or labels.max() >= classes):
        bad = np.flatnonzero((labels < 0) | (labels >= classes))
        also = f" ({len(bad)} labels out of range in all)" if len(bad) > 1 else ""
        raise ValueError(f"{loss}: label {labels[bad[0]]} at position {bad[0]} is outside "
                         f"[0, {classes}) for scores with {classes} classes{also}")
    # NOTE: a copy (only N integers), so relabelling the caller's array after the forward pass
    # cannot change the gradient of a loss already computed.
    return labels.copy()


class CrossEntropy(Function):
    """Softmax cross-entropy of logits against class labels, fused (log-softmax + NLL).

    loss_i = logsumexp(x_i) - x_i[t_i], computed with x_i shifted by its max so huge logits
    cannot overflow;  dx_i = grad_i * (softmax(x_i) - onehot(t_i)), divided by N for "mean".
    """

    def forward(self, logits: np.ndarray, target: np.ndarray, reduction: str) -> np.ndarray:
        self.target, self.reduction = target, reduction
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        losses = np.log(total[:, 0]) - shifted[np.arange(len(target)), target]
        exp /= total
        self.softmax = exp
        if reduction == "mean":
            return np.asarray(losses.sum() / len(target))
        if reduction == "sum":
            return np.asarray(losses.sum())
        return losses

    def backward(self, grad: np.ndarray) -> np.ndarray:
        n = len(self.target)
        if self.reduction == "none":
            per_sample = grad
        else:
            per_sample = np.broadcast_to(grad / n if self.reduction == "mean" else grad, (n,))
        grad_logits = self.softmax * per_sample[:, None]
        grad_logits[np.arange(n), self.target] -= per_sample
        return grad_logits


class BinaryCrossEntropyWithLogits(Function):
    """loss = max(x, 0) - x * y + log(1 + exp(-|x|))  (= -y log s - (1 - y) log(1 - s), s =
    sigmoid(x), written so no exp can overflow);  dx = grad * (s - y),  dy = -grad * x."""

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.x, self.y = x, y
        self.exp_neg_abs = np.exp(-np.abs(x))
        return np.maximum(x, 0) - x * y + np.log1p(self.exp_neg_abs)

    def backward(self, grad: np.ndarray) -> tuple:
        needs_x, needs_y = self.needs_input_grad
        grad_x = grad_y = None
        if needs_x:
            e = self.exp_neg_abs
            sigmoid = np.where(self.x >= 0, 1 / (1 + e), e / (1 + e))
            grad_x = grad * (sigmoid - self.y)
        if needs_y:
            grad_y = -grad * self.x
        return grad_x, grad_y


def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy: -log softmax(input)[target], per sample.

    Args:
        input: logits of shape (N, C).
        target: integer class labels of shape (N,), each in [0, C).
        reduction: "mean", "sum" or "none".

    Raises:
        ValueError: a label outside [0, C) (the message names it and its position).
        TypeError: labels that are not integers.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn.functional as F
        >>> logits = tg.Tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> round(F.cross_entropy(logits, np.array([0, 1])).item(), 4)
        0.1269
    """
    _check_reduction(reduction)
    labels = _class_labels(target, input, "cross_entropy")
    return CrossEntropy.apply(input, target=labels, reduction=reduction)


def nll_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -input[i, target_i], for log-probabilities ``input`` (N, C).

    ``nll_loss(log_softmax(x), t)`` equals ``cross_entropy(x, t)``.
    """
    _check_reduction(reduction)
    labels = _class_labels(target, input, "nll_loss")
    return _reduce(-input[np.arange(len(labels)), labels], reduction)


def _matching_target(input: Tensor, target: Any, loss: str) -> Tensor:
    """``target`` as a tensor of ``input``'s shape and dtype."""
    if not isinstance(target, Tensor):
        target = Tensor._from_op(np.asarray(target, dtype=input.dtype), None)
    elif target.dtype != input.dtype:
        target = target.astype(input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{loss}: target of shape {target.shape} does not match input of shape "
                         f"{input.shape}; reshape one of them (e.g. target.reshape(-1, 1)) "
                         "so they agree")
    return target


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)^2, per element."""
    _check_reduction(reduction)
    target = _matching_target(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(input) against targets in [0, 1], per element,
    computed stably from the logits: max(x, 0) - x * y + log(1 + exp(-|x|))."""
    _check_reduction(reduction)
    target = _matching_target(input, target, "binary_cross_entropy_with_logits")
    return _reduce(BinaryCrossEntropyWithLogits.apply(input, target), reduction)


class _Loss(Module):
    """A loss as a module: holds ``reduction`` and calls its functional form."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Module form of :func:`cross_entropy`: ``loss = CrossEntropyLoss()(logits, labels)``."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(input, target, self.reduction)


class NLLLoss(_Loss):
    """Module form of :func:`nll_loss`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nll_loss(input, target, self.reduction)


class MSELoss(_Loss):
    """Module form of :func:`mse_loss`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return mse_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Module form of :func:`binary_cross_entropy_with_logits`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.reduction)
