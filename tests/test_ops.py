"""Every primitive op: forward against NumPy, backward by finite differences (float64, random
shapes with broadcasting), both against PyTorch, and dtype preservation in float32."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tinygrad_dropbn as tg
from tinygrad_dropbn import engine


@dataclass(frozen=True)
class Case:
    """One op under test: the same computation written for us, for NumPy and for PyTorch."""

    name: str
    ours: Callable
    numpy: Optional[Callable]  # None: ``ours`` also runs on NumPy arrays
    torch: Optional[Callable]  # None: ``ours`` also runs on torch tensors
    shapes: tuple  # the input shapes of the fixed example
    kind: str  # which random shapes fit the op (see SHAPES)
    domain: str = "real"  # "positive" for ops defined on x > 0 only


def swap_last(a):
    return a.transpose(-1, -2)


def softmax_np(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def logsumexp_np(a, axis=None, keepdims=False):
    shift = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - shift).sum(axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def leaky_relu_np(a):
    return np.where(a > 0, a, 0.1 * a)


def torch_leaky_relu(a):
    import torch
    return torch.nn.functional.leaky_relu(a, 0.1)


def torch_cat(a, b):
    import torch
    return torch.cat([a, b], dim=-1)


def torch_stack(a, b):
    import torch
    return torch.stack([a, b], dim=1)


def torch_where(c, a, b):
    import torch
    return torch.where(c > 0, a, b)


INT_INDEX = np.array([0, 1, 0, 0])  # repeated: gradients must accumulate
GATHER_INDEX = np.array([[2, 2, 0, 1], [0, 1, 1, 1]])

CASES = [
    Case("add", lambda a, b: a + b, None, None, ((2, 3), (3,)), "binary"),
    Case("sub", lambda a, b: a - b, None, None, ((2, 1), (1, 3)), "binary"),
    Case("mul", lambda a, b: a * b, None, None, ((2, 3), (2, 1)), "binary"),
    Case("div", lambda a, b: a / b, None, None, ((2, 3), (3,)), "binary", "positive"),
    Case("neg", lambda a: -a, None, None, ((2, 3),), "unary"),
    Case("scalar ops", lambda a: 2 * a - 1 / (a + 3) + a / 4, None, None, ((3,),), "unary",
         "positive"),
    Case("pow 3", lambda a: a ** 3, None, None, ((2, 3),), "unary"),
    Case("pow 0.5", lambda a: a ** 0.5, None, None, ((2, 3),), "unary", "positive"),
    Case("pow -2", lambda a: a ** -2, None, None, ((2, 3),), "unary", "positive"),
    Case("pow tensor", lambda a, b: a ** b, None, None, ((2, 3), (3,)), "binary", "positive"),
    Case("rpow", lambda a: 2 ** a, None, None, ((2, 3),), "unary"),
    Case("exp", lambda a: a.exp(), np.exp, None, ((2, 3),), "unary"),
    Case("log", lambda a: a.log(), np.log, None, ((2, 3),), "unary", "positive"),
    Case("sqrt", lambda a: a.sqrt(), np.sqrt, None, ((2, 3),), "unary", "positive"),
    Case("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), None, ((2, 3),), "unary"),
    Case("leaky_relu", lambda a: a.leaky_relu(0.1), leaky_relu_np,
         torch_leaky_relu, ((2, 3),), "unary"),
    Case("sigmoid", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), None, ((2, 3),),
         "unary"),
    Case("tanh", lambda a: a.tanh(), np.tanh, None, ((2, 3),), "unary"),
    Case("sin", lambda a: a.sin(), np.sin, None, ((2, 3),), "unary"),
    Case("cos", lambda a: a.cos(), np.cos, None, ((2, 3),), "unary"),
    Case("abs", lambda a: a.abs(), np.abs, None, ((2, 3),), "unary"),
    Case("clip", lambda a: a.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5),
         lambda a: a.clamp(-0.5, 0.5), ((2, 3),), "unary"),
    Case("clip lo", lambda a: a.clip(min=0.1), lambda a: np.maximum(a, 0.1),
         lambda a: a.clamp(min=0.1), ((2, 3),), "unary"),
    Case("maximum", lambda a, b: a.maximum(b), np.maximum,
         lambda a, b: a.maximum(b), ((2, 3), (3,)), "binary"),
    Case("minimum", lambda a, b: tg.minimum(a, b), np.minimum,
         lambda a, b: a.minimum(b), ((2, 3), (2, 1)), "binary"),
    Case("sum", lambda a: a.sum(), np.sum, None, ((2, 3),), "unary"),
    Case("sum axis", lambda a: a.sum(axis=-1), None, lambda a: a.sum(dim=-1), ((2, 3),),
         "reduce"),
    Case("sum axes keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), None,
         lambda a: a.sum(dim=(0, 2), keepdim=True), ((2, 3, 4),), "fixed"),
    Case("mean", lambda a: a.mean(), np.mean, None, ((2, 3),), "unary"),
    Case("mean axis keepdims", lambda a: a.mean(axis=0, keepdims=True), None,
         lambda a: a.mean(dim=0, keepdim=True), ((4, 3),), "reduce"),
    Case("var unbiased", lambda a: a.var(axis=-1), lambda a: a.var(axis=-1, ddof=1),
         lambda a: a.var(dim=-1, unbiased=True), ((3, 4),), "reduce2"),
    Case("var biased", lambda a: a.var(unbiased=False), lambda a: a.var(),
         lambda a: a.var(unbiased=False), ((3, 4),), "reduce2"),
    Case("std unbiased", lambda a: a.std(axis=0), lambda a: a.std(axis=0, ddof=1),
         lambda a: a.std(dim=0, unbiased=True), ((3, 4),), "reduce2"),
    Case("std biased keepdims", lambda a: a.std(axis=-1, keepdims=True, unbiased=False),
         lambda a: a.std(axis=-1, keepdims=True),
         lambda a: a.std(dim=-1, keepdim=True, unbiased=False), ((3, 4),), "reduce2"),
    Case("std", lambda a: a.std(axis=0), lambda a: a.std(axis=0, ddof=1),
         lambda a: a.std(dim=0), ((4, 3),), "reduce2"),
    Case("max", lambda a: a.max(), np.max, lambda a: a.amax(), ((2, 3),), "reduce"),
    Case("max axis", lambda a: a.max(axis=-1), None, lambda a: a.amax(dim=-1), ((2, 3),),
         "reduce"),
    Case("min axis keepdims", lambda a: a.min(axis=0, keepdims=True), None,
         lambda a: a.amin(dim=0, keepdim=True), ((3, 2),), "reduce"),
    Case("logsumexp", lambda a: a.logsumexp(axis=-1), lambda a: logsumexp_np(a, axis=-1),
         lambda a: a.logsumexp(dim=-1), ((2, 3),), "reduce"),
    Case("logsumexp all", lambda a: a.logsumexp(), logsumexp_np,
         lambda a: a.flatten().logsumexp(dim=0), ((2, 3),), "reduce"),
    Case("softmax", lambda a: a.softmax(axis=-1), softmax_np, lambda a: a.softmax(dim=-1),
         ((2, 3),), "reduce"),
    Case("softmax axis 0", lambda a: a.softmax(axis=0), lambda a: softmax_np(a, axis=0),
         lambda a: a.softmax(dim=0), ((3, 2),), "reduce"),
    Case("log_softmax", lambda a: a.log_softmax(axis=-1),
         lambda a: np.log(softmax_np(a)), lambda a: a.log_softmax(dim=-1), ((2, 3),), "reduce"),
    Case("reshape", lambda a: a.reshape(-1), None, None, ((2, 3),), "unary"),
    Case("reshape shape", lambda a: a.reshape(3, 2, 1), None, None, ((2, 3),), "fixed"),
    Case("transpose", lambda a: a.transpose(), np.transpose,
         lambda a: a.permute(*reversed(range(a.ndim))), ((2, 3, 4),), "unary"),
    Case("transpose two axes", swap_last, lambda a: np.swapaxes(a, -1, -2), None, ((2, 3, 4),),
         "matrix"),
    Case("permute", lambda a: a.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0), None,
         ((2, 3, 4),), "fixed"),
    Case("T", lambda a: a.T, None, None, ((2, 3),), "fixed"),
    Case("repeat", lambda a: a.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)), None,
         ((2, 3),), "unary"),
    Case("max dim values", lambda a: a.max(dim=-1).values, lambda a: a.max(axis=-1), None,
         ((2, 3),), "reduce"),
    Case("sort values", lambda a: a.sort(dim=0, descending=True).values,
         lambda a: -np.sort(-a, axis=0), None, ((3, 2),), "reduce"),
    Case("topk values", lambda a: a.topk(2).values, lambda a: -np.sort(-a, axis=-1)[..., :2],
         None, ((3, 4),), "reduce2"),
    Case("gather", lambda a: a.gather(1, GATHER_INDEX),
         lambda a: np.take_along_axis(a, GATHER_INDEX, axis=1),
         lambda a: a.gather(1, __import__("torch").tensor(GATHER_INDEX)), ((2, 3),), "fixed"),
    Case("var correction", lambda a: a.var(dim=0, correction=0), lambda a: a.var(axis=0),
         None, ((3, 4),), "reduce"),
    Case("getitem slice", lambda a: a[1:, ::2], None, None, ((3, 4),), "matrix"),
    Case("getitem int", lambda a: a[0], None, None, ((3, 4),), "reduce"),
    Case("getitem None/Ellipsis", lambda a: a[None, ..., -1], None, None, ((3, 4),), "reduce"),
    Case("getitem repeated", lambda a: a[..., INT_INDEX[:a.shape[-1] + 1]], None, None,
         ((2, 3),), "index"),
    Case("getitem mask", lambda a: a[np.arange(a.shape[0]) % 2 == 0], None, None, ((3, 2),),
         "reduce"),
    Case("concatenate", lambda a, b: tg.concatenate([a, b], axis=-1),
         lambda a, b: np.concatenate([a, b], axis=-1),
         torch_cat, ((2, 3), (2, 3)), "same2"),
    Case("stack", lambda a, b: tg.stack([a, b], axis=1), lambda a, b: np.stack([a, b], axis=1),
         torch_stack, ((2, 3), (2, 3)), "same2"),
    Case("where", lambda c, a, b: tg.where(c.numpy() > 0, a, b),
         lambda c, a, b: np.where(c > 0, a, b),
         torch_where, ((2, 3), (3,), (2, 1)),
         "ternary"),
    Case("matmul", lambda a, b: a @ b, None, None, ((2, 3), (3, 4)), "matmul"),
    Case("matmul batched", lambda a, b: a @ b, None, None, ((2, 1, 2, 3), (4, 3, 2)),
         "fixed"),
    Case("matmul vector right", lambda a, b: a @ b, None, None, ((2, 2, 3), (3,)), "fixed"),
    Case("matmul vector left", lambda a, b: a @ b, None, None, ((3,), (2, 3, 4)), "fixed"),
    Case("matmul dot", lambda a, b: a @ b, None, None, ((3,), (3,)), "fixed"),
]
NAMES = [case.name for case in CASES]


def inputs_for(case: Case, shapes: tuple, rng: np.random.Generator,
               dtype: type = np.float64) -> list[np.ndarray]:
    """Random inputs away from kinks (0 for relu/abs, +-0.5 for clip) and from ties."""
    arrays = []
    for shape in shapes:
        magnitude = rng.uniform(0.6, 1.4, shape) if case.domain == "positive" else (
            rng.uniform(0.05, 0.45, shape) + rng.integers(0, 3, shape) * 0.5)
        sign = 1 if case.domain == "positive" else rng.choice([-1.0, 1.0], shape)
        arrays.append(np.asarray(magnitude * sign, dtype=dtype))
    return arrays


def tensors(arrays: list[np.ndarray], requires_grad: bool = True) -> list[tg.Tensor]:
    return [tg.Tensor(a, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=NAMES)
def test_forward_matches_numpy(case, rng):
    arrays = inputs_for(case, case.shapes, rng)
    out = case.ours(*tensors(arrays))
    expected = (case.numpy or case.ours)(*arrays)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def shape_strategy(kind: str, example: tuple) -> st.SearchStrategy:
    """Random input shapes an op accepts, broadcasting wherever the op broadcasts."""
    def broadcastable(num_shapes: int) -> st.SearchStrategy:
        return mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=3,
                                             max_side=3).map(lambda s: s.input_shapes)

    def single(**bounds) -> st.SearchStrategy:
        return array_shapes(max_dims=3, max_side=3, **bounds).map(lambda s: (s,))

    if kind == "unary":
        return single(min_dims=0, min_side=1)
    if kind == "reduce":
        return single(min_dims=1, min_side=1)
    if kind == "reduce2":  # the unbiased variance needs two elements along each axis
        return single(min_dims=1, min_side=2)
    if kind in ("matrix", "index"):
        return single(min_dims=2, min_side=2)
    if kind == "binary":
        return broadcastable(2)
    if kind == "ternary":
        return broadcastable(3)
    if kind == "same2":
        return single(min_dims=2, min_side=1).map(lambda s: s * 2)
    if kind == "matmul":
        return st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                         mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2)
                         ).map(lambda p: ((*p[3].input_shapes[0], p[0], p[1]),
                                          (*p[3].input_shapes[1], p[1], p[2])))
    return st.just(example)


@pytest.mark.parametrize("case", CASES, ids=NAMES)
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_backward_matches_finite_differences(case, data):
    shapes = data.draw(shape_strategy(case.kind, case.shapes), label="shapes")
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    arrays = inputs_for(case, shapes, np.random.default_rng(seed))
    assert tg.gradcheck(case.ours, tensors(arrays))


@pytest.mark.parametrize("case", CASES, ids=NAMES)
def test_forward_and_backward_match_torch(case, rng, torch):
    arrays = inputs_for(case, case.shapes, rng)
    ours_in = tensors(arrays)
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = case.ours(*ours_in)
    expected = (case.torch or case.ours)(*theirs_in)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for mine, theirs in zip(ours_in, theirs_in):
        reference = np.zeros(mine.shape) if theirs.grad is None else theirs.grad.numpy()
        got = np.zeros(mine.shape) if mine.grad is None else mine.grad.numpy()
        np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=NAMES)
def test_float32_in_float32_out_values_and_gradients(case, rng):
    ours_in = tensors(inputs_for(case, case.shapes, rng, dtype=np.float32))
    out = case.ours(*ours_in)
    assert out.dtype == np.float32
    received = []
    engine.backward_hooks.append(lambda fn, grad, input_grads: received.append((fn, grad)))
    try:
        out.backward(np.ones(out.shape, dtype=np.float32))
    finally:
        engine.backward_hooks.clear()
    for fn, grad in received:
        assert grad.dtype == np.float32, fn.name
    for t in ours_in:
        assert t.grad is None or t.grad.dtype == np.float32


def test_float32_chain_through_every_op_stays_float32(rng):
    x = tg.Tensor(rng.uniform(0.5, 1.5, (4, 3)).astype(np.float32), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    labels = np.array([0, 2, 1, 1])  # int64, as labels are
    values = []

    def keep(t):
        values.append(t)
        return t

    h = keep(x @ w + 1)
    h = keep((h * 2 - 0.5) / 3 + labels[:, None])
    h = keep(h.relu() + h.sigmoid() + h.tanh() + h.leaky_relu() + h.abs().sqrt().exp().log())
    h = keep(h ** 2 + (h.clip(-1, 1) ** x.mean()) + 2 ** h.clip(-1, 1) - h)
    h = keep(h.maximum(0.1) + tg.minimum(h, np.float64(0.3)) + h.max(axis=0) + h.min(axis=1,
                                                                               keepdims=True))
    h = keep(h.var(axis=0) + h.std() + h.mean(axis=1, keepdims=True) + h.sum(axis=0))
    h = keep(tg.concatenate([h, h.T.reshape(4, 3)], axis=1))
    h = keep(tg.stack([h, -h]).transpose(1, 0, 2).reshape(4, 12)[:, ::2])
    h = keep(tg.where(h.numpy() > 0, h, h * 0.5)[np.array([0, 0, 3])])
    h = keep(h.log_softmax(axis=1) + h.softmax(axis=1) + h.logsumexp(axis=1, keepdims=True))
    loss = keep(-h[np.arange(3), labels[:3]].mean())
    received = []
    engine.backward_hooks.append(lambda fn, grad, input_grads: received.append((fn, grad)))
    try:
        loss.backward()
    finally:
        engine.backward_hooks.clear()
    assert [t.dtype for t in values] == [np.float32] * len(values)
    assert len(received) > 30
    for fn, grad in received:
        assert grad.dtype == np.float32, fn.name
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_pow_zero_has_zero_gradient_even_at_zero():
    x = tg.Tensor([0.0, 2.0, -1.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_pow_tensor_exponent_zero_and_zero_base_give_zero_not_nan():
    base = tg.Tensor([0.0, 0.0, 2.0], requires_grad=True)
    exponent = tg.Tensor([0.0, 2.0, 0.0], requires_grad=True)
    (base ** exponent).sum().backward()
    np.testing.assert_array_equal(base.grad.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(exponent.grad.numpy(), [0.0, 0.0, np.log(2.0)])


def sigmoid_np(a):
    return 0.5 * (1 + np.tanh(a / 2))  # no exp: cannot overflow


# (op, its output, its gradient for an upstream gradient of ones), in float64 NumPy.
STABILITY_CASES = [
    (lambda x: x.sigmoid(), sigmoid_np, lambda a: sigmoid_np(a) * (1 - sigmoid_np(a))),
    (lambda x: x.logsumexp(axis=1), lambda a: logsumexp_np(a, axis=1), softmax_np),
    (lambda x: x.log_softmax(axis=1), lambda a: a - logsumexp_np(a, axis=1, keepdims=True),
     lambda a: 1 - a.shape[1] * softmax_np(a)),
    (lambda x: x.softmax(axis=1), softmax_np, np.zeros_like),
]


@pytest.mark.parametrize("op, output, gradient", STABILITY_CASES,
                         ids=["sigmoid", "logsumexp", "log_softmax", "softmax"])
def test_stable_for_inputs_in_the_thousands(op, output, gradient):
    data = np.array([[-3000.0, 0.0, 3000.0], [1000.0, 1000.0, -1000.0]], dtype=np.float32)
    x = tg.Tensor(data, requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no inf, no 0 * inf
        out = op(x)
        out.backward(np.ones(out.shape, dtype=np.float32))
    exact = data.astype(np.float64)
    np.testing.assert_allclose(out.numpy(), output(exact), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), gradient(exact), rtol=1e-6, atol=1e-6)


def test_repeated_integer_indices_accumulate():
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_index_with_a_tensor_of_indices():
    x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    index = tg.Tensor(np.array([1, 1]))
    out = x[index, tg.Tensor(np.array([0, 1]))]
    np.testing.assert_array_equal(out.numpy(), [3.0, 4.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0], [1.0, 1.0]])


@pytest.mark.parametrize("reduce, expected", [
    (lambda x: x.max(), [0.5, 0.0, 0.5]),
    (lambda x: x.min(), [0.0, 1.0, 0.0]),
    (lambda x: x.maximum(tg.Tensor([3.0, 0.0, 0.0])), [0.5, 1.0, 1.0]),
], ids=["max", "min", "maximum"])
def test_ties_share_the_gradient_evenly_like_torch(reduce, expected):
    x = tg.Tensor([3.0, 1.0, 3.0], requires_grad=True)
    reduce(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_clip_passes_the_gradient_at_its_bounds_like_torch_clamp():
    x = tg.Tensor([-1.0, -0.5, 0.0, 0.5, 1.0], requires_grad=True)
    x.clip(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])


def test_cast_between_float_dtypes_is_differentiable():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert x.astype(np.float32) is x
    assert not x.astype(np.int64).requires_grad


def test_ops_record_display_attributes_that_survive_release():
    x = tg.Tensor([[1.0, 2.0]], requires_grad=True)
    out = (x ** 2).sum(axis=1)
    power = out.grad_fn.inputs[0].grad_fn
    out.sum().backward()
    assert power.released and power.name == "Pow ** 2"
    assert out.grad_fn.axes == (1,) and not hasattr(power, "x")


def test_std_of_constant_input_has_zero_gradient():
    x = tg.Tensor(np.full((2, 3), 4.0), requires_grad=True)
    x.std().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_one_name_per_thing_no_op_is_named_like_a_module():
    import inspect

    import tinygrad_dropbn.nn as nn
    from tinygrad_dropbn import ops
    from tinygrad_dropbn.ops import batchnorm, dropout, linear, losses, primitives

    op_names = {name for module in (primitives, batchnorm, dropout, linear, losses)
                for name, value in vars(module).items()
                if inspect.isclass(value) and issubclass(value, tg.Function)
                and value.__module__ == module.__name__}
    module_names = {name for name, value in vars(nn).items()
                    if inspect.isclass(value) and issubclass(value, nn.Module)}
    assert {"Rectify", "HyperbolicTangent", "Pow", "Affine", "Drop"} <= op_names
    assert not op_names & module_names
    assert not {"Power", "LinearOp"} & op_names
    # every Function subclass of the package lives in ops/
    package = Path(tg.__file__).parent
    for path in package.rglob("*.py"):
        if path.parent.name != "ops":
            assert "(Function):" not in path.read_text(), path
    assert ops.__doc__
