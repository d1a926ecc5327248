"""Recording what the drawing shows while the graph is built and walked: :func:`record_graph`.

The engine tags nothing: an op knows its inputs and their producers, and after a backward pass
that does not retain the graph not even those. Inside ``with tg.record_graph():``
this module listens to the engine's two hooks and notes, beside each op,

* at record time (``engine.record_hooks``): the modules whose ``forward`` was running
  (:func:`~tinygrad_dropbn.nn.module.module_scope`), the op's label, and a
  :class:`~.summary.TensorSummary` of its output and of each leaf input (shape, dtype, name,
  a few numbers);
* during the backward sweep (``engine.backward_hooks``): the op's position in the sweep and a
  :class:`~.summary.GradSummary` of the gradient it received.

Only summaries are kept, never arrays, and they live in a
:class:`weakref.WeakKeyDictionary` keyed by the op: they die with the graph, and a loss kept
after ``backward()`` keeps no activation or gradient alive through them. The hooks are
registered while some thread has a recording open and removed when the last one closes, so
outside a recording the engine pays nothing; inside, only ops and sweeps of the recording
thread are noted.
"""
from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from .. import engine
from ..engine import Function
from ..nn.module import module_scope
from .summary import GradSummary, TensorSummary

if TYPE_CHECKING:
    from ..tensor import Tensor


@dataclass(eq=False)
class OpRecord:
    """What a recording noted about one op.

    Attributes:
        scope: the modules whose ``forward`` recorded the op, outermost first (empty outside
            any module, or when only the backward pass was recorded).
        title: the op's label when it was recorded (its ``name``), or None.
        output: a summary of the op's output, or None when only the backward pass was recorded.
        leaf_inputs: for each input, a summary of it when it is a leaf (no producer), None for
            an input made by another op (its producer's ``output`` describes it). Leaves read by
            several ops share one summary object.
        backward_step: the op's position in the latest recorded backward sweep through it
            (0 = visited first), or None when no recorded sweep reached it.
        grad: a summary of the gradient the op's output received in that sweep, or None.
        parents: the op that produced each input (None for a leaf), as at record time: the
            graph's edges, which the engine no longer holds once a backward pass released it.
    """

    scope: tuple = ()
    title: Optional[str] = None
    output: Optional[TensorSummary] = None
    leaf_inputs: tuple = ()
    backward_step: Optional[int] = None
    grad: Optional[GradSummary] = None
    parents: tuple = ()


_records: "weakref.WeakKeyDictionary[Function, OpRecord]" = weakref.WeakKeyDictionary()


def op_record(fn: Function) -> Optional[OpRecord]:
    """What a :func:`record_graph` recording noted about ``fn``, or None if none did."""
    return _records.get(fn)


class _Thread(threading.local):
    """One thread's open recordings (nested ones count), the leaves it has summarised and
    the backward sweep it is in."""

    def __init__(self) -> None:
        self.depth = 0
        self.leaves: dict[int, tuple[weakref.ref, TensorSummary]] = {}
        self.visited: "weakref.WeakSet[Function]" = weakref.WeakSet()
        self.pending: "weakref.WeakSet[Function]" = weakref.WeakSet()
        self.step = 0

    def forget(self) -> None:
        self.leaves = {}
        self.visited = weakref.WeakSet()
        self.pending = weakref.WeakSet()
        self.step = 0


_thread = _Thread()
_lock = threading.Lock()
_open = 0  # recordings open in all threads: the hooks are registered while it is positive


def is_recording() -> bool:
    """Whether a :func:`record_graph` recording is open in this thread."""
    return _thread.depth > 0


class GraphRecording(contextlib.ContextDecorator):
    """The context :func:`record_graph` returns; it holds no state of its own, so one object
    may be entered again, nested, from several threads, or used as a decorator."""

    def __enter__(self) -> "GraphRecording":
        global _open
        with _lock:
            if _open == 0:
                engine.record_hooks.append(_on_record)
                engine.backward_hooks.append(_on_backward)
            _open += 1
        _thread.depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        global _open
        _thread.depth -= 1
        if _thread.depth == 0:
            _thread.forget()
        with _lock:
            _open -= 1
            if _open == 0:
                engine.record_hooks.remove(_on_record)
                engine.backward_hooks.remove(_on_backward)


