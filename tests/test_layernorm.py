"""Layer norm: the fused op's closed-form gradients (finite differences, second derivatives),
PyTorch parity for the function and the module, the composed reference, errors."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F

# (input shape, normalized_shape)
SHAPES = [((5, 4), (4,)), ((3, 2, 4), (4,)), ((3, 2, 4), (2, 4)), ((4,), (4,)),
          ((2, 3, 2, 2), (3, 2, 2))]
SHAPE_IDS = ["N,D", "N,L,D", "N,(L,D)", "D", "N,(C,H,W)"]
AFFINE = ["weight+bias", "weight", "none"]


def _params(normalized_shape, affine, rng, dtype=np.float64, requires_grad=True):
    weight = tg.Tensor((rng.standard_normal(normalized_shape) + 1).astype(dtype),
                       requires_grad=requires_grad) if affine != "none" else None
    bias = tg.Tensor(rng.standard_normal(normalized_shape).astype(dtype),
                     requires_grad=requires_grad) if affine == "weight+bias" else None
    return weight, bias


@pytest.mark.parametrize("shape, normalized_shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("affine", AFFINE)
def test_gradcheck(shape, normalized_shape, affine, rng):
    x = tg.Tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
    weight, bias = _params(normalized_shape, affine, rng)
    params = [p for p in (weight, bias) if p is not None]

    def fn(x, *params):
        w = params[0] if weight is not None else None
        b = params[1] if bias is not None else None
        return F.layer_norm(x, normalized_shape, w, b)

    assert tg.gradcheck(fn, [x, *params])


@pytest.mark.parametrize("wants", ["x", "weight", "bias"])
def test_gradcheck_one_input_at_a_time(wants, rng):
    x = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=wants == "x")
    weight = tg.Tensor(rng.standard_normal(3), requires_grad=wants == "weight")
    bias = tg.Tensor(rng.standard_normal(3), requires_grad=wants == "bias")
    assert tg.gradcheck(lambda x, w, b: F.layer_norm(x, 3, w, b), [x, weight, bias])


@pytest.mark.parametrize("shape, normalized_shape", SHAPES[:3], ids=SHAPE_IDS[:3])
@pytest.mark.parametrize("affine", AFFINE)
def test_second_derivatives(shape, normalized_shape, affine, rng):
    x = tg.Tensor(rng.standard_normal(shape), requires_grad=True)
    weight, bias = _params(normalized_shape, affine, rng)
    params = [p for p in (weight, bias) if p is not None]

    def fn(x, *params):
        return F.layer_norm(x, normalized_shape, *params) if affine != "weight" else \
            F.layer_norm(x, normalized_shape, params[0])

    assert tg.gradgradcheck(fn, [x, *params])


def test_create_graph_gives_a_differentiable_gradient(rng):
    x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    weight = tg.Tensor(rng.standard_normal(4), requires_grad=True)
    out = (F.layer_norm(x, (4,), weight) ** 3).sum()
    (grad_x,) = tg.autograd.grad(out, [x], create_graph=True)
    assert grad_x.requires_grad
    (grad_x * grad_x).sum().backward()
    assert weight.grad is not None and np.all(np.isfinite(weight.grad.data))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape, normalized_shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("affine", AFFINE)
def test_functional_matches_torch(torch, shape, normalized_shape, affine, dtype, rng):
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    weight, bias = _params(normalized_shape, affine, rng, dtype)
    ours_x = tg.Tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs_w = None if weight is None else torch.tensor(weight.data, requires_grad=True)
    theirs_b = None if bias is None else torch.tensor(bias.data, requires_grad=True)
    out = F.layer_norm(ours_x, normalized_shape, weight, bias, eps=1e-3)
    expected = torch.nn.functional.layer_norm(theirs_x, normalized_shape, theirs_w, theirs_b,
                                              eps=1e-3)
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11,
                                                                             atol=1e-12)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tolerance)
    upstream = rng.standard_normal(shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours_x.grad.data, theirs_x.grad.numpy(), **tolerance)
    for ours, theirs in ((weight, theirs_w), (bias, theirs_b)):
        if ours is not None:
            assert ours.grad.dtype == dtype
            np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), **tolerance)


@pytest.mark.parametrize("options", [{}, dict(eps=1e-2), dict(elementwise_affine=False),
                                     dict(bias=False)], ids=repr)
def test_module_matches_torch_and_has_its_state_dict_keys(torch, options, rng):
    ours, theirs = nn.LayerNorm((2, 3), **options), torch.nn.LayerNorm((2, 3), **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():  # non-trivial parameters, both sides
        value.copy_(torch.from_numpy(rng.standard_normal(tuple(value.shape))))
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((4, 2, 3)).astype(np.float32)
    ours_x, theirs_x = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(ours_x), theirs(theirs_x)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(ours_x.grad.data, theirs_x.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_module_defaults_and_repr():
    layer = nn.LayerNorm(4)
    assert layer.normalized_shape == (4,) and layer.eps == 1e-5
    np.testing.assert_array_equal(layer.weight.data, np.ones(4, np.float32))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(4, np.float32))
    assert repr(layer) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    assert nn.LayerNorm([2, 3]).weight.shape == (2, 3)
    assert nn.LayerNorm(4, bias=False).bias is None
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []


def test_training_and_evaluation_agree(rng):
    layer = nn.LayerNorm(3)
    x = tg.Tensor(rng.standard_normal((5, 3)).astype(np.float32))
    np.testing.assert_array_equal(layer.train()(x).data, layer.eval()(x).data)


@pytest.mark.parametrize("affine", AFFINE)
def test_fused_agrees_with_composed(affine, rng):
    x = rng.standard_normal((4, 2, 3))
    weight, bias = _params((3,), affine, rng)
    fused_x, composed_x = tg.Tensor(x, requires_grad=True), tg.Tensor(x, requires_grad=True)
    out = F.layer_norm(fused_x, (3,), weight, bias)
    mean = composed_x.mean(axis=-1, keepdims=True)
    centered = composed_x - mean
    composed = centered / ((centered * centered).mean(axis=-1, keepdims=True) + 1e-5).sqrt()
    if weight is not None:
        composed = composed * weight
    if bias is not None:
        composed = composed + bias
    np.testing.assert_allclose(out.data, composed.data, rtol=1e-12, atol=1e-14)
    upstream = rng.standard_normal(x.shape)
    out.backward(upstream)
    composed.backward(upstream)
    np.testing.assert_allclose(fused_x.grad.data, composed_x.grad.data, rtol=1e-10, atol=1e-12)


def test_one_node_named_for_the_op(rng):
    x = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    out = nn.LayerNorm(3).double()(x)
    assert type(out.grad_fn).__name__ == "LayerNormalization"
    assert len(out.grad_fn.inputs) == 3


def test_constant_rows_give_finite_outputs_and_gradients():
    x = tg.Tensor(np.full((2, 4), 3.0), requires_grad=True)
    out = F.layer_norm(x, (4,))
    np.testing.assert_array_equal(out.data, np.zeros((2, 4)))
    (out * tg.Tensor(np.arange(8.0).reshape(2, 4))).sum().backward()
    assert np.all(np.isfinite(x.grad.data))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.layer_norm(tg.zeros(2, 3), (4,)), ValueError,
     r"normalized_shape \(4,\) must be the input's last dimensions, got an input of shape"),
    (lambda: F.layer_norm(tg.zeros(3), (2, 3)), ValueError, "must be the input's last"),
    (lambda: F.layer_norm(tg.zeros(2, 3), (3,), weight=tg.ones(2)), ValueError,
     r"weight must be a Tensor of normalized_shape \(3,\)"),
    (lambda: F.layer_norm(tg.zeros(2, 3), (3,), eps=-1.0), ValueError, "eps"),
    (lambda: nn.LayerNorm(0), ValueError, "positive int"),
    (lambda: nn.LayerNorm(3)(tg.zeros(3, 2)), ValueError, "last dimensions"),
    (lambda: F.layer_norm(np.zeros((2, 3)), (3,)), TypeError, "expects a Tensor"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_torch_raises_for_the_same_shapes(torch):
    with pytest.raises(RuntimeError):
        torch.nn.functional.layer_norm(torch.zeros(2, 3), (4,))
    with pytest.raises(RuntimeError):
        torch.nn.LayerNorm(3)(torch.zeros(3, 2))
