"""The primitive ops: each one's forward and backward, side by side.

Every ``forward`` takes and returns NumPy arrays. Every ``backward(grad)`` receives the gradient
of the op's output and returns the gradient of each input, in input order, as if no input had
been broadcast: the engine sums each gradient back to its input's shape.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .engine import Function

Axis = Optional[Any]  # None, an int, or a tuple of ints


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


def _expand_reduced(grad: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Reinsert the axes a reduction removed so ``grad`` broadcasts against its input."""
    return grad if keepdims else np.expand_dims(grad, axes)


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
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: np.ndarray) -> tuple:
        needs_a, needs_b = self.needs_input_grad
        return (grad * self.b if needs_a else None), (grad * self.a if needs_b else None)


class Div(Function):
    """out = a / b;  da = grad / b, db = -grad * a / b**2 = -grad * out / b."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, grad: np.ndarray) -> tuple:
        needs_a, needs_b = self.needs_input_grad
        grad_a = grad / self.b
        return (grad_a if needs_a else None), (-grad_a * self.out if needs_b else None)


class Neg(Function):
    """out = -x;  dx = -grad."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return -grad


class Pow(Function):
    """out = x ** exponent (a constant);  dx = grad * exponent * x ** (exponent - 1).

    NOTE: ``x ** 0`` is the constant 1, so its gradient is 0 everywhere -- including at x = 0,
    where the formula would give 0 * inf = NaN.
    """

    def forward(self, x: np.ndarray, exponent: float) -> np.ndarray:
        self.x, self.exponent = x, exponent
        return x ** exponent

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self.exponent == 0:
            return np.zeros_like(grad)
        return grad * self.exponent * self.x ** (self.exponent - 1)

    @property
    def name(self) -> str:
        return f"Pow ** {self.exponent:g}"


class Power(Function):
    """out = a ** b, both tensors;  da = grad * b * a ** (b - 1), db = grad * out * log(a).

    NOTE: as in PyTorch, da is 0 where b == 0 (a ** 0 is constant) and db is 0 where a == 0 and
    b >= 0, the points where the formulas would give 0 * inf = NaN.
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, grad: np.ndarray) -> tuple:
        needs_a, needs_b = self.needs_input_grad
        a, b = self.a, self.b
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if needs_a:
                grad_a = np.where(b == 0, 0, grad * b * a ** (b - 1))
            if needs_b:
                grad_b = np.where((a == 0) & (b >= 0), 0, grad * self.out * np.log(a))
        return grad_a, grad_b


class Exp(Function):
    """out = exp(x);  dx = grad * out."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.exp(x)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.out


class Log(Function):
    """out = log(x);  dx = grad / x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad / self.x


class Sqrt(Function):
    """out = sqrt(x);  dx = grad / (2 * out)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad / (2 * self.out)


class ReLU(Function):
    """out = max(x, 0);  dx = grad * (x > 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.maximum(x, 0)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * (self.out > 0)


class LeakyReLU(Function):
    """out = x if x > 0 else slope * x;  dx = grad * (1 if x > 0 else slope)."""

    def forward(self, x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        self.negative_slope = negative_slope
        self.positive = x > 0
        return np.where(self.positive, x, x * x.dtype.type(negative_slope))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self.positive, grad, grad * grad.dtype.type(self.negative_slope))


class Sigmoid(Function):
    """out = 1 / (1 + exp(-x));  dx = grad * out * (1 - out).

    NOTE: computed as exp(-|x|) on each side so that neither branch overflows for |x| in the
    thousands.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.out * (1 - self.out)


