"""The ``Dropout`` layer: ``F.dropout`` (the :class:`~tinygrad_dropbn.ops.dropout.Drop` op) with
its settings and mode."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ops.dropout import dropout_mask
from ..tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each unit with probability ``p`` in training; the identity in evaluation.

    Inverted dropout (the default, as ``torch.nn.Dropout``)::

        training:    out = x * m / (1 - p),   m_i ~ Bernoulli(1 - p), one draw per element
        evaluation:  out = x

    The backward multiplies the gradient by the same ``m / (1 - p)``. Because
    ``E[m_i] = 1 - p``, the training output equals the evaluation output in expectation.

    Args:
        p: probability of dropping a unit, in [0, 1].
        inverted: True scales kept units by ``1 / (1 - p)`` in training; False is plain
            dropout, which leaves training unscaled and multiplies by ``1 - p`` in evaluation.
        per_feature: True draws one mask entry per feature and shares it across the batch
            (the mask has shape ``(1, *x.shape[1:])``), dropping a neuron for every sample at
            once; False (default) draws one per element.

    Attributes:
        mask: the boolean keep-mask (True = kept) of the last training call, or None before
            the first one; read-only, since the backward pass uses this very array. Evaluation
            calls leave it unchanged.

    Shape:
        any shape -> the same shape (axis 0 is the batch axis for ``per_feature``).

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> drop = nn.Dropout(p=0.25)
        >>> out = drop(tg.ones(4, 8))
        >>> bool(((out.numpy() == 0) == ~drop.mask).all())
        True
        >>> drop.eval()(tg.ones(2, 2)).numpy().tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """

    def __init__(self, p: float = 0.5, inverted: bool = True, per_feature: bool = False) -> None:
        super().__init__()
        self.p = F.check_probability(p)
        self.inverted = bool(inverted)
        self.per_feature = bool(per_feature)
        self.mask: Optional[np.ndarray] = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return F.dropout(x, self.p, training=False, inverted=self.inverted,
                             per_feature=self.per_feature)
        # NOTE: drawn here rather than inside F.dropout, so the module can show it (.mask).
        self.mask = dropout_mask(x.shape, self.p, self.per_feature)
        return F.dropout(x, self.p, training=True, inverted=self.inverted,
                         per_feature=self.per_feature, mask=self.mask)

    def extra_repr(self) -> str:
        settings = f"p={self.p}"
        if not self.inverted:
            settings += ", inverted=False"
        if self.per_feature:
            settings += ", per_feature=True"
        return settings
