"""The autodiff engine: recording ops, the topological order, the backward sweep.

* **Recording.** :meth:`Function.apply` runs an op's ``forward`` on NumPy arrays. When grad mode
  is on and some input requires a gradient, the output tensor remembers the op (``grad_fn``) and
  the op remembers its inputs: that chain of references *is* the computation graph.
* **Topological order.** :func:`topological_order` lists the ops reachable from the outputs so
  that every op comes after all the ops that consume its output. It counts consumers and uses
  an explicit stack, so a chain of 100,000 ops needs no recursion.
* **The backward sweep.** :func:`run_backward` walks that order once. Each op receives the
  gradient of its output, summed over every consumer before its turn comes, returns one
  gradient per input, and the engine un-broadcasts each to its input's shape -- the only place
  where broadcasting is undone, so every backward rule reads as if shapes matched.

Higher-order gradients need no second set of rules. With ``create_graph=True`` the sweep runs
in grad mode and hands each ``backward`` Tensors instead of arrays (the gradient and the saved
inputs and output), so the very same rule, written with operators and NumPy functions that
Tensor implements, is itself recorded as ops.

The engine knows nothing about modules or drawing. Observers (the graph drawing) append
callables to :data:`record_hooks` and :data:`backward_hooks`; when both lists are empty they
cost nothing.
"""
from __future__ import annotations

import contextlib
import operator
import threading
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from . import tensor_hooks

# NOTE: "Tensor" in annotations names tinygrad_dropbn.tensor.Tensor, which is built on this
# module; the engine only ever reaches tensors through the ones it is given.
Tensor = Any

#: Called as ``hook(fn, out)`` each time :meth:`Function.apply` records an op.
record_hooks: list[Callable[["Function", "Tensor"], None]] = []
#: Called as ``hook(fn, grad, input_grads)`` after each op's backward in the sweep.
backward_hooks: list[Callable[["Function", Any, tuple], None]] = []


class _GradMode(threading.local):
    """Grad mode, one flag per thread (like PyTorch): ``no_grad()`` in one thread never turns
    recording off in another."""

    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether new ops are recorded in the graph (in this thread)."""
    return _grad_mode.enabled


class _GradModeContext(contextlib.ContextDecorator):
    """Set grad mode inside a ``with`` block or a decorated function, then restore it."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_grad_mode.enabled)
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _grad_mode.enabled = self._previous.pop()

    def _recreate_cm(self) -> "_GradModeContext":
        # NOTE: a fresh context per decorated call, so concurrent calls never share a stack.
        return _GradModeContext(self.mode)


def no_grad(func: Optional[Callable] = None) -> Any:
    """Context manager and decorator (``@no_grad()`` or ``@no_grad``): ops inside record no
    graph, like ``torch.no_grad``."""
    context = _GradModeContext(False)
    return context if func is None else context(func)


def enable_grad(func: Optional[Callable] = None) -> Any:
    """Context manager and decorator: turn recording back on inside a ``no_grad`` block."""
    context = _GradModeContext(True)
    return context if func is None else context(func)


