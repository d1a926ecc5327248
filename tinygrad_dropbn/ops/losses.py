"""Fused losses: :class:`CrossEntropy` (log-softmax and negative log-likelihood in one op),
:class:`NegativeLogLikelihood`, :class:`BinaryCrossEntropyWithLogits` (sigmoid and binary
cross-entropy in one op) and :class:`BinaryCrossEntropy` (on probabilities).

The two classification losses take their target as a constant *coefficient* array ``q`` of
the scores' shape (N, C, *): the loss at each position is ``-sum_c q_c log p_c``. Every
PyTorch option is a way of filling ``q``, which :mod:`tinygrad_dropbn.nn.functional` does:

* a class label ``t``: ``q = onehot(t)``;
* ``weight=w``: ``q = w[t] onehot(t)``;
* ``ignore_index``: ``q = 0`` at the ignored positions;
* ``label_smoothing=e``: ``q = (1 - e) w[t] onehot(t) + e / C * w``;
* class probabilities ``y`` as the target: ``q = w * y``.

``"mean"`` divides the summed loss by a ``denominator`` the caller gives: the summed weight of
the counted labels for class labels, the number of positions for probabilities (PyTorch's
rules). The softmax cross-entropy is computed from the logits so that no ``exp`` can overflow,
and every backward reads as its formula and also runs on Tensors (``create_graph=True``),
recomputing the softmax or the sigmoid from the saved logits so that second derivatives come
out right. These ops trust their arguments.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..engine import Function
from .sums import sum_axis1

# NOTE: PyTorch's floor under x (1 - x) in the BCE gradient is the C float 1e-12.
_BCE_EPSILON = float(np.float32(1e-12))


def _softmax(logits: Any) -> Any:
    """softmax along axis 1, shifted by the maximum; arrays or Tensors."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _class_sum(x: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """sum(x) along axis 1 (the classes)."""
    if x.ndim == 2:
        return sum_axis1(x, keepdims)  # NOTE: faster for small arrays (see ops/sums.py)
    return x.sum(axis=1, keepdims=keepdims)


def _class_max(x: np.ndarray) -> np.ndarray:
    """max(x) along axis 1, kept as (N, 1, *).

    NOTE: for (N, C) arrays the maximum is picked at argmax, which has a fast loop along a
    short inner axis that max has not (4 us against 12 us at (256, 10)); NaN is the maximum
    either way (argmax finds the first NaN).
    """
    if x.ndim != 2:
        return x.max(axis=1, keepdims=True)
    rows = np.arange(x.shape[0])
    return x[rows, x.argmax(axis=1)].reshape(-1, 1)


def _weighted_sum(q: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
    """sum_c q_c log_probs_c along axis 1, where q = 0 adds 0 even against a -inf."""
    # NOTE: the product is taken only where q != 0 (0 elsewhere), so 0 * -inf never happens
    # and no np.errstate block (a Python context manager, ~1 us) is needed.
    products = np.multiply(q, log_probs, out=np.zeros(np.broadcast_shapes(q.shape, log_probs.shape),
                                                      np.result_type(q, log_probs)), where=q != 0)
    return _class_sum(products)


def reduce_losses(losses: np.ndarray, reduction: str, denominator: float) -> np.ndarray:
    """The per-position losses summed ("sum"), divided by ``denominator`` ("mean") or kept."""
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return np.asarray(total)
    if denominator:  # NOTE: the common case, without the np.errstate block (~1 us)
        return np.asarray(total / losses.dtype.type(denominator))
    with np.errstate(invalid="ignore"):  # every label ignored: 0 / 0 = NaN,
        return np.asarray(total / losses.dtype.type(denominator))  # as in PyTorch


def per_position(grad: Any, reduction: str, denominator: float, shape: tuple) -> Any:
    """The incoming gradient as each position's share, shaped (N, 1, *) to meet (N, C, *)."""
    if reduction == "none":
        return grad.reshape((shape[0], 1) + shape[2:])
    if reduction == "sum":
        return grad
    # NOTE: with every label ignored the loss is NaN, yet no position gets a gradient: 0, not
    # NaN, flows back, as in PyTorch.
    return grad / denominator if denominator else grad * 0


class CrossEntropy(Function):
    """Softmax cross-entropy of logits (N, C, *) against target coefficients ``q``, fused.

    loss = -sum_c q_c log softmax(x)_c at every position, where ``log softmax(x)_c =
    x_c - logsumexp(x)`` is computed with ``x`` shifted by its maximum, so huge logits cannot
    overflow. Since d logsumexp(x) / dx = softmax(x)::

        dx = g * (softmax(x) * sum_c q_c - q)

    which is ``g * (softmax(x) - onehot(t))`` for a plain label. ``g`` is each position's
    share of the incoming gradient: ``grad / denominator`` for ``"mean"``, ``grad`` for
    ``"sum"``, the per-position gradient for ``"none"``. ``q`` is a constant of the op.
    """

    def forward(self, logits: np.ndarray, coefficients: np.ndarray, reduction: str,
                denominator: float) -> np.ndarray:
        self.coefficients, self.reduction, self.denominator = coefficients, reduction, denominator
        self.save_for_backward(logits)
        shifted = logits - _class_max(logits)
        exp = np.exp(shifted)
        total = _class_sum(exp, keepdims=True)
        log_probs = shifted - np.log(total)
        losses = -_weighted_sum(coefficients, log_probs)
        exp /= total
        self.softmax = exp  # reused by the array backward; a recorded one recomputes it
        return reduce_losses(losses, reduction, denominator)

    def backward(self, grad: Any, logits: Any) -> Any:
        if isinstance(grad, (np.ndarray, np.generic)):
            softmax = self.softmax
        else:
            softmax = _softmax(logits)
        q = self.coefficients
        share = per_position(grad, self.reduction, self.denominator, logits.shape)
        return share * (softmax * _class_sum(q, keepdims=True) - q)


