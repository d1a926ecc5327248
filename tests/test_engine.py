"""The engine: recording, topological order, the backward sweep, release, grad mode, errors."""
import gc
import runpy
import weakref
from pathlib import Path

import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn import engine
from tinygrad_dropbn.engine import Function

ROOT = Path(__file__).resolve().parents[1]


def leaf(values, dtype=np.float64):
    return tg.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_a_100000_op_chain_backpropagates():
    x = leaf([0.5, -0.5])
    y = x
    for _ in range(50_000):
        y = y * 1.00001 + 0.001
    assert len(engine.topological_order(y)) == 100_000
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.00001 ** 50_000] * 2, rtol=1e-9)


def test_a_dropped_graph_is_freed_without_the_garbage_collector():
    x = leaf([1.0, 2.0])
    gc.disable()
    try:
        out = ((x * 3).exp() + x).sum()
        probes = [weakref.ref(out), weakref.ref(out.grad_fn),
                  weakref.ref(out.grad_fn.inputs[0]), weakref.ref(out.grad_fn.inputs[0].grad_fn)]
        out.backward()
        del out
        assert [probe() for probe in probes] == [None] * len(probes)
    finally:
        gc.enable()
    assert x.grad is not None  # the leaf and its gradient outlive the graph


def test_diamond_graph_waits_for_every_consumer():
    x = leaf([1.0, 2.0])
    y = x * 2
    out = (y.exp() + y).sum()  # y feeds two ops; exp's path is visited later in input order
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.numpy()) + 2)


def test_topological_order_puts_every_consumer_before_its_producers():
    x = leaf([1.0, 2.0])
    a = x * 2
    b = a.exp() + a
    out = (b * a + b.tanh()).sum()
    order = engine.topological_order(out)
    position = {fn: i for i, fn in enumerate(order)}
    assert order[0] is out.grad_fn and len(order) == 7
    for fn in order:
        for t in fn.inputs:
            if t.grad_fn is not None:
                assert position[t.grad_fn] > position[fn]
    assert [fn.name for fn in order] == [fn.name for fn in engine.topological_order(out)]


def test_topological_order_of_a_leaf_is_empty():
    assert engine.topological_order(leaf([1.0])) == []


def test_leaf_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * x.numpy() + 3)


def test_a_tensor_used_twice_gets_both_contributions():
    x = leaf([3.0])
    (x * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0])


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    out = (x.exp() * x).sum()
    out.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_backward_twice_raises_and_changes_nothing():
    x = leaf([1.0, 2.0])
    out = (x.exp() * x).sum()
    out.backward()
    before = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)


@pytest.fixture
def sweep():
    """The ops the backward sweep visits, in order, with the gradient each received: observed
    through the engine's backward hook, as the graph drawing does."""
    visited = []

    def hook(fn, grad, input_grads):
        visited.append((fn, grad))

    engine.backward_hooks.append(hook)
    yield visited
    engine.backward_hooks.remove(hook)


def test_backward_visits_every_op_once_then_releases_it(sweep):
    x = leaf([[1.0, 2.0, 3.0]])
    w = leaf([[0.5], [1.0], [2.0]])
    h = x @ w
    out = (h.relu() * 2).sum()
    order = engine.topological_order(out)
    assert [fn.name for fn in order] == ["Sum", "Mul", "Rectify", "MatMul"]
    assert order[2].parents == (order[3],) and order[3].parents == (None, None)
    out.backward()
    assert [fn for fn, _ in sweep] == order
    assert all(fn.released and fn.saved == () and fn.inputs == () for fn in order)
    assert order[2].parents == ()  # the edges went with the inputs: record to draw it later
    np.testing.assert_array_equal(sweep[-1][1], [[2.0]])
    assert h.grad_fn is order[3] and h.shape == (1, 1)


def test_a_kept_output_does_not_keep_activations_alive():
    x = tg.Tensor(np.ones((4, 3)))  # an input batch: a leaf that needs no gradient
    w = leaf(np.ones((3, 2)))
    hidden = (x @ w).tanh()
    probes = [weakref.ref(x.data), weakref.ref(hidden.data)]
    loss = (hidden * hidden).sum()
    loss.backward()
    del x, hidden
    assert [probe() for probe in probes] == [None, None]
    assert loss.grad_fn is not None and w.grad is not None


def test_release_keeps_display_attributes_and_drops_arrays():
    class Scale(Function):
        def forward(self, x, factor):
            self.factor, self.label, self.cache = factor, "scale", x * 0
            return x * factor

        def backward(self, grad):
            return grad * self.factor

    out = Scale.apply(leaf([1.0]), factor=3.0)
    fn = out.grad_fn
    out.backward()
    assert fn.released and (fn.factor, fn.label) == (3.0, "scale")
    assert not hasattr(fn, "cache")


def test_ops_without_a_gradient_path_are_not_visited(sweep):
    x = leaf([1.0, 2.0])
    out = tg.where(np.array([True, False]), x, x * 2).sum()

    class Stop(Function):
        def forward(self, x):
            return x.copy()

        def backward(self, grad):
            return None

    stopped = Stop.apply(x.exp())
    exp = stopped.grad_fn.parents[0]
    total = out + stopped.sum()
    total.backward()
    assert exp.name == "Exp" and exp.released
    assert exp not in [fn for fn, _ in sweep]
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])


def test_non_leaf_gradient_with_retain_grad():
    x = leaf([1.0, 2.0])
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), 2 * h.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 6 * h.numpy())


