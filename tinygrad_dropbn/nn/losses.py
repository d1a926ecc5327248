"""Loss modules: ``nn.CrossEntropyLoss``, ``nn.NLLLoss``, ``nn.MSELoss``, ``nn.BCEWithLogitsLoss``.

Each holds ``reduction`` and calls its functional form in :mod:`tinygrad_dropbn.nn.functional`
(``F.cross_entropy``, ...), which checks the inputs. ``reduction``: ``"mean"`` (the default)
averages the per-sample losses, ``"sum"`` adds them, ``"none"`` returns them unreduced. Losses
keep the input's dtype: integer labels and array targets never promote a float32 computation to
float64.
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    """A loss as a module: holds ``reduction`` and calls its functional form."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Module form of :func:`F.cross_entropy <tinygrad_dropbn.nn.functional.cross_entropy>`:
    ``loss = CrossEntropyLoss()(logits, labels)``.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> logits = tg.Tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> round(nn.CrossEntropyLoss()(logits, [0, 1]).item(), 4)
        0.1269
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.reduction)


class NLLLoss(_Loss):
    """Module form of :func:`F.nll_loss <tinygrad_dropbn.nn.functional.nll_loss>`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.reduction)


class MSELoss(_Loss):
    """Module form of :func:`F.mse_loss <tinygrad_dropbn.nn.functional.mse_loss>`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Module form of :func:`F.binary_cross_entropy_with_logits
    <tinygrad_dropbn.nn.functional.binary_cross_entropy_with_logits>`."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)
