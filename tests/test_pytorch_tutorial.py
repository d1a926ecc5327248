"""PyTorch's "learning PyTorch with examples" program, written once and run twice -- with
``lib = torch`` and ``lib = tinygrad_dropbn`` -- from the same initial weights: fit
y = sin(x) on [-pi, pi] with a + b x + c x^2 + d x^3, first with raw tensors and manual
updates under ``no_grad()``, then with ``nn.Sequential`` and an optimizer."""
import math

import numpy as np
import pytest

import tinygrad_dropbn as tg

STEPS = 2000


def initial_weights(dtype):
    rng = np.random.default_rng(2024)
    return [float(dtype.type(rng.standard_normal())) for _ in range(4)]


def raw_tensors(lib, start, dtype):
    """Tensors and autograd, with the update written by hand."""
    x = lib.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = lib.sin(x)
    a, b, c, d = (lib.tensor(v, dtype=dtype, requires_grad=True) for v in start)
    learning_rate = 1e-6
    losses = []
    for t in range(STEPS):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses, [a.item(), b.item(), c.item(), d.item()]


def with_nn(lib, start, dtype, make_optimizer=None):
    """``nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))`` on the features (x, x^2, x^3);
    manual updates if ``make_optimizer`` is None, else the optimizer it makes."""
    x = lib.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = lib.sin(x)
    p = lib.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = lib.nn.Sequential(lib.nn.Linear(3, 1), lib.nn.Flatten(0, 1))
    if dtype == lib.float64:
        model = model.double()
    a, b, c, d = start
    model.load_state_dict({"0.weight": lib.tensor(np.array([[b, c, d]])),
                           "0.bias": lib.tensor(np.array([a]))})
    loss_fn = lib.nn.MSELoss(reduction="sum")
    learning_rate = 1e-6
    optimizer = make_optimizer(lib, model) if make_optimizer else None
    losses = []
    for t in range(STEPS):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        if optimizer is None:
            model.zero_grad()
            loss.backward()
            with lib.no_grad():
                for param in model.parameters():
                    param -= learning_rate * param.grad
        else:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    linear = model[0]
    return losses, [linear.bias.item()] + linear.weight.detach().numpy().ravel().tolist()


def sgd(lib, model):
    return lib.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)


def rmsprop(lib, model):
    return lib.optim.RMSprop(model.parameters(), lr=1e-3)


PROGRAMS = {
    "raw tensors": lambda lib, start, dtype: raw_tensors(lib, start, dtype),
    "nn, manual update": lambda lib, start, dtype: with_nn(lib, start, dtype),
    "nn + SGD": lambda lib, start, dtype: with_nn(lib, start, dtype, sgd),
    "nn + RMSprop": lambda lib, start, dtype: with_nn(lib, start, dtype, rmsprop),
}


TOLERANCE = {"float32": 2e-5, "float64": 1e-12}


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_the_tutorial_gives_torchs_numbers(torch, name, precision):
    start = initial_weights(np.dtype(precision))
    program = PROGRAMS[name]
    our_losses, ours = program(tg, start, getattr(tg, precision))
    their_losses, theirs = program(torch, start, getattr(torch, precision))
    rtol = TOLERANCE[precision]
    if name == "nn + RMSprop":
        # With a constant rate RMSprop ends hovering around the optimum in steps of about lr,
        # where rounding differences (NumPy's and PyTorch's sums and sin differ in the last
        # bit) grow step by step: the losses agree to the dtype's precision for the first
        # 1500 steps, and the coefficients to 1e-4 at the end.
        np.testing.assert_allclose(our_losses[:1500], their_losses[:1500], rtol=5 * rtol)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-8)
    else:
        np.testing.assert_allclose(our_losses, their_losses, rtol=rtol)
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol / 100)
    # The fit works: the loss fell tenfold and the cubic is near sin's shape (b about 0.85-1.2,
    # d about -0.09 to -0.15, as in the tutorial's printed result).
    assert our_losses[-1] < our_losses[0] / 10
    assert 0.8 < ours[1] < 1.3 and -0.16 < ours[3] < -0.08
