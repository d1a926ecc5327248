"""Layers: Linear (init, maths, gradients), activations, Flatten, Sequential, ModuleList."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import engine
from tinygrad_dropbn import random as tg_random


def f64(array, requires_grad=True):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def test_linear_shapes_dtype_and_init_bounds():
    layer = nn.Linear(50, 400)
    bound = 1 / math.sqrt(50)
    assert layer.weight.shape == (400, 50) and layer.bias.shape == (400,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.95 * bound
    # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)): std = bound / sqrt(3)
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(layer.weight.data.mean()) < 0.01 * bound


def test_linear_draws_weight_then_bias_from_the_library_generator():
    tg.manual_seed(11)
    layer = nn.Linear(3, 4)
    bound = 1 / math.sqrt(3)
    generator = tg.manual_seed(11)
    weight = generator.uniform(-bound, bound, size=(4, 3)).astype(np.float32)
    bias = tg_random.generator().uniform(-bound, bound, size=4).astype(np.float32)
    np.testing.assert_array_equal(layer.weight.data, weight)
    np.testing.assert_array_equal(layer.bias.data, bias)


def test_linear_forward_matches_the_formula(rng):
    layer = nn.Linear(3, 2)
    w, b = layer.weight.data, layer.bias.data
    for shape in [(5, 3), (2, 4, 3), (3,)]:
        x = rng.standard_normal(shape).astype(np.float32)
        out = layer(tg.Tensor(x))
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, x @ w.T + b, rtol=1e-6)
    layer.bias = None
    np.testing.assert_allclose(layer(tg.Tensor(x)).data, x @ w.T, rtol=1e-6)
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


@pytest.mark.parametrize("x_shape, bias", [((4, 3), True), ((2, 3, 3), True), ((3,), True),
                                           ((4, 3), False)])
def test_linear_gradcheck(rng, x_shape, bias):
    x = f64(rng.standard_normal(x_shape))
    weight = f64(rng.standard_normal((2, 3)))
    args = [x, weight] + ([f64(rng.standard_normal(2))] if bias else [])
    tg.gradcheck(lambda *t: F.linear(*t), args)


def test_linear_module_gradcheck_in_float64(rng):
    layer = nn.Linear(3, 2).double()
    x = f64(rng.standard_normal((4, 3)))
    tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_mlp_gradcheck_through_every_parameter_in_float64(rng):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Sigmoid(),
                          nn.Linear(4, 2)).double()
    labels = np.array([0, 1, 1, 0, 1])
    x = f64(rng.standard_normal((5, 3)))
    tg.gradcheck(lambda x, *params: F.cross_entropy(model(x), labels),
                 [x, *model.parameters()])


def test_fused_linear_agrees_with_matmul_plus_add(rng):
    values = [rng.standard_normal(s) for s in [(6, 3), (5, 3), (5,)]]
    fused, composed = [f64(v) for v in values], [f64(v) for v in values]
    upstream = rng.standard_normal((6, 5))
    out_fused = F.linear(*fused)
    out_composed = composed[0] @ composed[1].T + composed[2]
    np.testing.assert_allclose(out_fused.data, out_composed.data, rtol=1e-12)
    out_fused.backward(upstream)
    out_composed.backward(upstream)
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12)
    assert out_fused.grad_fn.name == "Affine"


def test_linear_input_errors_and_conversions():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="has 4 features but the weight of shape \\(2, 3\\)"):
        layer(tg.zeros(5, 4))
    with pytest.raises(TypeError, match="input dtype float64 does not match weight dtype float32"):
        layer(tg.Tensor(np.zeros((5, 3))))
    assert layer(np.zeros((5, 3))).dtype == np.float32
    assert layer(tg.Tensor(np.zeros((5, 3), dtype=np.int64))).dtype == np.float32
    with pytest.raises(ValueError, match="non-negative integer"):
        nn.Linear(3.5, 2)


def test_frozen_weight_gets_no_gradient(rng):
    layer = nn.Linear(3, 2)
    layer.weight.requires_grad_(False)
    layer(tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    assert layer.weight.grad is None and layer.bias.grad is not None


ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True)),
    (nn.Softmax(-1), lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    (nn.Identity(), lambda x: x),
    (nn.Flatten(), lambda x: x.reshape(x.shape[0], -1)),
    (nn.Flatten(0, 1), lambda x: x.reshape(-1, x.shape[2])),
]


@pytest.mark.parametrize("module, reference", ACTIVATIONS, ids=lambda v: repr(v))
def test_activation_values_and_gradients(module, reference, rng):
    x = rng.standard_normal((3, 4, 2))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the ReLU kinks
    np.testing.assert_allclose(module(f64(x, False)).data, reference(x), rtol=1e-12)
    out32 = module(tg.Tensor(x.astype(np.float32), requires_grad=True))
    assert out32.dtype == np.float32
    if not isinstance(module, nn.Identity):
        tg.gradcheck(module, [f64(x)])


def test_functional_activations_match_modules(rng):
    x = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    pairs = [(F.relu(x), nn.ReLU()(x)), (F.leaky_relu(x, 0.1), nn.LeakyReLU(0.1)(x)),
             (F.sigmoid(x), nn.Sigmoid()(x)), (F.tanh(x), nn.Tanh()(x)),
             (F.softmax(x, dim=0), nn.Softmax(0)(x)),
             (F.log_softmax(x, dim=-1), nn.Softmax(dim=-1)(x).log())]
    for a, b in pairs:
        np.testing.assert_allclose(a.data, b.data, rtol=1e-5, atol=1e-7)


def test_layers_match_torch(torch, rng):
    ours = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.05), nn.Linear(6, 5), nn.Tanh(),
                         nn.Linear(5, 3), nn.Sigmoid(), nn.Softmax(dim=-1), nn.Identity(),
                         nn.Flatten())
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.LeakyReLU(0.05), torch.nn.Linear(6, 5), torch.nn.Tanh(),
        torch.nn.Linear(5, 3), torch.nn.Sigmoid(), torch.nn.Softmax(dim=-1), torch.nn.Identity(),
        torch.nn.Flatten())
    assert repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((7, 4)).astype(np.float32)
    x_ours, x_theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    upstream = rng.standard_normal((7, 3)).astype(np.float32)
    out_ours.backward(upstream)
    out_theirs.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(x_ours.grad.data, x_theirs.grad.numpy(), rtol=1e-4, atol=1e-6)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_linear_init_matches_torch_bounds(torch):
    theirs = torch.nn.Linear(20, 30)
    bound = 1 / math.sqrt(20)
    ours = nn.Linear(20, 30)
    for p in (theirs.weight.detach().numpy(), theirs.bias.detach().numpy(),
              ours.weight.data, ours.bias.data):
        assert np.abs(p).max() <= bound


def test_sequential_indexing_slicing_and_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2] and model[-3] is layers[0]
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == layers[1:]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]
    assert list(model[::2]) == [layers[0], layers[2]]
    with pytest.raises(IndexError, match="index 3 is out of range for a Sequential of length 3"):
        model[3]
    with pytest.raises(IndexError):
        model[-4]
    with pytest.raises(TypeError, match="integers or slices"):
        model["0"]


def test_sequential_forward_append_and_named_constructor(rng):
    model = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert model.append(nn.Linear(3, 1)) is model
    assert [n for n, _ in model.named_children()] == ["hidden", "act", "2"]
    assert list(model.state_dict()) == ["hidden.weight", "hidden.bias", "2.weight", "2.bias"]
    assert model.hidden is model[0]
    x = tg.Tensor(rng.standard_normal((4, 2)).astype(np.float32))
    np.testing.assert_array_equal(model(x).data, model[2](model[1](model[0](x))).data)
    assert nn.Sequential(dict(a=nn.ReLU())).a is not None
    assert nn.Sequential()(x) is x


def test_module_list():
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    assert blocks.append(nn.Tanh()) is blocks
    blocks.extend([nn.Linear(2, 2)])
    assert len(blocks) == 4
    assert isinstance(blocks[-1], nn.Linear) and isinstance(blocks[2], nn.Tanh)
    assert [type(m).__name__ for m in blocks] == ["Linear", "ReLU", "Tanh", "Linear"]
    assert [type(m).__name__ for m in blocks[1:3]] == ["ReLU", "Tanh"]
    blocks[1] = nn.Sigmoid()
    assert isinstance(blocks[1], nn.Sigmoid)
    with pytest.raises(IndexError):
        blocks[4]

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = blocks

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Stack()
    assert [n for n, _ in model.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.3.weight", "blocks.3.bias"]
    assert model(tg.ones(1, 2)).shape == (1, 2)


def test_float32_network_stays_float32_in_every_value_and_gradient(rng):
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(8, 3))
    x = tg.Tensor(rng.standard_normal((6, 5)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(model(x), np.array([0, 2, 1, 1, 0, 2], dtype=np.int64))
    ops = engine.topological_order(loss)
    assert {op.name for op in ops} >= {"Affine", "CrossEntropy"}
    for op in ops:
        for t in op.inputs:
            assert t.dtype == np.float32, (op.name, t.dtype)
    received = {}  # each op's output gradient and the gradients it returned
    hook = lambda fn, grad, input_grads: received.setdefault(fn, (grad, input_grads))  # noqa
    engine.backward_hooks.append(hook)
    try:
        loss.backward()
    finally:
        engine.backward_hooks.remove(hook)
    assert set(received) == set(ops)
    for op, (grad, input_grads) in received.items():
        assert grad.dtype == np.float32, op.name
        for g in input_grads:
            assert g is None or g.dtype == np.float32, op.name
    for name, t in list(model.named_parameters()) + [("x", x)]:
        assert t.grad.dtype == np.float32, name
    for name, buffer in model.named_buffers():
        expected = np.int64 if name.endswith("num_batches_tracked") else np.float32
        assert buffer.dtype == expected, name


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.relu(np.ones(3)), TypeError, "relu expects a Tensor, got ndarray"),
    (lambda: F.sigmoid(tg.Tensor(np.arange(3))), TypeError,
     "sigmoid needs a floating-point tensor, got dtype int64"),
    (lambda: F.tanh([1.0]), TypeError, "tanh expects a Tensor, got list"),
    (lambda: F.leaky_relu(tg.ones(2), "0.1"), TypeError, "negative_slope must be a number"),
    (lambda: F.softmax(tg.ones(2, 3), dim=2), ValueError,
     r"softmax: dim 2 is out of range for a tensor of shape \(2, 3\) \(valid: -2 to 1\)"),
    (lambda: F.log_softmax(tg.ones(2, 3), dim=-3), ValueError, "dim -3 is out of range"),
    (lambda: F.linear(tg.ones(4, 3), tg.ones(2, 3), tg.ones(3)), ValueError,
     r"bias must be a Tensor of shape \(2,\).*got \(3,\)"),
    (lambda: F.linear(tg.ones(4, 3), tg.ones(3)), ValueError,
     r"weight must have shape \(out_features, in_features\), got shape \(3,\)"),
    (lambda: F.cross_entropy(np.ones((2, 3)), [0, 1]), TypeError,
     "cross_entropy expects a Tensor, got ndarray"),
])
def test_functional_argument_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_activation_modules_call_the_functional_forms(monkeypatch):
    calls = []
    for name in ("relu", "leaky_relu", "sigmoid", "tanh", "softmax"):
        original = getattr(F, name)
        monkeypatch.setattr(F, name, lambda *a, _f=original, _n=name, **k: (calls.append(_n),
                                                                           _f(*a, **k))[1])
    x = tg.randn(2, 3)
    for module in (nn.ReLU(), nn.LeakyReLU(0.1), nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1)):
        module(x)
    assert calls == ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
