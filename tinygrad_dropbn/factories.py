"""Functions that make new tensors, with PyTorch's names, arguments and default dtypes:
``zeros``, ``ones``, ``full``, ``empty``, their ``*_like`` forms, ``arange``, ``linspace``,
``eye``, the random ``rand``/``randn``/``randint`` (from the package's seedable generator,
``tg.manual_seed``) and ``from_numpy``.

Sizes are given as varargs or one sequence: ``tg.zeros(2, 3)`` or ``tg.zeros((2, 3))``. A
floating-point default is float32, an integer one int64, as in PyTorch.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import dtypes
from . import random as _random
from .tensor import ArrayLike, Tensor, _shape


def _made(array: np.ndarray, dtype: Any, requires_grad: bool, device: Any) -> Tensor:
    """A tensor owning ``array``, converted to ``dtype`` (when given), on the CPU only."""
    dtypes.check_device(device)
    if dtype is not None:
        array = array.astype(dtypes.as_dtype(dtype), copy=False)
    made = Tensor._from_op(array, None)
    return made.requires_grad_(True) if requires_grad else made


def zeros(*size: int, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    return _made(np.zeros(_shape(size), dtype=np.float32), dtype, requires_grad, device)


def ones(*size: int, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    return _made(np.ones(_shape(size), dtype=np.float32), dtype, requires_grad, device)


def empty(*size: int, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of the given size (filled with zeros: NumPy's uninitialised memory is not
    worth the surprise)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype is inferred from it like
    ``tg.tensor`` (an int fills an int64 tensor, a float a float32 one)."""
    value = np.asarray(fill_value)
    inferred = value.dtype if isinstance(fill_value, np.generic) else dtypes.inferred_dtype(value)
    return _made(np.full(_shape(tuple(size) if isinstance(size, (tuple, list)) else (size,)),
                         value, dtype=inferred), dtype, requires_grad, device)


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _made(np.zeros(input.shape, dtype=input.dtype), dtype, requires_grad, device)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _made(np.ones(input.shape, dtype=input.dtype), dtype, requires_grad, device)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _made(np.full(input.shape, fill_value, dtype=input.dtype), dtype, requires_grad,
                 device)


def arange(start: float, end: Optional[float] = None, step: float = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` below ``end`` (``arange(n)`` is 0 .. n-1): int64 when
    every argument is an integer, else float32, as in PyTorch."""
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    array = np.arange(start, end, step, dtype=np.int64 if integral else np.float32)
    return _made(array, dtype, requires_grad, device)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (float32 unless
    ``dtype`` says otherwise)."""
    target = np.float32 if dtype is None else dtypes.as_dtype(dtype)
    return _made(np.linspace(start, end, steps, dtype=np.float64).astype(target), None,
                 requires_grad, device)


def eye(n: int, m: Optional[int] = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``)."""
    return _made(np.eye(n, m, dtype=np.float32), dtype, requires_grad, device)


def randn(*size: int, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the library's generator."""
    data = _random.generator().standard_normal(_shape(size)).astype(np.float32)
    return _made(data, dtype, requires_grad, device)


def rand(*size: int, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from the library's generator."""
    data = _random.generator().random(_shape(size)).astype(np.float32)
    return _made(data, dtype, requires_grad, device)


def randint(*args: Any, size: Any = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``; int64 unless ``dtype`` says otherwise."""
    if size is None:
        *bounds, size = args
    else:
        bounds = list(args)
    if len(bounds) not in (1, 2):
        raise TypeError("randint() takes (high, size) or (low, high, size)")
    low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
    shape = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    data = _random.generator().integers(low, high, size=shape, dtype=np.int64)
    return _made(data, dtype, requires_grad, device)


def randn_like(input: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return randn(*input.shape, dtype=input.dtype if dtype is None else dtype, device=device,
                 requires_grad=requires_grad)


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return rand(*input.shape, dtype=input.dtype if dtype is None else dtype, device=device,
                requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (no copy), as ``torch.from_numpy``: a change to
    one is seen by the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy() expects a NumPy ndarray, got {type(array).__name__}; "
                        "use tg.tensor() for other data")
    return Tensor._from_op(array, None)


def as_tensor(data: ArrayLike, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory with a NumPy array or a tensor of the requested
    dtype, else a new one (``torch.as_tensor``)."""
    dtypes.check_device(device)
    if isinstance(data, Tensor) and (dtype is None or dtypes.as_dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or dtypes.as_dtype(dtype) == data.dtype):
        return Tensor._from_op(data, None)
    from_python = not isinstance(data, (Tensor, np.ndarray, np.generic))
    array = np.asarray(data.data if isinstance(data, Tensor) else data)
    if dtype is None and from_python:
        dtype = dtypes.inferred_dtype(array)
    return _made(np.array(array, copy=True), dtype, False, None)