class NegativeLogLikelihood(Function):
    """loss = -sum_c q_c x_c at every position, for log-probabilities x (N, C, *);
    dx = -g * q.

    With ``q = onehot(t)`` this picks ``-x[t]``; ``g`` and ``q`` are as in
    :class:`CrossEntropy`.
    """

    def forward(self, log_probs: np.ndarray, coefficients: np.ndarray, reduction: str,
                denominator: float) -> np.ndarray:
        self.coefficients, self.reduction, self.denominator = coefficients, reduction, denominator
        self.shape = log_probs.shape
        losses = -_weighted_sum(coefficients, log_probs)
        return reduce_losses(losses, reduction, denominator)

    def backward(self, grad: Any) -> Any:
        share = per_position(grad, self.reduction, self.denominator, self.shape)
        return -share * self.coefficients


class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy of sigmoid(x) against targets y in [0, 1], per element, optionally
    with ``pos_weight`` p multiplying the positive term::

        loss = -p y log s - (1 - y) log(1 - s),    s = sigmoid(x)
             = (1 - y) x + l softplus(-x),         l = 1 + (p - 1) y
        dx   = grad * ((1 - y) - l (1 - s))        (= grad * (s - y) when p = 1)
        dy   = grad * ((p - 1) softplus(-x) - x)   (= -grad * x when p = 1)

    using log s = -softplus(-x) and log(1 - s) = -x - softplus(-x). ``softplus(-x) =
    max(-x, 0) + log(1 + exp(-|x|))`` and ``s`` are both computed from ``exp(-|x|)``, so no
    exp can overflow. ``pos_weight`` (broadcast against x) is a constant of the op.
    """

    def forward(self, x: np.ndarray, y: np.ndarray,
                pos_weight: Optional[np.ndarray] = None) -> np.ndarray:
        self.pos_weight = pos_weight
        self.save_for_backward(x, y)
        self.exp_neg_abs = np.exp(-np.abs(x))  # reused by the array backward
        softplus_neg = np.maximum(-x, 0) + np.log1p(self.exp_neg_abs)
        if pos_weight is None:
            return (1 - y) * x + softplus_neg
        return (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus_neg

    def backward(self, grad: Any, x: Any, y: Any) -> tuple:
        needs_x, needs_y = self.needs_input_grad
        if isinstance(grad, (np.ndarray, np.generic)):
            e = self.exp_neg_abs
        else:
            e = np.exp(-np.abs(x))  # recorded: recomputed from x, so it is differentiated
        sigmoid = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        p = self.pos_weight
        grad_x = grad_y = None
        if needs_x:
            if p is None:
                grad_x = grad * (sigmoid - y)
            else:
                grad_x = grad * ((1 - y) - (1 + (p - 1) * y) * (1 - sigmoid))
        if needs_y:
            if p is None:
                grad_y = -grad * x
            else:
                softplus_neg = np.maximum(-x, 0) + np.log(1 + e)  # as in the forward
                grad_y = grad * ((p - 1) * softplus_neg - x)
        return grad_x, grad_y


class BinaryCrossEntropy(Function):
    """Binary cross-entropy of probabilities x against targets y, per element::

        loss = -(y log(x) + (1 - y) log(1 - x))     each log clamped at -100
        dx   = grad * (x - y) / max(x (1 - x), 1e-12)
        dy   = grad * (log(1 - x) - log(x))         (the clamped logs)

    The clamp and the floor under ``x (1 - x)`` are PyTorch's: they keep the loss and the
    gradient finite at x = 0 and x = 1, where the exact ones are infinite.
    """

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.save_for_backward(x, y)
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
            self.log_x = np.maximum(np.log(x), -100)
            self.log_1mx = np.maximum(np.log1p(-x), -100)
        return -(y * self.log_x + (1 - y) * self.log_1mx)

    def backward(self, grad: Any, x: Any, y: Any) -> tuple:
        needs_x, needs_y = self.needs_input_grad
        grad_x = grad_y = None
        if needs_x:
            grad_x = grad * (x - y) / np.maximum(x * (1 - x), _BCE_EPSILON)
        if needs_y:
            if isinstance(grad, (np.ndarray, np.generic)):
                log_x, log_1mx = self.log_x, self.log_1mx
            else:  # recorded: recomputed from x, so it is differentiated
                log_x, log_1mx = np.maximum(np.log(x), -100), np.maximum(np.log(1 - x), -100)
            grad_y = grad * (log_1mx - log_x)
        return grad_x, grad_y
