"""The functional forms of the layers and losses: ``F.linear(x, weight, bias)``,
``F.batch_norm(...)``, ``F.dropout(x, p)``, ``F.cross_entropy(logits, labels)``, ...

This is the public boundary of the maths. Each function checks its arguments once, with an
error that names the fix, then calls the op that does the work (in :mod:`tinygrad_dropbn.ops`),
which trusts them; the modules in :mod:`tinygrad_dropbn.nn` hold parameters, buffers and mode
and call these functions without checking again. State that lives beside the maths -- the
running statistics of batch norm -- is updated here, in the open, never inside an op.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Union

import numpy as np

from ..autograd import increment_version
from ..ops import primitives
from ..ops.batchnorm import BatchNorm, BatchStatistics, channel_axes
from ..ops.dropout import Drop, dropout_mask
from ..ops.linear import Affine
from ..ops.losses import BinaryCrossEntropyWithLogits, CrossEntropy
from ..tensor import Tensor

__all__ = [
    "batch_norm", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "leaky_relu",
    "linear", "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]

RunningStat = Optional[Union[Tensor, np.ndarray]]
REDUCTIONS = ("mean", "sum", "none")


def check_float_tensor(x: Any, what: str) -> None:
    """Raise a clear error unless ``x`` is a floating-point Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} expects a Tensor, got {type(x).__name__}; wrap it as "
                        "tg.Tensor(x)")
    if x.data.dtype.kind != "f":
        raise TypeError(f"{what} needs a floating-point tensor, got dtype {x.dtype}; convert "
                        "it first, e.g. x.float()")


def check_probability(p: float) -> float:
    """``p`` as a float, or a ``ValueError`` naming it when it is not in [0, 1] (NaN included)."""
    # NOTE: the exact-type test first: an ABC isinstance check costs a microsecond per call.
    if type(p) is not float and (isinstance(p, bool) or not isinstance(p, numbers.Real)):
        raise TypeError(f"Dropout probability must be a number in [0, 1], got {p!r} "
                        f"({type(p).__name__})")
    if not 0.0 <= p <= 1.0:  # NOTE: NaN fails both comparisons, so it lands here too
        raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
    return float(p)


