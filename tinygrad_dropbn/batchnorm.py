"""Batch normalisation as one op with its closed-form backward, and its functional form.

For input ``x`` of shape ``(N, C, *S)`` every channel ``c`` is normalised over the ``M = N *
prod(S)`` values it has in the batch, then scaled and shifted by learned per-channel
parameters::

    mu = mean(x)                   sigma2 = mean((x - mu)^2)        (biased: divide by M)
    x_hat = (x - mu) / sqrt(sigma2 + eps)
    out = weight * x_hat + bias

In training, ``mu`` and ``sigma2`` are the batch's own statistics, so they depend on ``x`` and
the gradient reaches ``x`` three ways: directly through ``x_hat``, through ``mu`` and through
``sigma2``. Summed, with ``g`` the incoming gradient and sums over the ``M`` values of a
channel, the three paths collapse into (derivation in docs/dropout-and-batchnorm.md)::

    dbias   = sum(g)
    dweight = sum(g * x_hat)
    dx      = weight / sqrt(sigma2 + eps) / M * (M g - sum(g) - x_hat * sum(g * x_hat))

In evaluation ``mu`` and ``sigma2`` are the running estimates (constants), so
``dx = g * weight / sqrt(sigma2 + eps)``.

The running estimates are updated by :func:`batch_norm`, outside the op, with PyTorch's rule
``running = (1 - momentum) * running + momentum * batch_stat``, using the *unbiased* batch
variance ``sigma2 * M / (M - 1)`` for ``running_var``.
"""
from __future__ import annotations

import numbers
from typing import Optional, Union

import numpy as np

from .engine import Function
from .tensor import Tensor, check_float_tensor

RunningStat = Optional[Union[Tensor, np.ndarray]]


def channel_axes(ndim: int) -> tuple:
    """Every axis but the channel axis (1): the axes batch norm reduces over."""
    return (0,) + tuple(range(2, ndim))


def _per_channel(values: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) array reshaped to (1, C, 1, ...) so it broadcasts against an ndim-D input."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b) over every axis but the channel axis, without materialising a * b."""
    n, c = a.shape[:2]
    return np.einsum("ncl,ncl->c", a.reshape(n, c, -1), b.reshape(n, c, -1))


