"""The Euclidean (2-) norm, with PyTorch's gradient at zero.

Composed of ``sqrt(sum(x * x))`` its gradient at ``x = 0`` would be ``0 / 0``; the norm is not
differentiable there, and PyTorch (like every optimizer that clips gradients) takes 0.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function
from .primitives import Axis, _kept_shape, _normalize_axis


class EuclideanNorm(Function):
    """out = sqrt(sum over axis of x**2);  dx = grad * x / out, and 0 where out = 0."""

    def forward(self, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        self.kept_shape = _kept_shape(x.shape, _normalize_axis(axis, x.ndim))
        out = np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
        self.save_for_backward(x, out)
        return out

    def backward(self, grad: Any, x: Any, out: Any) -> Any:
        out = out.reshape(self.kept_shape)
        # NOTE: where out is 0, x is 0 too, so x / 1 gives the 0 PyTorch takes, without a NaN
        # that a recorded (create_graph) backward would carry.
        safe = np.where(out == 0, 1, out)
        return grad.reshape(self.kept_shape) * (x / safe)
