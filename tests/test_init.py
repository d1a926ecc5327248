"""nn.init: PyTorch's formulas, in place, from the library's generator, keeping dtype."""
import math

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn.nn import init


def param(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("nonlinearity, param_, expected", [
    ("linear", None, 1.0), ("sigmoid", None, 1.0), ("conv2d", None, 1.0),
    ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", math.sqrt(5), math.sqrt(2 / 6)),
])
def test_calculate_gain(nonlinearity, param_, expected):
    assert init.calculate_gain(nonlinearity, param_) == pytest.approx(expected)


def test_calculate_gain_matches_torch(torch):
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("shape, fans", [((4, 3), (3, 4)), ((8, 2, 3, 3), (18, 72))])
def test_fans(shape, fans):
    assert init.calculate_fan_in_and_fan_out(param(*shape)) == fans


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(param(5))


def _std_uniform(bound):
    return bound / math.sqrt(3)


@pytest.mark.parametrize("fill, bound, std", [
    (lambda t: init.uniform_(t, -0.3, 0.3), 0.3, _std_uniform(0.3)),
    (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(6 / 500), 2 * math.sqrt(2 / 500)),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(6 / 200),
     math.sqrt(2 / 200)),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(200),
     _std_uniform(1 / math.sqrt(200))),
    (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="tanh"),
     5 / 3 * math.sqrt(3 / 300), 5 / 3 / math.sqrt(300)),
])
def test_uniform_initialisers_bounds_and_spread(fill, bound, std):
    t = param(300, 200)
    assert fill(t) is t
    assert t.dtype == np.float32 and t.grad_fn is None
    assert np.abs(t.data).max() <= bound * (1 + 1e-6)
    assert np.abs(t.data).max() > 0.99 * bound
    assert abs(t.data.mean()) < 0.02 * bound
    assert t.data.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("fill, mean, std", [
    (lambda t: init.normal_(t, 1.5, 0.2), 1.5, 0.2),
    (lambda t: init.xavier_normal_(t), 0.0, math.sqrt(2 / 500)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), 0.0, math.sqrt(2 / 200)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out"), 0.0,
     math.sqrt(2 / (1 + 0.01 ** 2)) / math.sqrt(300)),
])
def test_normal_initialisers_moments(fill, mean, std):
    t = fill(param(300, 200))
    assert t.data.mean() == pytest.approx(mean, abs=0.02 * std + 1e-12)
    assert t.data.std() == pytest.approx(std, rel=0.02)


def test_constants_and_dtype_is_kept():
    t = param(2, 3, dtype=np.float64)
    assert np.all(init.ones_(t).data == 1) and t.dtype == np.float64
    assert np.all(init.constant_(t, 0.25).data == 0.25)
    assert np.all(init.zeros_(t).data == 0)
    counts = tg.Tensor(np.ones(3, dtype=np.int64))
    assert init.zeros_(counts).dtype == np.int64
    assert init.kaiming_normal_(t).dtype == np.float64


def test_draws_come_from_the_library_generator():
    tg.manual_seed(7)
    first = init.kaiming_uniform_(param(4, 3)).data.copy()
    second = init.kaiming_uniform_(param(4, 3)).data.copy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(init.kaiming_uniform_(param(4, 3)).data, first)
    assert not np.array_equal(first, second)
    expected = tg.manual_seed(7).uniform(-0.5, 0.5, size=(4, 3)).astype(np.float32)
    tg.manual_seed(7)
    np.testing.assert_array_equal(init.uniform_(param(4, 3), -0.5, 0.5).data, expected)


def test_zero_element_tensor_is_a_no_op():
    assert init.kaiming_uniform_(param(3, 0)).shape == (3, 0)


@pytest.mark.parametrize("call, error, match", [
    (lambda: init.normal_(tg.Tensor(np.zeros(3, dtype=np.int64))), TypeError, "floating-point"),
    (lambda: init.uniform_(np.zeros(3)), TypeError, "works on Tensors"),
    (lambda: init.kaiming_uniform_(param(2, 2), mode="fan"), ValueError, "'fan_in' or 'fan_out'"),
    (lambda: init.uniform_(param(2), 1.0, 0.0), ValueError, "a <= b"),
    (lambda: init.normal_(param(2), std=-1.0), ValueError, "std >= 0"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


INITIALISERS = [
    lambda t: init.uniform_(t, -1, 1), lambda t: init.normal_(t), lambda t: init.constant_(t, 2),
    init.zeros_, init.ones_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
    init.kaiming_normal_,
]
IDS = ["uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
       "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


def two_layer_loss(w1, w2, x):
    """The second matmul saves w2 for its input's gradient, in PyTorch as here."""
    return ((x @ w1).relu() @ w2).sum()


@pytest.mark.parametrize("fill", INITIALISERS, ids=IDS)
def test_initialising_between_forward_and_backward_makes_backward_raise(fill):
    w1, w2 = init.normal_(param(3, 4)), init.normal_(param(4, 2))
    loss = two_layer_loss(w1, w2, tg.randn(5, 3))
    fill(w2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("fill", INITIALISERS, ids=IDS)
def test_initialising_after_backward_is_fine(fill):
    w1, w2 = init.normal_(param(3, 4)), init.normal_(param(4, 2))
    x = tg.randn(5, 3)
    two_layer_loss(w1, w2, x).backward()
    fill(w2)
    w1.grad = w2.grad = None
    two_layer_loss(w1, w2, x).backward()
    fresh = [nn.Parameter(w.data) for w in (w1, w2)]
    two_layer_loss(*fresh, x).backward()
    for w, f in zip((w1, w2), fresh):
        np.testing.assert_array_equal(w.grad.data, f.grad.data)


def test_initialising_between_forward_and_backward_raises_like_torch(torch):
    ours = [init.normal_(param(3, 4)), init.normal_(param(4, 2))]
    theirs = [torch.tensor(p.data, requires_grad=True) for p in ours]
    x = tg.randn(5, 3)
    loss, their_loss = two_layer_loss(*ours, x), two_layer_loss(*theirs, torch.from_numpy(x.data))
    init.kaiming_uniform_(ours[1])
    torch.nn.init.kaiming_uniform_(theirs[1])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        their_loss.backward()


def test_a_rejected_initialisation_counts_as_no_change():
    w = param(2, 2)
    version = w._version
    with pytest.raises(ValueError):
        init.kaiming_uniform_(w, mode="fan")
    assert w._version == version
    init.zeros_(w)
    assert w._version == version + 1
