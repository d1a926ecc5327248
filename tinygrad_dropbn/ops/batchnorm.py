"""Batch normalisation as one op, :class:`BatchNorm`, with its closed-form backward.

For input ``x`` of shape ``(N, C, *S)`` every channel ``c`` is normalised over the ``M = N *
prod(S)`` values it has in the batch, then scaled and shifted by per-channel parameters::

    mu = mean(x)                   sigma2 = mean((x - mu)^2)        (biased: divide by M)
    x_hat = (x - mu) / sqrt(sigma2 + eps)
    out = weight * x_hat + bias

In training, ``mu`` and ``sigma2`` are the batch's own statistics, which the op computes from
``x`` itself -- it accepts no others, since the backward below is only right for them. They
depend on ``x``, so the gradient reaches ``x`` three ways: directly through ``x_hat``, through
``mu`` and through ``sigma2``. Summed, with ``g`` the incoming gradient, ``s = 1 / sqrt(sigma2
+ eps)`` and sums over the ``M`` values of a channel, the three paths collapse into
(derivation in docs/dropout-and-batchnorm.md)::

    dbias   = sum(g)
    dweight = sum(g * x_hat)
    dx      = weight * s / M * (M g - sum(g) - x_hat * sum(g * x_hat))

In evaluation ``mu`` and ``sigma2`` are the running estimates, inputs of the op that receive
no gradient, so ``dx = g * weight * s``.

The running estimates are not this op's business: :func:`tinygrad_dropbn.nn.functional.
batch_norm` folds the batch statistics the op reports (:class:`BatchStatistics`) into them.
"""
from __future__ import annotations

import functools
import math
import sys
import threading
from typing import Any, Optional, Union

import numpy as np

from ..engine import Function
from .sums import SMALL, sum_axis0


def channel_axes(ndim: int) -> tuple:
    """Every axis but the channel axis (1): the axes batch norm reduces over."""
    return (0,) + tuple(range(2, ndim))


