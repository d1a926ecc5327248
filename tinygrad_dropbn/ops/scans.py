"""Running (prefix) sums along an axis.

The backward of a running sum is a running sum of the gradient taken from the other end:
``x[i]`` contributes to every ``out[j]`` with ``j >= i``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function


def _reversed(x: Any, axis: int) -> Any:
    """``x`` read backwards along ``axis`` (an array or a Tensor: a recorded slice)."""
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def cumulative_sum(x: Any, axis: int) -> Any:
    """The running sum of an array (NumPy) or of a Tensor (a recorded :class:`CumulativeSum`)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return np.cumsum(x, axis=axis)
    return CumulativeSum.apply(x, axis=axis)


class CumulativeSum(Function):
    """out[..., j, ...] = sum_{i <= j} x[..., i, ...] along ``axis``;
    dx[..., i, ...] = sum_{j >= i} grad[..., j, ...] (the running sum of the reversed grad,
    reversed back)."""

    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return _reversed(cumulative_sum(_reversed(grad, self.axis), self.axis), self.axis)
