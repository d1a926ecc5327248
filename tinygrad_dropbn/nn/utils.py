"""``nn.utils``: gradient clipping and flattening parameters into one vector, as in
``torch.nn.utils``.

Example:
    >>> import tinygrad_dropbn as tg
    >>> import tinygrad_dropbn.nn as nn
    >>> model = nn.Linear(3, 2)
    >>> model(tg.randn(4, 3)).sum().backward()
    >>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    >>> grads = nn.utils.parameters_to_vector([p.grad for p in model.parameters()])
    >>> bool(total.item() > 0.5 and abs(float((grads * grads).sum()) - 0.25) < 1e-5)
    True
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Union

import numpy as np

from ..autograd import increment_version
from ..tensor import Tensor, concatenate

Parameters = Union[Tensor, Iterable[Tensor]]

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _tensors(parameters: Parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Scale the gradients of ``parameters`` together, in place, so that their joint norm is
    at most ``max_norm``::

        total = (sum over every gradient element of |g|^p)^(1/p)    (max |g| for p = inf)
        g *= min(1, max_norm / (total + 1e-6))

    Returns the total norm before clipping, a 0-d tensor. Parameters without a gradient are
    skipped; ``foreach`` is accepted and ignored.

    Raises:
        RuntimeError: ``error_if_nonfinite`` and the total norm is NaN or infinite (nothing
            is changed then).
    """
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32))
    dtype = grads[0].data.dtype
    if norm_type == math.inf:
        norms = [np.abs(g.data).max() if g.data.size else 0 for g in grads]
        total = np.max(norms)
    else:
        norms = [np.linalg.norm(g.data.ravel(), norm_type) for g in grads]
        total = np.linalg.norm(np.asarray(norms, dtype=dtype), norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    scale = min(1.0, float(max_norm) / (float(total) + 1e-6))
    for grad in grads:
        grad.data *= grad.data.dtype.type(scale)
        increment_version(grad)
    return Tensor(total)


def clip_grad_value_(parameters: Parameters, clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clip every gradient element of ``parameters`` into [-clip_value, clip_value], in place.
    ``foreach`` is accepted and ignored."""
    clip_value = float(clip_value)
    for p in _tensors(parameters):
        if p.grad is not None:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
            increment_version(p.grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Every tensor of ``parameters`` flattened and joined into one vector (differentiable)."""
    tensors = _tensors(parameters)
    if not tensors:
        raise ValueError("parameters_to_vector got no tensors")
    return concatenate([p.reshape(-1) for p in tensors])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the vector ``vec`` into ``parameters``, in place (the
    inverse of :func:`parameters_to_vector`; not differentiable)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters expects a 1-d vector, got shape {vec.shape}")
    tensors = _tensors(parameters)
    needed = sum(p.data.size for p in tensors)
    if vec.shape[0] != needed:
        raise ValueError(f"vector_to_parameters: the vector has {vec.shape[0]} elements but the "
                         f"parameters need {needed}")
    start = 0
    for p in tensors:
        p.data[...] = vec.data[start:start + p.data.size].reshape(p.data.shape)
        increment_version(p)
        start += p.data.size
