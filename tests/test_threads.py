"""Grad mode and the module scope are per thread, as in PyTorch."""
import threading

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn.nn.module import module_scope


def in_lockstep(*steps_per_thread):
    """Run each list of steps in its own thread, one step at a time in a fixed interleaving:
    step i of thread 0, step i of thread 1, ..., then step i + 1. Returns what each step
    returned, per thread."""
    rounds = max(len(steps) for steps in steps_per_thread)
    turn = threading.Condition()
    state = {"round": 0, "thread": 0}
    results = [[] for _ in steps_per_thread]
    errors = []

    def worker(index, steps):
        for r in range(rounds):
            with turn:
                turn.wait_for(lambda: (state["round"], state["thread"]) == (r, index))
                try:
                    if r < len(steps):
                        results[index].append(steps[r]())
                except BaseException as err:  # noqa: BLE001 -- reported by the main thread
                    errors.append(err)
                state["thread"] = (index + 1) % len(steps_per_thread)
                if state["thread"] == 0:
                    state["round"] += 1
                turn.notify_all()

    threads = [threading.Thread(target=worker, args=(i, steps))
               for i, steps in enumerate(steps_per_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    if errors:
        raise errors[0]
    return results


class ContextSteps:
    """Steps for :func:`in_lockstep` that open or close a named grad-mode context and report
    the grad mode seen right after (``lib`` is tinygrad_dropbn or torch)."""

    def __init__(self, lib):
        self.lib, self.contexts = lib, {}

    def open(self, name, factory):
        def step():
            self.contexts[name] = factory()
            self.contexts[name].__enter__()
            return self.lib.is_grad_enabled()
        return step

    def close(self, name):
        def step():
            self.contexts[name].__exit__(None, None, None)
            return self.lib.is_grad_enabled()
        return step


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    x = tg.Tensor([1.0], requires_grad=True)
    steps = ContextSteps(tg)
    enter = lambda name, mode: steps.open(name, lambda: tg.set_grad_enabled(mode))  # noqa: E731
    leave = steps.close

    def records():
        return (x * 2).requires_grad

    a, b = in_lockstep(
        [enter("a", False), records, leave("a"), records],
        [records, enter("b", False), records, leave("b")],
    )
    assert a == [False, False, True, True]
    assert b == [True, False, False, True]
    assert tg.is_grad_enabled()


def test_overlapping_blocks_in_two_threads_restore_their_own_mode(torch):
    def run(lib):
        steps = ContextSteps(lib)
        return in_lockstep(
            [steps.open("a", lib.no_grad), steps.open("a2", lib.enable_grad), steps.close("a2"),
             steps.close("a")],
            [steps.open("b", lib.enable_grad), steps.open("b2", lib.no_grad), steps.close("b"),
             steps.close("b2")],
        )

    ours, theirs = run(tg), run(torch)
    assert ours == theirs


def test_a_no_grad_decorated_function_called_from_two_threads():
    x = tg.Tensor([1.0], requires_grad=True)
    seen = []
    barrier = threading.Barrier(2)

    @tg.no_grad()
    def frozen():
        barrier.wait(timeout=10)
        seen.append((x * 2).requires_grad)
        barrier.wait(timeout=10)

    threads = [threading.Thread(target=frozen) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen == [False, False] and tg.is_grad_enabled()


def test_set_grad_enabled_as_call_context_and_decorator(torch):
    x = tg.Tensor([1.0], requires_grad=True)
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def frozen():
        return (x * 2).requires_grad

    assert tg.is_grad_enabled()  # decorating switches nothing by itself
    assert frozen() is False and tg.is_grad_enabled()
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()


def test_module_scope_lists_the_running_modules_per_thread():
    seen = {}

    class Probe(nn.Module):
        def __init__(self, name):
            super().__init__()
            self.label = name

        def forward(self, x):
            seen[self.label] = [m.label if isinstance(m, Probe) else type(m).__name__
                                for m in module_scope()]
            return x

    model = nn.Sequential(Probe("a"), nn.Sequential(Probe("b")))
    model(tg.ones(1))
    assert seen == {"a": ["Sequential", "a"], "b": ["Sequential", "Sequential", "b"]}
    assert module_scope() == ()

    other = []
    inside = threading.Event()
    release = threading.Event()

    class Blocking(nn.Module):
        def forward(self, x):
            inside.set()
            release.wait(timeout=10)
            return x

    thread = threading.Thread(target=lambda: Blocking()(tg.ones(1)))
    thread.start()
    inside.wait(timeout=10)
    other.append(module_scope())  # the main thread runs no module meanwhile
    release.set()
    thread.join(timeout=10)
    assert other == [()]


def test_module_scope_is_restored_after_an_exception():
    class Failing(nn.Module):
        def forward(self, x):
            raise KeyError("boom")

    with pytest.raises(KeyError):
        nn.Sequential(Failing())(tg.ones(1))
    assert module_scope() == ()
    np.testing.assert_array_equal(nn.Identity()(tg.ones(1)).numpy(), [1.0])
