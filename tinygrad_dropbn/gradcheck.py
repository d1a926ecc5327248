"""Finite-difference gradient checking, for every op in the library and for users' own ops."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import engine
from . import random as _random
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytical gradient disagrees with central finite differences."""


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              rtol: float = 1e-5, atol: float = 1e-6, raise_exception: bool = True) -> bool:
    """Compare ``backward()`` with central differences, element by element.

    The output is contracted with a random upstream gradient ``v`` (drawn from the library's
    generator), so every output element is checked, not just their sum. For each element ``x_k``
    of each input that requires a gradient::

        numerical_k = (f(x + eps e_k) . v - f(x - eps e_k) . v) / (2 eps)

    and the check passes when ``|analytical_k - numerical_k| <= atol + rtol * |numerical_k|``.
    Inputs should be float64: float32 finite differences are too noisy to mean anything.

    Args:
        fn: a function of the input tensors returning a tensor. It is called many times; if it
            draws random numbers (dropout), reseed inside it so every call draws the same.
        inputs: the tensors to check; only those with ``requires_grad=True`` are perturbed.
        eps, rtol, atol: the step and the tolerances.
        raise_exception: raise :class:`GradcheckError` naming the worst element on failure
            (otherwise return False).

    Returns:
        True when every element agrees.
    """
    inputs = list(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input with requires_grad=True")
    for t in checked:
        if t.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 inputs for meaningful finite differences, "
                             f"got {t.dtype}; pass Tensor(x, dtype=np.float64, ...)")
    saved_grads = [t.grad for t in checked]
    for t in checked:
        t.grad = None
    try:
        with engine.enable_grad():
            out = fn(*inputs)
        upstream = _random.generator().standard_normal(out.shape)
        with engine.enable_grad():
            (out * Tensor(upstream, dtype=out.dtype)).sum().backward()
        analytical = [np.zeros(t.shape) if t.grad is None else t.grad.data.copy()
                      for t in checked]
    finally:
        for t, g in zip(checked, saved_grads):
            t.grad = g

    def contracted() -> float:
        with engine.no_grad():
            return float(np.sum(fn(*inputs).data * upstream))

    worst = None  # (excess over tolerance, input index, flat index, analytical, numerical)
    for i, t in enumerate(checked):
        flat = t.data.reshape(-1)
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            plus = contracted()
            flat[k] = original - eps
            minus = contracted()
            flat[k] = original
            numerical = (plus - minus) / (2 * eps)
            exact = analytical[i].reshape(-1)[k]
            excess = abs(exact - numerical) - (atol + rtol * abs(numerical))
            if not np.isfinite(exact) or (excess > 0 and (worst is None or excess > worst[0])):
                worst = (excess if np.isfinite(exact) else np.inf, i, k, exact, numerical)
    if worst is None:
        return True
    _, i, k, exact, numerical = worst
    index = np.unravel_index(k, checked[i].shape)
    message = (f"gradcheck failed for input {i} (shape {checked[i].shape}) at index "
               f"{tuple(int(j) for j in index)}: analytical {exact!r}, numerical {numerical!r} "
               f"(|diff| {abs(exact - numerical):.3g} > atol {atol} + rtol {rtol} * |numerical|)")
    if raise_exception:
        raise GradcheckError(message)
    return False