def batch_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-channel batch mean and *biased* variance of ``x`` (shape (N, C, ...)).

    Returns:
        ``(mean, var, centered)``: ``mean`` and ``var = sum((x - mean)^2) / M`` of shape (C,),
        with ``M = x.size / C``, and ``centered = x - mean``, which the variance needs anyway
        and :class:`BatchNorm` can take over instead of subtracting a second time.
    """
    count = x.size // x.shape[1]
    # NOTE: np.add.reduce / count is what ndarray.mean computes, minus its Python-level wrapper.
    mean = np.add.reduce(x, axis=channel_axes(x.ndim)) / x.dtype.type(count)
    centered = x - _per_channel(mean, x.ndim)
    return mean, _channel_dot(centered, centered) / count, centered


class BatchNorm(Function):
    """out = weight * (x - mean) / sqrt(var + eps) + bias, per channel (axis 1), as one op.

    Inputs are ``x`` alone (no affine parameters) or ``x, weight, bias``. ``mean`` and ``var``
    (shape (C,)) are attributes: in training they must be ``x``'s own batch statistics (from
    :func:`batch_statistics`), and the backward differentiates through them::

        dx = weight * inv_std / M * (M g - sum(g) - x_hat * sum(g * x_hat))

    In evaluation they are running estimates, constants, and ``dx = g * weight * inv_std``.
    Either way ``dweight = sum(g * x_hat)`` and ``dbias = sum(g)``; sums run over every axis
    but the channel axis, ``M`` is the number of values per channel,
    ``inv_std = 1 / sqrt(var + eps)`` and ``x_hat = (x - mean) * inv_std``.

    Saved for the backward: ``centered = x - mean`` (the one array the size of ``x``; passing
    the one :func:`batch_statistics` made avoids computing it twice, and the op keeps it),
    ``inv_std`` and ``weight``. ``x_hat`` is never stored: every formula above uses it inside a
    per-channel product, so ``inv_std`` is folded into the per-channel factors instead. The
    backward allocates one array, ``dx``, and finishes it in place.
    """

    def forward(self, x: np.ndarray, weight: Optional[np.ndarray] = None,
                bias: Optional[np.ndarray] = None, *, mean: np.ndarray, var: np.ndarray,
                eps: float, training: bool, centered: Optional[np.ndarray] = None
                ) -> np.ndarray:
        self.training = training
        self.dims = max(x.ndim - 2, 1)
        self.axes, self.count = channel_axes(x.ndim), x.size // x.shape[1]
        self.inv_std = 1 / np.sqrt(var.astype(x.dtype, copy=False) + eps)
        if centered is None:
            centered = x - _per_channel(mean.astype(x.dtype, copy=False), x.ndim)
        self.centered, self.weight = centered, weight
        if weight is None:
            return centered * _per_channel(self.inv_std, x.ndim)
        out = centered * _per_channel(weight * self.inv_std, x.ndim)
        out += _per_channel(bias, x.ndim)
        return out

    def backward(self, grad: np.ndarray) -> Union[np.ndarray, tuple]:
        needs_x, *needs_affine = self.needs_input_grad
        needs_weight, needs_bias = needs_affine or (False, False)
        through_stats = self.training and needs_x
        inv_std, ndim = self.inv_std, grad.ndim
        sum_grad = grad.sum(axis=self.axes) if through_stats or needs_bias else None
        sum_grad_x_hat = None
        if through_stats or needs_weight:
            sum_grad_x_hat = _channel_dot(grad, self.centered) * inv_std
        scale = inv_std if self.weight is None else self.weight * inv_std
        grad_x = None
        if through_stats:
            # scale * (g - sum(g) / M - x_hat * sum(g x_hat) / M), finished in one buffer
            grad_x = self.centered * _per_channel(sum_grad_x_hat * inv_std / -self.count, ndim)
            grad_x += grad
            grad_x -= _per_channel(sum_grad / self.count, ndim)
            grad_x *= _per_channel(scale, ndim)
        elif needs_x:
            grad_x = grad * _per_channel(scale, ndim)
        if not needs_affine:
            return grad_x
        return (grad_x, sum_grad_x_hat if needs_weight else None,
                sum_grad if needs_bias else None)

    @property
    def name(self) -> str:
        mode = "train: batch statistics" if self.training else "eval: running statistics"
        return f"BatchNorm{self.dims}d [{mode}]"


def update_running_stats(running_mean: np.ndarray, running_var: np.ndarray, mean: np.ndarray,
                         var: np.ndarray, count: int, momentum: float) -> None:
    """Fold one batch's statistics into the running estimates, in place.

    ``running = (1 - momentum) * running + momentum * batch_stat`` (the article's
    ``beta = 1 - momentum``), where the batch variance is made unbiased first:
    ``var * count / (count - 1)``. Evaluation divides by the running variance as an estimate
    of the population's, which is why the unbiased form is the one kept.
    """
    for running, stat in ((running_mean, mean), (running_var, var * (count / (count - 1)))):
        running *= 1 - momentum
        running += momentum * stat


def batch_norm(x: Tensor, running_mean: RunningStat, running_var: RunningStat,
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5,
               impl: str = "fused") -> Tensor:
    """Batch normalisation over axis 1 (channels)::

        out = weight * (x - mean) / sqrt(var + eps) + bias

    Training (``training=True``): ``mean`` and ``var`` are the batch's own per-channel mean
    and biased variance, and ``running_mean``/``running_var`` (when given) are updated in
    place, even under ``no_grad``::

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)

    with ``M`` values per channel (the unbiased variance is what is kept). Evaluation
    (``training=False``): normalise with ``running_mean`` and ``running_var``, unchanged.

    Args:
        x: input of shape (N, C) or (N, C, ...).
        running_mean, running_var: (C,) float Tensors or arrays, updated in place in training;
            both None to use batch statistics only (then ``training`` must be True).
        weight, bias: (C,) scale and shift, or None (scale 1, shift 0).
        training: use and track batch statistics (True) or use the running ones (False).
        momentum: the weight of the new batch in the running average, in [0, 1]. For a
            cumulative average pass ``1 / number_of_batches_so_far`` (the modules do this for
            ``momentum=None``).
        eps: added to the variance for numerical stability.
        impl: ``"fused"`` (the :class:`BatchNorm` op: one graph node) or ``"composed"`` (the
            same maths from primitive ops: mean, subtract, multiply, sqrt, divide -- a
            reference to compare against; its graph shows every intermediate).

    Shape:
        (N, C) or (N, C, *) -> same shape.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn.batchnorm import batch_norm
        >>> x = tg.Tensor([[1.0, 10.0], [3.0, 30.0]])
        >>> running_mean, running_var = np.zeros(2, np.float32), np.ones(2, np.float32)
        >>> batch_norm(x, running_mean, running_var, training=True).numpy().round(3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> running_mean.tolist()
        [0.20000000298023224, 2.0]
    """
    _check_input(x, running_mean, running_var, weight, bias, training)
    momentum = _check_momentum(momentum)
    if not eps >= 0:  # NOTE: written so that NaN fails too
        raise ValueError(f"batch_norm eps must be a non-negative number, got {eps!r}")
    if impl not in ("fused", "composed"):
        raise ValueError(f"batch_norm impl must be 'fused' or 'composed', got {impl!r}")
    if (weight is None) != (bias is None):
        channels = x.shape[1]
        if weight is None:
            weight = Tensor._from_op(np.ones(channels, dtype=x.dtype), None)
        else:
            bias = Tensor._from_op(np.zeros(channels, dtype=x.dtype), None)
    affine = () if weight is None else (weight, bias)
    if training:
        if impl == "fused":
            mean, var, centered = batch_statistics(x.data)
            out = BatchNorm.apply(x, *affine, mean=mean, var=var, eps=eps, training=True,
                                  centered=centered)
        else:
            out, mean, var = _composed_batch_norm(x, weight, bias, None, None, eps)
        if running_mean is not None:
            update_running_stats(_array(running_mean), _array(running_var), mean, var,
                                 x.data.size // x.shape[1], momentum)
        return out
    mean, var = _array(running_mean), _array(running_var)
    if impl == "fused":
        return BatchNorm.apply(x, *affine, mean=mean, var=var, eps=eps, training=False)
    return _composed_batch_norm(x, weight, bias, mean, var, eps)[0]


def _composed_batch_norm(x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                         mean: Optional[np.ndarray], var: Optional[np.ndarray], eps: float
                         ) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """Batch norm from primitive ops (what ``impl="composed"`` runs).

    With ``mean``/``var`` None the batch statistics are computed as graph nodes (so the engine
    differentiates through them op by op); otherwise they are constants. Returns the output
    and the per-channel mean and biased variance used.
    """
    axes = channel_axes(x.ndim)
    if mean is None:
        mean_t = x.mean(axis=axes, keepdims=True)
        centered = x - mean_t
        var_t = (centered * centered).mean(axis=axes, keepdims=True)
    else:
        mean_t = Tensor._from_op(_per_channel(mean.astype(x.dtype), x.ndim), None)
        var_t = Tensor._from_op(_per_channel(var.astype(x.dtype), x.ndim), None)
        centered = x - mean_t
    out = centered / (var_t + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(mean_t.shape) + bias.reshape(mean_t.shape)
    return out, mean_t.data.reshape(-1), var_t.data.reshape(-1)


def _array(stat: Union[Tensor, np.ndarray]) -> np.ndarray:
    """The array behind a running statistic (a Tensor's own ``data``, so updates are in place)."""
    return stat.data if isinstance(stat, Tensor) else stat


def _check_momentum(momentum: float) -> float:
    if momentum is None:
        raise ValueError(
            "batch_norm momentum=None (a cumulative moving average) needs the number of batches "
            "seen so far, which the BatchNorm modules track in num_batches_tracked: use "
            "nn.BatchNorm1d(..., momentum=None), or pass momentum=1 / num_batches yourself")
    if (type(momentum) is not float
            and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real))) \
            or not 0.0 <= momentum <= 1.0:
        raise ValueError(f"batch_norm momentum must be a number in [0, 1], got {momentum!r}")
    return float(momentum)