def _per_channel(values: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) array reshaped to (1, C, 1, ...) so it broadcasts against an ndim-D input."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def _channelwise(ufunc: np.ufunc, a: np.ndarray, values: np.ndarray,
                 out: Optional[np.ndarray]) -> np.ndarray:
    """``ufunc(a, values, out=out)`` with the (C,) ``values`` applied along the channel axis.

    NOTE: why not plain broadcasting on a large (N, C) array -- NumPy runs its inner loop once
    per row, and with short rows the per-row cost is much of the total: ``out *= scale`` on
    (256, 1024) float32 took 39 us, and 20 us as below. Viewing ``k`` rows as one row of
    ``k * C`` values and the vector tiled ``k`` times makes the rows long: each output value is
    the same operation on the same two numbers, so the result is identical.
    """
    long_rows = (out is not None and a.ndim == 2 and a.size >= LONG_ROWS_FROM
                 and a.flags.c_contiguous and out.flags.c_contiguous)
    rows = _rows_per_pass(*a.shape) if long_rows else 1
    if rows == 1:
        return ufunc(a, _per_channel(values, a.ndim), out=out)
    n, c = a.shape
    tiled = np.empty((rows, c), values.dtype)
    tiled[...] = values
    shape = (n // rows, rows * c)
    ufunc(a.reshape(shape), tiled.reshape(-1), out=out.reshape(shape))
    return out


@functools.lru_cache(maxsize=64)
def _rows_per_pass(n: int, c: int) -> int:
    """The most rows of ``c`` values, dividing ``n``, that make at most :data:`ROW_LENGTH`."""
    rows = max(1, min(n, ROW_LENGTH // c))
    while n % rows:
        rows -= 1
    return rows


#: Arrays of at least this many values get long rows in :func:`_channelwise`, of up to
#: ``ROW_LENGTH`` values (16384 was the fastest at (256, 1024) float32, 8192 as fast).
LONG_ROWS_FROM = 2**15
ROW_LENGTH = 2**14


def _channel_sum(a: np.ndarray) -> np.ndarray:
    """sum(a) over every axis but the channel axis: shape (C,)."""
    if a.ndim == 2:
        return sum_axis0(a)  # NOTE: faster for small arrays (see ops/sums.py)
    return np.add.reduce(a, axis=channel_axes(a.ndim))


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b) over every axis but the channel axis.

    NOTE: einsum does not materialise ``a * b``, which matters for large arrays (no temporary
    the size of x: see _SpareBuffers), but costs ~2 us per call whatever the size; a small
    (N, C) array is faster multiplied out and summed (see ops/sums.py).
    """
    if a.ndim == 2 and a.size <= SMALL:
        return sum_axis0(a * b)
    n, c = a.shape[:2]
    return np.einsum("ncl,ncl->c", a.reshape(n, c, -1), b.reshape(n, c, -1))


def batch_statistics(x: np.ndarray, out: Optional[np.ndarray] = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-channel batch mean and *biased* variance of ``x`` (shape (N, C, ...)).

    Returns:
        ``(mean, var, centered)``: ``mean`` and ``var = sum((x - mean)^2) / M`` of shape (C,),
        with ``M = x.size / C``, and ``centered = x - mean``, which the variance needs anyway
        and :class:`BatchNorm` keeps for its backward instead of subtracting a second time.
        ``centered`` is written into ``out`` when given (an array of ``x``'s shape and dtype).
    """
    count = x.size // x.shape[1]
    mean = _channel_sum(x) / x.dtype.type(count)
    centered = _channelwise(np.subtract, x, mean, out)
    return mean, _channel_dot(centered, centered) / count, centered


class _BufferPool(threading.local):
    """The (N, C) arrays batch norm allocates, kept per thread for the next steps to reuse.

    NOTE: why this exists -- page faults, not arithmetic. glibc serves arrays of this size
    (1 MiB at (256, 1024) float32) from its heap, and when a free leaves more than about twice
    the largest such block unused at the top of the heap it gives that memory back to the
    kernel (``M_TRIM_THRESHOLD``, which glibc sets to twice the last freed large block). A
    training step that frees the (N, C) arrays it made -- the output and the input's gradient,
    dropped by the caller, and the centered input -- can empty the top of the heap at once; it
    is then trimmed every step, and ~500 pages are faulted in again on the next
    (``benchmarks/bench_batchnorm.py`` counts them). Which blocks end up at the top depends on
    everything else the program allocates between steps (keeping one 200 kB object from then
    on was enough), so no allocation order avoids it. Not freeing them does: a step that
    reuses the arrays of the step before allocates and frees no (N, C) block at all.

    Two kinds of array, both checked for shape, dtype, C order and writeability on reuse:

    * ``spares``: ``centered`` buffers, private to the op. One comes back from
      :meth:`BatchNorm.release` after the backward pass that read it, from a recorded op freed
      without one, or from a forward pass that is not recorded -- never while anything else
      references it. At most :data:`SPARE_LIMIT`, the most recently given back.
    * ``lent``: outputs and input gradients, which the caller owns. The pool keeps a reference
      to each and hands it out again only once that reference is the last one: nothing can
      then read or write it, since a tensor, a saved graph, a view (its ``base``) or a
      memoryview holding it would all count. At most :data:`LENT_LIMIT` arrays and
      :data:`LENT_BYTES` bytes, the most recently lent: the memory the pool can keep alive
      after every caller has let go.
    """

    def __init__(self) -> None:
        self.spares: list[np.ndarray] = []
        self.lent: list[np.ndarray] = []
        self.lent_bytes = 0

    def take(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """A C-ordered array of this shape and dtype that nothing else references: a spare
        buffer, else a lent array nobody holds any more, else a new one."""
        if math.prod(shape) * dtype.itemsize < POOL_MIN_BYTES:
            return np.empty(shape, dtype)
        spares = self.spares
        for i in range(len(spares) - 1, -1, -1):
            if _fits(spares[i], shape, dtype):
                return spares.pop(i)
        lent = self.lent
        for i in range(len(lent) - 1, -1, -1):
            # NOTE: 2 = the list's reference and getrefcount's argument: nobody else has it
            if sys.getrefcount(lent[i]) == 2 and _fits(lent[i], shape, dtype):
                self.lent_bytes -= lent[i].nbytes
                return lent.pop(i)
        return np.empty(shape, dtype)

    def give(self, buffer: np.ndarray) -> None:
        """Keep a private buffer nothing else references."""
        if buffer.nbytes < POOL_MIN_BYTES:
            return
        self.spares.append(buffer)
        if len(self.spares) > SPARE_LIMIT:
            del self.spares[0]

    def lend(self, array: np.ndarray) -> np.ndarray:
        """Keep track of an array handed to the caller; returns it."""
        if array.nbytes < POOL_MIN_BYTES:
            return array
        lent = self.lent
        lent.append(array)
        self.lent_bytes += array.nbytes
        while len(lent) > LENT_LIMIT or self.lent_bytes > LENT_BYTES:
            self.lent_bytes -= lent.pop(0).nbytes
        return array


def _fits(array: np.ndarray, shape: tuple, dtype: np.dtype) -> bool:
    """Whether a pooled array can serve as one of this shape and dtype: C order and writeable
    too, which a caller may have changed before letting go of it."""
    flags = array.flags
    return (array.shape == shape and array.dtype == dtype and flags.c_contiguous
            and flags.writeable)


def _pooled_product(a: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``a * factor`` (``factor`` (C,), per channel) in an array of the pool, lent to the
    caller."""
    out = _pool.take(a.shape, np.result_type(a, factor))
    return _pool.lend(_channelwise(np.multiply, a, factor, out))


#: Arrays smaller than this are neither pooled nor taken from the pool: the faults came from
#: blocks of a megabyte and more, and at a small network's sizes the pool's bookkeeping would
#: cost more than the allocation it saves.
POOL_MIN_BYTES = 64 * 2**10
#: How many centered buffers a thread keeps (a network's batch-norm layers each hold one
#: during a step; more distinct shapes than this just allocate).
SPARE_LIMIT = 8
#: How many outputs and input gradients a thread keeps track of (two per batch-norm layer of
#: a network), and their largest total size.
LENT_LIMIT = 16
LENT_BYTES = 64 * 2**20
_pool = _BufferPool()


class BatchStatistics:
    """Where a training :class:`BatchNorm` reports the statistics it normalised with.

    An out-parameter, never read by the op: ``F.batch_norm`` passes an empty one, and after
    the forward pass finds in it the per-channel ``mean`` and *biased* ``var`` (arrays of
    shape (C,)) that the op computed from ``x``, to update the running estimates without a
    second pass over ``x``. It works whether or not the op was recorded in a graph.
    """

    __slots__ = ("mean", "var")

    def __init__(self) -> None:
        self.mean: Optional[np.ndarray] = None
        self.var: Optional[np.ndarray] = None


class BatchNorm(Function):
    """out = weight * (x - mean) * inv_std + bias per channel (axis 1), as one op.

    Inputs, in the order of ``F.batch_norm``'s arguments:

    * training: ``x`` or ``x, weight, bias``. ``mean`` and ``var`` are ``x``'s own batch
      statistics, computed here, and the backward differentiates through them::

          dx = weight * inv_std / M * (M g - sum(g) - x_hat * sum(g * x_hat))

    * evaluation: ``x, running_mean, running_var`` or ``x, running_mean, running_var, weight,
      bias``; the running statistics are constants of the maths (they get no gradient) and
      ``dx = g * weight * inv_std``. They are saved for the backward like ``x``, so changing
      one in place between the forward and the backward pass raises instead of giving a
      gradient for values the forward never used.

    Either way ``dweight = sum(g * x_hat)`` and ``dbias = sum(g)``; sums run over every axis
    but the channel axis, ``M`` is the number of values per channel,
    ``inv_std = 1 / sqrt(var + eps)`` and ``x_hat = (x - mean) * inv_std``.

    Keyword arguments: ``eps``, ``training``, and in training an optional ``statistics``, a
    :class:`BatchStatistics` the forward fills with the mean and biased variance it used.

    Two forms of the backward. On arrays (the ordinary backward pass) it reuses
    ``centered = x - mean`` and the per-channel ``inv_std`` that the forward computed and never
    stores ``x_hat``: every formula uses it inside a per-channel product, so ``inv_std`` is
    folded into the per-channel factors instead, and ``dx`` is finished in one buffer. On
    Tensors (``create_graph=True``) it recomputes the statistics from the saved ``x`` and
    reads as the formulas above, so that the recorded backward depends on ``x`` the way the
    gradient does and second derivatives come out right.
    """

    returns_new_grads = True  # every gradient below is computed into a new array

    def forward(self, x: np.ndarray, *inputs: np.ndarray, eps: float, training: bool,
                statistics: Optional[BatchStatistics] = None) -> np.ndarray:
        self.eps, self.training = eps, training
        self.axes, self.count = channel_axes(x.ndim), x.size // x.shape[1]
        if training:
            weight, bias = inputs or (None, None)
        else:
            running_mean, running_var, *affine = inputs
            weight, bias = affine or (None, None)
        # NOTE: both from the pool, which the output goes back to (see _BufferPool).
        out = _pool.lend(_pool.take(
            x.shape, x.dtype if weight is None else np.result_type(x, weight)))
        centered = _pool.take(x.shape, x.dtype)
        if training:
            mean, var, centered = batch_statistics(x, out=centered)
            if statistics is not None:
                statistics.mean, statistics.var = mean, var
            self.save_for_backward(x, *inputs[:1])
        else:
            mean, var = running_mean, running_var
            _channelwise(np.subtract, x, mean.astype(x.dtype, copy=False), centered)
            self.save_for_backward(x, running_mean, running_var, *affine[:1])
        self.affine = weight is not None
        # What the array backward reuses (the Tensor backward recomputes them from x).
        self.inv_std = 1 / np.sqrt(var.astype(x.dtype, copy=False) + eps)
        scale = self.inv_std if weight is None else weight * self.inv_std
        _channelwise(np.multiply, centered, scale, out)
        if weight is not None:
            _channelwise(np.add, out, bias, out)
        if self.inputs:  # recorded: the backward pass reads it, and release() gives it back
            self.centered = centered
        else:
            _pool.give(centered)
        return out

    def release(self) -> None:
        self._give_back_centered()
        super().release()

    def __del__(self) -> None:
        # NOTE: a recorded forward pass that no backward pass follows (a loss computed for
        # evaluation outside no_grad(), a model output dropped) is never released; without
        # this, each such (256, 1024) call freed its buffers and faulted ~490 pages back in
        # (benchmarks/bench_batchnorm.py, "forward only").
        try:
            self._give_back_centered()
        except Exception:  # at interpreter exit the module's globals may already be gone
            pass

    def _give_back_centered(self) -> None:
        """Hand the centered buffer to :data:`_pool`, unless something else now holds it
        (a reference taken from ``fn.centered``): a reused buffer is overwritten."""
        centered = self.__dict__.pop("centered", None)
        # NOTE: 2 = this local name and getrefcount's own argument
        if centered is not None and sys.getrefcount(centered) <= 2:
            _pool.give(centered)

    def backward(self, grad: Any, x: Any, *saved: Any) -> Union[Any, tuple]:
        running_mean, running_var = (None, None) if self.training else saved[:2]
        weight = saved[-1] if self.affine else None
        needs = self.needs_input_grad
        needs_x = needs[0]
        needs_weight, needs_bias = needs[-2:] if self.affine else (False, False)
        if isinstance(grad, (np.ndarray, np.generic)):
            grad_x, grad_weight, grad_bias = self._array_backward(
                grad, weight, needs_x, needs_weight, needs_bias)
        else:
            grad_x, grad_weight, grad_bias = self._closed_form(
                grad, x, running_mean, running_var, weight, needs_x)
        running = () if self.training else (None, None)  # no gradient for the running stats
        if not self.affine:
            return (grad_x, *running) if running else grad_x
        return (grad_x, *running, grad_weight if needs_weight else None,
                grad_bias if needs_bias else None)

    def _closed_form(self, grad: Any, x: Any, running_mean: Any, running_var: Any,
                     weight: Any, needs_x: bool) -> tuple:
        """The backward as derived, on Tensors (a recorded backward pass) or arrays."""
        axes = self.axes
        kept = (1, -1) + (1,) * (x.ndim - 2)
        if self.training:
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
        else:
            mean, var = running_mean.reshape(kept), running_var.reshape(kept)
            centered = x - mean
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat = centered * inv_std
        sum_grad = grad.sum(axis=axes, keepdims=True)
        sum_grad_x_hat = (grad * x_hat).sum(axis=axes, keepdims=True)
        scale = inv_std if weight is None else weight.reshape(kept) * inv_std
        grad_x = None
        if needs_x and self.training:
            m = self.count
            grad_x = scale * (grad - sum_grad / m - x_hat * sum_grad_x_hat / m)
        elif needs_x:
            grad_x = scale * grad
        return grad_x, sum_grad_x_hat.reshape(-1), sum_grad.reshape(-1)

    def _array_backward(self, grad: np.ndarray, weight: Optional[np.ndarray], needs_x: bool,
                        needs_weight: bool, needs_bias: bool) -> tuple:
        """The same formulas on arrays, from what the forward kept.

        NOTE: einsum and one in-place buffer because this runs on every training step: it
        needs one array the size of x (``dx``, from the pool and lent to the caller: see
        _BufferPool), the readable form one per operation.
        """
        through_stats = self.training and needs_x
        inv_std, ndim = self.inv_std, grad.ndim
        sum_grad = _channel_sum(grad) if through_stats or needs_bias else None
        sum_grad_x_hat = None
        if through_stats or needs_weight:
            sum_grad_x_hat = _channel_dot(grad, self.centered) * inv_std
        scale = inv_std if weight is None else weight * inv_std
        grad_x = None
        if through_stats:
            # scale * (g - sum(g) / M - x_hat * sum(g x_hat) / M), finished in one buffer
            grad_x = _pooled_product(self.centered, sum_grad_x_hat * inv_std / -self.count)
            grad_x += grad
            _channelwise(np.subtract, grad_x, sum_grad / self.count, grad_x)
            _channelwise(np.multiply, grad_x, scale, grad_x)
        elif needs_x:
            grad_x = _pooled_product(grad, scale)
        return grad_x, sum_grad_x_hat, sum_grad

    @property
    def name(self) -> str:
        mode = "train: batch statistics" if self.training else "eval: running statistics"
        return f"BatchNorm [{mode}]"
