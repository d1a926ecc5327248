"""Higher-order gradients: tg.autograd.grad, create_graph, gradgradcheck, against PyTorch."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn.engine import Function


def leaf(values):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x = leaf([1.0, 2.0])
    y = leaf([3.0])
    gx, gy = tg.autograd.grad((x * x * y).sum(), [x, y])
    np.testing.assert_array_equal(gx.numpy(), 2 * x.numpy() * 3.0)
    np.testing.assert_array_equal(gy.numpy(), [5.0])
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad  # without create_graph the gradients are plain values


def test_grad_of_a_single_tensor_input_is_a_one_tuple():
    x = leaf([2.0])
    result = tg.autograd.grad(x ** 3, x)
    assert isinstance(result, tuple) and len(result) == 1
    np.testing.assert_array_equal(result[0].numpy(), [12.0])


def test_the_third_derivative_of_tanh_matches_torch(torch):
    values = np.array([-1.5, -0.2, 0.0, 0.7, 2.0])
    x = leaf(values)
    d1, = tg.autograd.grad(x.tanh().sum(), x, create_graph=True)
    d2, = tg.autograd.grad(d1.sum(), x, create_graph=True)
    d3, = tg.autograd.grad(d2.sum(), x)
    xt = torch.tensor(values, requires_grad=True)
    t1, = torch.autograd.grad(xt.tanh().sum(), xt, create_graph=True)
    t2, = torch.autograd.grad(t1.sum(), xt, create_graph=True)
    t3, = torch.autograd.grad(t2.sum(), xt)
    for ours, theirs in [(d1, t1), (d2, t2), (d3, t3)]:
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    t = np.tanh(values)
    np.testing.assert_allclose(d3.numpy(), -2 * (1 - t * t) ** 2 + 4 * t * t * (1 - t * t))


def test_hessian_vector_product_matches_torch(torch, rng):
    a, b, v = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 4))

    def f(lib, x, w):
        h = (x @ w).sigmoid()
        return (h * h).sum() + (x.exp() * x).sum() / 3

    x, w = leaf(a), leaf(b)
    g, = tg.autograd.grad(f(tg, x, w), x, create_graph=True)
    hv, = tg.autograd.grad(g, x, grad_outputs=tg.Tensor(v, dtype=np.float64))
    xt, wt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    gt, = torch.autograd.grad(f(torch, xt, wt), xt, create_graph=True)
    hvt, = torch.autograd.grad(gt, xt, grad_outputs=torch.tensor(v))
    np.testing.assert_allclose(hv.numpy(), hvt.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_penalty_backpropagates_to_the_parameters_like_torch(torch, rng):
    data, weight = rng.standard_normal((5, 3)), rng.standard_normal((3, 2))

    def penalized(x, w):
        out = (x @ w).tanh()
        return out.sum(), out

    x, w = leaf(data), leaf(weight)
    loss, _ = penalized(x, w)
    grad_x, = tg.autograd.grad(loss, x, create_graph=True)
    (loss + (grad_x ** 2).sum()).backward()
    xt, wt = torch.tensor(data, requires_grad=True), torch.tensor(weight, requires_grad=True)
    loss_t, _ = penalized(xt, wt)
    grad_xt, = torch.autograd.grad(loss_t, xt, create_graph=True)
    (loss_t + (grad_xt ** 2).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_backward_with_create_graph_makes_dot_grad_differentiable(torch):
    x = leaf([0.5, 1.5])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    second, = tg.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy())


def test_grad_with_respect_to_an_intermediate_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3
    out = (h * h).sum()
    gh, gx = tg.autograd.grad(out, [h, x])
    np.testing.assert_array_equal(gh.numpy(), 2 * h.numpy())
    np.testing.assert_array_equal(gx.numpy(), 6 * h.numpy())


def test_unused_inputs_raise_unless_allowed():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="not have been used in the graph.*allow_unused"):
        tg.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_grad_needs_inputs_that_require_grad():
    x = tg.Tensor([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.autograd.grad((leaf([1.0]) * x).sum(), x)


def test_retain_graph_defaults_to_create_graph():
    x = leaf([1.0, 2.0])
    out = (x.exp() * x).sum()
    tg.autograd.grad(out, x, create_graph=True)
    tg.autograd.grad(out, x)  # the graph was retained by create_graph=True
    with pytest.raises(RuntimeError, match="second time"):
        tg.autograd.grad(out, x)


def test_backward_inputs_accumulates_only_into_those_tensors():
    x, y = leaf([1.0]), leaf([2.0])
    (x * y).sum().backward(inputs=[x])
    assert x.grad.item() == 2.0 and y.grad is None


def test_grad_alias_of_gradient_in_backward():
    x = leaf([1.0, 2.0])
    (x * 2).backward(grad=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(TypeError, match="both gradient= and its alias grad="):
        (x * 2).backward(np.ones(2), grad=np.ones(2))


@pytest.mark.parametrize("name, fn, shapes", [
    ("arithmetic", lambda a, b: (a * b + a / (b * b + 1) - b) ** 2, [(3, 4), (3, 4)]),
    ("broadcast", lambda a, b: (a * b).exp() / (1 + b), [(3, 4), (4,)]),
    ("pow tensors", lambda a, b: (a.abs() + 0.5) ** b, [(3, 4), (3, 4)]),
    ("elementwise", lambda a: a.sigmoid() * a.tanh() + (a * a + 1).sqrt().log()
     + a.relu() * a + a.leaky_relu(0.1) * a + a.abs() * a, [(3, 4)]),
    ("reductions", lambda a: (a * a).sum(0) * a.mean(1, keepdims=True) + a.var(0)
     + a.std(1, keepdims=True) + a.max(axis=1, keepdims=True) * a.min(axis=0), [(3, 4)]),
    ("softmax", lambda a: a.softmax(1) * a.log_softmax(0) + a.logsumexp(1, keepdims=True),
     [(3, 4)]),
    ("shapes", lambda a: (a.T.reshape(2, 6) * a.reshape(2, 6)).transpose(1, 0)[::2]
     * a.flatten()[:3].unsqueeze(1), [(3, 4)]),
    ("join", lambda a, b: tg.cat([a * b, b.exp()], 1) * tg.stack([a, b]).sum(0).sum(1,
                                                                               keepdims=True),
     [(3, 4), (3, 4)]),
    ("indexing", lambda a: a[np.array([0, 0, 2])] * a[1:, ::2].sum() + a[1] ** 3, [(3, 4)]),
    ("where clip max", lambda a, b: tg.where(a > 0, a * b, b * b) + a.clip(-0.5, 0.5) * a
     + tg.maximum(a, b) * tg.minimum(a, b), [(3, 4), (3, 4)]),
    ("matmul", lambda a, b: (a @ b).tanh() @ b.T, [(3, 4), (4, 5)]),
    ("matmul vector", lambda a, v: (a @ v) * (v @ a.T @ a @ v), [(3, 4), (4,)]),
    ("expand clone", lambda a: a.expand(2, 3, 4).sum(0) * a.clone() ** 2, [(3, 4)]),
])
def test_second_derivatives_by_finite_differences(name, fn, shapes, rng):
    inputs = [leaf(rng.uniform(-1, 1, shape)) for shape in shapes]
    assert tg.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name, ours, theirs", [
    ("pow", lambda x: (x ** 3).sum(), None),
    ("exp log", lambda x: (x.exp() * (x * x + 1).log()).sum(), None),
    ("sigmoid", lambda x: x.sigmoid().sum(), None),
    ("softmax", lambda x: (x.softmax(1) * x).sum(), lambda x: (x.softmax(1) * x).sum()),
    ("log_softmax", lambda x: (x.log_softmax(1) ** 2).sum(),
     lambda x: (x.log_softmax(1) ** 2).sum()),
    ("std", lambda x: x.std(0).sum(), None),
    ("matmul", lambda x: ((x @ x.T).tanh()).sum(), None),
])
def test_second_derivatives_match_torch(name, ours, theirs, torch, rng):
    data = rng.standard_normal((3, 4))
    x = leaf(data)
    g, = tg.autograd.grad(ours(x), x, create_graph=True)
    h, = tg.autograd.grad((g * g).sum(), x)
    xt = torch.tensor(data, requires_grad=True)
    gt, = torch.autograd.grad((theirs or ours)(xt), xt, create_graph=True)
    ht, = torch.autograd.grad((gt * gt).sum(), xt)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-9, atol=1e-11)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class Square(Function):
        """out = x ** 2; dx = 2 x grad, but written with a constant 2x: its derivative in x is
        lost, so the second derivative is wrong while the first is right."""

        def forward(self, x):
            self.twice = 2 * x
            return x * x

        def backward(self, grad):
            return grad * self.twice

    x = leaf([0.5, -1.0])
    assert tg.gradcheck(lambda t: Square.apply(t), [x])
    with pytest.raises(tg.GradcheckError):
        tg.gradgradcheck(lambda t: Square.apply(t), [x])


def test_a_custom_backward_returning_arrays_cannot_be_recorded():
    class Cube(Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x ** 3

        def backward(self, grad, x):
            return np.asarray(grad) * 3 * np.asarray(x) ** 2

    x = leaf([2.0])
    with pytest.raises(RuntimeError, match="Cube.backward returned a NumPy array while the "
                                           "backward pass was being recorded"):
        tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert tg.autograd.grad(Cube.apply(x).sum(), x)[0].item() == 12.0


def test_a_backward_returning_the_wrong_number_of_gradients_is_named():
    class Pair(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad):
            return grad

    with pytest.raises(RuntimeError, match=r"Pair.backward returned 1 gradient\(s\) for 2 "
                                           r"input\(s\)"):
        Pair.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_save_for_backward_keeps_inputs_and_outputs_only():
    class Sneaky(Function):
        def forward(self, x):
            self.save_for_backward(x * 2)
            return x.copy()

        def backward(self, grad, doubled):
            return grad * doubled

    x = leaf([1.0])
    with pytest.raises(TypeError, match="Sneaky.forward saved an array that is neither one of "
                                        "its inputs nor its output"):
        tg.autograd.grad(Sneaky.apply(x).sum(), x, create_graph=True)


def test_accumulating_into_a_gradient_a_graph_saved_raises(torch):
    x = leaf([1.0, 2.0])
    (x * x * x).sum().backward(create_graph=True)
    penalty = (x.grad * x.grad).sum()  # saves x.grad
    (x * x).sum().backward()            # adds into x.grad in place
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        penalty.backward()


def test_a_saved_input_whose_data_was_replaced_is_not_taken_for_the_output():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (x * w).sum()
    w.data = w.data.copy()  # what Module.to() does: a new array, the old values untouched
    (gx,) = tg.autograd.grad(y, x, retain_graph=True)  # plain arrays: the saved values are right
    np.testing.assert_array_equal(gx.numpy(), [3.0, 4.0])
    with pytest.raises(TypeError, match=r"\.data was replaced"):
        tg.autograd.grad(y, x, create_graph=True)