def check_reduction(reduction: str) -> None:
    """A ``ValueError`` unless ``reduction`` is one of "mean", "sum", "none"."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")



def dropout(x: Tensor, p: float = 0.5, training: bool = True, inverted: bool = True,
            per_feature: bool = False, mask: Optional[np.ndarray] = None) -> Tensor:
    """Randomly zero units of ``x`` with probability ``p`` in training.

    Inverted (default)::

        training:    out = x * m / (1 - p),   m_i ~ Bernoulli(1 - p)
        evaluation:  out = x

    Plain (``inverted=False``)::

        training:    out = x * m
        evaluation:  out = (1 - p) * x

    Both keep ``E[training output] = evaluation output``. The backward multiplies the incoming
    gradient by the same ``m`` (and scale), held fixed, so higher derivatives work too
    (:class:`tinygrad_dropbn.ops.dropout.Drop`). Evaluation draws no random numbers.

    Args:
        x: a floating-point tensor.
        p: probability of dropping each unit, in [0, 1]. ``p = 0`` is the identity; ``p = 1``
            gives zeros and zero gradients.
        training: apply the random mask (True) or the deterministic evaluation form (False).
        inverted: scale by ``1 / (1 - p)`` in training (True, PyTorch's form) or by ``1 - p``
            in evaluation (False, plain dropout).
        per_feature: one mask entry per feature, shared by every sample of the batch (the
            mask's batch axis has size 1), instead of one per element.
        mask: a boolean keep-mask (True = kept) to use instead of drawing one, e.g. from
            :func:`tinygrad_dropbn.ops.dropout.dropout_mask`; it must broadcast to ``x``'s
            shape. Training only.

    Shape:
        any shape; the output has the input's shape. ``per_feature`` treats axis 0 as the
        batch axis.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn.functional as F
        >>> x = tg.ones(2, 4, requires_grad=True)
        >>> out = F.dropout(x, p=0.5)
        >>> sorted(set(out.numpy().ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
        >>> F.dropout(x, p=0.5, training=False).numpy().tolist()
        [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """
    p = check_probability(p)
    check_float_tensor(x, "dropout")
    if not training:
        if mask is not None:
            raise ValueError("dropout got a mask with training=False: evaluation uses no "
                             "mask; pass training=True to apply it")
        return Drop.apply(x, mask=None, p=p, training=False, inverted=inverted,
                          per_feature=per_feature)
    if mask is None:
        mask = dropout_mask(x.shape, p, per_feature)
    elif not (type(mask) is np.ndarray and not mask.flags.writeable):
        # NOTE: a private read-only copy: the backward must use the mask the forward used.
        mask = np.array(mask)
        mask.flags.writeable = False
        if mask.dtype != bool or (mask.shape != x.shape
                                  and not _broadcasts_to(mask.shape, x.shape)):
            raise ValueError(f"dropout mask must be a boolean array that broadcasts to the "
                             f"input's shape {x.shape}, got dtype {mask.dtype} and shape "
                             f"{mask.shape}")
    return Drop.apply(x, mask=mask, p=p, training=True, inverted=inverted,
                      per_feature=per_feature)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to exactly ``target``."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False



def batch_norm(x: Tensor, running_mean: RunningStat, running_var: RunningStat,
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5,
               impl: str = "fused") -> Tensor:
    """Batch normalisation over axis 1 (channels)::

        out = weight * (x - mean) / sqrt(var + eps) + bias

    Training (``training=True``): ``mean`` and ``var`` are the batch's own per-channel mean
    and biased variance, computed by the op from ``x``, and ``running_mean``/``running_var``
    (when given) are then updated in place, even under ``no_grad``::

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)

    with ``M`` values per channel (the unbiased variance is what is kept). The update is done
    here, not in the op: the op reports the statistics it normalised with in a
    :class:`~tinygrad_dropbn.ops.batchnorm.BatchStatistics` this function hands it, so ``x``
    is read once and the op never takes statistics from outside. A Tensor running statistic's
    version counter goes up with each update, so a graph that saved its old value (an
    evaluation forward pass) refuses to backpropagate with the new one.

    Evaluation (``training=False``): normalise with ``running_mean`` and ``running_var``,
    unchanged. The op saves them for its backward: changing a Tensor running statistic in place
    before ``backward()`` raises a RuntimeError (an ndarray one is copied instead, since an
    array has no version counter to check).

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
        impl: ``"fused"`` (the :class:`~tinygrad_dropbn.ops.batchnorm.BatchNorm` op: one graph
            node) or ``"composed"`` (the same maths from primitive ops: mean, subtract,
            multiply, sqrt, divide -- a reference to compare against; its graph shows every
            intermediate).

    Shape:
        (N, C) or (N, C, *) -> same shape.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn.functional as F
        >>> x = tg.Tensor([[1.0, 10.0], [3.0, 30.0]])
        >>> running_mean, running_var = np.zeros(2, np.float32), np.ones(2, np.float32)
        >>> F.batch_norm(x, running_mean, running_var, training=True).numpy().round(3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> running_mean.tolist()
        [0.20000000298023224, 2.0]
    """
    _check_batch_norm_input(x, running_mean, running_var, weight, bias, training)
    momentum = _check_momentum(momentum)
    if not 0 < eps < np.inf:  # NOTE: written so that NaN fails too
        raise ValueError(f"batch_norm eps must be a positive number (it keeps a constant "
                         f"channel from dividing by zero), got {eps!r}")
    if impl not in ("fused", "composed"):
        raise ValueError(f"batch_norm impl must be 'fused' or 'composed', got {impl!r}")
    if (weight is None) != (bias is None):
        channels = x.shape[1]
        if weight is None:
            weight = Tensor._from_op(np.ones(channels, dtype=x.dtype), None)
        else:
            bias = Tensor._from_op(np.zeros(channels, dtype=x.dtype), None)
    affine = () if weight is None else (weight, bias)
    if not training:
        if impl == "composed":
            return _composed_batch_norm(x, weight, bias, _array(running_mean),
                                        _array(running_var), eps)[0]
        running = (_saved_stat(running_mean), _saved_stat(running_var))
        return BatchNorm.apply(x, *running, *affine, eps=eps, training=False)
    if impl == "fused":
        statistics = BatchStatistics()
        out = BatchNorm.apply(x, *affine, eps=eps, training=True, statistics=statistics)
        mean, var = statistics.mean, statistics.var
    else:
        out, mean, var = _composed_batch_norm(x, weight, bias, None, None, eps)
    if running_mean is not None:
        count = x.data.size // x.shape[1]
        unbiased_var = var * (count / (count - 1))
        for running, stat in ((running_mean, mean), (running_var, unbiased_var)):
            array = _array(running)
            array *= 1 - momentum
            array += momentum * stat
            if isinstance(running, Tensor):
                increment_version(running)  # changed behind the engine's back, in place
    return out


def _saved_stat(stat: Union[Tensor, np.ndarray]) -> Tensor:
    """A running statistic as the op's input: the Tensor itself (its version counter guards
    the backward), or a Tensor holding a private copy of an array."""
    return stat if isinstance(stat, Tensor) else Tensor._from_op(stat.copy(), None)


def _composed_batch_norm(x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                         mean: Optional[np.ndarray], var: Optional[np.ndarray], eps: float
                         ) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """Batch norm from primitive ops (what ``impl="composed"`` runs).

    With ``mean``/``var`` None the batch statistics are computed as graph nodes (so the engine
    differentiates through them op by op); otherwise they are constants. Returns the output
    and the per-channel mean and biased variance used.
    """
    axes = channel_axes(x.ndim)
    kept = (1, -1) + (1,) * (x.ndim - 2)
    if mean is None:
        mean_t = x.mean(axis=axes, keepdims=True)
        centered = x - mean_t
        var_t = (centered * centered).mean(axis=axes, keepdims=True)
    else:
        mean_t = Tensor._from_op(mean.astype(x.dtype).reshape(kept), None)
        var_t = Tensor._from_op(var.astype(x.dtype).reshape(kept), None)
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


def _check_batch_norm_input(x: Tensor, running_mean: RunningStat, running_var: RunningStat,
                            weight: Optional[Tensor], bias: Optional[Tensor],
                            training: bool) -> None:
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



def linear(x: Any, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """out = x @ weight^T + bias, as one op (:class:`~tinygrad_dropbn.ops.linear.Affine`).

    Args:
        x: input of shape (*, in_features); arrays and integer tensors are converted to the
            weight's dtype.
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Shape:
        (*, in_features) -> (*, out_features).
    """
    check_float_tensor(weight, "linear weight")
    # NOTE: read through the arrays: this check runs on every layer call of every step.
    w = weight.data
    if w.ndim != 2:
        raise ValueError(f"linear: weight must have shape (out_features, in_features), got "
                         f"shape {w.shape}")
    if not isinstance(x, Tensor) or x.data.dtype.kind != "f":
        x = Tensor._from_op(np.asarray(x.data if isinstance(x, Tensor) else x,
                                       dtype=w.dtype), None)
    elif x.data.dtype is not w.dtype and x.data.dtype != w.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} does not match weight dtype "
                        f"{weight.dtype}; convert the input (x.astype({weight.dtype})) or the "
                        f"model (model.to({x.dtype}))")
    shape = x.data.shape
    if not shape or shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} "
                         f"features but the weight of shape {weight.shape} expects "
                         f"{weight.shape[1]} (the input's last dimension)")
    if bias is None:
        return Affine.apply(x, weight)
    if not isinstance(bias, Tensor) or bias.data.shape != (w.shape[0],):
        raise ValueError(f"linear: bias must be a Tensor of shape ({weight.shape[0]},), one "
                         f"entry per output feature, got "
                         f"{getattr(bias, 'shape', type(bias).__name__)}")
    return Affine.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise."""
    check_float_tensor(x, "relu")
    return primitives.Rectify.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x, elementwise."""
    check_float_tensor(x, "leaky_relu")
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"leaky_relu negative_slope must be a number, got {negative_slope!r}")
    return primitives.LeakyRectify.apply(x, negative_slope=float(negative_slope))


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise, without overflow for large |x|."""
    check_float_tensor(x, "sigmoid")
    return primitives.Logistic.apply(x)


def tanh(x: Tensor) -> Tensor:
    """tanh(x), elementwise."""
    check_float_tensor(x, "tanh")
    return primitives.HyperbolicTangent.apply(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the maximum so it cannot overflow."""
    check_float_tensor(x, "softmax")
    return primitives.NormalizedExp.apply(x, axis=_check_dim(dim, x, "softmax"))


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x - logsumexp(x) along ``dim``."""
    check_float_tensor(x, "log_softmax")
    return primitives.LogSoftmax.apply(x, axis=_check_dim(dim, x, "log_softmax"))


def _check_dim(dim: int, x: Tensor, what: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) \
            or not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"{what}: dim {dim!r} is out of range for a tensor of shape {x.shape} "
                         f"(valid: {-max(x.ndim, 1)} to {max(x.ndim, 1) - 1})")
    return int(dim)



def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy: -log softmax(input)[target], per sample, as one op
    (:class:`~tinygrad_dropbn.ops.losses.CrossEntropy`).

    Args:
        input: logits of shape (N, C).
        target: integer class labels of shape (N,), each in [0, C).
        reduction: "mean", "sum" or "none".

    Raises:
        ValueError: a label outside [0, C) (the message names it and its position).
        TypeError: labels that are not integers.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn.functional as F
        >>> logits = tg.Tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> round(F.cross_entropy(logits, np.array([0, 1])).item(), 4)
        0.1269
    """
    check_float_tensor(input, "cross_entropy")
    check_reduction(reduction)
    labels = _class_labels(target, input, "cross_entropy")
    return CrossEntropy.apply(input, target=labels, reduction=reduction)


def nll_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -input[i, target_i], for log-probabilities ``input`` (N, C).

    ``nll_loss(log_softmax(x), t)`` equals ``cross_entropy(x, t)``.
    """
    check_float_tensor(input, "nll_loss")
    check_reduction(reduction)
    labels = _class_labels(target, input, "nll_loss")
    return _reduce(-input[np.arange(len(labels)), labels], reduction)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)^2, per element."""
    check_float_tensor(input, "mse_loss")
    check_reduction(reduction)
    target = _matching_target(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(input) against targets in [0, 1], per element,
    computed stably from the logits: max(x, 0) - x * y + log(1 + exp(-|x|)), as one op
    (:class:`~tinygrad_dropbn.ops.losses.BinaryCrossEntropyWithLogits`)."""
    check_float_tensor(input, "binary_cross_entropy_with_logits")
    check_reduction(reduction)
    target = _matching_target(input, target, "binary_cross_entropy_with_logits")
    return _reduce(BinaryCrossEntropyWithLogits.apply(input, target), reduction)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _class_labels(target: Any, scores: Tensor, loss: str) -> np.ndarray:
    """``target`` as an integer array of shape (N,), every label in [0, C) for scores (N, C)."""
    if scores.ndim != 2:
        raise ValueError(f"{loss} expects scores of shape (N, C), got shape {scores.shape}")
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{loss} expects integer class labels (int64), got dtype {labels.dtype}; "
                        "convert them with labels.astype(np.int64) (class probabilities as "
                        "targets are not supported)")
    n, classes = scores.shape
    if labels.shape != (n,):
        raise ValueError(f"{loss}: labels of shape {labels.shape} do not match scores of shape "
                         f"{scores.shape}; expected one label per row, shape ({n},)")
    if n and (labels.min() < 0 or labels.max() >= classes):
        bad = np.flatnonzero((labels < 0) | (labels >= classes))
        also = f" ({len(bad)} labels out of range in all)" if len(bad) > 1 else ""
        raise ValueError(f"{loss}: label {labels[bad[0]]} at position {bad[0]} is outside "
                         f"[0, {classes}) for scores with {classes} classes{also}")
    # NOTE: a copy (only N integers), so relabelling the caller's array after the forward pass
    # cannot change the gradient of a loss already computed.
    return labels.copy()


def _matching_target(input: Tensor, target: Any, loss: str) -> Tensor:
    """``target`` as a tensor of ``input``'s shape and dtype."""
    if not isinstance(target, Tensor):
        # NOTE: a copy, as for labels: the op saves the target for its backward.
        target = Tensor._from_op(np.array(target, dtype=input.dtype), None)
    elif target.dtype != input.dtype:
        target = target.astype(input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{loss}: target of shape {target.shape} does not match input of shape "
                         f"{input.shape}; reshape one of them (e.g. target.reshape(-1, 1)) "
                         "so they agree")
    return target
