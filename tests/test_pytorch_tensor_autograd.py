"""The autograd surface a PyTorch user types: set_grad_enabled, inference_mode, register_hook,
retain_grad -- each run against torch -- plus finite-difference checks (float64) of the ops the
PyTorch API added, and the raw-tensor tutorial program, step for step against torch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_dropbn as tg

LIBS = ["tg", "torch"]


@pytest.fixture(params=LIBS)
def lib(request, torch):
    return tg if request.param == "tg" else torch


def test_set_grad_enabled_as_call_context_and_decorator(lib):
    x = lib.ones(2, requires_grad=True)
    try:
        lib.set_grad_enabled(False)
        assert not (x * 2).requires_grad
    finally:
        lib.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with lib.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @lib.set_grad_enabled(False)
    def doubled(t):
        return t * 2

    assert lib.is_grad_enabled(), "decorating switches nothing by itself"
    assert not doubled(x).requires_grad and (x * 2).requires_grad


def test_inference_mode_as_context_and_decorator(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        assert not (x * 2).requires_grad
    with lib.inference_mode(False):
        assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @lib.inference_mode()
    def called(t):
        return t * 2

    @lib.inference_mode
    def bare(t):
        return t * 2

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert lib.is_grad_enabled()


def _hooked_run(lib):
    """A hook on a leaf, one on a non-leaf used twice (it must see the summed gradient), a
    removed hook, and retain_grad: what each saw and what ended in .grad."""
    seen = []
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(("x", g.tolist())))
    x.register_hook(lambda g: g * 10)  # replaces the gradient that reaches x.grad
    h = x * x
    h.retain_grad()
    h.register_hook(lambda g: seen.append(("h", g.tolist())) or g + 1)
    removed = h.register_hook(lambda g: g * 1000)
    removed.remove()
    out = (h * 2).sum() + h[0] * 3
    out.backward()
    return seen, x.grad.tolist(), h.grad.tolist()


def test_register_hook_sees_and_replaces_gradients_like_torch(torch):
    assert _hooked_run(tg) == _hooked_run(torch)


def test_hooks_in_autograd_grad_and_create_graph(lib):
    x = lib.tensor([0.5, 1.5], dtype=lib.float64, requires_grad=True)
    x.register_hook(lambda g: g * 2)
    y = (x ** 3).sum()
    (g,) = lib.autograd.grad(y, x, create_graph=True)
    (gg,) = lib.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 2 * 3 * np.array([0.5, 1.5]) ** 2)
    np.testing.assert_allclose(gg.detach().numpy(), 2 * 2 * 6 * np.array([0.5, 1.5]))


def test_retain_grad_on_a_non_leaf(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_hook_that_changes_the_shape_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="keep the shape"):
        (x * 2).sum().backward()


# Finite differences in float64 for the differentiable ops the PyTorch API added.
F64 = np.random.default_rng(1).permutation(24).reshape(2, 3, 4) / 7.0 - 1.5


@pytest.mark.parametrize("function", [
    lambda x: x.repeat(2, 1, 3),
    lambda x: x.repeat(2, 1, 1, 2),
    lambda x: x.max(dim=1).values,
    lambda x: x.min(-1, keepdim=True).values,
    lambda x: x.sort(dim=0, descending=True).values,
    lambda x: x.topk(2, dim=2, largest=False).values,
    lambda x: x.gather(2, np.array([[[0, 0, 3]] * 3] * 2)),
    lambda x: x.var(dim=(0, 2), correction=0),
    lambda x: x.std(1, correction=2),
    lambda x: x.clamp(min=tg.tensor(np.full(4, -0.55))),
    lambda x: tg.cat(x.split([1, 3], dim=-1)[1].chunk(2, 1)[::-1], dim=1),
    lambda x: x.unflatten(2, (2, 2)).expand_as(tg.zeros(3, 2, 3, 2, 2)),
    lambda x: x.sin() * x.cos(),
    lambda x: tg.where(x > 0, x, 0.0) + tg.where(x < 0.45, 1.0, x),
], ids=["repeat", "repeat new dims", "max dim", "min dim keepdim", "sort", "topk", "gather",
        "var correction", "std correction", "clamp tensor", "split chunk", "unflatten", "sin cos",
        "where with numbers"])
def test_new_ops_by_finite_differences(function):
    x = tg.tensor(F64, requires_grad=True)
    assert tg.gradcheck(function, [x])
    assert tg.gradgradcheck(function, [x])


def test_repeat_gradient_against_torch(torch):
    ours = tg.tensor(F64, requires_grad=True)
    theirs = torch.tensor(F64, requires_grad=True)
    upstream = np.random.default_rng(2).standard_normal((2, 2, 6, 4))
    (ours.repeat(2, 1, 2, 1) * tg.tensor(upstream)).sum().backward()
    (theirs.repeat(2, 1, 2, 1) * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def _polynomial_fit(lib, steps: int = 300):
    """PyTorch's "tensors and autograd" tutorial: fit a cubic to sin(x) with raw tensors,
    updating the weights by hand under no_grad()."""
    x = lib.linspace(-math.pi, math.pi, 2000)
    y = lib.tensor(np.sin(np.linspace(-math.pi, math.pi, 2000)).astype(np.float32))
    start = np.random.default_rng(3).standard_normal(4).astype(np.float32)
    a, b, c, d = (lib.tensor(v, requires_grad=True) for v in start)
    learning_rate = 1e-6
    losses = []
    for _ in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            for weight in (a, b, c, d):
                weight -= learning_rate * weight.grad
                weight.grad = None
    return np.array([a.item(), b.item(), c.item(), d.item()]), np.array(losses)


def test_polynomial_fit_tutorial_matches_torch(torch):
    ours, our_losses = _polynomial_fit(tg)
    theirs, their_losses = _polynomial_fit(torch)
    assert their_losses[-1] < their_losses[0] / 10, "the fit is learning something"
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
