"""The functional forms of the layers and losses: ``F.linear(x, weight, bias)``,
``F.batch_norm(...)``, ``F.dropout(x, p)``, ``F.cross_entropy(logits, labels)``, ...

This is the public boundary of the maths. Each function checks its arguments once, with an
error that names the fix, then calls the op that does the work (in :mod:`tinygrad_dropbn.ops`),
which trusts them; the modules in :mod:`tinygrad_dropbn.nn` hold parameters, buffers and mode
and call these functions without checking again. State that lives beside the maths -- the
running statistics of batch norm -- is updated here, in the open, never inside an op.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..dtypes import as_dtype
from ..engine import bump_versions
from ..ops import primitives
from ..ops.batchnorm import BatchNorm, BatchStatistics, channel_axes
from ..ops.dropout import Drop, dropout_mask
from ..ops.linear import Affine
from ..ops.activations import ExponentialLinear, NormalCdf
from ..ops.embedding import EmbeddingLookup
from ..ops.layernorm import LayerNormalization
from ..ops.losses import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropy,
                          NegativeLogLikelihood)
from ..tensor import Tensor, where
from ..validation import resolve_dim

__all__ = [
    "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "dropout", "elu", "embedding", "gelu", "huber_loss", "kl_div", "l1_loss", "layer_norm",
    "leaky_relu", "linear", "log_softmax", "mse_loss", "nll_loss", "one_hot", "relu", "sigmoid",
    "silu", "smooth_l1_loss", "softmax", "tanh",
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
        # NOTE: the unbiased variance's factor M / (M - 1) is folded into the weight of the
        # new batch (a Python float), one pass over the statistic less.
        for running, stat, weight in ((running_mean, mean, momentum),
                                      (running_var, var, momentum * (count / (count - 1)))):
            array = _array(running)
            array *= 1 - momentum
            array += weight * stat
        tensors = [t for t in (running_mean, running_var) if isinstance(t, Tensor)]
        if tensors:
            bump_versions(tensors)  # changed behind the engine's back, in place
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


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x) = x * Phi(x), Phi the standard normal CDF, elementwise.

    ``approximate="tanh"``: ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`` instead.
    """
    check_float_tensor(input, "gelu")
    if approximate == "none":
        return input * NormalCdf.apply(input)
    if approximate == "tanh":
        inner = (input + 0.044715 * input * input * input) * math.sqrt(2 / math.pi)
        return 0.5 * input * (1 + inner.tanh())
    raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1), elementwise.

    ``inplace`` is accepted for PyTorch code and ignored: the result is a new tensor.
    """
    check_float_tensor(input, "elu")
    return ExponentialLinear.apply(input, alpha=_number(alpha, "elu alpha"))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU (swish): x * sigmoid(x), elementwise. ``inplace`` is accepted and ignored."""
    check_float_tensor(input, "silu")
    return input * primitives.Logistic.apply(input)


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype: Any = None, *, axis: Optional[int] = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (or ``axis``), shifted by the maximum so it cannot
    overflow. ``dtype`` converts the input first. Without a dim PyTorch's deprecated implicit
    choice applies (axis 0 for 0-, 1- and 3-d inputs, else 1), with the same warning."""
    x = _softmax_input(input, dtype, "softmax")
    return primitives.NormalizedExp.apply(x, axis=_softmax_dim(dim, axis, x, "softmax"))


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype: Any = None, *, axis: Optional[int] = None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (or ``axis``); arguments as :func:`softmax`."""
    x = _softmax_input(input, dtype, "log_softmax")
    return primitives.LogNormalizedExp.apply(x, axis=_softmax_dim(dim, axis, x, "log_softmax"))


def _softmax_input(x: Tensor, dtype: Any, what: str) -> Tensor:
    check_float_tensor(x, what)
    if dtype is None or as_dtype(dtype) == x.dtype:
        return x
    return x.astype(as_dtype(dtype))


def _softmax_dim(dim: Optional[int], axis: Optional[int], x: Tensor, what: str) -> int:
    dim = resolve_dim(dim, axis, what)
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {what} has been deprecated. Change the "
                      f"call to include dim={dim} as an argument.", UserWarning, stacklevel=3)
    return _check_dim(dim, x, what)


