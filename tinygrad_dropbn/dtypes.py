"""Dtype names as PyTorch spells them, and the one device: the CPU.

Each name is the NumPy scalar type, so ``x.dtype == tg.float32``, ``Tensor(data,
dtype=tg.int64)`` and ``np.zeros(3, dtype=tg.float64)`` all work::

    tg.float32 is np.float32;  tg.long is np.int64;  tg.bool is np.bool_

:func:`inferred_dtype` is ``torch.tensor``'s dtype inference; :func:`parse_to` reads the
arguments of ``Tensor.to`` and ``Module.to``.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

float32 = float = np.float32
float64 = double = np.float64
float16 = half = np.float16
int64 = long = np.int64
int32 = int = np.int32
int16 = short = np.int16
int8 = np.int8
uint8 = np.uint8
bool = np.bool_  # noqa: A001 -- PyTorch's name, as tg.bool

#: PyTorch's default floating-point dtype, which Python floats become.
DEFAULT_FLOAT = np.dtype(np.float32)

_TYPE_NAMES = {np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
               np.dtype(np.float16): "HalfTensor", np.dtype(np.int64): "LongTensor",
               np.dtype(np.int32): "IntTensor", np.dtype(np.int16): "ShortTensor",
               np.dtype(np.int8): "CharTensor", np.dtype(np.uint8): "ByteTensor",
               np.dtype(np.bool_): "BoolTensor"}


def as_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype: a name here (``tg.long``), a NumPy dtype or its name, or a
    ``torch`` dtype (read by name, so that code written for PyTorch runs)."""
    name = str(dtype)
    if name.startswith("torch."):
        name = name[len("torch."):]
        return np.dtype(np.bool_ if name == "bool" else _TORCH_ALIASES.get(name, name))
    return np.dtype(dtype)


_TORCH_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
                  "int": "int32", "short": "int16"}


def type_name(dtype: np.dtype) -> str:
    """``x.type()``'s answer: the legacy tensor-type name, e.g. ``tinygrad_dropbn.FloatTensor``."""
    return f"tinygrad_dropbn.{_TYPE_NAMES.get(np.dtype(dtype), str(dtype))}"


def inferred_dtype(array: np.ndarray) -> np.dtype:
    """The dtype ``torch.tensor`` gives data that arrived as Python values (``array`` is
    NumPy's reading of them): floats -> float32, ints -> int64, bools -> bool."""
    kind = array.dtype.kind
    if kind == "f":
        return DEFAULT_FLOAT
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"cannot make a tensor from data of NumPy dtype {array.dtype}; pass "
                    "numbers, bools, or nested lists of them")


def check_device(device: Any) -> None:
    """Accept the CPU (``"cpu"``, ``"cpu:0"``, a ``torch.device("cpu")``, None); anything else
    raises, naming the fix."""
    name = "cpu" if device is None else str(device)
    if name.split(":")[0] != "cpu":
        raise RuntimeError(f"device {name!r} is not available: tinygrad_dropbn runs on the CPU "
                           "(NumPy) only. Use 'cpu', or drop the .to(device) call.")


def is_device(value: Any) -> bool:
    """Whether ``value`` names a device (a string that is not a dtype name, or a
    ``torch.device``) rather than a dtype."""
    if isinstance(value, str):
        try:
            np.dtype(value)
        except TypeError:
            return True
        return False
    return type(value).__name__ == "device"


def parse_to(args: tuple, dtype: Any, device: Any) -> Optional[np.dtype]:
    """The dtype ``to(*args, dtype=, device=)`` converts to (None: keep it), after checking
    the device. ``args`` may hold a device, a dtype, both (device first), or a tensor whose
    dtype to take (anything with a ``dtype`` and a ``shape``)."""
    for arg in args:
        if is_device(arg):
            device = arg
        elif not isinstance(arg, type) and hasattr(arg, "dtype") and hasattr(arg, "shape"):
            dtype = arg.dtype
        else:
            dtype = arg
    check_device(device)
    return None if dtype is None else as_dtype(dtype)
