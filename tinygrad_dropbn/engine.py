"""The autodiff engine: recording ops, the topological order, the backward sweep.

Everything that makes reverse mode work lives in this file:

* **Recording.** :meth:`Function.apply` runs an op's ``forward`` on NumPy arrays. When grad mode
  is on and some input requires a gradient, the output tensor remembers the op (``grad_fn``) and
  the op remembers its inputs: that chain of references *is* the computation graph.
* **Topological order.** :func:`topological_order` lists the ops reachable from a tensor so that
  every op comes before the ops that produced its inputs. It is an explicit-stack depth-first
  search, so a chain of 100,000 ops needs no recursion. Drawing the graph reuses it.
* **The backward sweep.** :func:`backward` walks that order once. Each op receives the gradient
  of its output (summed over every consumer before it is visited), returns one gradient per
  input, and the engine un-broadcasts each of them to its input's shape -- the only place in the
  library where broadcasting is undone, so every backward rule reads as if shapes matched.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator, Optional

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


def no_grad() -> _GradMode:
    """Context manager and decorator: ops inside record no graph (like ``torch.no_grad``)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager and decorator: turn recording back on inside a ``no_grad`` block."""
    return _GradMode(True)


@contextlib.contextmanager
def module_scope(module: Any) -> Iterator[None]:
    """Tag every op created inside with the chain of modules being called.

    ``Module.__call__`` enters this, so each op knows which layer ran it; the graph drawing
    groups ops into one cluster per module with it.
    """
    global _module_scope
    outer = _module_scope
    _module_scope = outer + (module,)
    try:
        yield
    finally:
        _module_scope = outer


class Function:
    """Base class of every differentiable op.

    A subclass defines ``forward(*arrays, **attributes) -> array`` and ``backward(grad)``, which
    returns the gradient with respect to each input, in input order (a bare array for a one-input
    op, ``None`` where no gradient is needed). ``forward`` keeps on ``self`` exactly what
    ``backward`` needs; the engine drops those arrays after the backward pass unless the graph is
    retained, and keeps the graph's structure (``inputs``, attributes) so it can still be drawn.

    Attributes set by the engine on recorded ops:
        inputs: the input tensors, in order.
        needs_input_grad: one bool per input.
        scope: the modules whose call created the op, outermost first.
        grad: the gradient of the op's output, once ``backward`` has reached it.
        backward_step: the op's position in the backward sweep (0 = first), once reached.
    """

    inputs: tuple = ()
    needs_input_grad: tuple = ()
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
        """Run the op on tensors, recording it in the graph when a gradient will be needed."""
        from .tensor import Tensor

        fn = cls()
        if _grad_enabled:
            needs = tuple([t.requires_grad for t in inputs])
            if True in needs:
                fn.inputs = inputs
                fn.needs_input_grad = needs
                fn.scope = _module_scope
                out = fn.forward(*[t.data for t in inputs], **attributes)
                return Tensor._from_op(out, fn)
        return Tensor._from_op(fn.forward(*[t.data for t in inputs], **attributes), None)

    def release(self) -> None:
        """Drop the arrays saved for the backward pass; keep the op's structure and attributes."""
        saved = self.__dict__
        for name in [name for name, value in saved.items() if type(value) is np.ndarray]:
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

    Iterative depth-first search: an op is emitted after every op that consumes its output, which
    is the order in which the backward sweep may visit it. Input order decides ties, so the same
    program always yields the same order.
    """
    start = root.grad_fn
    if start is None:
        return []
    post_order: list[Function] = []
    visited = {start}
    stack: list = [(start, False)]
    while stack:
        fn, inputs_done = stack.pop()
        if inputs_done:
            post_order.append(fn)
            continue
        stack.append((fn, True))
        for t in reversed(fn.inputs):
            parent = t.grad_fn
            if parent is not None and parent not in visited:
                visited.add(parent)
                stack.append((parent, False))
    post_order.reverse()
    return post_order


def backward(root: "Tensor", grad: Optional[np.ndarray], retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient."""
    from .tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError(
            "backward() called on a tensor that does not require grad: no input of the "
            "computation had requires_grad=True (or it ran under no_grad()). Create the inputs "
            "with Tensor(..., requires_grad=True) or call .requires_grad_() on them first.")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a scalar output, got shape {root.shape}. "
                "Reduce it first (e.g. out.sum().backward()) or pass grad= with the same shape.")
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
        if grad.shape != root.shape:
            raise RuntimeError(
                f"backward() got grad of shape {grad.shape} for an output of shape {root.shape}; "
                "they must match.")
    if root.grad_fn is None:
        _accumulate_leaf(root, grad)
        return

    pending = {root.grad_fn: grad}
    for step, fn in enumerate(topological_order(root)):
        if fn.released:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({fn.name} has already "
                "released its saved arrays). Pass retain_graph=True to the first backward() "
                "if you need to call it again, or recompute the forward pass.")
        out_grad = pending.pop(fn, None)
        if out_grad is None:  # every consumer returned None for this op's output
            continue
        input_grads = fn.backward(out_grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if not retain_graph:
            fn.release()
        fn.grad = out_grad
        fn.backward_step = step
        for t, g in zip(fn.inputs, input_grads):
            if g is None or not t.requires_grad:
                continue
            if g.shape != t.data.shape:
                g = unbroadcast(g, t.data.shape)
            if t.grad_fn is None:
                _accumulate_leaf(t, g)
                continue
            if t._retains_grad:
                _accumulate_leaf(t, g)
            parent = t.grad_fn
            if parent in pending:
                pending[parent] = pending[parent] + g
            else:
                pending[parent] = g


def _accumulate_leaf(t: "Tensor", g: np.ndarray) -> None:
    """``t.grad += g``, in place in a buffer the tensor owns, in the tensor's dtype."""
    from .tensor import Tensor

    if t.grad is None:
        t.grad = Tensor._from_op(np.array(g, dtype=t.data.dtype, copy=True), None)
    else:
        np.add(t.grad.data, g, out=t.grad.data, casting="unsafe")
