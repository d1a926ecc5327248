"""``BatchNorm1d`` and ``BatchNorm2d``: ``F.batch_norm`` (the
:class:`~tinygrad_dropbn.ops.batchnorm.BatchNorm` op) with its parameters, running statistics and
mode."""
from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from ..autograd import increment_version
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    """What the batch-norm layers share; subclasses name the input ranks they accept."""

    _ranks: tuple = ()
    _shape_text = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral) \
                or num_features <= 0:
            raise ValueError(f"{name} num_features must be a positive integer (the number of "
                             f"channels), got {num_features!r}")
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < np.inf:
            raise ValueError(f"{name} eps must be a positive number (it keeps a constant "
                             f"channel from dividing by zero), got {eps!r}")
        if momentum is not None and (isinstance(momentum, bool)
                                     or not isinstance(momentum, numbers.Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"{name} momentum must be in [0, 1], or None for a cumulative "
                             f"average, got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=np.float32))
            self.bias = Parameter(np.zeros(self.num_features, dtype=np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean",
                                 Tensor(np.zeros(self.num_features, dtype=np.float32)))
            self.register_buffer("running_var",
                                 Tensor(np.ones(self.num_features, dtype=np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        tracking = self.training and self.track_running_stats
        momentum = self.momentum
        if momentum is None:
            # NOTE: a cumulative average weighs batch n by 1/n, so every batch counts equally.
            momentum = 1.0 / (int(self.num_batches_tracked.data) + 1) if tracking else 0.0
        out = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                           training=self.training or not self.track_running_stats,
                           momentum=momentum, eps=self.eps)
        if tracking:
            self.num_batches_tracked.data += 1
            increment_version(self.num_batches_tracked)
        return out

    def _check_input(self, x: Tensor) -> None:
        """Rank and channel count in the layer's terms (``F.batch_norm`` checks the rest),
        before anything -- the batch count included -- changes."""
        if not isinstance(x, Tensor):
            return  # batch_norm raises the TypeError that names the fix
        name = type(self).__name__
        if x.ndim not in self._ranks:
            raise ValueError(f"{name} expects {self._shape_text} input, got {x.ndim}-D input "
                             f"of shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}) expects {self.num_features} "
                             f"channels (axis 1), got input of shape {x.shape} with "
                             f"{x.shape[1]} channels")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, per channel C.

    Training normalises each channel with the batch's own mean and *biased* variance (over N,
    and L if present) and folds them into the running estimates::

        out = weight * (x - mean) / sqrt(var + eps) + bias
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)

    (``M`` values per channel: the running variance keeps the *unbiased* estimate;
    ``momentum = 1 - beta`` in the notation ``running = beta * running + (1 - beta) * stat``.)
    Evaluation normalises with ``running_mean`` and ``running_var`` instead, so one sample's
    output does not depend on the rest of its batch. The whole layer is one graph node with
    a closed-form backward (see :class:`tinygrad_dropbn.ops.batchnorm.BatchNorm`), which also
    gives second derivatives (``create_graph=True``).

    Args:
        num_features: the number of channels C.
        eps: added to the variance before the square root.
        momentum: weight of each new batch in the running estimates; None for a cumulative
            average (batch n weighs 1/n, counted by ``num_batches_tracked``).
        affine: learn ``weight`` (init 1) and ``bias`` (init 0); False leaves both None.
        track_running_stats: keep ``running_mean`` (init 0), ``running_var`` (init 1) and
            ``num_batches_tracked`` (int64, init 0) as buffers; False keeps none and uses
            batch statistics in training *and* evaluation.

    Shape:
        (N, C) or (N, C, L) -> same shape. Training needs more than one value per channel.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> bn = nn.BatchNorm1d(3)
        >>> out = bn(tg.randn(8, 3) * 5 + 2)
        >>> bool(abs(out.numpy().mean()) < 1e-5), int(bn.num_batches_tracked.item())
        (True, 1)
        >>> bn
        BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    """

    _ranks = (2, 3)
    _shape_text = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel C (over N, H and W).

    The same maths, parameters and buffers as :class:`BatchNorm1d`, with each channel's
    statistics taken over ``M = N * H * W`` values.

    Shape:
        (N, C, H, W) -> same shape.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> nn.BatchNorm2d(4)(tg.randn(2, 4, 5, 5)).shape
        (2, 4, 5, 5)
    """

    _ranks = (4,)
    _shape_text = "4-D (N, C, H, W)"
