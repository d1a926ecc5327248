"""Embedding lookup as one op, :class:`EmbeddingLookup`: rows of a weight table picked by index."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..engine import Function
from .primitives import Scatter


class EmbeddingLookup(Function):
    """out[..., :] = weight[indices[...], :];  dweight = grad added into the rows it came from
    (a row picked twice gets both gradients), except row ``padding_idx``, which gets none.

    ``indices`` (an integer array) and ``padding_idx`` are constants of the op.
    """

    def forward(self, weight: np.ndarray, indices: np.ndarray,
                padding_idx: Optional[int]) -> np.ndarray:
        self.indices, self.padding_idx, self.weight_shape = indices, padding_idx, weight.shape
        return weight[indices]

    def backward(self, grad: Any) -> Any:
        # NOTE: the scatter is an op of its own (its gradient is the lookup again), so a
        # recorded backward pass (grad a Tensor) records it as one.
        if isinstance(grad, (np.ndarray, np.generic)):
            grad_weight = Scatter().forward(grad, self.indices, self.weight_shape)
        else:
            grad_weight = Scatter.apply(grad, index=self.indices, shape=self.weight_shape)
        if self.padding_idx is None:
            return grad_weight
        keep = np.ones((self.weight_shape[0], 1), dtype=grad.dtype)
        keep[self.padding_idx] = 0
        return grad_weight * keep