def _check_dim(dim: int, x: Tensor, what: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) \
            or not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"{what}: dim {dim!r} is out of range for a tensor of shape {x.shape} "
                         f"(valid: {-max(x.ndim, 1)} to {max(x.ndim, 1) - 1})")
    return int(dim)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {value!r}")
    return float(value)



def layer_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the last ``len(normalized_shape)`` axes, per sample::

        out = weight * (x - mean) / sqrt(var + eps) + bias

    with the *biased* variance (divide by the number of normalised values), the same in
    training and evaluation. One op, :class:`~tinygrad_dropbn.ops.layernorm.LayerNormalization`, with
    the closed-form backward derived there.

    Args:
        input: a float tensor whose trailing shape is ``normalized_shape``.
        normalized_shape: an int or a tuple of ints.
        weight, bias: tensors of ``normalized_shape``, or None (scale 1, shift 0).
        eps: added to the variance for numerical stability.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn.functional as F
        >>> F.layer_norm(tg.Tensor([[1.0, 3.0]]), (2,)).numpy().round(3).tolist()
        [[-1.0, 1.0]]
    """
    check_float_tensor(input, "layer_norm")
    shape = normalized_shape_tuple(normalized_shape, "layer_norm")
    if input.shape[input.ndim - len(shape):] != shape or input.ndim < len(shape):
        raise ValueError(f"layer_norm: normalized_shape {shape} must be the input's last "
                         f"dimensions, got an input of shape {input.shape}")
    if not eps >= 0:  # NOTE: written so that NaN fails too
        raise ValueError(f"layer_norm eps must be a non-negative number, got {eps!r}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and (not isinstance(param, Tensor) or param.shape != shape):
            raise ValueError(f"layer_norm {name} must be a Tensor of normalized_shape {shape}, "
                             f"got {getattr(param, 'shape', type(param).__name__)}")
    affine = tuple(param for param in (weight, bias) if param is not None)
    return LayerNormalization.apply(input, *affine, ndim=len(shape), eps=float(eps),
                           has_weight=weight is not None, has_bias=bias is not None)


def normalized_shape_tuple(normalized_shape: Any, what: str) -> tuple:
    """``normalized_shape`` (an int or a sequence of ints) as a tuple of positive ints."""
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    if not all(isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size > 0
               for size in shape):
        raise ValueError(f"{what} normalized_shape must be a positive int or a tuple of "
                         f"positive ints, got {normalized_shape!r}")
    return tuple(int(size) for size in shape)


def embedding(input: Any, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``input``:
    ``out[..., :] = weight[input[...], :]``, of shape ``input.shape + (embedding_dim,)``.

    Row ``padding_idx`` (negative counts from the end) receives no gradient. ``max_norm``,
    ``scale_grad_by_freq`` and ``sparse`` are not supported (raise).
    """
    check_float_tensor(weight, "embedding weight")
    if weight.ndim != 2:
        raise ValueError(f"embedding weight must have shape (num_embeddings, embedding_dim), "
                         f"got {weight.shape}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported; leave them at their defaults")
    rows = weight.shape[0]
    padding_idx = check_padding_idx(padding_idx, rows, "embedding")
    indices = np.array(input.data if isinstance(input, Tensor) else input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding expects integer indices, got dtype {indices.dtype}; "
                        "convert them with .long()")
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices.flat[np.flatnonzero((indices < 0) | (indices >= rows))[0]]
        raise IndexError(f"embedding: index {bad} is out of range for {rows} embeddings "
                         f"(valid: 0 to {rows - 1})")
    return EmbeddingLookup.apply(weight, indices=indices, padding_idx=padding_idx)


def check_padding_idx(padding_idx: Optional[int], rows: int, what: str) -> Optional[int]:
    """``padding_idx`` as a row in ``range(rows)`` (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) \
            or not -rows <= padding_idx < rows:
        raise ValueError(f"{what} padding_idx must be an int within num_embeddings ({rows}), "
                         f"got {padding_idx!r}")
    return int(padding_idx) % rows


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Integer labels (*) as one-hot int64 rows (*, num_classes); ``-1`` means max + 1."""
    labels = np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors, got dtype "
                        f"{labels.dtype}; convert them with .long()")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got values from "
                         f"{labels.min()} to {labels.max()}")
    return Tensor._from_op(np.eye(num_classes, dtype=np.int64)[labels], None)



