"""Activations that are not primitives: :class:`NormalCdf` (what exact GELU is built from)
and :class:`ExponentialLinear` (ELU)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import Function

# NOTE: NumPy has no erf; math.erf element by element is exact, and slow only for big arrays.
_erf = np.vectorize(math.erf, otypes=[np.float64])


class NormalCdf(Function):
    """out = Phi(x) = (1 + erf(x / sqrt(2))) / 2;  dx = grad * exp(-x^2 / 2) / sqrt(2 pi)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return ((1 + _erf(x / math.sqrt(2))) / 2).astype(x.dtype, copy=False)

    def backward(self, grad: Any, x: Any) -> Any:
        return grad * np.exp(-(x * x) / 2) / math.sqrt(2 * math.pi)


class ExponentialLinear(Function):
    """out = x if x > 0 else alpha * (exp(x) - 1);  dx = grad if x > 0 else grad * (out + alpha).

    The exponential is taken of min(x, 0), so a large positive x cannot overflow it.
    """

    def forward(self, x: np.ndarray, alpha: float) -> np.ndarray:
        self.alpha = alpha
        out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        self.save_for_backward(x, out)
        return out

    def backward(self, grad: Any, x: Any, out: Any) -> Any:
        return np.where(x > 0, grad, grad * (out + self.alpha))
