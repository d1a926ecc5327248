"""Checks of what users hand the public API, and the errors that explain a refusal.

Each check runs only off the hot paths (an ndarray given to ``Tensor`` is never inspected
here), and each error names the input and the fix, in PyTorch's terms where PyTorch raises.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def empty_reduction_error(name: str, shape: tuple, axis: Any) -> Exception:
    """The error for ``max``/``min``/``argmax``/``argmin`` over no element, with PyTorch's
    exception type: an IndexError, except for ``max()``/``min()`` of a whole empty tensor, for
    which PyTorch raises a RuntimeError."""
    if axis is None:
        error = IndexError if name.startswith("arg") else RuntimeError
        return error(
            f"{name}() of an empty tensor (shape {tuple(shape)}) has no value; reduce along an "
            f"axis of non-zero size with {name}(axis=...), or check the input is not empty")
    return IndexError(
        f"{name}(axis={axis}) of a tensor of shape {tuple(shape)}: the reduced axis has size 0, "
        "so there is no element to take the "
        f"{'maximum' if 'max' in name else 'minimum'} of; reduce along an axis of non-zero size")


NON_LEAF_REQUIRES_GRAD = (
    "you can only change requires_grad flags of leaf tensors: this one was computed by an op "
    "(its grad_fn), and its gradient flows through that op whatever the flag says. To use its "
    "value without a gradient, take x.detach().")


_NUMERIC_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex numbers


def refuse_non_numeric(array: np.ndarray) -> None:
    """Raise unless ``array`` holds numbers (``Tensor()`` given an ndarray calls this only when
    the dtype is not numeric, so the check costs the fast path nothing)."""
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"Tensor() needs numbers, got an array of dtype {array.dtype} "
                        f"(shape {array.shape}); convert it first, e.g. arr.astype(np.float32)")


def numeric_array(data: Any, dtype: Any, what: str = "Tensor()") -> np.ndarray:
    """``data`` (a number, a nested list of numbers, or anything with ``__array__``) as an
    array of ``dtype``, or a TypeError/ValueError naming what is wrong, as ``torch.tensor``
    refuses it: None, strings, other objects, ragged lists. ``what`` names the caller in the
    message."""
    if type(data) in (float, int, bool):
        return np.array(data, dtype=dtype)
    try:
        inferred = np.array(data)
    except ValueError as err:
        problem = _ragged(data)
        if problem is None:
            raise ValueError(f"{what} cannot make an array from {type(data).__name__}: "
                             f"{err}") from None
        raise ValueError(f"{what} got a ragged nested sequence: {problem}; every row must "
                         "have the same length") from None
    if inferred.dtype.kind not in _NUMERIC_KINDS:
        culprit = _first_non_number(data)
        if culprit is not None:
            where, value = culprit
            raise TypeError(f"{what} needs numbers, got {type(value).__name__} {value!r}"
                            f"{where}; give a number, a nested list of numbers or an ndarray")
        if inferred.dtype.kind != "O":
            refuse_non_numeric(inferred)
        return np.array(data, dtype=dtype)  # e.g. integers too large for int64
    return inferred.astype(dtype, copy=False)


def _is_sequence(x: Any) -> bool:
    return isinstance(x, (list, tuple)) or getattr(x, "ndim", 0) > 0


def _first_non_number(data: Any, where: str = "") -> Any:
    """``(where, value)`` for the first element of nested ``data`` that is not a number (None,
    a string, another object), or None."""
    if _is_sequence(data):
        for i, item in enumerate(data):
            found = _first_non_number(item, f"{where}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(data, (bool, int, float, complex, np.number, np.bool_)) or (
            getattr(data, "ndim", None) == 0 and np.asarray(data).dtype.kind in _NUMERIC_KINDS):
        return None
    return (f" at {where}" if where else "", data)


def _ragged(data: Any) -> Any:
    """Where nested ``data`` stops being rectangular, in ``torch.tensor``'s words ("expected
    sequence of length 2 at dim 1 (got 1)"), or None if it is rectangular."""
    shape = []
    probe = data
    while _is_sequence(probe):
        shape.append(len(probe))
        if not len(probe):
            break
        probe = probe[0]

    def walk(item: Any, dim: int) -> Any:
        if dim == len(shape):
            return (f"expected a number at dim {dim} (got a sequence of length {len(item)})"
                    if _is_sequence(item) else None)
        if not _is_sequence(item):
            return f"expected sequence of length {shape[dim]} at dim {dim} (got a number)"
        if len(item) != shape[dim]:
            return f"expected sequence of length {shape[dim]} at dim {dim} (got {len(item)})"
        for element in item:
            problem = walk(element, dim + 1)
            if problem is not None:
                return problem
        return None

    return walk(data, 0)


def index_error(shape: tuple, index: Any, err: IndexError) -> IndexError:
    """NumPy's IndexError for ``tensor[index]`` restated with the tensor's shape and the index,
    naming the axis that is out of range when the index says which."""
    parts = index if isinstance(index, tuple) else (index,)
    axis = 0
    for part in parts:
        if part is Ellipsis:  # the axes after an ellipsis count from the end
            axis = len(shape) - sum(p is not None and p is not Ellipsis for p in parts[
                parts.index(part) + 1:])
            continue
        if part is None:
            continue
        if axis < len(shape) and isinstance(part, (int, np.integer)) and not isinstance(
                part, bool) and not -shape[axis] <= part < shape[axis]:
            return IndexError(f"index {int(part)} is out of range for axis {axis} of size "
                              f"{shape[axis]} (tensor of shape {tuple(shape)}, index "
                              f"{index!r})")
        axis += getattr(part, "ndim", 1) if not isinstance(part, slice) else 1
    reason = str(err).replace("array", "tensor")
    return IndexError(f"cannot index a tensor of shape {tuple(shape)} with {index!r}: {reason}")


def check_new_axis(axis: int, shape: tuple, what: str) -> None:
    """Raise unless ``axis`` can place a new axis in a tensor of ``shape`` (-ndim-1 to ndim)."""
    ndim = len(shape)
    if not -ndim - 1 <= axis <= ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a tensor of shape "
                         f"{tuple(shape)}: a new axis goes at {-ndim - 1} to {ndim}")


def resolve_dim(dim: Any, axis: Any, what: str, default: Any = None) -> Any:
    """The axis argument given as PyTorch's ``dim`` or as NumPy's ``axis`` (both only if
    equal); ``default`` when neither was."""
    if axis is None:
        return default if dim is None else dim
    if dim is not None and dim != axis:
        raise TypeError(f"{what}() got dim={dim!r} and axis={axis!r}; they are two names for "
                        "the same argument (PyTorch's and NumPy's), pass one")
    return axis