def legacy_reduction(size_average: Optional[bool], reduce: Optional[bool],
                     reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair as a ``reduction`` string: when
    either is given it wins (reduce=False: "none"; else size_average=False: "sum"; else
    "mean")."""
    if size_average is None and reduce is None:
        return reduction
    if isinstance(size_average, str) or isinstance(reduce, str):
        raise TypeError(f"got the string {size_average if isinstance(size_average, str) else reduce!r} "
                        "for size_average or reduce (deprecated booleans); pass it as "
                        "reduction=..., a keyword argument, as in PyTorch")
    if reduce is not None and not reduce:
        return "none"
    return "sum" if size_average is not None and not size_average else "mean"


def cross_entropy(input: Tensor, target: Any, weight: Optional[Any] = None,
                  size_average: Optional[bool] = None, ignore_index: int = -100,
                  reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy, as one op (:class:`~tinygrad_dropbn.ops.losses.CrossEntropy`)::

        loss_i = -sum_c q_ic log softmax(x_i)_c

    where, for a class label ``t_i``, ``q_i = w[t_i] onehot(t_i)`` (``w`` = ``weight``, 1 by
    default), mixed with ``label_smoothing`` e as ``(1 - e) q_i + e / C * w``, and 0 where
    ``t_i == ignore_index``; for class probabilities ``y_i`` as the target,
    ``q_i = w * ((1 - e) y_i + e / C)``.

    Args:
        input: logits of shape (C,), (N, C) or (N, C, d1, ...); axis 1 holds the classes.
        target: integer class labels of shape (), (N,) or (N, d1, ...), each in [0, C) or
            equal to ``ignore_index``; or float class probabilities of the input's shape.
        weight: a (C,) rescaling of each class, or None.
        size_average, reduce: PyTorch's deprecated spelling of ``reduction``.
        ignore_index: a label value that contributes nothing (labels only).
        reduction: "mean" (for labels: the sum divided by the summed weight ``w[t_i]`` of the
            counted labels; for probabilities: by the number of positions), "sum" or "none".
        label_smoothing: e in [0, 1].

    Raises:
        ValueError: a label outside [0, C) (the message names it and its position).
        TypeError: labels that are neither integers nor float probabilities.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn.functional as F
        >>> logits = tg.Tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> round(F.cross_entropy(logits, np.array([0, 1])).item(), 4)
        0.1269
    """
    check_float_tensor(input, "cross_entropy")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy label_smoothing must be in [0, 1], got "
                         f"{label_smoothing!r}")
    scores, unbatched = _batched(input, "cross_entropy")
    weights = _class_weights(weight, scores, "cross_entropy")
    classes = scores.shape[1]
    if _is_float_target(target) and np.shape(_raw_target(target)) == input.shape:
        probabilities = _probability_target(target, input, unbatched)
        if probabilities.requires_grad:
            loss = _composed_soft_cross_entropy(scores, probabilities, weights,
                                                label_smoothing, reduction)
            return loss.reshape(()) if unbatched and reduction == "none" else loss
        q = probabilities.data * (1 - label_smoothing) + label_smoothing / classes
        if weights is not None:
            q = q * _per_class(weights, scores.ndim)
        denominator = scores.data.size // classes
    else:
        labels = _class_labels(target, scores, "cross_entropy", ignore_index, unbatched)
        q, denominator = _label_coefficients(labels, scores, weights, ignore_index,
                                             label_smoothing)
    loss = CrossEntropy.apply(scores, coefficients=q.astype(scores.dtype, copy=False),
                              reduction=reduction, denominator=denominator)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def nll_loss(input: Tensor, target: Any, weight: Optional[Any] = None,
             size_average: Optional[bool] = None, ignore_index: int = -100,
             reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood ``loss_i = -w[t_i] input_i[t_i]`` for log-probabilities
    ``input`` of shape (C,), (N, C) or (N, C, d1, ...), as one op
    (:class:`~tinygrad_dropbn.ops.losses.NegativeLogLikelihood`). Arguments as
    :func:`cross_entropy` with labels; ``nll_loss(log_softmax(x, 1), t)`` equals
    ``cross_entropy(x, t)``."""
    check_float_tensor(input, "nll_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    scores, unbatched = _batched(input, "nll_loss")
    weights = _class_weights(weight, scores, "nll_loss")
    labels = _class_labels(target, scores, "nll_loss", ignore_index, unbatched)
    q, denominator = _label_coefficients(labels, scores, weights, ignore_index, 0.0)
    loss = NegativeLogLikelihood.apply(scores, coefficients=q.astype(scores.dtype, copy=False),
                                       reduction=reduction, denominator=denominator)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def _batched(scores: Tensor, loss: str) -> tuple[Tensor, bool]:
    """Scores (C,) as (1, C) (and True: the loss is unbatched); (N, C, ...) unchanged."""
    if scores.ndim == 0:
        raise ValueError(f"{loss} expects scores of shape (C,), (N, C) or (N, C, d1, ...), "
                         f"got a 0-d tensor")
    return (scores.reshape(1, -1), True) if scores.ndim == 1 else (scores, False)


def _raw_target(target: Any) -> np.ndarray:
    return target.data if isinstance(target, Tensor) else np.asarray(target)


def _is_float_target(target: Any) -> bool:
    return _raw_target(target).dtype.kind == "f"


def _class_weights(weight: Any, scores: Tensor, loss: str) -> Optional[np.ndarray]:
    """``weight`` as a (C,) array of the scores' dtype (a constant: it gets no gradient)."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(_string_weight(weight, loss))
    weights = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if weights.shape != (scores.shape[1],):
        raise ValueError(f"{loss}: weight of shape {weights.shape} must have one entry per "
                         f"class, shape ({scores.shape[1]},)")
    return weights.astype(scores.dtype)


def _string_weight(weight: str, loss: str) -> str:
    return (f"{loss} got weight={weight!r}: the third argument is the weight, as in PyTorch; "
            f"pass the reduction as a keyword, reduction={weight!r}")


def _per_class(values: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) array shaped (1, C, 1, ...) to broadcast against (N, C, d1, ...)."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def _class_labels(target: Any, scores: Tensor, loss: str, ignore_index: int,
                  unbatched: bool) -> np.ndarray:
    """``target`` as an integer array of the scores' shape without axis 1, every label in
    [0, C) or equal to ``ignore_index``."""
    labels = _raw_target(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{loss} expects integer class labels (int64), got dtype {labels.dtype}; "
                        "convert them with labels.astype(np.int64) (or, for class "
                        "probabilities, a float target of the input's shape)")
    if unbatched:
        labels = labels.reshape(1) if labels.shape == () else labels
        expected: tuple = (1,)
    else:
        expected = scores.shape[:1] + scores.shape[2:]
    if labels.shape != expected:
        raise ValueError(f"{loss}: labels of shape {labels.shape} do not match scores of shape "
                         f"{scores.shape}; expected one label per position, shape "
                         f"{() if unbatched else expected}")
    classes = scores.shape[1]
    bad = ((labels < 0) | (labels >= classes)) & (labels != ignore_index)
    if bad.any():
        where = np.flatnonzero(bad.ravel())
        position = np.unravel_index(where[0], labels.shape)
        position = position[0] if len(position) == 1 else tuple(int(p) for p in position)
        also = f" ({len(where)} labels out of range in all)" if len(where) > 1 else ""
        raise ValueError(f"{loss}: label {labels.ravel()[where[0]]} at position {position} is "
                         f"outside [0, {classes}) for scores with {classes} classes{also}")
    # NOTE: a copy (only the labels), so relabelling the caller's array after the forward
    # pass cannot change the gradient of a loss already computed.
    return labels.copy()


