"""The fused affine map of ``nn.Linear``, :class:`Affine`: ``x @ weight^T + bias`` as one op."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..engine import Function
from .sums import sum_axis0


class Affine(Function):
    """out = x @ weight^T + bias, as one op;
    dx = grad @ weight,  dweight = grad^T @ x,  dbias = grad summed over the batch.

    ``x`` has shape (*, in), ``weight`` (out, in), ``bias`` (out,) or absent; leading axes of
    ``x`` are batch axes, so ``dweight`` and ``dbias`` sum over all of them. Fusing the
    transpose, the matmul and the bias add saves two graph nodes and a temporary per layer,
    and ``dweight`` comes out in the weight's own (out, in) layout. The backward is matrix
    products and a sum, so run on Tensors (``create_graph=True``) it records itself and gives
    second derivatives.
    """

    returns_new_grads = True  # matrix products and a sum: new arrays

    def forward(self, x: np.ndarray, weight: np.ndarray,
                bias: Optional[np.ndarray] = None) -> np.ndarray:
        self.save_for_backward(x, weight)
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, grad: Any, x: Any, weight: Any) -> tuple:
        needs = self.needs_input_grad
        grad_x = grad @ weight if needs[0] else None
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_weight = None
        if needs[1]:
            grad_weight = grad_2d.T @ x.reshape(-1, x.shape[-1])
        if len(needs) == 2:
            return grad_x, grad_weight
        grad_bias = None
        if needs[2]:  # NOTE: sum_axis0 is faster for small arrays (see ops/sums.py)
            grad_bias = sum_axis0(grad_2d) if type(grad_2d) is np.ndarray else grad_2d.sum(axis=0)
        return grad_x, grad_weight, grad_bias
