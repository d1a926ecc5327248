"""In-place methods, version counters, and the error a stale saved tensor raises (as PyTorch)."""
import numpy as np
import pytest

import tinygrad_dropbn as tg

MODIFIED = "modified by an inplace operation"


def leaf(values):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("method, args, expected", [
    ("add_", (2.0,), [3.0, 4.0]),
    ("sub_", (tg.Tensor([1.0, 1.0], dtype=np.float64),), [0.0, 1.0]),
    ("mul_", (3.0,), [3.0, 6.0]),
    ("div_", (2.0,), [0.5, 1.0]),
    ("zero_", (), [0.0, 0.0]),
    ("fill_", (7.0,), [7.0, 7.0]),
    ("copy_", (np.array([5.0, 6.0]),), [5.0, 6.0]),
    ("clamp_", (1.5,), [1.5, 2.0]),
])
def test_in_place_methods_change_the_array_itself_and_bump_the_version(method, args, expected):
    t = tg.Tensor([1.0, 2.0], dtype=np.float64)
    array, view = t.numpy(), t.detach()
    assert getattr(t, method)(*args) is t
    np.testing.assert_array_equal(array, expected)  # the same memory
    assert t._version == 1 and view._version == 1  # detach() shares the counter


def test_add_with_alpha_and_setitem():
    t = tg.Tensor([1.0, 2.0, 3.0], dtype=np.float64)
    t.add_(tg.Tensor([1.0, 1.0, 1.0], dtype=np.float64), alpha=2)
    t[0] = 10.0
    t[np.array([1, 2])] = tg.Tensor([0.0, -1.0], dtype=np.float64)
    np.testing.assert_array_equal(t.numpy(), [10.0, 0.0, -1.0])
    assert t._version == 3


def test_matches_torch_version_numbers(torch):
    ours, theirs = tg.Tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    for t in (ours, theirs):
        t.add_(1)
        t.mul_(2)
        t[0] = 0.0
    assert ours._version == theirs._version == 3
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_saved_input_changed_in_place_raises_at_backward(torch):
    w = leaf([1.0, 2.0])
    x = tg.Tensor([3.0, 4.0], dtype=np.float64)
    loss = (w * x).sum()  # Mul saves x for w's gradient
    x.add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED + r".*float64 of shape \(2,\).*Mul"):
        loss.backward()
    wt, xt = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0])
    loss_t = (wt * xt).sum()
    xt.add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss_t.backward()


def test_a_saved_output_changed_in_place_raises_at_backward(torch):
    x = leaf([0.5, 1.0])
    y = x.exp()  # Exp saves its output
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED + ".*the output of Exp"):
        y.sum().backward()
    xt = torch.tensor([0.5, 1.0], requires_grad=True)
    yt = xt.exp()
    yt.add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        yt.sum().backward()


def test_a_change_through_detach_is_seen_too():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    with tg.no_grad():
        pass
    w.detach().mul_(0.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_an_input_that_no_op_saved_may_change(torch):
    x = leaf([1.0, 2.0])
    c = tg.Tensor([1.0, 1.0], dtype=np.float64)
    out = (x + c).sum()  # Add saves nothing
    c.add_(5.0)
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad(torch):
    w = leaf([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        torch.tensor([1.0], requires_grad=True).add_(1.0)
    with tg.no_grad():
        w.add_(1.0)
    assert w.item() == 2.0 and w.grad_fn is None


def test_in_place_on_a_non_leaf_is_recorded_like_torch(torch, rng):
    data = rng.standard_normal(4)

    def run(lib, x):
        y = x * 2
        y.mul_(3)          # recorded: y is 6x, and its grad_fn the in-place Mul
        y[1] = 0.0         # recorded too: no gradient reaches x through element 1
        y.add_(x)
        return (y * y).sum()

    x = leaf(data)
    run(tg, x).backward()
    xt = torch.tensor(data, requires_grad=True)
    run(torch, xt).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_in_place_on_a_tensor_the_graph_already_read_is_refused():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y + 1  # Add read y without saving it: a silent change would misroute its gradient
    with pytest.raises(RuntimeError, match="which an op of the graph has already read, cannot "
                                           "be recorded.*clone"):
        y.mul_(3)
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])  # nothing changed
    with tg.no_grad():
        y.mul_(3)  # unrecorded changes are fine; an op that saved y would notice them
    (z * z).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 20.0])


def test_an_optimizer_style_update_after_backward_is_fine():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward()
    with tg.no_grad():
        w.sub_(w.grad * 0.1)
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])


def test_increment_version_marks_a_direct_array_write():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data[0] = 5.0
    tg.autograd.increment_version(w)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_in_place_shape_change_is_refused():
    t = tg.Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"in-place operation on a tensor of shape \(2,\)"):
        t.add_(tg.ones(3, 2))