class set_grad_enabled(_GradModeContext):
    """Turn recording on or off, like ``torch.set_grad_enabled``: a plain call takes effect at
    once; as a ``with`` block or a decorator, the previous mode comes back on exit."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._previous.append(_grad_mode.enabled)
        _grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        pass  # the mode was set when the object was made

    def __call__(self, func: Callable) -> Callable:
        _grad_mode.enabled = self._previous.pop()  # decorating switches nothing by itself
        return super().__call__(func)


class _Version:
    """How many times a tensor's values were changed in place. Shared by every tensor that
    shares the array (``detach()``), as PyTorch's version counter is.

    ``watched``: whether a recorded op may have saved a tensor with this counter (it was an
    input of a recorded op, or is an op's output). Only changes of watched counters move
    :attr:`changes`, so changing a tensor no graph saved -- batch norm's running statistics,
    updated during every training forward pass -- leaves every op's fast path in place.
    """

    __slots__ = ("value", "watched")

    #: In-place changes of watched tensors so far: while it has not moved since an op saved
    #: its tensors, none of them can have changed, and the backward skips checking each.
    changes = 0

    def __init__(self, watched: bool = True) -> None:
        self.value = 0
        self.watched = watched

    def bump(self) -> None:
        """Count one in-place change of the tensor(s) this counter belongs to."""
        with _bump_lock:  # NOTE: two threads adding at once must not lose a change
            self.value += 1
            if self.watched:
                _Version.changes += 1


_bump_lock = threading.Lock()


def bump_versions(tensors: Iterable["Tensor"]) -> None:
    """Count one in-place change of each tensor (``increment_version`` of each), taking the
    lock once.

    NOTE: an optimizer step changes every parameter, batch norm both running statistics: one
    lock for all of them instead of a call chain and a lock per tensor.
    """
    counters = [version_counter(t) for t in tensors]
    with _bump_lock:
        for counter in counters:
            counter.value += 1
            if counter.watched:
                _Version.changes += 1


#: The counter of every tensor that was never changed in place and shares it with nobody;
#: :func:`version_counter` gives a tensor its own before anything counts on it.
UNCHANGED = _Version()

# NOTE: attrgetter and map run in C: these are on the path of every recorded op.
_data = operator.attrgetter("data")
_version_of = operator.attrgetter("_version_counter.value")
_requires_grad = operator.attrgetter("_requires_grad")  # the slot behind Tensor.requires_grad
_released = operator.attrgetter("released")


def version_counter(t: "Tensor") -> _Version:
    """``t``'s own version counter, made if it still has the shared :data:`UNCHANGED` (and
    handed to the op that produced ``t``, which checks it if it saved its output)."""
    if t._version_counter is UNCHANGED:
        # NOTE: an op that saved t while it had no counter of its own set _used_by_graph
        # (an input) or is its grad_fn (the output); see _Version.watched.
        t._version_counter = _Version(watched=t._used_by_graph or t.grad_fn is not None)
        if t.grad_fn is not None:
            t.grad_fn.output_version = t._version_counter
    return t._version_counter


class Function:
    """Base class of every differentiable op.

    A subclass defines ``forward(*arrays, **attributes) -> array`` and
    ``backward(grad, *saved) -> gradients``. ``forward`` calls :meth:`save_for_backward` with
    the inputs and/or the output that the backward needs; the engine passes them back to
    ``backward`` after ``grad``, checked against in-place changes. ``backward`` returns the
    gradient with respect to each input, in input order (a bare value for a one-input op,
    ``None`` where no gradient is needed). Anything else ``backward`` needs that is not
    differentiated (a mask, an axis) is kept as a plain attribute.

    ``backward`` must work on Tensors as well as arrays: the engine calls it with Tensors when
    the backward pass is recorded (``create_graph=True``). Operators, ``.sum``, ``.reshape``
    and the NumPy functions that Tensor implements (``np.exp``, ``np.where``, ...) all do.

    Attributes set by the engine on recorded ops:
        inputs: the input tensors, in order; empty once released (see :meth:`release`).
        released: True once :meth:`release` dropped the saved arrays.
    The graph's edges are the inputs' producers, :attr:`parents`.
    """

    # NOTE: the engine's fields that every recorded op writes are slots, each given its value
    # in apply(): a slot is written and read faster than an instance dict entry, and release()
    # then only looks at the op's own attributes (in __dict__, which subclasses get). Per field:
    # inputs, saved: see above; released: see above; result: forward's output array, while
    # saved; changes_at_save: _Version.changes when the op saved; input_versions: the inputs'
    # versions then (None: every input was at version 0). The last three are set only when the
    # op saved something, and read only then.
    __slots__ = ("inputs", "saved", "released", "result", "changes_at_save", "input_versions",
                 "__dict__", "__weakref__")
    # NOTE: fields that few ops ever change are class-level defaults instead, set on the op
    # itself (its __dict__) when they do: each one a slot would be one more store per op.
    #: The output tensor's register_hook() hooks (see _sweep) and a weak reference to it.
    hooks: Any = ()
    hooked_tensor: Optional[Callable[[], Any]] = None
    #: The output's version counter, once it has one of its own (see version_counter).
    output_version: _Version = UNCHANGED
    #: True for an op whose array ``backward`` returns a new array for each input, referenced
    #: nowhere else (not ``grad`` itself, not a view, not a saved or cached array): a leaf
    #: whose ``.grad`` is None then keeps that array as its gradient instead of a copy.
    returns_new_grads = False

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def backward(self, grad: Any, *saved: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define backward()")

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Keep forward's input or output arrays for the backward, which receives them after
        ``grad`` (as Tensors when the backward pass is recorded). Only inputs and the output
        can be saved: a recorded backward pass raises for anything else."""
        self.saved = arrays

    @classmethod
    def apply(cls, *inputs: "Tensor", **attributes: Any) -> "Tensor":
        """Run the op on tensors, recording it in the graph when a gradient will be needed:
        grad mode is on and some input requires a gradient."""
        fn = cls()
        fn.saved, fn.released = (), False
        # NOTE: the engine makes tensors through an input's constructor, so that it never has
        # to import tensor.py (which imports the engine).
        make_tensor = inputs[0]._from_op
        if len(inputs) == 2 and not attributes:
            # NOTE: two inputs and no attributes (every binary elementwise op): the steps below
            # spelt out for two, without the loops and the *args of the general case, cost
            # ~20% less on an (8, 8) array (benchmarks/bench_ops.py), where they cost three
            # times the NumPy work.
            a, b = inputs
            if not (_grad_mode.enabled and (a._requires_grad or b._requires_grad)):
                fn.inputs = ()
                return make_tensor(fn.forward(a.data, b.data), None)
            fn.inputs = inputs  # before forward, which may read needs_input_grad
            result = fn.forward(a.data, b.data)
            out = make_tensor(result, fn)
            # NOTE: _used_by_graph: see Tensor._in_place (an input's grad_fn must stay what
            # it is).
            a._used_by_graph = b._used_by_graph = True
            if fn.saved:
                fn.result = result  # to tell the saved output from the saved inputs
                fn.changes_at_save = _Version.changes
                a_counter, b_counter = a._version_counter, b._version_counter
                if a_counter is UNCHANGED and b_counter is UNCHANGED:
                    fn.input_versions = None
                else:  # see the general case below
                    for counter in (a_counter, b_counter):
                        if counter is not UNCHANGED:
                            counter.watched = True
                    fn.input_versions = a_counter.value, b_counter.value
        else:
            # NOTE: one input and no attributes (every unary elementwise op) take a plain
            # test and a plain call, as above.
            unary = len(inputs) == 1 and not attributes
            if unary:
                record = _grad_mode.enabled and inputs[0]._requires_grad
            else:
                record = _grad_mode.enabled and any(map(_requires_grad, inputs))
            fn.inputs = inputs if record else ()
            if unary:
                result = fn.forward(inputs[0].data)
            else:
                result = fn.forward(*map(_data, inputs), **attributes)
            if not record:
                return make_tensor(result, None)
            out = make_tensor(result, fn)
            if not fn.saved:
                for t in inputs:
                    t._used_by_graph = True
            else:
                fn.result = result
                fn.changes_at_save = _Version.changes
                changed_before = False
                for t in inputs:  # the same loop, and which inputs a graph may now have saved
                    t._used_by_graph = True
                    counter = t._version_counter
                    if counter is not UNCHANGED:
                        counter.watched = changed_before = True
                # versions now, to tell at backward time if one changed since
                fn.input_versions = tuple(map(_version_of, inputs)) if changed_before else None
        if record_hooks:
            for hook in record_hooks:
                hook(fn, out)
        return out

    def _saved_sources(self) -> list:
        """Which tensor each saved array belongs to: the index of the input it is, or -1 for
        the output. Anything else is a mistake in the op (or an input's ``.data`` replaced)."""
        sources = []
        for array in self.saved:
            if array is self.result:
                sources.append(-1)
                continue
            for i, t in enumerate(self.inputs):
                if t.data is array:
                    sources.append(i)
                    break
            else:
                raise TypeError(
                    f"{self.name}.forward saved an array that is neither one of its inputs nor "
                    "its output (or an input's .data was replaced since); save_for_backward() "
                    "keeps inputs and outputs only. Keep other values as attributes, e.g. "
                    "self.mask = mask.")
        return sources

    def saved_values(self, as_tensors: bool) -> tuple:
        """What ``forward`` saved, checked against in-place changes since: the arrays, or (to
        record the backward pass) the input tensors and the output they belong to."""
        inputs, input_versions = self.inputs, self.input_versions
        values = []
        for array, source in zip(self.saved, self._saved_sources()):
            if source >= 0:
                expected = 0 if input_versions is None else input_versions[source]
                changed = _version_of(inputs[source]) != expected
            else:
                changed = self.output_version.value != 0
            if changed:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{array.dtype} of shape {tuple(np.shape(array))}], "
                    f"{'an input' if source >= 0 else 'the output'} of {self.name}, was "
                    "changed in place after the forward pass. Make the in-place change on a "
                    "copy (x.clone()) or after backward().")
            if not as_tensors:
                values.append(array)
            elif source >= 0:
                values.append(inputs[source])
            else:  # the output: a new tensor object stands for it in the graph
                out = inputs[0]._from_op(array, self)
                out._version_counter = self.output_version
                values.append(out)
        return tuple(values)

    @property
    def parents(self) -> tuple:
        """The op that produced each input (None for a leaf): the graph's edges. Empty once
        released: record the graph (``tg.record_graph()``) to draw it after ``backward()``."""
        return tuple([t.grad_fn for t in self.inputs])

    @property
    def needs_input_grad(self) -> tuple:
        """One bool per input: whether ``backward`` must compute that input's gradient."""
        inputs = self.inputs
        if len(inputs) == 2:  # NOTE: a two-input op's backward asks: spelt out, in a third
            return inputs[0]._requires_grad, inputs[1]._requires_grad  # of map()'s time
        return tuple(map(_requires_grad, inputs))

    def release(self) -> None:
        """Drop the inputs and every array kept for the backward pass, so that a kept output
        no longer keeps activations alive. Plain attributes (the op's settings) stay.

        NOTE: nothing new is kept in their place (not even the edges): objects made during
        a backward pass over a big graph would outlive it and wake Python's full garbage
        collection, which then walks the whole heap.
        """
        self.result = None
        attributes = self.__dict__
        if attributes:
            for name in [name for name, value in attributes.items()
                         if type(value) is np.ndarray]:
                del attributes[name]
        self.saved = self.inputs = ()
        self.released = True

    @property
    def name(self) -> str:
        """The op's display name (its class name)."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name} backward>"


def unbroadcast(grad: Any, shape: tuple) -> Any:
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


def topological_order(roots: Iterable["Tensor"],
                      inputs_of: Optional[Callable[[Function], Sequence]] = None
                      ) -> list[Function]:
    """The recorded ops reachable from ``roots``, each before the ops that produced its inputs.

    Kahn's algorithm on consumer counts: a first walk counts, for every op, how many inputs of
    other ops its output feeds; the second emits an op once every one of its consumers has been
    emitted -- the order in which the backward sweep may visit it, since by then each consumer
    has sent its share of the gradient. Both walks use an explicit stack, so a chain of 100,000
    ops needs no recursion. Input order decides ties, so the same program yields the same order.

    ``inputs_of(fn)`` stands in for ``fn.inputs`` (anything with a ``grad_fn`` per input): the
    drawing walks a released graph through what it recorded of it.
    """
    if not isinstance(roots, (list, tuple)):
        roots = (roots,)
    if len(roots) == 1:  # NOTE: the common case, without the set-up several roots need
        starts = [] if roots[0].grad_fn is None else [roots[0].grad_fn]
    else:
        starts = list(dict.fromkeys(t.grad_fn for t in roots if t.grad_fn is not None))
    # NOTE: when no op's output feeds two inputs (a chain, a tree: most training steps), the
    # first walk, taking inputs in the order the second emits them, already visits the ops in
    # the second walk's order, and the second is skipped.
    consumers = dict.fromkeys(starts, 0)
    visited, shared = [], False
    stack = starts[::-1]
    while stack:
        fn = stack.pop()
        visited.append(fn)
        for t in reversed(fn.inputs if inputs_of is None else inputs_of(fn)):
            parent = t.grad_fn
            if parent is None:
                continue
            if parent in consumers:
                consumers[parent] += 1
                shared = True
            else:
                consumers[parent] = 1
                stack.append(parent)
    if not shared:
        return visited
    order = []
    ready = [fn for fn in reversed(starts) if not consumers[fn]]
    while ready:
        fn = ready.pop()
        order.append(fn)
        for t in reversed(fn.inputs if inputs_of is None else inputs_of(fn)):
            parent = t.grad_fn
            if parent is not None:
                consumers[parent] -= 1
                if not consumers[parent]:
                    ready.append(parent)
    return order


def run_backward(outputs: Sequence["Tensor"], grad_outputs: Sequence[Any],
                 retain_graph: Optional[bool] = None, create_graph: bool = False,
                 inputs: Optional[Sequence["Tensor"]] = None, accumulate: bool = True) -> list:
    """Send ``grad_outputs`` back from ``outputs`` through the graph.

    With ``accumulate`` (``Tensor.backward``) every leaf that requires a gradient, and every
    tensor that called ``retain_grad()``, adds its gradient to ``.grad`` -- or, when ``inputs``
    is given, only the tensors in it. Without ``accumulate`` (``autograd.grad``) nothing is
    stored and the gradients of ``inputs`` are returned, None where no gradient reached one.

    ``retain_graph`` (default: ``create_graph``) keeps the saved arrays so the graph can be
    differentiated again; ``create_graph`` records the backward pass itself.
    """
    keep_graph = create_graph if retain_graph is None else retain_graph
    # The backward runs on Tensors when it is recorded, on arrays otherwise.
    if create_graph:
        grad_outputs = [t._from_op(g, None) if isinstance(g, (np.ndarray, np.generic)) else g
                        for t, g in zip(outputs, grad_outputs)]
    else:
        grad_outputs = [g if isinstance(g, (np.ndarray, np.generic)) else g.data
                        for g in grad_outputs]
    found: dict[int, Any] = {}  # the gradients of ``inputs``, by id
    deliver = wanted_outputs = None  # by default leaves accumulate into .grad
    if inputs is not None:
        def deliver(t: "Tensor", g: Any) -> None:
            if id(t) in found:
                found[id(t)] = found[id(t)] + g
            elif any(t is wanted for wanted in inputs):
                found[id(t)] = g
        wanted_outputs = {t.grad_fn: t for t in inputs if t.grad_fn is not None}
    previous_mode = _grad_mode.enabled
    _grad_mode.enabled = create_graph
    try:
        _sweep(outputs, grad_outputs, keep_graph, create_graph, deliver, wanted_outputs, found)
    finally:
        _grad_mode.enabled = previous_mode
    if inputs is None:
        return []
    gradients = [found.get(id(t)) for t in inputs]
    if accumulate:
        for t, g in zip(inputs, gradients):
            if g is not None:
                _accumulate_grad(t, g, create_graph)
    return gradients


def _sweep(outputs: Sequence["Tensor"], grad_outputs: Sequence[Any], keep_graph: bool,
           create_graph: bool, deliver: Optional[Callable[["Tensor", Any], None]],
           wanted_outputs: Optional[dict], found: dict) -> None:
    """The backward pass: visit the ops in topological order, each after all its consumers,
    and hand each one the sum of what they sent. Each leaf's gradient goes to its ``.grad``,
    or to ``deliver`` if given (then ``retain_grad()`` is ignored, as in ``autograd.grad``);
    the output gradient of an op in ``wanted_outputs`` is stored in ``found``."""
    grads: dict[Function, Any] = {}  # each op's output gradient, summed over its consumers
    held: dict[int, list] = {}  # hooked leaves: [tensor, gradient summed so far]
    order = topological_order(outputs)
    if any(map(_released, order)):  # NOTE: checked before anything is sent or released
        fn = next(fn for fn in order if fn.released)
        raise RuntimeError(
            f"Trying to backward through the graph a second time ({fn.name} has already "
            "released the arrays it saved for backward). Pass retain_graph=True to the "
            "first backward() if you need to call it again, or recompute the forward pass.")
    for t, g in zip(outputs, grad_outputs):
        if t.grad_fn is None:
            if t._hooks:
                tensor_hooks.hold(held, t, g)
            elif deliver is None:
                _accumulate_grad(t, g, create_graph)
            else:
                deliver(t, g)
        else:
            grads[t.grad_fn] = g if t.grad_fn not in grads else grads[t.grad_fn] + g
            if t._retains_grad and deliver is None and not t.grad_fn.hooks:
                _accumulate_grad(t, g, create_graph)
    # NOTE: the loop below runs once per op of the graph, so what it does per op is written
    # out here rather than in helper functions (a call costs as much as several of its lines).
    pop_grad = grads.pop
    for fn in order:
        grad = pop_grad(fn, None)
        if fn.hooks and grad is not None:
            t = tensor_hooks.output_of(fn, grad, create_graph)
            grad = tensor_hooks.run(fn.hooks, t, grad, create_graph)
            if t._retains_grad and deliver is None:  # after the hooks, as in PyTorch
                _accumulate_grad(t, grad, create_graph)
        if wanted_outputs and fn in wanted_outputs:
            found[id(wanted_outputs[fn])] = grad
        inputs = fn.inputs
        if grad is None:  # no consumer sent a gradient to this op's output
            if not keep_graph:
                fn.release()
            continue
        # fn.backward on the output's gradient and the saved values, checked against in-place
        # changes only when some tensor changed since they were saved (or they must become
        # Tensors, for a recorded backward pass).
        saved = fn.saved
        if saved and (create_graph or fn.changes_at_save != _Version.changes):
            saved = fn.saved_values(create_graph)
        # NOTE: plain calls for no and one saved value, as in Function.apply.
        if not saved:
            input_grads = fn.backward(grad)
        elif len(saved) == 1:
            input_grads = fn.backward(grad, saved[0])
        else:
            input_grads = fn.backward(grad, *saved)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(inputs):
            raise RuntimeError(f"{fn.name}.backward returned {len(input_grads)} gradient(s) "
                               f"for {len(inputs)} input(s); it must return one per input "
                               "(None where an input needs none).")
        if create_graph:
            _check_recorded_grads(fn, input_grads)
        if backward_hooks:
            for hook in backward_hooks:
                hook(fn, grad, input_grads)
        if not keep_graph:
            fn.release()
        new_grads = fn.returns_new_grads
        for t, g in zip(inputs, input_grads):
            if g is None or not t._requires_grad:
                continue
            data = t.data
            new = new_grads
            if g.shape != data.shape:
                g, new = _unbroadcast_from(fn, g, data.shape), True
            if g.dtype is not data.dtype and g.dtype != data.dtype:
                g, new = g.astype(data.dtype), True
            parent = t.grad_fn
            if parent is None:
                if t._hooks:
                    tensor_hooks.hold(held, t, g)
                elif deliver is None:
                    _accumulate_grad(t, g, create_graph, new)
                else:
                    deliver(t, g)
                continue
            if t._retains_grad and deliver is None and not parent.hooks:
                _accumulate_grad(t, g, create_graph)
            previous = grads.get(parent)
            grads[parent] = g if previous is None else previous + g
    for t, g in held.values():
        g = tensor_hooks.run(t._hooks, t, g, create_graph)
        if deliver is None:
            _accumulate_grad(t, g, create_graph)
        else:
            deliver(t, g)


def _check_recorded_grads(fn: Function, input_grads: tuple) -> None:
    """A recorded backward pass must return Tensors (or None), never arrays."""
    if any(isinstance(g, (np.ndarray, np.generic)) for g in input_grads):
        raise RuntimeError(f"{fn.name}.backward returned a NumPy array while the backward pass "
                           "was being recorded (create_graph=True); write it with operations "
                           "that work on Tensors too.")


def _unbroadcast_from(fn: Function, grad: Any, shape: tuple) -> Any:
    """:func:`unbroadcast`, with an error naming the op when its gradient cannot fit."""
    if grad.ndim >= len(shape):
        grad = unbroadcast(grad, shape)
        if grad.shape == shape:
            return grad
    raise RuntimeError(f"{fn.name}.backward returned a gradient of shape {grad.shape} for an "
                       f"input of shape {shape}; it must have the input's shape (or the shape "
                       "of the broadcast output).")


def _accumulate_grad(t: "Tensor", g: Any, create_graph: bool, new: bool = False) -> None:
    """``t.grad += g``. When the backward pass is recorded the sum is a graph node; otherwise
    it is done in place, in a buffer the tensor owns: ``g`` itself when it is ``new`` (an array
    of ``t``'s dtype that nothing else references), else a copy.

    NOTE: keeping a new gradient instead of copying it saves a pass over it and, for large
    arrays, an allocation the size of the tensor: fewer (N, C) blocks freed per step is what
    keeps glibc from trimming and re-faulting its heap (see ops/batchnorm.py).
    """
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        if not (new and type(g) is np.ndarray):
            g = np.array(g, dtype=t.data.dtype, copy=True)
        t.grad = t._from_op(g, None)
    else:
        np.add(t.grad.data, g, out=t.grad.data, casting="unsafe")
        version_counter(t.grad).bump()  # a graph recorded from .grad may have saved it
