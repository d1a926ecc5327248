"""``LayerNorm``: ``F.layer_norm`` (the :class:`~tinygrad_dropbn.ops.layernorm.LayerNormalization` op)
with its parameters."""
from __future__ import annotations

import numbers
from typing import Any, Sequence, Union

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .layers import factory_dtype
from .module import Module, Parameter


class LayerNorm(Module):
    """Layer normalisation over the last dimensions of each sample::

        y = (x - mean) / sqrt(var + eps) * weight + bias

    ``mean`` and the biased ``var`` are taken over the last ``len(normalized_shape)`` axes of
    each sample, in training and evaluation alike (there are no running statistics, and the
    output does not depend on the rest of the batch).

    Args:
        normalized_shape: the trailing shape to normalise over (an int for the last axis).
        eps: added to the variance for numerical stability.
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of that shape.
        bias: learn ``bias`` too (only with ``elementwise_affine``).
        device, dtype: as for :class:`~tinygrad_dropbn.nn.Linear`.

    Shape:
        (*, *normalized_shape) -> the same shape.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> nn.LayerNorm(2)(tg.Tensor([[1.0, 3.0], [0.0, -4.0]])).numpy().round(3).tolist()
        [[-1.0, 1.0], [1.0, -1.0]]
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        dtype = factory_dtype(device, dtype)
        self.normalized_shape = F.normalized_shape_tuple(normalized_shape, "LayerNorm")
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps >= 0:
            raise ValueError(f"LayerNorm eps must be a non-negative number, got {eps!r}")
        self.eps = eps
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if bias else None
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
