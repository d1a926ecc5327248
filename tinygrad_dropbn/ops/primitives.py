"""The primitive ops: each one's forward and backward, side by side.

Every ``forward`` takes and returns NumPy arrays, and saves what its backward needs.
Every ``backward(grad, *saved)`` receives the gradient of the op's output and returns the
gradient of each input, in input order, as if no input had been broadcast: the engine sums
each gradient back to its input's shape.

The backward rules use only operators, methods that arrays and Tensors share (``.sum``,
``.reshape``, ...) and NumPy functions that Tensor implements (``np.exp``, ``np.where``,
``np.broadcast_to``, ...). So each rule also runs on Tensors, which is how
``create_graph=True`` records the backward pass and gets gradients of gradients.

Infinities and NaNs behave as in PyTorch, forward and backward. Where IEEE arithmetic defines
the result (overflow gives inf, 0 / 0 gives NaN, log(0) gives -inf), the ops that can meet
such a case compute it without NumPy's RuntimeWarning (see :func:`_ieee`); the hottest ops
(``+``, ``-``, ``*``) are left bare: on small arrays ``np.errstate`` costs more than they do.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..engine import Function
from ..validation import empty_reduction_error

Axis = Optional[Any]  # None, an int, or a tuple of ints


def _ieee() -> np.errstate:
    """A block in which overflow, division by zero and invalid operations give inf and NaN
    silently, as in PyTorch, instead of NumPy's RuntimeWarning."""
    return np.errstate(over="ignore", divide="ignore", invalid="ignore")


def _normalize_axis(axis: Axis, ndim: int) -> tuple:
    """``axis`` as a sorted tuple of non-negative ints (every axis when None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimension(s)")
        normalized.append(int(a) % max(ndim, 1))
    return tuple(sorted(normalized))


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with every reduced axis kept at size 1, so a reduction's gradient (or output)
    reshaped to it broadcasts against the input."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Add(Function):
    """out = a + b;  da = grad, db = grad."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def backward(self, grad: np.ndarray) -> tuple:
        return grad, grad


class Sub(Function):
    """out = a - b;  da = grad, db = -grad."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def backward(self, grad: np.ndarray) -> tuple:
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    """out = a * b;  da = grad * b, db = grad * a."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
        needs_a, needs_b = self.needs_input_grad
        return (grad * b if needs_a else None), (grad * a if needs_b else None)


class Div(Function):
    """out = a / b;  da = grad / b, db = -grad * a / b**2 = -grad * out / b."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with _ieee():
            out = a / b
        self.save_for_backward(b, out)
        return out

    def backward(self, grad: np.ndarray, b: np.ndarray, out: np.ndarray) -> tuple:
        needs_a, needs_b = self.needs_input_grad
        with _ieee():
            grad_a = grad / b
            return (grad_a if needs_a else None), (-grad_a * out if needs_b else None)


class Neg(Function):
    """out = -x;  dx = -grad."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return -grad


