"""Sums of a 2-D array along one axis, as a matrix-vector product with ones where that is faster.

NOTE: why this exists -- NumPy's reduction of a small 2-D array costs microseconds whatever the
size (``np.add.reduce(a, axis=0)`` 2.3 us at (64, 16) float32, ``a.sum(axis=1)`` 1.9 us at
(64, 2) and 6 us at (256, 10)), while the BLAS matrix-vector product ``ones @ a`` (or
``a @ ones``) takes 0.6-1.2 us there. Those sizes are a small network's whole step: batch
norm's statistics and gradient sums, a linear layer's bias gradient, a loss over the classes.
Along axis 1, arrays of more than :data:`SMALL` values keep NumPy's reduction, which was no
slower in CPU time there; along axis 0, see :func:`sum_axis0`.
"""
from __future__ import annotations

import numpy as np

#: Up to this many values, a sum is a matrix-vector product.
SMALL = 32768


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    ones = np.empty(n, dtype)
    ones.fill(1)  # NOTE: np.ones is a Python-level wrapper of these two calls
    return ones


def sum_axis0(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D array: shape (a.shape[1],), ``a``'s dtype.

    NOTE: along axis 0 the product ``ones @ a`` wins at every size when ``a`` is C-contiguous
    (11.8 against 17.7 us of CPU time at (256, 1024) float32, on one BLAS thread and on two):
    the BLAS streams the rows as NumPy's reduction does, adding each row to the column sums in
    turn. A large array of any other layout (a broadcast gradient, a transposed view) keeps
    NumPy's reduction: the BLAS would first copy it.
    """
    if a.size > SMALL and not a.flags.c_contiguous:
        return np.add.reduce(a, axis=0)
    return np.dot(_ones(a.shape[0], a.dtype), a)


def sum_axis1(a: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """``a.sum(axis=1, keepdims=keepdims)`` of a 2-D array, ``a``'s dtype."""
    if a.size > SMALL:
        return np.add.reduce(a, axis=1, keepdims=keepdims)
    total = np.dot(a, _ones(a.shape[1], a.dtype))
    return total.reshape(-1, 1) if keepdims else total