def _label_coefficients(labels: np.ndarray, scores: Tensor, weights: Optional[np.ndarray],
                        ignore_index: int, smoothing: float) -> tuple[np.ndarray, float]:
    """The target coefficients ``q`` (the scores' shape) for class labels, and the "mean"
    denominator: the summed weight of the labels that count."""
    classes, dtype = scores.shape[1], scores.dtype
    counted = labels != ignore_index
    every_label_counts = bool(counted.all())
    safe = labels if every_label_counts else counted * labels  # an ignored label picks row 0
    onehot = np.eye(classes, dtype=dtype)[safe]
    if scores.ndim > 2:
        onehot = np.moveaxis(onehot, -1, 1)
    if every_label_counts and weights is None and not smoothing:
        return onehot, float(labels.size)  # NOTE: the common case, kept cheap: q = onehot(t)
    label_weight = counted.astype(dtype) if weights is None else weights[safe] * counted
    q = onehot * np.expand_dims((1 - smoothing) * label_weight, 1)
    if smoothing:
        spread = np.ones(classes, dtype) if weights is None else weights
        q += smoothing / classes * _per_class(spread, scores.ndim) * np.expand_dims(counted, 1)
    return q, float(label_weight.sum())


def _probability_target(target: Any, input: Tensor, unbatched: bool) -> Tensor:
    probabilities = _matching_target(input, target, "cross_entropy")
    return probabilities.reshape(1, -1) if unbatched else probabilities


