"""Elementwise functions beyond the primitives: reciprocal, reciprocal square root, log1p,
expm1, and the rounding functions, whose gradient is zero (as in PyTorch).

Each backward is written with operators and NumPy functions a Tensor implements, so it also
runs on Tensors (``create_graph=True``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..engine import Function
from .primitives import _ieee


class Reciprocal(Function):
    """out = 1 / x;  dx = -grad / x**2 = -grad * out**2."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with _ieee():
            out = np.reciprocal(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        with _ieee():
            return -grad * out * out


class ReciprocalSqrt(Function):
    """out = x ** -1/2;  dx = -grad * x ** -3/2 / 2 = -grad * out**3 / 2."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with _ieee():
            out = 1 / np.sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        with _ieee():
            return grad * out * out * out * -0.5


class LogOnePlus(Function):
    """out = log(1 + x), exact for tiny x;  dx = grad / (1 + x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with _ieee():
            out = np.log1p(x)
        self.save_for_backward(x)
        return out

    def backward(self, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
        with _ieee():
            return grad / (x + 1)


class ExpMinusOne(Function):
    """out = exp(x) - 1, exact for tiny x;  dx = grad * exp(x) = grad * (out + 1)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with _ieee():
            out = np.expm1(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        with _ieee():
            return grad * (out + 1)


class Rounding(Function):
    """out = rounding(x) for a piecewise-constant ``rounding`` (sign, floor, ceil, round,
    trunc);  dx = 0, its derivative wherever it has one (PyTorch's choice: the output keeps a
    ``grad_fn``, the gradient that flows back is zero)."""

    def forward(self, x: np.ndarray, rounding: Callable, decimals: int = 0) -> np.ndarray:
        self.rounding = rounding.__name__  # display only; the function itself is not kept
        out = rounding(x, decimals) if decimals else rounding(x)
        return np.asarray(out, dtype=x.dtype)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * 0
