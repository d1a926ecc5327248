"""Dropout as one op with its own backward, and its functional form ``dropout``.

Dropout multiplies its input by a random keep-mask ``m`` (``m_i ~ Bernoulli(1 - p)``: 1 keeps
unit i, 0 drops it) and, in the inverted form, by ``1 / (1 - p)``::

    out = x * m / (1 - p)          dx = grad * m / (1 - p)

The mask is drawn once, in the forward pass, and saved: the backward multiplies by the very same
mask (re-drawing it would differentiate a different function). Three forms share the op:

* **inverted** (``inverted=True``, the default, PyTorch's ``nn.Dropout``): kept units are scaled
  by ``1 / (1 - p)`` in training, so evaluation is the identity. Since ``E[m_i] = 1 - p``, the
  training output has the same expectation as the evaluation output.
* **plain** (``inverted=False``, the original formulation): training only zeroes units
  (``out = x * m``, ``dx = grad * m``); evaluation multiplies by ``1 - p`` instead
  (``out = (1 - p) x``) so the two modes agree in expectation.
* **per-feature mask** (``per_feature=True``, the "drop a neuron" view): one draw per feature,
  shared by every row of the batch, so a dropped feature is zero for every sample at once. For
  ``(N, C)`` input the mask has shape ``(1, C)``; for higher ranks ``(N, *F)`` it has shape
  ``(1, *F)``: every non-batch position (e.g. each ``(c, h, w)`` of an image batch) is one
  neuron, as if the sample were flattened before a linear layer. (This differs from PyTorch's
  ``Dropout2d``, which drops whole channels independently for each sample.)

Either scaling combines with either mask. Evaluation never draws random numbers.
"""
from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from . import random as _random
from .engine import Function
from .tensor import Tensor, check_float_tensor


def check_probability(p: float) -> float:
    """``p`` as a float, or a ``ValueError`` naming it when it is not in [0, 1] (NaN included)."""
    # NOTE: the exact-type test first: an ABC isinstance check costs a microsecond per call.
    if type(p) is not float and (isinstance(p, bool) or not isinstance(p, numbers.Real)):
        raise TypeError(f"Dropout probability must be a number in [0, 1], got {p!r} "
                        f"({type(p).__name__})")
    if not 0.0 <= p <= 1.0:  # NOTE: NaN fails both comparisons, so it lands here too
        raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
    return float(p)


def mask_shape(shape: tuple, per_feature: bool) -> tuple:
    """The shape of the keep-mask for an input of ``shape``: the input's own shape, or for a
    per-feature mask the same with the batch axis (axis 0) reduced to 1."""
    if per_feature and len(shape) > 1:
        return (1,) + tuple(shape[1:])
    return tuple(shape)


def dropout_mask(shape: tuple, p: float, per_feature: bool = False) -> np.ndarray:
    """Draw a boolean keep-mask (True = kept) with ``P(kept) = 1 - p`` per entry.

    Every entry is one Bernoulli(1 - p) draw from the library's generator: ``u < 1 - p`` with
    ``u`` uniform in [0, 1). ``p = 0`` keeps and ``p = 1`` drops everything without drawing.

    Args:
        shape: the input's shape.
        p: the drop probability, in [0, 1].
        per_feature: one draw per feature shared along the batch axis (see :func:`mask_shape`)
            instead of one per element.
    """
    p = check_probability(p)
    shape = mask_shape(shape, per_feature)
    if p == 0.0 or p == 1.0:
        mask = np.full(shape, p == 0.0)
    else:
        mask = _random.generator().random(shape, dtype=np.float32) < np.float32(1.0 - p)
    # NOTE: read-only, so nobody can edit the mask a recorded forward pass (and its backward)
    # depends on, e.g. through nn.Dropout.mask.
    mask.flags.writeable = False
    return mask


class Dropout(Function):
    """Dropout with a saved mask;  dx = grad * mask * scale.

    Training: ``out = x * mask * scale`` with ``scale = 1 / (1 - p)`` (inverted) or ``1``
    (plain). Evaluation: ``out = x`` (inverted) or ``out = (1 - p) x`` (plain), and the same
    factor in the backward. At ``p = 1`` every unit is dropped and the inverted scale is never
    applied, so output and gradient are exact zeros rather than ``0 * inf = NaN``.

    The display name records the settings and, in training, how many units were kept, e.g.
    ``Dropout p=0.5 inverted [train] kept 37/64``; they are plain Python values, so they stay
    after the backward pass releases the mask.
    """

    def forward(self, x: np.ndarray, mask: Optional[np.ndarray], p: float, training: bool,
                inverted: bool, per_feature: bool) -> np.ndarray:
        self.p, self.training = p, training
        self.inverted, self.per_feature = inverted, per_feature
        self.keep = x.dtype.type(1.0 - p)
        if not training:
            # NOTE: inverted evaluation is the identity; the output shares x's array, no copy.
            return x if inverted else x * self.keep
        self.mask = mask
        self.kept, self.total = int(np.count_nonzero(mask)), int(mask.size)
        return self._apply_mask(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if not self.training:
            return grad if self.inverted else grad * self.keep
        return self._apply_mask(grad)

    def _apply_mask(self, values: np.ndarray) -> np.ndarray:
        """values * mask * scale: zero where dropped, ``values / (1 - p)`` (inverted) or
        ``values`` (plain) where kept.

        NOTE: two whole-array passes (divide, then multiply by the boolean mask) are several
        times faster than a masked ``np.divide(..., where=mask)``; p = 1 keeps nothing and is
        answered with zeros, so it never divides by zero.
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
        label = f"Dropout p={self.p:g} {form}"
        if not self.training:
            return label + (" [eval] identity" if self.inverted
                            else f" [eval] out = {1 - self.p:g} x")
        unit = " features" if self.per_feature else ""
        return f"{label} [train] kept {self.kept}/{self.total}{unit}"


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
    gradient by the same saved ``m`` (and scale). Evaluation draws no random numbers.

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
            :func:`dropout_mask`; it must broadcast to ``x``'s shape. Training only.

    Shape:
        any shape; the output has the input's shape. ``per_feature`` treats axis 0 as the
        batch axis.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn.dropout import dropout
        >>> x = tg.ones(2, 4, requires_grad=True)
        >>> out = dropout(x, p=0.5)
        >>> sorted(set(out.numpy().ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
        >>> dropout(x, p=0.5, training=False).numpy().tolist()
        [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """
    p = check_probability(p)
    check_float_tensor(x, "dropout")
    if not training:
        if mask is not None:
            raise ValueError("dropout got a mask with training=False: evaluation uses no "
                             "mask; pass training=True to apply it")
        return Dropout.apply(x, mask=None, p=p, training=False, inverted=inverted,
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
    return Dropout.apply(x, mask=mask, p=p, training=True, inverted=inverted,
                         per_feature=per_feature)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to exactly ``target``."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False
