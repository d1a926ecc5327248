"""Dropout as one op, :class:`Drop`, with its closed-form backward, and its keep-mask.

Dropout multiplies its input by a random keep-mask ``m`` (``m_i ~ Bernoulli(1 - p)``: 1 keeps
unit i, 0 drops it) and, in the inverted form, by ``s = 1 / (1 - p)``::

    out_i = x_i * m_i * s

``out_i`` depends on ``x_i`` alone, and linearly: ``d out_i / d x_j = m_i * s`` when ``i = j``
and 0 otherwise. So the backward is the forward applied to the gradient::

    dx = grad * m * s

The mask is drawn once, before the forward pass, and is a constant of the op: the backward
multiplies by the very same mask (re-drawing it would differentiate a different function).
Because ``dx`` is ``grad`` times a constant, the same rule run on Tensors
(``create_graph=True``) records one multiplication, and second derivatives through dropout
are those of a fixed linear map. Three forms share the op:

* **inverted** (``inverted=True``, the default, PyTorch's ``nn.Dropout``): kept units are scaled
  by ``1 / (1 - p)`` in training, so evaluation is the identity. Since ``E[m_i] = 1 - p``, the
  training output has the same expectation as the evaluation output.
* **plain** (``inverted=False``, the original formulation): training only zeroes units
  (``out = x * m``, ``dx = grad * m``); evaluation multiplies by ``1 - p`` instead
  (``out = (1 - p) x``, ``dx = (1 - p) grad``) so the two modes agree in expectation.
* **per-feature mask** (``per_feature=True``, the "drop a neuron" view): one draw per feature,
  shared by every row of the batch, so a dropped feature is zero for every sample at once. For
  ``(N, C)`` input the mask has shape ``(1, C)``; for higher ranks ``(N, *F)`` it has shape
  ``(1, *F)``: every non-batch position (e.g. each ``(c, h, w)`` of an image batch) is one
  neuron, as if the sample were flattened before a linear layer. (This differs from PyTorch's
  ``Dropout2d``, which drops whole channels independently for each sample.)

Either scaling combines with either mask. Evaluation never draws random numbers. The checked
public form is :func:`tinygrad_dropbn.nn.functional.dropout`; everything here trusts its
arguments.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import random as _random
from ..engine import Function


def mask_shape(shape: tuple, per_feature: bool) -> tuple:
    """The shape of the keep-mask for an input of ``shape``: the input's own shape, or for a
    per-feature mask the same with the batch axis (axis 0) reduced to 1."""
    if per_feature and len(shape) > 1:
        return (1,) + tuple(shape[1:])
    return tuple(shape)


def dropout_mask(shape: tuple, p: float, per_feature: bool = False) -> np.ndarray:
    """Draw a read-only boolean keep-mask (True = kept) with ``P(kept) = 1 - p`` per entry.

    Every entry is one Bernoulli(1 - p) draw from the library's generator: ``u < 1 - p`` with
    ``u`` uniform in [0, 1). ``p = 0`` keeps and ``p = 1`` drops everything without drawing.

    Args:
        shape: the input's shape.
        p: the drop probability, in [0, 1] (checked by the public callers, ``F.dropout`` and
            ``nn.Dropout``).
        per_feature: one draw per feature shared along the batch axis (see :func:`mask_shape`)
            instead of one per element.
    """
    shape = mask_shape(shape, per_feature)
    if p == 0.0 or p == 1.0:
        mask = np.full(shape, p == 0.0)
    else:
        mask = _random.generator().random(shape, dtype=np.float32) < np.float32(1.0 - p)
    # NOTE: read-only, so nobody can edit the mask a recorded forward pass (and its backward)
    # depends on, e.g. through nn.Dropout.mask.
    mask.flags.writeable = False
    return mask


class Drop(Function):
    """Dropout with a fixed mask;  out = x * mask * scale,  dx = grad * mask * scale.

    Training: ``scale = 1 / (1 - p)`` (inverted) or ``1`` (plain). Evaluation: ``out = x``
    (inverted) or ``out = (1 - p) x`` (plain), and the same factor in the backward. At
    ``p = 1`` every unit is dropped and the inverted scale is never applied, so output and
    gradient are exact zeros rather than ``0 * inf = NaN``.

    The mask (``mask``, a read-only boolean array broadcasting to ``x``) is a constant: nothing
    is saved for the backward but it, so double backward differentiates ``grad * mask * scale``
    with the mask held fixed.

    The display name records the settings and, in training, how many units were kept, e.g.
    ``Drop p=0.5 inverted [train] kept 37/64``; they are plain Python values, so they stay
    after the backward pass releases the mask.
    """

    def forward(self, x: np.ndarray, mask: Optional[np.ndarray], p: float, training: bool,
                inverted: bool, per_feature: bool) -> np.ndarray:
        self.p, self.training = p, training
        self.inverted, self.per_feature = inverted, per_feature
        self.keep = x.dtype.type(1.0 - p)
        # Inverted evaluation's backward hands ``grad`` itself back; every other form is new.
        self.returns_new_grads = training or not inverted
        if not training:
            # NOTE: inverted evaluation is the identity; the output shares x's array, no copy.
            return x if inverted else x * self.keep
        self.mask = mask
        self.kept, self.total = int(np.count_nonzero(mask)), int(mask.size)
        return self._apply_mask(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if not self.training:
            return grad if self.inverted else grad * self.keep
        if isinstance(grad, (np.ndarray, np.generic)):
            return self._apply_mask(grad)
        if self.kept == 0 or not self.inverted:
            return grad * self.mask  # recorded (create_graph): dx = grad * mask * 1
        return grad * self.mask / self.keep  # recorded: dx = grad * mask * (1 / (1 - p))

    def _apply_mask(self, values: np.ndarray) -> np.ndarray:
        """values * mask * scale on arrays: zero where dropped, ``values / (1 - p)``
        (inverted) or ``values`` (plain) where kept.

        NOTE: two whole-array passes (divide, then multiply in place by the boolean mask) are
        several times faster than a masked ``np.divide(..., where=mask)``; p = 1 keeps nothing
        and is answered with zeros, so it never divides by zero.
        """
        if self.kept == 0:
            return np.zeros(np.broadcast_shapes(values.shape, self.mask.shape), values.dtype)
        out = values / self.keep if self.inverted else values * self.mask
        if self.inverted:
            np.multiply(out, self.mask, out=out)
        return out

    @property
    def name(self) -> str:
        form = "inverted" if self.inverted else "plain"
        if self.per_feature:
            form += " per-feature"
        label = f"Drop p={self.p:g} {form}"
        if not self.training:
            return label + (" [eval] identity" if self.inverted
                            else f" [eval] out = {1 - self.p:g} x")
        unit = " features" if self.per_feature else ""
        return f"{label} [train] kept {self.kept}/{self.total}{unit}"
