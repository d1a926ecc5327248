"""Fused losses: :class:`CrossEntropy` (log-softmax and negative log-likelihood in one op) and
:class:`BinaryCrossEntropyWithLogits` (sigmoid and binary cross-entropy in one op).

Both are computed from the logits so that no ``exp`` can overflow, and both have backwards
that read as their formulas and also run on Tensors (``create_graph=True``), recomputing the
softmax or the sigmoid from the saved logits so that second derivatives come out right. The
checked public forms are in :mod:`tinygrad_dropbn.nn.functional`; these ops trust their
arguments (labels in range, targets of the input's shape and dtype).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function


def _softmax(logits: Any) -> Any:
    """softmax along axis 1, shifted by the row maximum; arrays or Tensors."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


class CrossEntropy(Function):
    """Softmax cross-entropy of logits (N, C) against class labels (N,), fused.

    loss_i = logsumexp(x_i) - x_i[t_i], computed with x_i shifted by its max so huge logits
    cannot overflow. Since d logsumexp(x_i) / dx_i = softmax(x_i)::

        dx_i = grad_i * (softmax(x_i) - onehot(t_i))

    with ``grad_i = grad / N`` for ``"mean"``, ``grad`` for ``"sum"`` (both the same for every
    row) and the per-sample gradient for ``"none"``. The labels are a constant of the op.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray, reduction: str) -> np.ndarray:
        self.target, self.reduction = target, reduction
        self.save_for_backward(logits)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        losses = np.log(total[:, 0]) - shifted[np.arange(len(target)), target]
        exp /= total
        self.softmax = exp  # reused by the array backward; a recorded one recomputes it
        if reduction == "mean":
            return np.asarray(losses.sum() / len(target))
        if reduction == "sum":
            return np.asarray(losses.sum())
        return losses

    def backward(self, grad: Any, logits: Any) -> Any:
        n, classes = logits.shape
        if isinstance(grad, (np.ndarray, np.generic)):
            softmax = self.softmax
        else:
            softmax = _softmax(logits)
        onehot = np.eye(classes, dtype=logits.dtype)[self.target]
        if self.reduction == "none":
            per_sample = grad.reshape(n, 1)
        else:
            per_sample = grad / n if self.reduction == "mean" else grad
        return per_sample * (softmax - onehot)


class BinaryCrossEntropyWithLogits(Function):
    """loss = max(x, 0) - x * y + log(1 + exp(-|x|)), per element;
    dx = grad * (sigmoid(x) - y),  dy = -grad * x.

    This is -y log s - (1 - y) log(1 - s) with s = sigmoid(x), written so no exp can
    overflow; the sigmoid in dx is computed from exp(-|x|) on each side for the same reason.
    """

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.save_for_backward(x, y)
        self.exp_neg_abs = np.exp(-np.abs(x))  # reused by the array backward
        return np.maximum(x, 0) - x * y + np.log1p(self.exp_neg_abs)

    def backward(self, grad: Any, x: Any, y: Any) -> tuple:
        needs_x, needs_y = self.needs_input_grad
        grad_x = grad_y = None
        if needs_x:
            if isinstance(grad, (np.ndarray, np.generic)):
                e = self.exp_neg_abs
            else:
                e = np.exp(-np.abs(x))  # recorded: recomputed from x, so it is differentiated
            sigmoid = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
            grad_x = grad * (sigmoid - y)
        if needs_y:
            grad_y = -grad * x
        return grad_x, grad_y
