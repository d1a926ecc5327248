"""NaN, infinity and zero at the edges of each op's domain, forward and backward, against
PyTorch; none of these defined results may raise a NumPy RuntimeWarning."""
import warnings

import numpy as np
import pytest

import tinygrad_dropbn as tg

nan, inf = float("nan"), float("inf")

# (name, ours, torch's, inputs): every input a float64 leaf that requires a gradient
CASES = [
    ("relu", lambda x: x.relu(), lambda x: x.relu(), [[nan, inf, -inf, 0.0, 1.0, -1.0]]),
    ("abs", lambda x: x.abs(), lambda x: x.abs(), [[nan, inf, -inf, 0.0, -1.0, 2.0]]),
    ("maximum", tg.maximum, lambda a, b: a.maximum(b),
     [[nan, 1.0, 2.0, nan, inf, -inf], [1.0, nan, 2.0, nan, inf, 0.0]]),
    ("minimum", tg.minimum, lambda a, b: a.minimum(b),
     [[nan, 1.0, 2.0, nan, -inf, inf], [1.0, nan, 2.0, nan, -inf, 0.0]]),
    ("clip", lambda x: x.clip(-1, 1), lambda x: x.clamp(-1, 1),
     [[nan, inf, -inf, 1.0, -1.0, 0.5]]),
    ("clip lo only", lambda x: x.clip(0.0, None), lambda x: x.clamp(min=0.0),
     [[nan, inf, -inf, 0.0]]),
    ("max ties", lambda x: x.max(), lambda x: x.max(), [[1.0, 3.0, 3.0]]),
    ("max nan", lambda x: x.max(), lambda x: x.max(), [[1.0, nan, 3.0, nan]]),
    ("max inf ties", lambda x: x.max(), lambda x: x.max(), [[inf, inf, 1.0]]),
    ("min nan", lambda x: x.min(), lambda x: x.min(), [[1.0, nan, -inf]]),
    ("max axis ties", lambda x: x.max(axis=1), lambda x: x.amax(dim=1),
     [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    ("max axis nan", lambda x: x.max(axis=1), lambda x: x.amax(dim=1),
     [[[1.0, nan, 3.0], [2.0, 1.0, 0.0]]]),
    ("min axis ties", lambda x: x.min(axis=0), lambda x: x.amin(dim=0),
     [[[1.0, -inf], [1.0, -inf]]]),
    ("sqrt", lambda x: x.sqrt(), lambda x: x.sqrt(), [[0.0, -1.0, inf, nan, 4.0]]),
    ("log", lambda x: x.log(), lambda x: x.log(), [[0.0, -1.0, inf, nan, 2.0]]),
    ("exp", lambda x: x.exp(), lambda x: x.exp(), [[1000.0, -1000.0, inf, -inf, nan]]),
    ("x ** 2 at 0", lambda x: x ** 2.0, lambda x: x ** 2.0, [[0.0, -0.0, inf]]),
    ("x ** 0.5 at 0", lambda x: x ** 0.5, lambda x: x ** 0.5, [[0.0, inf, -1.0]]),
    ("x ** 0 at 0", lambda x: x ** 0.0, lambda x: x ** 0.0, [[0.0, nan, inf]]),
    ("x ** -1 at 0", lambda x: x ** -1.0, lambda x: x ** -1.0, [[0.0, -0.0, inf]]),
    ("x ** -2 at 0", lambda x: x ** -2.0, lambda x: x ** -2.0, [[0.0, inf]]),
    ("a ** b", lambda a, b: a ** b, lambda a, b: a ** b,
     [[0.0, 0.0, 0.0, 0.0, 2.0, nan, 1.0, -8.0], [0.0, -1.0, 0.5, 2.0, 0.0, 0.0, nan, 0.5]]),
    ("divide", lambda a, b: a / b, lambda a, b: a / b,
     [[1.0, 0.0, inf, -1.0], [0.0, 0.0, inf, 0.0]]),
    ("sum", lambda x: x.sum(), lambda x: x.sum(), [[inf, -inf, 1.0]]),
    ("softmax", lambda x: x.softmax(-1), lambda x: x.softmax(-1),
     [[[inf, 1.0, 0.0], [inf, inf, 0.0], [-inf, -inf, -inf], [nan, 1.0, 0.0],
       [-inf, 1.0, 0.0]]]),
    ("log_softmax", lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1),
     [[[inf, 1.0, 0.0], [-inf, 1.0, 0.0], [-inf, -inf, -inf], [1e308, -1e308, 0.0]]]),
    ("logsumexp", lambda x: x.logsumexp(-1), lambda x: x.logsumexp(-1),
     [[[inf, 1.0], [-inf, -inf], [-inf, 1.0], [inf, inf]]]),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), [[nan, inf, -inf, 1000.0]]),
    ("tanh", lambda x: x.tanh(), lambda x: x.tanh(), [[nan, inf, -inf]]),
    ("mean of empty", lambda x: x.mean(axis=0), lambda x: x.mean(dim=0), [np.zeros((0, 3))]),
    ("sum of empty", lambda x: x.sum(), lambda x: x.sum(), [np.zeros((0, 3))]),
]


def _run_ours(ours, inputs, upstream):
    leaves = [tg.Tensor(np.array(x, dtype=np.float64), requires_grad=True) for x in inputs]
    out = ours(*leaves)
    out.backward(upstream(out.shape))
    return out.numpy(), [leaf.grad.numpy() for leaf in leaves]


def _upstream(shape):
    """A fixed upstream gradient with distinct non-zero entries."""
    return np.asarray((1 + np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) / 4)


@pytest.mark.parametrize("name, ours, theirs, inputs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_forward_and_backward_without_warnings(torch, name, ours, theirs,
                                                             inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, grads = _run_ours(ours, inputs, _upstream)
    leaves = [torch.tensor(np.array(x, dtype=np.float64), requires_grad=True) for x in inputs]
    expected = theirs(*leaves)
    expected.backward(torch.tensor(_upstream(tuple(expected.shape))))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, err_msg=name)
    for i, (grad, leaf) in enumerate(zip(grads, leaves)):
        np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=1e-12,
                                   err_msg=f"{name}: gradient of input {i}")


def test_the_warning_check_can_fail():
    """The check above would notice a leaking warning: a bare NumPy op raises under it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning):
            np.log(np.zeros(1))


def test_float32_overflow_gives_inf_silently():
    x = tg.Tensor(np.array([100.0, 1e38], np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = (x.exp() / np.float32(1e-30)).sum()
        out.backward()
    assert out.item() == inf and out.dtype == np.float32
    assert np.isinf(x.grad.numpy()).all()


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_max_and_min_of_nothing_raise_like_torch(torch, reduce):
    empty = tg.zeros(0, 3)
    with pytest.raises(RuntimeError, match=f"{reduce}\\(\\) of an empty tensor.*shape \\(0, 3\\)"):
        getattr(empty, reduce)()
    with pytest.raises(RuntimeError):
        getattr(torch.zeros(0, 3), reduce)()
    with pytest.raises(IndexError, match=f"{reduce}\\(axis=0\\).*shape \\(0, 3\\).*size 0"):
        getattr(empty, reduce)(axis=0)
    with pytest.raises(IndexError):
        getattr(torch.zeros(0, 3), f"a{reduce}")(dim=0)
    # over an axis of non-zero size there is a result: an empty one, as in PyTorch
    assert getattr(empty, reduce)(axis=1).shape == (0,)
    assert tuple(getattr(torch.zeros(0, 3), f"a{reduce}")(dim=1).shape) == (0,)
