"""The autodiff engine: recording ops, the topological order, the backward sweep.

Everything that makes reverse mode work lives in this file:

* **Recording.** :meth:`Function.apply` runs an op's ``forward`` on NumPy arrays. When grad mode
  is on and some input requires a gradient, the output tensor remembers the op (``grad_fn``) and
  the op remembers its inputs: that chain of references *is* the computation graph.
* **Topological order.** :func:`topological_order` lists the ops reachable from a tensor so that
  every op comes after all the ops that consume its output. It counts consumers and uses
  explicit stacks, so a chain of 100,000 ops needs no recursion. Drawing the graph reuses it.
* **The backward sweep.** :func:`backward` walks that order once. Each op receives the gradient
  of its output (summed over every consumer before it is visited), returns one gradient per
  input, and the engine un-broadcasts each of them to its input's shape -- the only place in the
  library where broadcasting is undone, so every backward rule reads as if shapes matched.
  Then the op releases the arrays it saved, unless the graph is retained.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

_grad_enabled = True
_module_scope: tuple = ()


def is_grad_enabled() -> bool:
    """Whether new ops are recorded in the graph."""
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Set grad mode inside a ``with`` block or a decorated function, then restore it."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        global _grad_enabled
        self._saved.append(_grad_enabled)
        _grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._saved.pop()


def no_grad(func: Optional[Callable] = None) -> Any:
    """Context manager and decorator (``@no_grad()`` or ``@no_grad``): ops inside record no
    graph, like ``torch.no_grad``."""
    mode = _GradMode(False)
    return mode if func is None else mode(func)


def enable_grad(func: Optional[Callable] = None) -> Any:
    """Context manager and decorator: turn recording back on inside a ``no_grad`` block."""
    mode = _GradMode(True)
    return mode if func is None else mode(func)


def enter_module_scope(module: Any) -> tuple:
    """Tag every op created from now on with ``module`` (innermost); returns the outer scope,
    which :func:`exit_module_scope` restores. ``Module.__call__`` brackets ``forward`` with the
    two, so each op knows which layer ran it; the graph drawing clusters ops by it."""
    global _module_scope
    outer = _module_scope
    _module_scope = outer + (module,)
    return outer


def exit_module_scope(outer: tuple) -> None:
    """Restore the scope :func:`enter_module_scope` returned."""
    global _module_scope
    _module_scope = outer


class module_scope:
    """``with module_scope(module):`` -- :func:`enter_module_scope` as a context manager."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self._outer: list[tuple] = []

    def __enter__(self) -> None:
        self._outer.append(enter_module_scope(self.module))

    def __exit__(self, *exc: Any) -> None:
        exit_module_scope(self._outer.pop())


# The graph's structure, which the engine sets and release() keeps.
_ENGINE_ATTRIBUTES = frozenset({"inputs", "scope", "grad", "backward_step", "released"})


class Function:
    """Base class of every differentiable op.

    A subclass defines ``forward(*arrays, **attributes) -> array`` and ``backward(grad)``, which
    returns the gradient with respect to each input, in input order (a bare array for a one-input
    op, ``None`` where no gradient is needed). ``forward`` keeps on ``self`` exactly what
    ``backward`` needs; the engine drops those arrays after the backward pass unless the graph is
    retained, and keeps the graph's structure (``inputs``, attributes) so it can still be drawn.

    Attributes set by the engine on recorded ops:
        inputs: the input tensors, in order.
        scope: the modules whose call created the op, outermost first.
        grad: the gradient of the op's output, once ``backward`` has reached it.
        backward_step: the op's position in the backward sweep (0 = first), once reached;
            None when no gradient reached the op.
        released: True once :meth:`release` dropped the saved arrays.
    ``needs_input_grad`` (one bool per input) is read from ``inputs``; ``name`` is the label
    the graph drawing shows.
    """

    inputs: tuple = ()
    scope: tuple = ()
    grad: Optional[np.ndarray] = None
    backward_step: Optional[int] = None
    released = False

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def backward(self, grad: np.ndarray) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define backward()")

    @classmethod
    def apply(cls, *inputs: "Tensor", **attributes: Any) -> "Tensor":
        """Run the op on tensors, recording it in the graph when a gradient will be needed:
        grad mode is on and some input requires a gradient."""
        fn = cls()
        arrays = [t.data for t in inputs]
        if _grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    fn.inputs = inputs
                    fn.scope = _module_scope
                    return _tensor.Tensor._from_op(fn.forward(*arrays, **attributes), fn)
        return _tensor.Tensor._from_op(fn.forward(*arrays, **attributes), None)

    @property
    def needs_input_grad(self) -> tuple:
        """One bool per input: whether ``backward`` must compute that input's gradient."""
        return tuple([t.requires_grad for t in self.inputs])

    def release(self) -> None:
        """Drop the arrays saved for the backward pass; keep the op's structure and attributes."""
        saved = self.__dict__
        for name in saved.keys() - _ENGINE_ATTRIBUTES:
            if type(saved[name]) is np.ndarray:
                del saved[name]
        self.released = True

    @property
    def name(self) -> str:
        """The op's display name (its class name)."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name} backward>"


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting prepends axes of size 1 and stretches size-1 axes, so a broadcast input's
    gradient is the sum over every prepended and every stretched axis.
    """
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def topological_order(root: "Tensor") -> list[Function]:
    """The recorded ops reachable from ``root``, each before the ops that produced its inputs.

    Kahn's algorithm on consumer counts: a first walk counts, for every op, how many inputs of
    other ops its output feeds; the second emits an op once every one of its consumers has been
    emitted -- the order in which the backward sweep may visit it, since by then each consumer
    has sent its share of the gradient. Both walks use an explicit stack, so a chain of 100,000
    ops needs no recursion. Input order decides ties, so the same program yields the same order.
    """
    start = root.grad_fn
    if start is None:
        return []
    consumers = {start: 0}
    stack = [start]
    while stack:
        for t in stack.pop().inputs:
            parent = t.grad_fn
            if parent is None:
                continue
            if parent in consumers:
                consumers[parent] += 1
            else:
                consumers[parent] = 1
                stack.append(parent)
    order = []
    ready = [start]
    while ready:
        fn = ready.pop()
        order.append(fn)
        for t in reversed(fn.inputs):
            parent = t.grad_fn
            if parent is not None:
                consumers[parent] -= 1
                if not consumers[parent]:
                    ready.append(parent)
    return order