class Pow(Function):
    """out = a ** b;  da = grad * b * a ** (b - 1),  db = grad * out * log(a).

    ``x ** 2`` passes the exponent as a constant, so only ``da`` is computed.
    NOTE: as in PyTorch, da is 0 where b == 0 (a ** 0 is constant) and db is 0 where a == 0 and
    b >= 0: the points where the formulas would give 0 * inf = NaN.
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with _ieee():
            out = a ** b
        self.save_for_backward(a, b, out)
        self.exponent = b.item() if b.ndim == 0 else None
        return out

    def backward(self, grad: np.ndarray, a: np.ndarray, b: np.ndarray,
                 out: np.ndarray) -> tuple:
        needs_a, needs_b = self.needs_input_grad
        grad_a = grad_b = None
        with _ieee():
            if needs_a:
                grad_a = grad * b * a ** (b - 1)
                if self.exponent is None or self.exponent == 0:
                    grad_a = np.where(b == 0, 0, grad_a)
            if needs_b:
                grad_b = np.where((a == 0) & (b >= 0), 0, grad * out * np.log(a))
        return grad_a, grad_b

    @property
    def name(self) -> str:
        return "Pow" if self.exponent is None else f"Pow ** {self.exponent:g}"


class Exp(Function):
    """out = exp(x);  dx = grad * out."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with _ieee():
            out = np.exp(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        with _ieee():
            return grad * out


class Log(Function):
    """out = log(x);  dx = grad / x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        with _ieee():
            return np.log(x)

    def backward(self, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
        with _ieee():
            return grad / x


class Sqrt(Function):
    """out = sqrt(x);  dx = grad / (2 * out)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with _ieee():
            out = np.sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        with _ieee():
            return grad / (2 * out)


class Sine(Function):
    """out = sin(x);  dx = grad * cos(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
        return grad * np.cos(x)


class Cosine(Function):
    """out = cos(x);  dx = -grad * sin(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
        return -grad * np.sin(x)


class Rectify(Function):
    """ReLU, the rectified linear unit: out = max(x, 0);  dx = grad * (x > 0).

    NOTE: the mask is written ``out != 0`` (out is never negative) so that, as in PyTorch, a
    NaN passes its gradient on.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.maximum(x, 0)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        return grad * (out != 0)


class LeakyRectify(Function):
    """Leaky ReLU: out = x if x > 0 else slope * x;  dx = grad * (1 if x > 0 else slope)."""

    def forward(self, x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        self.negative_slope = negative_slope
        self.positive = x > 0
        return np.where(self.positive, x, x * x.dtype.type(negative_slope))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.positive, grad, grad * self.negative_slope)


class Logistic(Function):
    """The logistic sigmoid: out = 1 / (1 + exp(-x));  dx = grad * out * (1 - out).

    NOTE: computed as exp(-|x|) on each side so that neither branch overflows for |x| in the
    thousands.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        return grad * out * (1 - out)


class HyperbolicTangent(Function):
    """out = tanh(x);  dx = grad * (1 - out ** 2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        return grad * (1 - out * out)


class Abs(Function):
    """out = |x|;  dx = grad * sign(x) (0 at x = 0 and at NaN, as in PyTorch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.sign = np.where(np.isnan(x), 0, np.sign(x))
        return np.abs(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.sign


class Clip(Function):
    """out = min(max(x, lo), hi);  dx = grad where lo <= x <= hi, else 0 (PyTorch's clamp)."""

    def forward(self, x: np.ndarray, lo: Optional[float], hi: Optional[float]) -> np.ndarray:
        self.lo, self.hi = lo, hi
        self.inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            self.inside &= x >= lo
        if hi is not None:
            self.inside &= x <= hi
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.inside


class Maximum(Function):
    """out = max(a, b);  the larger input takes the gradient, ties split it in half (as PyTorch).

    NOTE: as in PyTorch, an input loses the gradient only to a larger one, so where either is
    NaN (out is NaN) both take the whole gradient.
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.maximum(a, b)
        tie = a == b
        self.share_a = np.where(tie, 0.5, ~(a < b)).astype(out.dtype)
        self.share_b = np.where(tie, 0.5, ~(a > b)).astype(out.dtype)
        return out

    def backward(self, grad: np.ndarray) -> tuple:
        return grad * self.share_a, grad * self.share_b


class Minimum(Maximum):
    """out = min(a, b) = -max(-a, -b);  the smaller input takes the gradient, ties split it."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # NOTE: Maximum's backward on (-a, -b) is exactly min's: the two sign flips cancel.
        return -super().forward(-a, -b)


class Clone(Function):
    """out = a copy of x;  dx = grad."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad


class Fill(Function):
    """out = value broadcast to x's shape (``fill_``, ``copy_``);  dx = 0 (x's values are
    gone), dvalue = grad, summed back to value's shape by the engine."""

    def forward(self, x: np.ndarray, value: np.ndarray) -> np.ndarray:
        return np.broadcast_to(value, x.shape).astype(x.dtype)

    def backward(self, grad: np.ndarray) -> tuple:
        return None, grad


class SetItem(Function):
    """out = x with ``out[index] = value`` (``x[index] = value``);
    dx = grad, 0 at ``index``;  dvalue = grad[index]."""

    def forward(self, x: np.ndarray, value: np.ndarray, index: Any) -> np.ndarray:
        self.index = index
        self.written = np.zeros(x.shape, dtype=bool)
        self.written[index] = True
        out = x.copy()
        out[index] = value
        return out

    def backward(self, grad: np.ndarray) -> tuple:
        return np.where(self.written, 0, grad), grad[self.index]


class Cast(Function):
    """out = x converted to ``dtype``;  dx = grad converted back to x's dtype."""

    def forward(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.astype(self.input_dtype)


class Sum(Function):
    """out = sum of x over ``axis``;  dx = grad broadcast back over the summed axes."""

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.input_shape, self.axes = x.shape, _normalize_axis(axis, x.ndim)
        self.keepdims = keepdims
        with _ieee():  # inf + -inf is NaN
            return np.asarray(x.sum(axis=self.axes, keepdims=keepdims))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        kept = grad.reshape(_kept_shape(self.input_shape, self.axes))
        return np.broadcast_to(kept, self.input_shape)


class Mean(Function):
    """out = mean of x over ``axis`` (n elements each);  dx = grad / n broadcast back."""

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.input_shape, self.axes = x.shape, _normalize_axis(axis, x.ndim)
        self.keepdims = keepdims
        self.count = int(np.prod([x.shape[a] for a in self.axes]))
        if not self.count:  # NOTE: NaN, as in PyTorch (NumPy would also warn)
            return np.full(x.sum(axis=self.axes, keepdims=keepdims).shape, np.nan, x.dtype)
        return np.asarray(x.mean(axis=self.axes, keepdims=keepdims))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        # NOTE: with no element averaged the input is empty, and so is its gradient.
        kept = grad.reshape(_kept_shape(self.input_shape, self.axes)) / max(self.count, 1)
        return np.broadcast_to(kept, self.input_shape)


class Var(Function):
    """out = sum((x - mean)^2) / (n - ddof);  dx = grad * 2 (x - mean) / (n - ddof).

    ``ddof`` (PyTorch's ``correction``) is 1 for the unbiased estimate (PyTorch's default) and 0
    for the biased one. When n - ddof <= 0 the divisor is 0, as in PyTorch: the result is NaN
    (or inf), and so is the gradient.
    """

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False,
                ddof: float = 1) -> np.ndarray:
        self.axes = _normalize_axis(axis, x.ndim)
        self.kept = _kept_shape(x.shape, self.axes)
        count = int(np.prod([x.shape[a] for a in self.axes]))
        self.divisor = max(count - ddof, 0)
        self.save_for_backward(x)
        if not count:
            return np.full(x.sum(axis=self.axes, keepdims=keepdims).shape, np.nan, x.dtype)
        centered = x - x.mean(axis=self.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray((centered * centered).sum(axis=self.axes, keepdims=keepdims)
                              / x.dtype.type(self.divisor))

    def backward(self, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
        centered = x - x.mean(axis=self.axes, keepdims=True)
        return grad.reshape(self.kept) * (2 / self.divisor if self.divisor else np.nan) * centered


class Std(Var):
    """out = sqrt(var(x));  dx = grad * (x - mean) / ((n - ddof) * out), 0 where out = 0.

    NOTE: one op rather than ``var().sqrt()``: for constant input the composition's gradient is
    0 / 0 = NaN, while every (x - mean) is 0 there, so the gradient is 0 (as in PyTorch).
    """

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False,
                ddof: int = 1) -> np.ndarray:
        out = np.sqrt(super().forward(x, axis, keepdims, ddof))
        self.save_for_backward(x, out)
        return out

    def backward(self, grad: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        out = out.reshape(self.kept)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(out == 0, 0, grad.reshape(self.kept) / (self.divisor * out))
        return scale * (x - x.mean(axis=self.axes, keepdims=True))


class Max(Function):
    """out = max of x over ``axis``;  dx = grad shared equally among the maximal elements.

    Ties split the gradient evenly, as in PyTorch. A NaN is the maximum (NumPy and PyTorch
    agree): the full reduction ``max()`` shares the gradient among the NaNs, like
    ``torch.max()``, while a reduction over given axes finds no element equal to a NaN result,
    so its gradient there is NaN, like ``torch.amax``'s.
    """

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.axes, self.keepdims = _normalize_axis(axis, x.ndim), keepdims
        if any(x.shape[a] == 0 for a in self.axes):
            raise empty_reduction_error(type(self).__name__.lower(), x.shape, axis)
        out = x.max(axis=self.axes, keepdims=True)
        winners = (x != x) if axis is None and out != out else x == out  # x != x: NaN
        with _ieee():
            self.share = (winners / winners.sum(axis=self.axes, keepdims=True)).astype(x.dtype)
        return np.asarray(out if keepdims else np.squeeze(out, axis=self.axes))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(_kept_shape(self.share.shape, self.axes)) * self.share


class Min(Max):
    """out = min of x over ``axis``;  dx = grad shared equally among the minimal elements."""

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        return -super().forward(-x, axis, keepdims)


class Reshape(Function):
    """out = x viewed with a new shape;  dx = grad viewed with x's shape."""

    def forward(self, x: np.ndarray, shape: tuple) -> np.ndarray:
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(self.input_shape)


class Expand(Function):
    """out = x broadcast to ``shape`` (a read-only view);  dx = grad, which the engine sums
    back over the broadcast axes like any broadcast input's gradient."""

    def forward(self, x: np.ndarray, shape: tuple) -> np.ndarray:
        return np.broadcast_to(x, shape)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad


class Tile(Function):
    """out = x repeated ``repeats[i]`` times along axis i (``x.repeat``, NumPy's ``tile``;
    missing leading axes count as size 1);  dx = the sum of grad over the copies: grad viewed
    with shape (r0, n0, r1, n1, ...) summed over the r axes."""

    def forward(self, x: np.ndarray, repeats: tuple) -> np.ndarray:
        self.input_shape = x.shape
        self.split_shape = sum(zip(repeats, (1,) * (len(repeats) - x.ndim) + x.shape), ())
        return np.tile(x, repeats)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        copies = tuple(range(0, len(self.split_shape), 2))
        return grad.reshape(self.split_shape).sum(axis=copies).reshape(self.input_shape)


class Transpose(Function):
    """out = x with its axes permuted;  dx = grad with the inverse permutation."""

    def forward(self, x: np.ndarray, axes: Optional[tuple] = None) -> np.ndarray:
        self.axes = tuple(reversed(range(x.ndim))) if axes is None else axes
        return x.transpose(self.axes)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.transpose(tuple(np.argsort(self.axes).tolist()))


class GetItem(Function):
    """out = x[index];  dx = zeros with grad added at ``index`` (repeated indices accumulate)."""

    def forward(self, x: np.ndarray, index: Any) -> np.ndarray:
        self.input_shape, self.index = x.shape, index
        return np.array(x[index], copy=True)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        # NOTE: the gradient of indexing is an op of its own (whose gradient is indexing
        # again), so recording the backward pass (grad a Tensor) records it as one.
        if isinstance(grad, (np.ndarray, np.generic)):
            return Scatter().forward(grad, self.index, self.input_shape)
        return Scatter.apply(grad, index=self.index, shape=self.input_shape)


class Scatter(Function):
    """out = zeros(shape) with x added at ``index`` (repeated indices add up);  dx = grad[index].

    The backward of :class:`GetItem`.
    """

    def forward(self, x: np.ndarray, index: Any, shape: tuple) -> np.ndarray:
        self.index = index
        out = np.zeros(shape, dtype=x.dtype)
        if _is_basic_index(index):
            out[index] = x  # ints and slices select each element at most once
        else:
            # NOTE: np.add.at, unlike out[index] += x, adds once per occurrence of an index.
            np.add.at(out, index, x)
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad[self.index]


def _is_basic_index(index: Any) -> bool:
    """Whether ``index`` uses only ints, slices, None and Ellipsis (no index arrays)."""
    parts = index if type(index) is tuple else (index,)
    return all(isinstance(part, (int, np.integer, slice)) or part is None or part is Ellipsis
               for part in parts)


class Concatenate(Function):
    """out = the inputs joined along ``axis``;  each input's gradient is its slice of grad."""

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        out = np.concatenate(xs, axis=axis)
        before = (slice(None),) * (axis % out.ndim)
        ends = np.cumsum([x.shape[axis] for x in xs]).tolist()
        self.pieces = [before + (slice(end - x.shape[axis], end),) for x, end in zip(xs, ends)]
        return out

    def backward(self, grad: np.ndarray) -> tuple:
        return tuple(grad[piece] for piece in self.pieces)


class Stack(Function):
    """out = the inputs stacked along a new ``axis``;  each input's gradient is its slice."""

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        out = np.stack(xs, axis=axis)
        self.axis = axis % out.ndim
        return out

    def backward(self, grad: np.ndarray) -> tuple:
        before = (slice(None),) * self.axis
        return tuple(grad[before + (i,)] for i in range(grad.shape[self.axis]))


class Where(Function):
    """out = a where condition else b;  da = grad where condition, db = grad elsewhere."""

    def forward(self, condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.condition = condition.astype(bool)
        return np.where(self.condition, a, b)

    def backward(self, grad: np.ndarray) -> tuple:
        _, needs_a, needs_b = self.needs_input_grad
        return (None,
                np.where(self.condition, grad, 0) if needs_a else None,
                np.where(self.condition, 0, grad) if needs_b else None)


class MatMul(Function):
    """out = a @ b;  da = grad @ b^T, db = a^T @ grad (batched over leading axes).

    A 1-D ``a`` is treated as a row vector and a 1-D ``b`` as a column vector, as in NumPy.
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, grad: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
        operand_a, operand_b = a, b
        # NumPy multiplies a 1-D right operand as a column (k, 1) and a 1-D left operand as a
        # row (1, k), then drops that axis from the result: put it back on grad first.
        if b.ndim == 1:
            b, grad = b[:, None], grad[..., None]
        if a.ndim == 1:
            a, grad = a[None, :], np.expand_dims(grad, -2)
        needs_a, needs_b = self.needs_input_grad
        grad_a = _lowered(grad @ b.swapaxes(-1, -2), operand_a) if needs_a else None
        grad_b = _lowered(a.swapaxes(-1, -2) @ grad, operand_b) if needs_b else None
        return grad_a, grad_b


def _lowered(grad: Any, operand: Any) -> Any:
    """A matmul gradient computed for a lifted 1-D ``operand``, summed back to its shape.

    Gradients of operands with two or more axes keep their batch axes: the engine sums them
    away like any broadcast. A 1-D operand's lifted axis is in the middle of those, so it is
    summed here.
    """
    if operand.ndim != 1:
        return grad
    return grad.reshape(-1, operand.shape[0]).sum(axis=0)


class LogSumExp(Function):
    """out = log(sum(exp(x))) over ``axis``, shifted by the max;  dx = grad * softmax(x)."""

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.axes, self.keepdims = _normalize_axis(axis, x.ndim), keepdims
        shift = x.max(axis=self.axes, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0)
        with _ieee():
            out = np.log(np.exp(x - shift).sum(axis=self.axes, keepdims=True)) + shift
        self.save_for_backward(x)
        return np.asarray(out if keepdims else np.squeeze(out, axis=self.axes))

    def backward(self, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
        # NOTE: softmax from x shifted by its (finite) max, not exp(x - out): in float32,
        # x - out loses the digits that matter once x is in the thousands.
        shift = x.max(axis=self.axes, keepdims=True)
        with _ieee():
            exp = np.exp(x - np.where(np.isfinite(shift), shift, 0))
            softmax = exp / exp.sum(axis=self.axes, keepdims=True)
            return grad.reshape(_kept_shape(x.shape, self.axes)) * softmax


class NormalizedExp(Function):
    """Softmax, the normalised exponential: out = exp(x - max) / sum(exp(x - max)) over
    ``axis``;  dx = out * (grad - sum(grad * out, axis))."""

    def forward(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        self.axis = _normalize_axis(axis, x.ndim)
        with _ieee():
            exp = np.exp(x - x.max(axis=self.axis, keepdims=True))
            out = exp / exp.sum(axis=self.axis, keepdims=True)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        with _ieee():
            return out * (grad - (grad * out).sum(axis=self.axis, keepdims=True))


class LogNormalizedExp(Function):
    """out = x - logsumexp(x, axis);  dx = grad - softmax(x) * sum(grad, axis)."""

    def forward(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        self.axis = _normalize_axis(axis, x.ndim)
        with _ieee():
            shifted = x - x.max(axis=self.axis, keepdims=True)
            out = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        with _ieee():  # exp(out) is the softmax
            return grad - np.exp(out) * grad.sum(axis=self.axis, keepdims=True)