def _check_input(x: Tensor, running_mean: RunningStat, running_var: RunningStat,
                 weight: Optional[Tensor], bias: Optional[Tensor], training: bool) -> None:
    """Raise before anything is computed or updated, so a bad call changes no state."""
    check_float_tensor(x, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C) or (N, C, ...), got "
                         f"{x.ndim}-D input of shape {x.shape}; add a batch axis, e.g. "
                         "x.reshape(1, -1)")
    channels = x.shape[1]
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm needs both running_mean and running_var, or neither")
    for label, value in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        if value is None:
            continue
        if not isinstance(value, (Tensor, np.ndarray)) or value.dtype.kind != "f":
            raise TypeError(f"batch_norm {label} must be a float Tensor or ndarray, got "
                            f"{type(value).__name__}")
        if value.shape != (channels,):
            raise ValueError(
                f"batch_norm: the input of shape {x.shape} has {channels} channels (axis 1) "
                f"but {label} has shape {value.shape}; it needs {channels} entries, one per "
                "channel")
    if training:
        if x.data.size // max(channels, 1) <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input of shape "
                f"{x.shape}. A batch of one sample has no variance to normalise by: call "
                "model.eval() to use the running statistics, or train with a larger batch.")
    elif running_mean is None:
        raise ValueError("batch_norm in evaluation (training=False) normalises with "
                         "running_mean and running_var, but they are None; pass them, or "
                         "training=True to use the batch's own statistics")