def record_graph(func: Optional[Callable] = None) -> Any:
    """Record what :func:`~.dot.draw_graph` shows beyond the bare graph: module clusters and
    parameter names, the backward order, and the gradients of intermediate results.

    A context manager and a decorator (``@record_graph()`` or ``@record_graph``). Ops recorded
    inside it are tagged with the modules running them and with a small summary of their
    output; backward sweeps run inside it number the ops they visit and keep a summary of the
    gradient each op received. Only summaries (shape, dtype, a few numbers) are kept, never
    the arrays, so a loss kept after ``backward()`` holds no activations; a graph released by
    ``backward()`` can still be drawn from them. Recording is per thread and may be nested;
    outside every recording the engine runs without hooks, at no cost.

    Drawing a graph that was not recorded works too: it shows the ops and the tensors the
    engine still holds (every input on a live graph, with the leaves' gradients; only the root
    once a backward pass released the graph), but no module clusters, no backward order and no
    gradient of intermediate results; a note in the drawing says so.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        >>> with tg.record_graph():
        ...     loss = model(tg.randn(4, 2)).sum()
        ...     loss.backward()
        >>> print(tg.graph_text(loss).splitlines()[2])
        Sequential
    """
    recording = GraphRecording()
    return recording if func is None else recording(func)


def _on_record(fn: Function, out: "Tensor") -> None:
    state = _thread
    if not state.depth:
        return
    parents = fn.parents
    leaf_inputs = tuple(None if parent is not None else _leaf_summary(state, t)
                        for t, parent in zip(fn.inputs, parents))
    _records[fn] = OpRecord(module_scope(), fn.name, TensorSummary.of(out, keep_reference=True),
                            leaf_inputs, parents=parents)


def _leaf_summary(state: _Thread, t: "Tensor") -> TensorSummary:
    """One summary per leaf tensor while the recording is open, so a drawing can tell that
    two released inputs were the same tensor."""
    key = id(t)
    known = state.leaves.get(key)
    if known is not None and known[0]() is t:
        return known[1]
    leaves = state.leaves

    def drop(ref: weakref.ref) -> None:
        if leaves.get(key, (None,))[0] is ref:
            del leaves[key]

    summary = TensorSummary.of(t, keep_reference=True)
    leaves[key] = (weakref.ref(t, drop), summary)
    return summary


def _on_backward(fn: Function, grad: Any, input_grads: tuple) -> None:
    state = _thread
    if not state.depth:
        return
    # NOTE: the hook does not say when a sweep starts. Within one sweep every op after the
    # first is the producer of an input of an op visited before it; anything else (an op seen
    # already, or one no visited op reads from) starts a new sweep.
    if fn in state.visited or fn not in state.pending:
        state.visited = weakref.WeakSet()
        state.pending = weakref.WeakSet()
        state.step = 0
        _forget_backward(fn)
    state.visited.add(fn)
    state.pending.discard(fn)
    for parent in fn.parents:
        if parent is not None:
            state.pending.add(parent)
    record = _records.get(fn)
    if record is None:  # recorded during backward only
        record = _records[fn] = OpRecord()
    record.backward_step = state.step
    record.grad = GradSummary.of(grad)
    state.step += 1


def _forget_backward(start: Function) -> None:
    """Clear the backward steps and gradients an earlier sweep left on the ops a new sweep
    starting at ``start`` may reach, as the old ones no longer describe this backward pass."""
    stack, seen = [start], {start}
    while stack:
        fn = stack.pop()
        record = _records.get(fn)
        if record is not None:
            record.backward_step = record.grad = None
        for parent in fn.parents:
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