class Tanh(Function):
    """out = tanh(x);  dx = grad * (1 - out ** 2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * (1 - self.out * self.out)


class Abs(Function):
    """out = |x|;  dx = grad * sign(x) (0 at x = 0, as in PyTorch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.abs(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * np.sign(self.x)


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
    """out = max(a, b);  the larger input takes the gradient, ties split it in half (as PyTorch)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, grad: np.ndarray) -> tuple:
        share_a = (self.a > self.b) + 0.5 * (self.a == self.b)
        share_a = share_a.astype(grad.dtype)
        return grad * share_a, grad * (1 - share_a)


class Minimum(Maximum):
    """out = min(a, b) = -max(-a, -b);  the smaller input takes the gradient, ties split it."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # NOTE: Maximum's backward on (-a, -b) is exactly min's: the two sign flips cancel.
        return -super().forward(-a, -b)


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
        self.input_shape = x.shape
        self.axes, self.keepdims = _normalize_axis(axis, x.ndim), keepdims
        return np.asarray(x.sum(axis=self.axes, keepdims=keepdims))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_expand_reduced(grad, self.axes, self.keepdims), self.input_shape)


class Mean(Function):
    """out = mean of x over ``axis`` (n elements each);  dx = grad / n broadcast back."""

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        self.axes, self.keepdims = _normalize_axis(axis, x.ndim), keepdims
        self.count = int(np.prod([x.shape[a] for a in self.axes]))
        return np.asarray(x.mean(axis=self.axes, keepdims=keepdims))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad = _expand_reduced(grad, self.axes, self.keepdims) / grad.dtype.type(self.count)
        return np.broadcast_to(grad, self.input_shape)


class Var(Function):
    """out = sum((x - mean)^2) / (n - ddof);  dx = grad * 2 (x - mean) / (n - ddof).

    ``ddof`` is 1 for the unbiased estimate (PyTorch's default) and 0 for the biased one.
    """

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False,
                ddof: int = 1) -> np.ndarray:
        self.axes, self.keepdims = _normalize_axis(axis, x.ndim), keepdims
        count = int(np.prod([x.shape[a] for a in self.axes]))
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        self.divisor = x.dtype.type(count - ddof)
        return np.asarray(
            (self.centered ** 2).sum(axis=self.axes, keepdims=keepdims) / self.divisor)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad = _expand_reduced(grad, self.axes, self.keepdims)
        return grad * (2 / self.divisor) * self.centered


class Std(Var):
    """out = sqrt(var(x));  dx = grad * (x - mean) / ((n - ddof) * out), 0 where out = 0.

    NOTE: one op rather than ``var().sqrt()``: for constant input the composition's gradient is
    0 / 0 = NaN, while every (x - mean) is 0 there, so the gradient is 0 (as in PyTorch).
    """

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False,
                ddof: int = 1) -> np.ndarray:
        self.out = np.sqrt(super().forward(x, axis, keepdims, ddof))
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        out = _expand_reduced(self.out, self.axes, self.keepdims)
        grad = _expand_reduced(grad, self.axes, self.keepdims)
        scale = np.divide(grad, self.divisor * out, out=np.zeros(out.shape, grad.dtype),
                          where=out != 0)
        return scale * self.centered


class Max(Function):
    """out = max of x over ``axis``;  dx = grad shared equally among the maximal elements.

    Ties split the gradient evenly, like ``torch.amax``.
    """

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.axes, self.keepdims = _normalize_axis(axis, x.ndim), keepdims
        out = x.max(axis=self.axes, keepdims=True)
        self.winners = x == out
        return np.asarray(out if keepdims else np.squeeze(out, axis=self.axes))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad = _expand_reduced(grad, self.axes, self.keepdims)
        count = self.winners.sum(axis=self.axes, keepdims=True)
        return grad * self.winners / count.astype(grad.dtype)


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


class Transpose(Function):
    """out = x with its axes permuted;  dx = grad with the inverse permutation."""

    def forward(self, x: np.ndarray, axes: Optional[tuple] = None) -> np.ndarray:
        self.axes = tuple(reversed(range(x.ndim))) if axes is None else axes
        return x.transpose(self.axes)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.transpose(np.argsort(self.axes))


class GetItem(Function):
    """out = x[index];  dx = zeros with grad added at ``index`` (repeated indices accumulate)."""

    def forward(self, x: np.ndarray, index: Any) -> np.ndarray:
        self.input_shape, self.index = x.shape, index
        return np.array(x[index], copy=True)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        dx = np.zeros(self.input_shape, dtype=grad.dtype)
        if _is_basic_index(self.index):
            dx[self.index] = grad  # ints and slices select each element at most once
        else:
            # NOTE: np.add.at, unlike dx[index] += grad, adds once per occurrence of an index.
            np.add.at(dx, self.index, grad)
        return dx


