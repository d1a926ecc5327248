"""Loss modules, one per functional loss in :mod:`tinygrad_dropbn.nn.functional`, with
PyTorch's constructor arguments in PyTorch's order: ``CrossEntropyLoss``, ``NLLLoss``,
``MSELoss``, ``L1Loss``, ``SmoothL1Loss``, ``HuberLoss``, ``BCELoss``, ``BCEWithLogitsLoss``,
``KLDivLoss``.

Each holds its options and calls its functional form, which checks the inputs.
``reduction``: ``"mean"`` (the default) averages the per-sample losses, ``"sum"`` adds them,
``"none"`` returns them unreduced; the deprecated ``size_average``/``reduce`` pair is still
understood, as in PyTorch. A class ``weight`` (and ``pos_weight``) is a buffer, so it is in
``state_dict`` under the same key as in PyTorch. Losses keep the input's dtype: integer labels
and array targets never promote a float32 computation to float64.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..serialization import to_numpy
from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    """A loss as a module: holds ``reduction`` and calls its functional form."""

    _reductions = F.REDUCTIONS

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        reduction = F.legacy_reduction(size_average, reduce, reduction)
        if reduction not in self._reductions:
            F.check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with a class ``weight``, kept as a buffer (PyTorch's ``weight`` key)."""

    def __init__(self, weight: Optional[Any] = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight))


def _buffer(value: Optional[Any]) -> Optional[Tensor]:
    """A weight given as a Tensor, an array, a list or a PyTorch tensor, as a float Tensor."""
    if value is None or isinstance(value, Tensor):
        return value
    array = to_numpy(value)
    return Tensor(array.astype(array.dtype if array.dtype.kind == "f" else np.float32))


class CrossEntropyLoss(_WeightedLoss):
    """Module form of :func:`F.cross_entropy <tinygrad_dropbn.nn.functional.cross_entropy>`:
    ``loss = CrossEntropyLoss()(logits, labels)``.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> logits = tg.Tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> round(nn.CrossEntropyLoss()(logits, [0, 1]).item(), 4)
        0.1269
    """

    def __init__(self, weight: Optional[Any] = None, size_average: Optional[bool] = None,
                 ignore_index: int = -100, reduce: Optional[bool] = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Module form of :func:`F.nll_loss <tinygrad_dropbn.nn.functional.nll_loss>`."""

    def __init__(self, weight: Optional[Any] = None, size_average: Optional[bool] = None,
                 ignore_index: int = -100, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """Module form of :func:`F.mse_loss <tinygrad_dropbn.nn.functional.mse_loss>`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Module form of :func:`F.l1_loss <tinygrad_dropbn.nn.functional.l1_loss>`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Module form of :func:`F.smooth_l1_loss <tinygrad_dropbn.nn.functional.smooth_l1_loss>`."""

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Module form of :func:`F.huber_loss <tinygrad_dropbn.nn.functional.huber_loss>`."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Module form of :func:`F.binary_cross_entropy
    <tinygrad_dropbn.nn.functional.binary_cross_entropy>` (on probabilities)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Module form of :func:`F.binary_cross_entropy_with_logits
    <tinygrad_dropbn.nn.functional.binary_cross_entropy_with_logits>`; ``weight`` and
    ``pos_weight`` are buffers."""

    def __init__(self, weight: Optional[Any] = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean",
                 pos_weight: Optional[Any] = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight))
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """Module form of :func:`F.kl_div <tinygrad_dropbn.nn.functional.kl_div>`; ``reduction``
    may also be ``"batchmean"``."""

    _reductions = F.REDUCTIONS + ("batchmean",)

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