def backward(root: "Tensor", grad: Optional[Any], retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient.

    Each op's ``grad`` collects the sum of what its consumers send; topological order
    guarantees it is complete when the op's turn comes. The op turns it into one gradient per
    input, which the engine un-broadcasts to the input's shape and casts to its dtype before
    adding it to the producing op's ``grad`` (or to a leaf's ``.grad``).
    """
    grad = _initial_grad(root, grad)
    if root.grad_fn is None:
        _accumulate_leaf(root, grad)
        return
    order = topological_order(root)
    for fn in order:
        if fn.released:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({fn.name} has already "
                "released the arrays it saved for backward). Pass retain_graph=True to the "
                "first backward() if you need to call it again, or recompute the forward pass.")
    for fn in order:
        fn.grad = None  # a retained graph may hold the gradients of an earlier backward()
    root.grad_fn.grad = grad
    if root._retains_grad:
        _accumulate_leaf(root, grad)
    for step, fn in enumerate(order):
        out_grad = fn.grad
        if out_grad is None:  # every consumer returned None for this op's output
            fn.backward_step = None
            if not retain_graph:
                fn.release()
            continue
        input_grads = fn.backward(out_grad)
        fn.backward_step = step
        if not retain_graph:
            fn.release()
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for t, g in zip(fn.inputs, input_grads):
            if g is None or not t.requires_grad:
                continue
            data = t.data
            if g.shape != data.shape:
                g = _unbroadcast_from(fn, g, data.shape)
            if g.dtype is not data.dtype and g.dtype != data.dtype:
                g = g.astype(data.dtype)
            parent = t.grad_fn
            if parent is None:
                _accumulate_leaf(t, g)
                continue
            if t._retains_grad:
                _accumulate_leaf(t, g)
            parent.grad = g if parent.grad is None else parent.grad + g


def _unbroadcast_from(fn: Function, grad: np.ndarray, shape: tuple) -> np.ndarray:
    """:func:`unbroadcast`, with an error naming the op when its gradient cannot fit."""
    if grad.ndim >= len(shape):
        grad = unbroadcast(grad, shape)
        if grad.shape == shape:
            return grad
    raise RuntimeError(f"{fn.name}.backward returned a gradient of shape {grad.shape} for an "
                       f"input of shape {shape}; it must have the input's shape (or the shape "
                       "of the broadcast output).")


def _initial_grad(root: "Tensor", grad: Optional[Any]) -> np.ndarray:
    """The gradient backward() starts from, after checking it can start at all."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() called on a tensor that does not require grad: no input of the "
            "computation had requires_grad=True (or it ran under no_grad()). Create the inputs "
            "with Tensor(..., requires_grad=True) or call .requires_grad_() on them first.")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element output, got shape "
                f"{root.shape}. Reduce it first (e.g. out.sum().backward()) or pass grad= with "
                "the output's shape.")
        return np.ones_like(root.data)
    grad = np.asarray(grad.data if isinstance(grad, _tensor.Tensor) else grad,
                      dtype=root.data.dtype)
    if grad.shape != root.shape:
        raise RuntimeError(f"backward() got grad of shape {grad.shape} for an output of shape "
                           f"{root.shape}; they must match.")
    return grad


def _accumulate_leaf(t: "Tensor", g: np.ndarray) -> None:
    """``t.grad += g``, in place in a buffer the tensor owns, in the tensor's dtype."""
    if t.grad is None:
        t.grad = _tensor.Tensor._from_op(np.array(g, dtype=t.data.dtype, copy=True), None)
    else:
        np.add(t.grad.data, g, out=t.grad.data, casting="unsafe")


# NOTE: imported last because tensor.py imports this module; looking ``Tensor`` up on the module
# at call time lets the two modules be imported in either order.
from . import tensor as _tensor  # noqa: E402
