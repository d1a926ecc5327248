"""Bad arguments to the public API: each is refused with our exception and a message naming the
input, as PyTorch refuses it (and never with a bare NumPy message)."""
import numpy as np
import pytest

import tinygrad_dropbn as tg


@pytest.mark.parametrize("data, error, message", [
    (None, TypeError, "needs numbers, got NoneType None"),
    ("abc", TypeError, "got str 'abc'"),
    (b"abc", TypeError, "got bytes b'abc'"),
    ([1.0, "2"], TypeError, "got str '2' at \\[1\\]"),
    (["1.5"], TypeError, "got str '1.5' at \\[0\\]"),  # NumPy alone would parse it as 1.5
    ([[1.0, 2.0], [3.0, None]], TypeError, "got NoneType None at \\[1\\]\\[1\\]"),
    ({"a": 1}, TypeError, "got dict"),
    (np.array([1, None], dtype=object), TypeError, "array of dtype object"),
    (np.array(["a", "b"]), TypeError, "array of dtype <U1"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), TypeError, "dtype datetime64"),
    ([[1.0, 2.0], [3.0]], ValueError, "ragged.*expected sequence of length 2 at dim 1 \\(got 1\\)"),
    ([[1.0, 2.0], 3.0], ValueError, "ragged.*length 2 at dim 1 \\(got a number\\)"),
    ([1.0, [2.0]], ValueError, "ragged.*expected a number at dim 1"),
])
def test_tensor_refuses_what_is_not_numbers(torch, data, error, message):
    with pytest.raises(error, match=message):
        tg.Tensor(data)
    with pytest.raises((TypeError, ValueError, RuntimeError)):  # PyTorch refuses them all
        torch.tensor(data)


def test_tensor_still_accepts_numbers_arrays_and_tensors():
    assert tg.Tensor(3).dtype == np.float32
    assert tg.Tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert tg.Tensor([tg.ones(2), tg.zeros(2)]).tolist() == [[1, 1], [0, 0]]
    assert tg.Tensor([np.float64(1.5), True]).tolist() == [1.5, 1.0]
    assert tg.Tensor([1, 2], dtype=np.int64).dtype == np.int64
    assert tg.Tensor(np.arange(3)).dtype == np.int64
    assert tg.Tensor([]).shape == (0,)
    assert tg.Tensor([[], []]).shape == (2, 0)


def test_requires_grad_assignment_on_a_non_leaf_raises_like_torch(torch):
    x = tg.ones(2, requires_grad=True)
    y = x * 2
    for value in (False, True):
        with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
            y.requires_grad = value
        with pytest.raises(RuntimeError, match="leaf"):
            (torch.ones(2, requires_grad=True) * 2).requires_grad = value
    assert y.requires_grad and y.grad_fn is not None, "a refused assignment changes nothing"
    x.requires_grad = False
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad
    with pytest.raises(TypeError, match="floating-point"):
        tg.Tensor(np.arange(3)).requires_grad = True


@pytest.mark.parametrize("index, message", [
    (5, "index 5 is out of range for axis 0 of size 2 \\(tensor of shape \\(2, 3\\)"),
    (-3, "index -3 is out of range for axis 0 of size 2"),
    ((0, 7), "index 7 is out of range for axis 1 of size 3.*index \\(0, 7\\)"),
    ((Ellipsis, 3), "index 3 is out of range for axis 1 of size 3"),
    ((None, 1, 5), "index 5 is out of range for axis 1 of size 3"),
    ((slice(None), 4), "index 4 is out of range for axis 1 of size 3"),
    ((0, 0, 0), "shape \\(2, 3\\) with \\(0, 0, 0\\): too many indices for tensor"),
    (np.array([0, 9]), "shape \\(2, 3\\).*index 9 is out of bounds for axis 0"),
    (1.5, "shape \\(2, 3\\) with 1.5: only integers"),
])
def test_out_of_range_index_names_the_shape_and_the_index(torch, index, message):
    x = tg.zeros(2, 3, requires_grad=True)
    with pytest.raises(IndexError, match=message):
        x[index]
    with pytest.raises(IndexError, match=message):
        x.detach()[index] = 1.0
    with pytest.raises(IndexError):
        torch.zeros(2, 3)[torch.tensor(index) if isinstance(index, np.ndarray) else index]


@pytest.mark.parametrize("shapes, message", [
    (((2, 3), (2, 3)), "matmul shape mismatch: \\(2, 3\\) @ \\(2, 3\\)"),
    (((3,), (4,)), "matmul shape mismatch: \\(3,\\) @ \\(4,\\)"),
    (((2, 3, 4), (5, 4, 2)), "shapes \\(2, 3, 4\\) and \\(5, 4, 2\\) cannot be broadcast"),
    (((), (3,)), "at least 1 dimension"),
])
def test_matmul_of_incompatible_shapes_is_our_error(shapes, message):
    a, b = (tg.zeros(*shape) for shape in shapes)
    with pytest.raises(ValueError, match=message):
        a @ b


def test_empty_reductions_follow_torch(torch):
    empty = tg.zeros(0, 3, requires_grad=True)
    assert empty.sum().item() == 0 and torch.zeros(0, 3).sum().item() == 0
    assert np.isnan(empty.mean().item()) and torch.zeros(0, 3).mean().isnan()
    assert empty.mean(axis=0).shape == (3,)
    empty.mean(axis=0).sum().backward()
    assert empty.grad.shape == (0, 3)
    for name in ("argmax", "argmin"):
        with pytest.raises(IndexError, match=f"{name}\\(\\) of an empty tensor"):
            getattr(empty, name)()
        with pytest.raises(IndexError):
            getattr(torch.zeros(0, 3), name)()
        with pytest.raises(IndexError, match=f"{name}\\(axis=0\\)"):
            getattr(empty, name)(axis=0)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x + "a", TypeError, "a tensor operation needs numbers, got str 'a'"),
    (lambda x: "1.5" * x, TypeError, "got str '1.5'"),  # NumPy alone would read it as 1.5
    (lambda x: x + None, TypeError, "got NoneType None"),  # NumPy alone would make it NaN
    (lambda x: x * [[1.0, 2.0], [3.0]], ValueError, "ragged.*length 2 at dim 1 \\(got 1\\)"),
    (lambda x: x.softmax(axis=2), ValueError, "axis 2 is out of range for a tensor with 2"),
    (lambda x: x.log_softmax(axis=-3), ValueError, "axis -3 is out of range"),
    (lambda x: x.unsqueeze(3), ValueError, "unsqueeze: axis 3.*shape \\(2, 3\\).*-3 to 2"),
    (lambda x: x.argmax(axis=2), ValueError, "argmax: axis 2 is out of range"),
    (lambda x: tg.where(tg.zeros(4) > 0, x, x), ValueError,
     "Where: shapes \\(4,\\) and \\(2, 3\\) and \\(2, 3\\) cannot be broadcast"),
])
def test_operand_and_axis_errors_are_ours(call, error, message):
    with pytest.raises(error, match=message):
        call(tg.zeros(2, 3, requires_grad=True))


def test_valid_operands_and_axes_still_work():
    x = tg.zeros(2, 3)
    assert (x + [1.0, 2.0, 3.0]).shape == (2, 3)
    assert (x * np.float64(2)).dtype == np.float32
    assert x.unsqueeze(-3).shape == (1, 2, 3) and x.unsqueeze(2).shape == (2, 3, 1)
    np.testing.assert_allclose(x.softmax(axis=-2).numpy(), np.full((2, 3), 0.5))