def _composed_soft_cross_entropy(scores: Tensor, probabilities: Tensor,
                                 weights: Optional[np.ndarray], smoothing: float,
                                 reduction: str) -> Tensor:
    """Cross-entropy against class probabilities that require a gradient themselves, from
    differentiable ops (the fused op treats its target as a constant)."""
    classes = scores.shape[1]
    q = probabilities * (1 - smoothing) + smoothing / classes
    if weights is not None:
        q = q * _per_class(weights, scores.ndim)
    losses = -(q * primitives.LogNormalizedExp.apply(scores, axis=1)).sum(axis=1)
    if reduction == "mean":
        return losses.sum() / (scores.data.size // classes)
    return _reduce(losses, reduction)


def binary_cross_entropy(input: Tensor, target: Any, weight: Optional[Any] = None,
                         size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against targets ``y``::

        loss = -weight * (y log(x) + (1 - y) log(1 - x))

    each log clamped at -100 as PyTorch does, so x = 0 or 1 gives a finite loss (one op,
    :class:`~tinygrad_dropbn.ops.losses.BinaryCrossEntropy`). Prefer
    :func:`binary_cross_entropy_with_logits` on the logits: it is exact where this saturates.
    """
    check_float_tensor(input, "binary_cross_entropy")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    target = _matching_target(input, target, "binary_cross_entropy")
    x = input.data
    if x.size and not (x.min() >= 0 and x.max() <= 1):  # NOTE: NaN fails too
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and "
                         "1 (probabilities); for logits use binary_cross_entropy_with_logits")
    losses = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        losses = losses * _elementwise_weight(weight, input, "binary_cross_entropy")
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Optional[Any] = None,
                                     size_average: Optional[bool] = None,
                                     reduce: Optional[bool] = None, reduction: str = "mean",
                                     pos_weight: Optional[Any] = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input) against targets ``y`` in [0, 1], per element,
    computed stably from the logits as one op
    (:class:`~tinygrad_dropbn.ops.losses.BinaryCrossEntropyWithLogits`)::

        loss = -weight * (pos_weight * y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))

    ``weight`` broadcasts against the input; ``pos_weight`` (e.g. one entry per class, the
    last axis) weighs the positive term and is a constant."""
    check_float_tensor(input, "binary_cross_entropy_with_logits")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    target = _matching_target(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is not None:
        pos_weight = np.asarray(pos_weight.data if isinstance(pos_weight, Tensor)
                                else pos_weight).astype(input.dtype)
        if not _broadcasts_to(pos_weight.shape, input.shape):
            raise ValueError(f"binary_cross_entropy_with_logits: pos_weight of shape "
                             f"{pos_weight.shape} does not broadcast to the input's shape "
                             f"{input.shape}; give one entry per class (the last axis)")
    losses = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight=pos_weight)
    if weight is not None:
        losses = losses * _elementwise_weight(weight, input, "binary_cross_entropy_with_logits")
    return _reduce(losses, reduction)


def _elementwise_weight(weight: Any, input: Tensor, loss: str) -> Tensor:
    """``weight`` as a tensor of the input's dtype that broadcasts to the input's shape."""
    if isinstance(weight, str):
        raise TypeError(_string_weight(weight, loss))
    if not isinstance(weight, Tensor):
        weight = Tensor._from_op(np.array(weight, dtype=input.dtype), None)
    elif weight.dtype != input.dtype:
        weight = weight.astype(input.dtype)
    if not _broadcasts_to(weight.shape, input.shape):
        raise ValueError(f"{loss}: weight of shape {weight.shape} does not broadcast to the "
                         f"input's shape {input.shape}")
    return weight


def _regression_loss(losses: Tensor, weight: Optional[Any], input: Tensor, reduction: str,
                     loss: str, mean_over_weight: bool = True) -> Tensor:
    """Reduce elementwise losses; with ``weight`` (the input's shape), each loss times its
    weight, and "mean" divides by the summed weight (PyTorch's rule for mse and l1) or by the
    number of elements (its rule for huber, ``mean_over_weight=False``)."""
    if weight is None:
        return _reduce(losses, reduction)
    weight = _elementwise_weight(weight, input, loss)
    if weight.shape != input.shape:
        raise ValueError(f"{loss}: weight of shape {weight.shape} must have the input's shape "
                         f"{input.shape} (Weights and input must have the same size)")
    weighted = losses * weight
    if reduction == "mean" and mean_over_weight:
        return weighted.sum() / float(weight.data.sum())
    return _reduce(weighted, reduction)


def mse_loss(input: Tensor, target: Any, size_average: Optional[bool] = None,
             reduce: Optional[bool] = None, reduction: str = "mean",
             weight: Optional[Any] = None) -> Tensor:
    """Squared error ``(input - target)^2``, per element."""
    check_float_tensor(input, "mse_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    diff = input - _matching_target(input, target, "mse_loss")
    return _regression_loss(diff * diff, weight, input, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Any, size_average: Optional[bool] = None,
            reduce: Optional[bool] = None, reduction: str = "mean",
            weight: Optional[Any] = None) -> Tensor:
    """Absolute error ``|input - target|``, per element (gradient 0 where they are equal)."""
    check_float_tensor(input, "l1_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    diff = input - _matching_target(input, target, "l1_loss")
    return _regression_loss(diff.abs(), weight, input, reduction, "l1_loss")


def smooth_l1_loss(input: Tensor, target: Any, size_average: Optional[bool] = None,
                   reduce: Optional[bool] = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, for ``d = input -
    target``: squared near 0, absolute far away (``beta = 0`` is the L1 loss)."""
    check_float_tensor(input, "smooth_l1_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    beta = _number(beta, "smooth_l1_loss beta")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    diff = input - _matching_target(input, target, "smooth_l1_loss")
    size = diff.abs()
    if beta == 0:
        return _reduce(size, reduction)
    return _reduce(where(size.data < beta, 0.5 / beta * diff * diff, size - 0.5 * beta),
                   reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Optional[Any] = None) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, for ``d = input -
    target``; ``huber_loss = delta * smooth_l1_loss(beta=delta)``."""
    check_float_tensor(input, "huber_loss")
    check_reduction(reduction)
    delta = _number(delta, "huber_loss delta")
    if not delta > 0:
        raise ValueError(f"huber_loss does not support non-positive values for delta, got "
                         f"{delta}")
    diff = input - _matching_target(input, target, "huber_loss")
    size = diff.abs()
    losses = where(size.data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    return _regression_loss(losses, weight, input, reduction, "huber_loss",
                            mean_over_weight=False)


def kl_div(input: Tensor, target: Any, size_average: Optional[bool] = None,
           reduce: Optional[bool] = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of the target distribution from the log-probabilities
    ``input``, per element::

        loss = target * (log(target) - input)          (0 where target = 0, NaN below 0)
        loss = exp(target) * (target - input)          (log_target=True: target is log q)

    ``reduction="batchmean"`` divides the sum by the batch size ``input.shape[0]``: that is
    the true KL divergence per sample; ``"mean"`` divides by the number of elements, as in
    PyTorch.
    """
    check_float_tensor(input, "kl_div")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction != "batchmean":
        check_reduction(reduction)
    target = _matching_target(input, target, "kl_div")
    if log_target:
        losses = target.exp() * (target - input)
    else:
        positive = target.data > 0
        # NOTE: log of 1 where the target is not positive, so that neither the value nor the
        # gradient of the branch where() discards is -inf or NaN; target log target is 0 at
        # 0 and NaN below, as PyTorch's xlogy gives.
        log_target_values = where(positive, target, 1).log()
        otherwise = np.where(target.data == 0, 0, np.nan).astype(input.dtype)
        losses = where(positive, target * log_target_values, otherwise) - target * input
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(losses, reduction)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


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
