"""Finite-difference gradient checking, for every op in the library and for users' own ops:
:func:`gradcheck` for first derivatives, :func:`gradgradcheck` for second ones."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import autograd, engine
from . import random as _random
from .tensor import Tensor, cat


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
            (otherwise return False). A non-finite gradient always fails.

    Returns:
        True when every element agrees.
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 inputs for meaningful finite differences, "
                             f"got {inputs[i].dtype} for input {i}; pass "
                             "Tensor(x, dtype=np.float64, requires_grad=True)")
    upstream, analytical = _analytical(fn, inputs, checked)

    def contracted() -> float:
        with engine.no_grad():
            return float(np.sum(fn(*inputs).data * upstream))

    worst = None  # (excess over the tolerance, input position, index, analytical, numerical)
    for i in checked:
        data = inputs[i].data
        for index in np.ndindex(data.shape):
            original = data[index]
            try:
                data[index] = original + eps
                plus = contracted()
                data[index] = original - eps
                minus = contracted()
            finally:
                data[index] = original
            numerical = (plus - minus) / (2 * eps)
            exact = analytical[i][index]
            if np.isfinite(exact) and np.isfinite(numerical):
                excess = abs(exact - numerical) - (atol + rtol * abs(numerical))
            else:
                excess = np.inf
            if excess > 0 and (worst is None or excess > worst[0]):
                worst = (excess, i, index, exact, numerical)
    if worst is None:
        return True
    _, i, index, exact, numerical = worst
    message = (f"gradcheck failed for input {i} (shape {inputs[i].shape}); worst element "
               f"{tuple(int(j) for j in index)}: analytical {float(exact)!r}, numerical "
               f"{float(numerical)!r} (|difference| {abs(exact - numerical):.3g} > atol {atol} "
               f"+ rtol {rtol} * |numerical|)")
    if raise_exception:
        raise GradcheckError(message)
    return False


def _analytical(fn: Callable[..., Tensor], inputs: list,
                checked: list[int]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """A random upstream gradient ``v`` and d(f . v)/d(input) for each checked input, by
    ``backward()``; the inputs' own ``.grad`` are left as they were."""
    saved_grads = {i: inputs[i].grad for i in checked}
    for i in checked:
        inputs[i].grad = None
    try:
        with engine.enable_grad():
            out = fn(*inputs)
            upstream = _random.generator().standard_normal(out.shape)
            if out.requires_grad:  # else f does not depend on the inputs: every gradient is 0
                (out * Tensor(upstream, dtype=out.dtype)).sum().backward()
        analytical = {i: np.zeros(inputs[i].shape) if inputs[i].grad is None
                      else inputs[i].grad.data.copy() for i in checked}
    finally:
        for i, grad in saved_grads.items():
            inputs[i].grad = grad
    return upstream, analytical


def gradgradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
                  rtol: float = 1e-5, atol: float = 1e-6, raise_exception: bool = True) -> bool:
    """Check second derivatives: :func:`gradcheck` applied to the gradient itself.

    The gradient ``g(x) = d(f(x) . v)/dx`` (``v`` a random upstream gradient, fixed for the
    check) is computed with ``create_graph=True``, so it is a differentiable function of the
    inputs. First the recorded ``g`` must equal the ordinary backward pass's (the same rules,
    run on Tensors instead of arrays); then its own backward pass -- the engine differentiating
    its backward rules -- is compared with central differences of ``g``. Arguments as for
    :func:`gradcheck`.
    """
    inputs = list(inputs)
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise ValueError("gradgradcheck needs at least one input with requires_grad=True")
    with engine.enable_grad():
        shape = fn(*inputs).shape
    upstream = Tensor(_random.generator().standard_normal(shape), dtype=np.float64)

    @engine.enable_grad()  # NOTE: gradcheck evaluates under no_grad; a gradient needs a graph
    def gradient(*values: Tensor, create_graph: bool = True) -> Tensor:
        out = fn(*values)
        wanted = [t for t in values if isinstance(t, Tensor) and t.requires_grad]
        grads = autograd.grad((out * upstream.astype(out.dtype)).sum(), wanted,
                              create_graph=create_graph, allow_unused=True)
        return cat([(g if g is not None else t * 0).reshape(-1) for t, g in zip(wanted, grads)])

    recorded, plain = gradient(*inputs).data, gradient(*inputs, create_graph=False).data
    if not np.allclose(recorded, plain, rtol=rtol, atol=atol):
        worst = int(np.argmax(np.abs(recorded - plain)))
        message = (f"gradgradcheck failed: the gradient recorded with create_graph=True differs "
                   f"from the ordinary backward pass's at flat element {worst}: "
                   f"{recorded[worst]!r} vs {plain[worst]!r}")
        if raise_exception:
            raise GradcheckError(message)
        return False
    return gradcheck(gradient, inputs, eps, rtol, atol, raise_exception)
