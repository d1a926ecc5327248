"""Short text summaries of arrays and gradients, and the gradient-magnitude colour scale.

Every number is printed with four significant digits, so labels are short and the same
program always produces the same text. :class:`TensorSummary` and :class:`GradSummary` hold
everything a drawing shows of an array without the array itself, so a recorded graph
(:func:`~.record.record_graph`) can still be drawn after ``backward()`` released it.
"""
from __future__ import annotations

import functools
import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    from ..tensor import Tensor

INLINE_ELEMENTS = 4
"""Arrays with at most this many elements are shown value by value."""

# Fill colours by the order of magnitude of the mean |grad|: cool for vanishing, warm for
# exploding. Each entry is (upper bound of mean |grad|, colour, legend text).
GRAD_SCALE = (
    (1e-6, "#74add1", "< 1e-6"),
    (1e-4, "#abd9e9", "1e-6 .. 1e-4"),
    (1e-2, "#e0f3f8", "1e-4 .. 1e-2"),
    (1e0, "#ffffbf", "1e-2 .. 1"),
    (1e2, "#fee090", "1 .. 1e2"),
    (1e4, "#fc8d59", "1e2 .. 1e4"),
    (math.inf, "#d73027", ">= 1e4"),
)
ZERO_GRAD_COLOR = "#d9d9d9"


def number(value: float) -> str:
    """``value`` with four significant digits (``nan``/``inf`` spelled out)."""
    return f"{value:.4g}"


@functools.lru_cache(maxsize=None)
def dtype_name(dtype: np.dtype) -> str:
    """``str(dtype)``, remembered: NumPy works it out in Python on every call, which shows on
    a graph of 100,000 tensors."""
    return str(dtype)


def values(array: np.ndarray) -> str:
    """Every element of a small array, nested like the array: ``[[1, -0.5], [2, 3]]``."""
    parts = [_element(value) for value in array.ravel().tolist()]
    for length in reversed(array.shape):  # bracket the last axis first
        if length == 0:
            return "[]"
        parts = ["[" + ", ".join(parts[i:i + length]) + "]"
                 for i in range(0, len(parts), length)]
    return parts[0]


def _element(value: object) -> str:
    if isinstance(value, (bool, int)):
        return str(value)
    return number(value)


def data_summary(array: np.ndarray) -> str:
    """The values of a small array, or ``mean .. std .. min .. max`` of a large one."""
    if array.size <= INLINE_ELEMENTS:
        return values(array)
    as_float = array.astype(np.float64, copy=False)
    return (f"mean {number(as_float.mean())}  std {number(as_float.std())}  "
            f"min {number(as_float.min())}  max {number(as_float.max())}")


def grad_summary(grad: np.ndarray) -> str:
    """A gradient's values when small; otherwise its norm ||g|| and its max |g|."""
    if grad.size <= INLINE_ELEMENTS:
        return f"grad {values(grad)}"
    magnitude = np.abs(grad.astype(np.float64, copy=False))
    norm = math.sqrt(float(np.square(magnitude).sum()))
    if norm == 0:
        return "grad all zero"
    return f"grad norm {number(norm)}  max|g| {number(float(magnitude.max()))}"


def is_finite(array: Optional[np.ndarray]) -> bool:
    """True unless ``array`` holds a NaN or an infinity (non-float arrays are always finite)."""
    if array is None or array.dtype.kind not in "fc":
        return True
    return bool(np.isfinite(array).all())


def mean_magnitude(array: np.ndarray) -> float:
    """The mean |x| of an array (0 for an empty one)."""
    if array.size == 0:
        return 0.0
    return float(np.abs(array.astype(np.float64, copy=False)).mean())


def grad_color(mean_magnitude: float) -> str:
    """The fill colour for a gradient whose mean |grad| falls in a band of :data:`GRAD_SCALE`."""
    if mean_magnitude == 0:
        return ZERO_GRAD_COLOR
    for bound, color, _ in GRAD_SCALE:
        if mean_magnitude < bound:
            return color
    return GRAD_SCALE[-1][1]  # NaN compares false everywhere; its red border says the rest


@dataclass(slots=True)
class TensorSummary:
    """What a drawing shows of a tensor's value: a few numbers, never the array.

    Attributes:
        shape: the array's shape.
        dtype: its NumPy dtype.
        name: the tensor's ``name`` (None when unnamed).
        requires_grad: whether the tensor required a gradient.
        text: :func:`data_summary` of the values.
        finite: no NaN or infinity among the values.
        tensor: a weak reference to the tensor, when the summary was recorded (it answers None
            once the tensor is gone); not part of equality.
    """

    shape: tuple
    dtype: np.dtype
    name: Optional[str]
    requires_grad: bool
    text: str
    finite: bool
    tensor: Optional[weakref.ref] = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, t: "Tensor", keep_reference: bool = False) -> "TensorSummary":
        """The summary of ``t`` now (with a weak reference to it if ``keep_reference``)."""
        data = t.data
        return cls(tuple(data.shape), data.dtype, t.name, bool(t.requires_grad),
                   data_summary(data), is_finite(data),
                   weakref.ref(t) if keep_reference else None)

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)


@dataclass(slots=True)
class GradSummary:
    """What a drawing shows of a gradient: its label line, mean |grad| (for the colour) and
    whether it is finite; never the array.

    Attributes:
        text: :func:`grad_summary` of the gradient (``grad [1, -2]``, ``grad norm ...``).
        mean_magnitude: the mean |grad|, which ``grad_health`` colours by.
        finite: no NaN or infinity in the gradient.
    """

    text: str
    mean_magnitude: float
    finite: bool

    @classmethod
    def of(cls, grad: Any) -> "GradSummary":
        """The summary of a gradient array (or of a Tensor's values, in a recorded backward)."""
        plain = isinstance(grad, (np.ndarray, np.generic))
        array = np.asarray(grad if plain else grad.data)
        return cls(grad_summary(array), mean_magnitude(array), is_finite(array))