def _is_basic_index(index: Any) -> bool:
    """Whether ``index`` uses only ints, slices, None and Ellipsis (no index arrays)."""
    parts = index if type(index) is tuple else (index,)
    return all(isinstance(part, (int, np.integer, slice)) or part is None or part is Ellipsis
               for part in parts)


class Concatenate(Function):
    """out = the inputs joined along ``axis``;  each input's gradient is its slice of grad."""

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        self.axis = axis
        self.boundaries = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(self, grad: np.ndarray) -> tuple:
        return tuple(np.split(grad, self.boundaries, axis=self.axis))


class Stack(Function):
    """out = the inputs stacked along a new ``axis``;  each input's gradient is its slice."""

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        out = np.stack(xs, axis=axis)
        self.axis = axis % out.ndim
        return out

    def backward(self, grad: np.ndarray) -> tuple:
        return tuple(np.moveaxis(grad, self.axis, 0))


class Where(Function):
    """out = a where condition else b;  da = grad where condition, db = grad elsewhere."""

    def forward(self, condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.condition = condition.astype(bool)
        return np.where(self.condition, a, b)

    def backward(self, grad: np.ndarray) -> tuple:
        zero = np.zeros((), dtype=grad.dtype)
        _, needs_a, needs_b = self.needs_input_grad
        return (None,
                np.where(self.condition, grad, zero) if needs_a else None,
                np.where(self.condition, zero, grad) if needs_b else None)


class MatMul(Function):
    """out = a @ b;  da = grad @ b^T, db = a^T @ grad (batched over leading axes).

    A 1-D ``a`` is treated as a row vector and a 1-D ``b`` as a column vector, as in NumPy.
    """

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs tensors with at least 1 dimension, got a scalar; "
                             "use * to multiply by a scalar")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"matmul shape mismatch: {a.shape} @ {b.shape}: the last dimension of the left "
                f"operand ({a.shape[-1]}) must equal the "
                f"{'second-to-last' if b.ndim > 1 else 'only'} dimension of the right operand "
                f"({b.shape[-2 if b.ndim > 1 else 0]}). Transpose one of them (x.T) or fix "
                "the layer sizes.")
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad: np.ndarray) -> tuple:
        a, b = self.a, self.b
        # NumPy multiplies a 1-D right operand as a column (k, 1) and a 1-D left operand as a
        # row (1, k), then drops that axis from the result: put it back on grad first.
        if b.ndim == 1:
            b, grad = b[:, None], grad[..., None]
        if a.ndim == 1:
            a, grad = a[None, :], np.expand_dims(grad, -2)
        needs_a, needs_b = self.needs_input_grad
        grad_a = _lowered(grad @ np.swapaxes(b, -1, -2), self.a) if needs_a else None
        grad_b = _lowered(np.swapaxes(a, -1, -2) @ grad, self.b) if needs_b else None
        return grad_a, grad_b


def _lowered(grad: np.ndarray, operand: np.ndarray) -> np.ndarray:
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
        exp = np.exp(x - shift)
        total = exp.sum(axis=self.axes, keepdims=True)
        self.softmax = exp / total
        out = np.log(total) + shift
        return np.asarray(out if keepdims else np.squeeze(out, axis=self.axes))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return _expand_reduced(grad, self.axes, self.keepdims) * self.softmax


class Softmax(Function):
    """out = exp(x - max) / sum(exp(x - max)) over ``axis``;
    dx = out * (grad - sum(grad * out, axis))."""

    def forward(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        self.axis = axis
        exp = np.exp(x - x.max(axis=axis, keepdims=True))
        self.out = exp / exp.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        out = self.out
        return out * (grad - (grad * out).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """out = x - logsumexp(x, axis);  dx = grad - softmax(x) * sum(grad, axis)."""

    def forward(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=axis, keepdims=True)
        self.softmax = exp / total
        return shifted - np.log(total)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad - self.softmax * grad.sum(axis=self.axis, keepdims=True)

