"""The Tensor: construction, dtype rules, conversions, operators and shaping helpers."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn import Tensor


@pytest.mark.parametrize("data, dtype", [
    (1.5, np.float32),
    (3, np.float32),
    ([1, 2, 3], np.float32),
    ([[1.0, 2.0]], np.float32),
    (np.array([1.0, 2.0], dtype=np.float32), np.float32),
    (np.array([1.0, 2.0]), np.float64),
    (np.array([1, 2]), np.int64),
    (np.float64(2.0), np.float64),
    (np.array([True, False]), np.bool_),
], ids=["float", "int", "list", "nested", "f32-array", "f64-array", "int-array", "np-scalar",
        "bool-array"])
def test_construction_dtype(data, dtype):
    assert Tensor(data).dtype == dtype


def test_explicit_dtype_wins():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2, dtype=np.float32), dtype=np.float64).dtype == np.float64


def test_tensor_from_ndarray_copies():
    array = np.array([1.0, 2.0])
    x = Tensor(array, requires_grad=True)
    array[0] = 100.0
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_an_operand_array_changed_after_forward_cannot_change_the_gradient():
    weights = np.array([1.0, 2.0])
    x = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    out = (x * weights).sum()
    weights[:] = 100.0
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])


def test_tensor_from_tensor_copies_the_data():
    x = Tensor([1.0, 2.0])
    y = Tensor(x)
    y.data[0] = 5.0
    assert x.numpy()[0] == 1.0


@pytest.mark.parametrize("make", [
    lambda: Tensor(np.array([1, 2]), requires_grad=True),
    lambda: Tensor([1, 2], dtype=np.int32, requires_grad=True),
    lambda: Tensor(np.array([True]), requires_grad=True),
    lambda: Tensor(np.array([1, 2])).requires_grad_(),
], ids=["int64", "int32", "bool", "requires_grad_"])
def test_requires_grad_on_integer_tensors_raises(make):
    with pytest.raises(tg.GradDtypeError, match="only floating-point tensors.*dtype"):
        make()


def test_requires_grad_cannot_be_switched_off_on_a_non_leaf():
    y = Tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


@pytest.mark.parametrize("make, dtype", [
    (lambda x: x * 2, np.float32),
    (lambda x: 2.5 + x, np.float32),
    (lambda x: x / np.float64(3.0), np.float32),
    (lambda x: np.sqrt(2.0) * x, np.float32),
    (lambda x: x + np.array([1, 2]), np.float32),
    (lambda x: np.array([1, 2]) - x, np.float32),
    (lambda x: x * Tensor(np.array([1, 2])), np.float32),
    (lambda x: x + np.ones(2), np.float64),
    (lambda x: np.ones(2, dtype=np.float32) + x, np.float32),
    (lambda x: x * Tensor(np.ones(2)), np.float64),
    (lambda x: x ** 2, np.float32),
    (lambda x: x ** np.int64(3), np.float32),
    (lambda x: x ** 0.5, np.float32),
    (lambda x: 2 ** x, np.float32),
    (lambda x: tg.where(np.array([True, False]), x, 0), np.float32),
    (lambda x: tg.concatenate([x, np.array([1, 2])]), np.float32),
], ids=["scalar", "radd", "np-scalar", "rmul-np-scalar", "int-array", "rsub-int-array",
        "int-tensor", "f64-array", "f32-array", "f64-tensor", "pow", "pow-np-int", "sqrt-pow",
        "rpow", "where-scalar", "concat-int-array"])
def test_dtype_rules(make, dtype):
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    out = make(x)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_integer_tensors_stay_integer_with_integers():
    labels = Tensor(np.array([1, 2]))
    assert (labels + 1).dtype == np.int64
    assert (labels * 2.5).dtype == np.float32


@pytest.mark.parametrize("expression, expected", [
    (lambda x, a: 2 * x, [2.0, 4.0]),
    (lambda x, a: x * 2, [2.0, 4.0]),
    (lambda x, a: 1 - x, [0.0, -1.0]),
    (lambda x, a: 1 / x, [1.0, 0.5]),
    (lambda x, a: a + x, [11.0, 22.0]),
    (lambda x, a: a - x, [9.0, 18.0]),
    (lambda x, a: a * x, [10.0, 40.0]),
    (lambda x, a: a / x, [10.0, 10.0]),
    (lambda x, a: x / a, [0.1, 0.1]),
    (lambda x, a: a ** x, [10.0, 400.0]),
    (lambda x, a: -x, [-1.0, -2.0]),
    (lambda x, a: x.pow(2), [1.0, 4.0]),
], ids=["rmul", "mul", "rsub", "rdiv", "arr+x", "arr-x", "arr*x", "arr/x", "x/arr", "arr**x",
        "neg", "pow"])
def test_reflected_operators_with_scalars_and_arrays(expression, expected):
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = expression(x, np.array([10.0, 20.0], dtype=np.float32))
    assert isinstance(out, Tensor) and out.grad_fn is not None
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_array_matmul_tensor_dispatches_to_the_tensor():
    w = Tensor(np.eye(2), requires_grad=True)
    out = np.array([[1.0, 2.0]]) @ w
    assert isinstance(out, Tensor)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])


def test_conversions_and_properties():
    x = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.shape == (1, 3) and x.ndim == 2 and x.numel() == 3 and len(x) == 1
    assert x.dtype == np.float32 and x.is_leaf
    assert np.asarray(x) is x.numpy()
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert x.sum().item() == 6.0 and float(x.sum()) == 6.0 and int(x.max()) == 3
    assert x.tolist() == [[1.0, 2.0, 3.0]]
    assert bool(Tensor([1.0])) and not bool(Tensor(0.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    with pytest.raises(ValueError, match=r"one element, got shape \(1, 3\)"):
        x.item()


def test_detach_shares_data_and_leaves_the_graph():
    x = Tensor([1.0], requires_grad=True)
    y = (x * 2).detach()
    assert y.grad_fn is None and not y.requires_grad
    z = x.detach()
    assert np.shares_memory(z.numpy(), x.numpy())


def test_requires_grad_underscore_returns_self():
    x = Tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad


def test_repr_shows_dtype_and_graph():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert "dtype=float64" in repr(Tensor(np.ones(1)))
    assert "grad_fn=<Mul backward>" in repr(Tensor([1.0], requires_grad=True) * 2)


def test_comparisons_give_boolean_constants():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x <= Tensor([1.0, 1.0, 1.0])).tolist() == [True, False, False]
    assert (x == 2.0).tolist() == [False, True, False] and (x != 2.0).numpy().sum() == 2
    assert (x >= 3).grad_fn is None and (x < 2).dtype == np.bool_
    assert x.argmax().item() == 2 and x.argmin().item() == 0


@pytest.mark.parametrize("make, shape", [
    (lambda x: x.reshape(3, 2, 4), (3, 2, 4)),
    (lambda x: x.reshape((4, -1)), (4, 6)),
    (lambda x: x.view(-1), (24,)),
    (lambda x: x.flatten(), (24,)),
    (lambda x: x.flatten(1), (2, 12)),
    (lambda x: x.unsqueeze(0), (1, 2, 3, 4)),
    (lambda x: x.unsqueeze(-1), (2, 3, 4, 1)),
    (lambda x: x.unsqueeze(1).squeeze(1), (2, 3, 4)),
    (lambda x: x.transpose(), (4, 3, 2)),
    (lambda x: x.transpose(0, 2), (4, 3, 2)),
    (lambda x: x.transpose(1, 2, 0), (3, 4, 2)),
    (lambda x: x.transpose((2, 0, 1)), (4, 2, 3)),
    (lambda x: x.permute(2, 0, 1), (4, 2, 3)),
    (lambda x: x.T, (4, 3, 2)),
], ids=["reshape", "reshape-tuple", "view", "flatten", "flatten-1", "unsqueeze-0",
        "unsqueeze-last", "squeeze", "transpose-all", "transpose-swap", "transpose-perm",
        "transpose-tuple", "permute", "T"])
def test_shaping_helpers(make, shape):
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    out = make(x)
    assert out.shape == shape
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3, 4)))


def test_transpose_of_two_axes_swaps_them_like_torch(torch):
    data = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(Tensor(data).transpose(0, 1).numpy(),
                                  torch.tensor(data).transpose(0, 1).numpy())


@pytest.mark.parametrize("make, shape, dtype", [
    (lambda: tg.zeros(2, 3), (2, 3), np.float32),
    (lambda: tg.ones((2, 3), dtype=np.float64), (2, 3), np.float64),
    (lambda: tg.randn(4, 5), (4, 5), np.float32),
    (lambda: tg.rand(3), (3,), np.float32),
    (lambda: tg.arange(5), (5,), np.int64),
    (lambda: tg.arange(0, 1, 0.25), (4,), np.float32),
    (lambda: tg.tensor([1.0, 2.0]), (2,), np.float32),
], ids=["zeros", "ones", "randn", "rand", "arange", "arange-float", "tensor"])
def test_factories(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype == dtype and not t.requires_grad


def test_random_factories_follow_manual_seed():
    tg.manual_seed(3)
    first = tg.randn(3).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(tg.randn(3).numpy(), first)
    assert tg.zeros(2, requires_grad=True).requires_grad


def test_manual_seed_rejects_bad_seeds():
    with pytest.raises(ValueError, match="non-negative integer"):
        tg.manual_seed(-1)
    with pytest.raises(ValueError, match="non-negative integer"):
        tg.manual_seed(1.5)


def test_iterating_a_tensor_yields_its_rows():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    (rows[0] * rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 4.0], [1.0, 2.0]])


def test_zero_dim_float64_array_does_not_promote_a_float32_tensor():
    x = Tensor([1.0, 2.0])
    assert (x * np.array(2.0)).dtype == np.float32
    assert (np.array(2.0) + x).dtype == np.float32
    assert (x * np.ones(2)).dtype == np.float64  # a real float64 array promotes, as in NumPy


def test_true_division_of_integer_tensors_gives_float32():
    out = Tensor(np.array([1, 2])) / 2
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [0.5, 1.0])


@pytest.mark.parametrize("start, end, message", [(5, -1, "axis 5 is out of range"),
                                                  (0, 5, "axis 5 is out of range"),
                                                  (2, 0, "start_dim 2 comes after end_dim 0")])
def test_flatten_rejects_axes_it_does_not_have(start, end, message):
    with pytest.raises(ValueError, match=message):
        tg.ones(2, 3, 4).flatten(start, end)
