"""Checks of what users hand the public API, and the errors that explain a refusal.

Each check runs only off the hot paths (an ndarray given to ``Tensor`` is never inspected
here), and each error names the input and the fix, in PyTorch's terms where PyTorch raises.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def empty_reduction_error(name: str, shape: tuple, axis: Any) -> Exception:
    """The error for ``max``/``min`` over no element, PyTorch's exception type: over the whole
    of an empty tensor a RuntimeError, over an axis of size 0 an IndexError."""
    if axis is None:
        return RuntimeError(
            f"{name}() of an empty tensor (shape {tuple(shape)}) has no value; reduce along an "
            f"axis of non-zero size with {name}(axis=...), or check the input is not empty")
    return IndexError(
        f"{name}(axis={axis}) of a tensor of shape {tuple(shape)}: the reduced axis has size 0, "
        "so there is no element to take the "
        f"{'maximum' if name == 'max' else 'minimum'} of; reduce along an axis of non-zero size")
