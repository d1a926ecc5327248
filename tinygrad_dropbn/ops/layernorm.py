"""Layer normalisation as one op, :class:`LayerNormalization`, with its closed-form backward.

Each sample is normalised over its last ``k`` axes (``normalized_shape``), ``M`` values, then
scaled and shifted elementwise by parameters of that shape::

    mu = mean(x)                   sigma2 = mean((x - mu)^2)        (biased: divide by M)
    x_hat = (x - mu) / sqrt(sigma2 + eps)
    out = weight * x_hat + bias

It is batch norm turned sideways: the statistics are per sample instead of per channel, the
same in training and evaluation (there are no running estimates), and the parameters are per
element of the normalised shape. ``mu`` and ``sigma2`` depend on ``x``, so, exactly as in
batch norm (docs/dropout-and-batchnorm.md), the three paths by which the gradient reaches
``x`` collapse into one formula. With ``g`` the incoming gradient, ``g_hat = g * weight`` the
gradient reaching ``x_hat``, ``s = 1 / sqrt(sigma2 + eps)``, and sums over the ``M``
normalised values of one sample::

    dx      = s / M * (M g_hat - sum(g_hat) - x_hat * sum(g_hat * x_hat))
    dweight = sum over the batch axes of g * x_hat
    dbias   = sum over the batch axes of g
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..engine import Function


def _statistics(x: Any, axes: tuple, eps: float) -> tuple:
    """``x_hat`` and ``inv_std = 1 / sqrt(var + eps)`` over ``axes`` (kept); arrays or Tensors."""
    centered = x - x.mean(axis=axes, keepdims=True)
    var = (centered * centered).mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    return centered * inv_std, inv_std


class LayerNormalization(Function):
    """out = weight * (x - mean) / sqrt(var + eps) + bias over the last ``ndim`` axes.

    Inputs: ``x``, then ``weight`` if ``has_weight``, then ``bias`` if ``has_bias`` (each of
    the normalised shape). Keyword arguments: ``ndim`` (how many trailing axes are
    normalised), ``eps``, ``has_weight``, ``has_bias``. The backward is the closed form of the
    module docstring; on arrays it reuses the forward's ``x_hat`` and ``inv_std``, on Tensors
    (``create_graph=True``) it recomputes them from the saved ``x``, so the recorded backward
    depends on ``x`` the way the gradient does.
    """

    def forward(self, x: np.ndarray, *affine: np.ndarray, ndim: int, eps: float,
                has_weight: bool, has_bias: bool) -> np.ndarray:
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        self.axes = tuple(range(x.ndim - ndim, x.ndim))
        weight = affine[0] if has_weight else None
        self.save_for_backward(x, *affine[:1] if has_weight else ())
        self.x_hat, self.inv_std = _statistics(x, self.axes, x.dtype.type(eps))
        out = self.x_hat if weight is None else self.x_hat * weight
        if has_bias:
            out = out + affine[-1]
        return out

    def backward(self, grad: Any, x: Any, *saved: Any) -> Any:
        weight: Optional[Any] = saved[0] if self.has_weight else None
        if isinstance(grad, (np.ndarray, np.generic)):
            x_hat, inv_std = self.x_hat, self.inv_std
        else:
            x_hat, inv_std = _statistics(x, self.axes, self.eps)
        needs = self.needs_input_grad
        batch_axes = tuple(range(grad.ndim - len(self.axes)))
        grads = []
        if needs[0]:
            grad_x_hat = grad if weight is None else grad * weight
            mean_grad = grad_x_hat.mean(axis=self.axes, keepdims=True)
            mean_grad_x_hat = (grad_x_hat * x_hat).mean(axis=self.axes, keepdims=True)
            grads.append(inv_std * (grad_x_hat - mean_grad - x_hat * mean_grad_x_hat))
        else:
            grads.append(None)
        if self.has_weight:
            grads.append((grad * x_hat).sum(axis=batch_axes) if needs[1] else None)
        if self.has_bias:
            grads.append(grad.sum(axis=batch_axes) if needs[-1] else None)
        return grads[0] if len(grads) == 1 else tuple(grads)
