"""``tg.autograd``: gradients as values, PyTorch's ``torch.autograd`` API.

:func:`grad` returns the gradients of outputs with respect to inputs instead of accumulating
them in ``.grad``; with ``create_graph=True`` they are tensors in a graph of their own, so they
can be differentiated again (Hessian-vector products, gradient penalties, higher derivatives)::

    x = tg.Tensor([0.5], dtype=np.float64, requires_grad=True)
    (dy,) = tg.autograd.grad(x.tanh(), x, create_graph=True)    # 1 - tanh^2
    (d2y,) = tg.autograd.grad(dy, x)                             # -2 tanh (1 - tanh^2)

:func:`increment_version` is for code that changes a tensor's array directly (optimizers,
``load_state_dict``): it tells the engine, so that a backward pass that needs the old values
raises instead of using the new ones.
"""
from __future__ import annotations

import contextlib
from typing import Any, Optional, Sequence, Union

from . import engine
from .engine import Function, backward_hooks, record_hooks
from .tensor import Tensor, output_gradient, tensor_tuple

__all__ = ["Function", "backward", "backward_hooks", "grad", "increment_version",
           "inference_mode", "record_hooks"]

Tensors = Union[Tensor, Sequence[Tensor]]


def grad(outputs: Tensors, inputs: Tensors, grad_outputs: Optional[Any] = None,
         retain_graph: Optional[bool] = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to each of ``inputs``, as a tuple.

    Args:
        outputs: a tensor or a sequence of tensors to differentiate.
        inputs: the tensors (leaves or not) to differentiate with respect to.
        grad_outputs: the gradient to start from at each output (None: 1 for a one-element
            output), a tensor or a sequence matching ``outputs``.
        retain_graph: keep the graph for another backward pass (default: ``create_graph``).
        create_graph: record the backward pass, so the returned gradients can be
            differentiated again.
        allow_unused: return None for an input the outputs do not depend on, instead of
            raising.

    Returns:
        One gradient per input, in order; ``.grad`` attributes are left unchanged.

    Example:
        >>> import numpy as np
        >>> import tinygrad_dropbn as tg
        >>> x = tg.Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
        >>> (g,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)
        >>> g.numpy().tolist(), tg.autograd.grad(g.sum(), x)[0].numpy().tolist()
        ([3.0, 12.0], [6.0, 12.0])
    """
    outputs, seeds = _outputs_and_seeds(outputs, grad_outputs, "grad()")
    inputs = tensor_tuple(inputs, "inputs", "grad()")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad(): one of the differentiated Tensors does not require grad; "
                               "create it with requires_grad=True")
    gradients = engine.run_backward(outputs, seeds, retain_graph, create_graph, inputs,
                                    accumulate=False)
    for i, (t, g) in enumerate(zip(inputs, gradients)):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {t.shape}) appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the "
                               "desired behavior.")
    return tuple(g if g is None or isinstance(g, Tensor) else Tensor._from_op(g, None)
                 for g in gradients)


def backward(tensors: Tensors, grad_tensors: Optional[Any] = None,
             retain_graph: Optional[bool] = None, create_graph: bool = False,
             inputs: Optional[Tensors] = None) -> None:
    """Accumulate the gradients of ``tensors`` into ``.grad`` (``torch.autograd.backward``):
    several outputs in one sweep; ``tensor.backward(...)`` is the one-output case."""
    outputs, seeds = _outputs_and_seeds(tensors, grad_tensors, "backward()")
    if inputs is not None:
        inputs = tensor_tuple(inputs, "inputs", "backward()")
    engine.run_backward(outputs, seeds, retain_graph, create_graph, inputs)


def increment_version(tensor: Tensor) -> None:
    """Record that ``tensor``'s values were changed in place, behind the engine's back (as
    ``torch.autograd.graph.increment_version`` does)."""
    engine.version_counter(tensor).bump()


def _outputs_and_seeds(outputs: Tensors, grad_outputs: Optional[Any], what: str) -> tuple:
    outputs = tensor_tuple(outputs, "outputs", what)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{what}: got {len(grad_outputs)} gradient(s) for {len(outputs)} "
                           "output(s); pass one per output")
    return outputs, [output_gradient(t, g, what) for t, g in zip(outputs, grad_outputs)]


class inference_mode(contextlib.ContextDecorator):
    """``torch.inference_mode``: a ``with`` block or a decorator (``@inference_mode()`` or
    ``@inference_mode``) in which no graph is recorded. ``inference_mode(False)`` changes
    nothing.

    NOTE: here it is ``no_grad()`` (there is no faster path to switch on); unlike PyTorch's
    inference tensors, the tensors it makes may later be used in a recorded computation.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # the bare decorator: @inference_mode
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self._contexts: list = []

    def __enter__(self) -> None:
        context = engine.no_grad() if self.mode else contextlib.nullcontext()
        context.__enter__()
        self._contexts.append(context)

    def __exit__(self, *exc: Any) -> None:
        self._contexts.pop().__exit__(*exc)

    def _recreate_cm(self) -> "inference_mode":
        return inference_mode(self.mode)  # NOTE: a fresh one per decorated call (threads)