def test_backward_with_an_explicit_gradient():
    x = leaf([1.0, 2.0])
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])
    x.grad = None
    (x * 2).backward(tg.Tensor(np.array([1.0, 1.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_backward_on_a_leaf_fills_its_own_gradient():
    x = leaf([4.0])
    x.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])


def test_no_grad_and_enable_grad_as_context_managers():
    x = leaf([1.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
        with tg.enable_grad():
            z = x * 2
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None and z.requires_grad


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @tg.no_grad()
    def frozen():
        return x * 2

    @tg.no_grad
    def frozen_bare():
        return x * 2

    @tg.enable_grad()
    def recorded():
        return x * 2

    assert frozen().grad_fn is None and frozen_bare().grad_fn is None
    with tg.no_grad():
        assert recorded().grad_fn is not None
    assert tg.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


def test_nothing_is_recorded_when_no_input_requires_grad():
    y = tg.Tensor([1.0]) * 2
    assert y.grad_fn is None and not y.requires_grad


def test_needs_input_grad_follows_the_inputs():
    seen = []

    class Probe(Function):
        def forward(self, a, b):
            seen.append(self.needs_input_grad)
            return a + b

        def backward(self, grad):
            seen.append(self.needs_input_grad)
            return grad, None

    Probe.apply(leaf([1.0]), tg.Tensor([2.0])).backward()
    assert seen == [(True, False), (True, False)]


@pytest.mark.parametrize("make, message", [
    (lambda: tg.Tensor(np.ones((2, 3))) @ tg.Tensor(np.ones((2, 3))),
     r"matmul shape mismatch: \(2, 3\) @ \(2, 3\).*x\.T"),
    (lambda: tg.Tensor(np.ones((2, 1, 3))) @ tg.Tensor(np.ones((4, 3, 2))),
     r"shapes \(2, 1, 3\) and \(4, 3, 2\) cannot be broadcast"),
    (lambda: tg.Tensor(np.ones(3)) @ tg.Tensor(2.0), "at least 1 dimension"),
    (lambda: tg.Tensor(np.ones((2, 3))) + tg.Tensor(np.ones((2, 2))),
     r"Add: shapes \(2, 3\) and \(2, 2\) cannot be broadcast.*reshape"),
    (lambda: tg.Tensor(np.ones(3)) * np.ones(4), r"Mul: shapes \(3,\) and \(4,\)"),
    (lambda: tg.concatenate([tg.ones(2, 3), tg.ones(3, 2)]), r"shapes \[\(2, 3\), \(3, 2\)\]"),
    (lambda: tg.stack([tg.ones(2), tg.ones(3)]), "one shape"),
    (lambda: tg.ones(2, 3).reshape(4), r"shape \(2, 3\) \(6 elements\) into shape \(4,\)"),
    (lambda: tg.ones(2, 3).transpose(0, 2), "axis 2 is out of range"),
    (lambda: tg.ones(2, 3, 4).permute(0, 0, 1), "not a permutation"),
], ids=["matmul", "matmul-batch", "matmul-scalar", "add", "mul-array", "concatenate", "stack",
        "reshape", "transpose", "permute"])
def test_shape_errors_name_the_shapes_and_the_fix(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_backward_on_a_non_scalar_needs_a_gradient():
    out = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match=r"one-element output, got shape \(2,\).*sum\(\)"):
        out.backward()


def test_backward_gradient_must_match_the_output_shape():
    with pytest.raises(RuntimeError, match=r"gradient of shape \(3,\) for an output of shape"):
        (leaf([1.0, 2.0]) * 2).backward(np.ones(3))


def test_backward_when_nothing_requires_grad():
    out = (tg.Tensor([1.0]) * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        out.backward()


def test_backward_of_a_graph_built_under_no_grad_raises():
    x = leaf([1.0])
    with tg.no_grad():
        out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        out.backward()


def test_unimplemented_function_methods_name_the_op():
    class Half(Function):
        pass

    with pytest.raises(NotImplementedError, match="Half must define forward"):
        Half.apply(leaf([1.0]))


def test_float32_leaf_gradient_stays_float32_when_mixed_with_float64(sweep):
    x = tg.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    w = tg.Tensor(np.full(2, 3.0), requires_grad=True)
    y = x.exp() * w  # float64
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    received = {fn.name: grad for fn, grad in sweep}
    assert received["Exp"].dtype == np.float32  # exp's output is float32


def test_backprop_example_runs_and_is_the_readme_example(capsys):
    path = ROOT / "examples" / "backprop.py"
    namespace = runpy.run_path(str(path), run_name="__main__")
    x, w = namespace["x"].numpy(), namespace["w"].numpy()
    hidden = np.tanh(x @ w)
    np.testing.assert_allclose(namespace["w"].grad.numpy(), x.T @ (1 - hidden ** 2), rtol=1e-6)
    assert "MatMul" in capsys.readouterr().out
    code = path.read_text().split('"""', 2)[2].strip()
    assert code in (ROOT / "README.md").read_text()


def test_a_backward_returning_a_gradient_of_the_wrong_shape_is_named():
    class Bad(Function):
        def forward(self, x):
            return x.sum(keepdims=True)

        def backward(self, grad):
            return np.ones(5)

    with pytest.raises(RuntimeError, match=r"Bad.backward returned a gradient of shape \(5,\) "
                                           r"for an input of shape \(2,\)"):
        Bad.apply(leaf([1.0, 2.0])).sum().backward()


def test_retain_grad_on_the_root_keeps_its_gradient():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    y.retain_grad()
    y.backward()
    assert y.grad.item() == 1.0
