"""PyTorch code runs unchanged: each snippet below runs once with ``lib = torch`` and once with
``lib = tinygrad_dropbn``, on the same inputs, and the two must agree on values, dtypes,
shapes, named-tuple fields and gradients."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_dropbn as tg

RNG = np.random.default_rng(0)
X = RNG.permutation(12).reshape(3, 4).astype(np.float32) / 4 - 1.3  # distinct: no ties
Y = RNG.standard_normal((3, 4)).astype(np.float32)
W = RNG.standard_normal((4, 2)).astype(np.float32)
Z = RNG.standard_normal((2, 3, 4)).astype(np.float32)
ONES = RNG.standard_normal((1, 3, 1, 4)).astype(np.float32)
COL = RNG.standard_normal((3, 1)).astype(np.float32)
INTS = np.array([[3, 1, 2], [0, 5, 4]], dtype=np.int64)

# (name, snippet(lib, *inputs), inputs): float inputs require grad.
SNIPPETS = [
    # axes: dim/keepdim and axis/keepdims everywhere
    ("sum dim keepdim", lambda lib, x: x.sum(dim=1, keepdim=True), [X]),
    ("sum dims tuple", lambda lib, x: x.sum((0, 2)), [Z]),
    ("sum positional", lambda lib, x: x.sum(0), [X]),
    ("mean dim", lambda lib, x: x.mean(1), [X]),
    ("mean dim keepdim", lambda lib, x: x.mean(dim=0, keepdim=True), [X]),
    ("max dim", lambda lib, x: x.max(1), [X]),
    ("max dim keepdim", lambda lib, x: x.max(dim=0, keepdim=True), [X]),
    ("min dim", lambda lib, x: x.min(dim=-1), [X]),
    ("max all", lambda lib, x: x.max(), [X]),
    ("min all", lambda lib, x: x.min(), [X]),
    ("max of two tensors", lambda lib, x, y: x.max(y), [X, Y]),
    ("amax dims", lambda lib, x: x.amax(dim=(0, 2)), [Z]),
    ("argmax", lambda lib, x: x.argmax(), [X]),
    ("argmax dim", lambda lib, x: x.argmax(dim=1), [X]),
    ("argmax dim keepdim", lambda lib, x: x.argmax(0, keepdim=True), [X]),
    ("argmin dim", lambda lib, x: x.argmin(1), [X]),
    ("sort", lambda lib, x: x.sort(), [X]),
    ("sort dim descending", lambda lib, x: x.sort(dim=0, descending=True), [X]),
    ("sort ties stable", lambda lib, x: x.sort(stable=True, descending=True),
     [np.array([[2.0, 1.0, 2.0, 1.0, 2.0]], np.float32)]),
    ("argsort", lambda lib, x: x.argsort(dim=1, descending=True), [X]),
    ("topk", lambda lib, x: x.topk(2), [X]),
    ("topk smallest dim 0", lambda lib, x: x.topk(2, dim=0, largest=False), [X]),
    ("gather", lambda lib, x: x.gather(1, lib.tensor([[0, 0], [1, 0], [3, 2]])), [X]),
    ("logsumexp", lambda lib, x: x.logsumexp(dim=1, keepdim=True), [X]),
    ("softmax dim", lambda lib, x: x.softmax(dim=0), [X]),
    ("log_softmax dim", lambda lib, x: x.log_softmax(1), [X]),
    # reductions: var/std
    ("var dim unbiased False", lambda lib, x: x.var(dim=1, unbiased=False), [X]),
    ("var correction 0", lambda lib, x: x.var(1, correction=0), [X]),
    ("var positional unbiased", lambda lib, x: x.var(False), [X]),
    ("std dim keepdim", lambda lib, x: x.std(dim=0, keepdim=True), [X]),
    ("std correction 2", lambda lib, x: x.std(correction=2), [X]),
    ("var all", lambda lib, x: x.var(), [X]),
    ("mean of nothing is nan", lambda lib: lib.zeros(0, 3).mean(0), []),
    ("mean of empty tensor is nan", lambda lib: lib.tensor([]).mean(), []),
    ("sum of nothing is 0", lambda lib: lib.zeros(0, 3).sum(0), []),
    ("var of one element is nan", lambda lib: lib.tensor([1.5]).var(), []),
    # dtypes
    ("tensor ints are int64", lambda lib: lib.tensor([0, 2, 1]), []),
    ("tensor floats are float32", lambda lib: lib.tensor([1.5, 2]), []),
    ("tensor bools are bool", lambda lib: lib.tensor([True, False]), []),
    ("tensor mixed is float32", lambda lib: lib.tensor([[1, 2], [3, 4.0]]), []),
    ("tensor int scalar", lambda lib: lib.tensor(3), []),
    ("tensor float scalar", lambda lib: lib.tensor(2.5), []),
    ("tensor dtype=", lambda lib: lib.tensor([1, 2], dtype=lib.float64), []),
    ("Tensor is float32", lambda lib: lib.Tensor([1, 2]), []),
    ("long", lambda lib, x: x.long(), [X]),
    ("int", lambda lib, x: x.int(), [X]),
    ("double", lambda lib, x: x.double() * 2, [X]),
    ("half", lambda lib, x: x.half(), [X]),
    ("bool", lambda lib, x: x.bool(), [X]),
    ("float of long", lambda lib: lib.tensor([1, 2]).float(), []),
    ("to dtype", lambda lib, x: x.to(lib.float64), [X]),
    ("to int dtype", lambda lib, x: x.to(lib.int64), [X]),
    ("to cpu", lambda lib, x: x.to("cpu") * 1, [X]),
    ("to cpu and dtype", lambda lib, x: x.to("cpu", lib.float64), [X]),
    ("to dtype=", lambda lib, x: x.to(dtype=lib.float64), [X]),
    ("to other tensor", lambda lib, x: x.to(lib.tensor([1], dtype=lib.float64)), [X]),
    ("type dtype", lambda lib, x: x.type(lib.float64), [X]),
    ("names", lambda lib: [lib.tensor([1], dtype=d) for d in (
        lib.float32, lib.float64, lib.float16, lib.int64, lib.int32, lib.int16, lib.int8,
        lib.uint8, lib.bool, lib.long, lib.int, lib.float, lib.double, lib.half, lib.short)],
     []),
    ("int + float scalar", lambda lib: lib.tensor([1, 2]) + 0.5, []),
    ("int + float32 tensor", lambda lib, x: lib.tensor([1, 2, 3, 4]) + x, [X]),
    ("int / int", lambda lib: lib.tensor([1, 2]) / lib.tensor([2, 2]), []),
    ("int32 + python int", lambda lib: lib.tensor([1, 2], dtype=lib.int32) + 2, []),
    ("int32 + int64", lambda lib: lib.tensor([1], dtype=lib.int32) + lib.tensor([2]), []),
    ("int32 + 0-d int64", lambda lib: lib.tensor([1], dtype=lib.int32) + lib.tensor(2), []),
    ("int + float64", lambda lib: lib.tensor([1]) + lib.tensor([2.0], dtype=lib.float64), []),
    ("float32 + 0-d float64", lambda lib, x: x + lib.tensor(2.0, dtype=lib.float64), [X]),
    ("float32 + float64", lambda lib, x: x * lib.tensor([2.0], dtype=lib.float64), [X]),
    ("bool + int", lambda lib: lib.tensor([True, False]) + 1, []),
    ("int * float", lambda lib: lib.tensor([3]) * 1.5, []),
    ("comparison is bool", lambda lib, x: x > 0, [X]),
    # shapes
    ("view -1", lambda lib, x: x.view(-1), [X]),
    ("view 2 6", lambda lib, x: x.view(2, 6), [X]),
    ("view tuple", lambda lib, x: x.view((6, 2)), [X]),
    ("view_as", lambda lib, x: x.view_as(lib.zeros(6, 2)), [X]),
    ("reshape -1 n", lambda lib, x: x.reshape(-1, 2), [X]),
    ("flatten", lambda lib, x: x.flatten(), [Z]),
    ("flatten 0 1", lambda lib, x: x.flatten(0, 1), [Z]),
    ("flatten start_dim", lambda lib, x: x.flatten(start_dim=1), [Z]),
    ("unflatten", lambda lib, x: x.unflatten(1, (2, 2)), [X]),
    ("unflatten -1", lambda lib, x: x.unflatten(-1, (2, -1)), [Z]),
    ("permute", lambda lib, x: x.permute(2, 0, 1), [Z]),
    ("permute tuple", lambda lib, x: x.permute((1, 0, 2)), [Z]),
    ("transpose dims", lambda lib, x: x.transpose(0, 2), [Z]),
    ("transpose negative", lambda lib, x: x.transpose(-1, -2), [Z]),
    ("t", lambda lib, x: x.t(), [X]),
    ("t of vector", lambda lib: lib.tensor([1.0, 2.0]).t(), []),
    ("T", lambda lib, x: x.T, [X]),
    ("unsqueeze", lambda lib, x: x.unsqueeze(0), [X]),
    ("unsqueeze -1", lambda lib, x: x.unsqueeze(-1), [X]),
    ("unsqueeze dim=", lambda lib, x: x.unsqueeze(dim=1), [X]),
    ("squeeze", lambda lib, x: x.squeeze(), [ONES]),
    ("squeeze dim", lambda lib, x: x.squeeze(2), [ONES]),
    ("squeeze not-1 dim is a no-op", lambda lib, x: x.squeeze(1), [ONES]),
    ("squeeze dims tuple", lambda lib, x: x.squeeze((0, 2)), [ONES]),
    ("expand", lambda lib, x: x.expand(2, 3, 4), [COL]),
    ("expand -1", lambda lib, x: x.expand(-1, 5), [COL]),
    ("expand_as", lambda lib, x, y: x.expand_as(y), [COL, X]),
    ("repeat", lambda lib, x: x.repeat(2, 3), [X]),
    ("repeat new dims", lambda lib, x: x.repeat(2, 1, 3), [X]),
    ("repeat tuple", lambda lib, x: x.repeat((1, 2)), [COL]),
    ("chunk", lambda lib, x: x.chunk(2), [X]),
    ("chunk dim", lambda lib, x: x.chunk(3, dim=1), [X]),
    ("split size", lambda lib, x: x.split(3, dim=1), [X]),
    ("split sections", lambda lib, x: x.split([1, 3], dim=1), [X]),
    ("size", lambda lib, x: tuple(x.size()), [Z]),
    ("size d", lambda lib, x: (x.size(1), x.size(-1), x.size(dim=0)), [Z]),
    ("dim numel", lambda lib, x: (x.dim(), x.numel()), [Z]),
    ("cat dim", lambda lib, x, y: lib.cat([x, y], dim=1), [X, Y]),
    ("cat default", lambda lib, x, y: lib.cat((x, y)), [X, Y]),
    ("cat negative", lambda lib, x, y: lib.cat([x, y], dim=-1), [X, Y]),
    ("stack dim", lambda lib, x, y: lib.stack([x, y], dim=1), [X, Y]),
    ("stack default", lambda lib, x, y: lib.stack([x, y]), [X, Y]),
    # method forms
    ("add alpha", lambda lib, x, y: x.add(y, alpha=2), [X, Y]),
    ("add scalar", lambda lib, x: x.add(1), [X]),
    ("sub", lambda lib, x, y: x.sub(y), [X, Y]),
    ("sub alpha", lambda lib, x, y: x.sub(y, alpha=0.5), [X, Y]),
    ("mul", lambda lib, x, y: x.mul(y), [X, Y]),
    ("div", lambda lib, x, y: x.div(y), [X, Y]),
    # (a rounded quotient is a constant here; PyTorch gives it a zero gradient)
    ("div floor", lambda lib, x, y: x.div(y, rounding_mode="floor").detach(), [X, Y]),
    ("div trunc", lambda lib, x, y: x.div(y, rounding_mode="trunc").detach(), [X, Y]),
    ("int div floor", lambda lib: lib.tensor([7, -7]).div(2, rounding_mode="floor"), []),
    ("matmul", lambda lib, x, w: x.matmul(w), [X, W]),
    ("mm", lambda lib, x, w: x.mm(w), [X, W]),
    ("pow", lambda lib, x: x.pow(2), [X]),
    ("exp log", lambda lib, x: (x.exp() + 1).log(), [X]),
    ("neg square", lambda lib, x: x.neg() + x.square(), [X]),
    ("clamp min", lambda lib, x: x.clamp(min=0), [X]),
    ("clamp max", lambda lib, x: x.clamp(max=0.1), [X]),
    ("clamp both", lambda lib, x: x.clamp(min=-0.5, max=0.5), [X]),
    ("clamp positional", lambda lib, x: x.clamp(-0.5, 0.5), [X]),
    ("clamp tensor bounds", lambda lib, x, y: x.clamp(min=y), [X, Y]),
    ("clip", lambda lib, x: x.clip(min=-0.2), [X]),
    ("clone", lambda lib, x: x.clone() * 2, [X]),
    ("tolist", lambda lib, x: x.tolist(), [X]),
    ("tolist int", lambda lib: lib.tensor([[1, 2]]).tolist(), []),
    ("item", lambda lib, x: x.sum().item(), [X]),
    ("is_floating_point", lambda lib, x: (x.is_floating_point(),
                                          x.long().is_floating_point()), [X]),
    ("in-place operators", lambda lib, x: _in_place(lib, x), [X]),
    # function forms
    ("tg.add", lambda lib, x, y: lib.add(x, y, alpha=3), [X, Y]),
    ("tg.sub", lambda lib, x, y: lib.sub(x, y), [X, Y]),
    ("tg.mul", lambda lib, x: lib.mul(x, 3), [X]),
    ("tg.div", lambda lib, x, y: lib.div(x, y), [X, Y]),
    ("tg.matmul", lambda lib, x, w: lib.matmul(x, w), [X, W]),
    ("tg.mm", lambda lib, x, w: lib.mm(x, w), [X, W]),
    ("tg.pow", lambda lib, x: lib.pow(x, 3), [X]),
    ("tg.exp", lambda lib, x: lib.exp(x), [X]),
    ("tg.log", lambda lib, x: lib.log(lib.abs(x) + 1), [X]),
    ("tg.sqrt", lambda lib, x: lib.sqrt(lib.abs(x) + 1), [X]),
    ("tg.tanh", lambda lib, x: lib.tanh(x), [X]),
    ("tg.sin tg.cos", lambda lib, x: lib.sin(x) * lib.cos(x) + x.sin() + x.cos(), [X]),
    ("tg.sigmoid", lambda lib, x: lib.sigmoid(x), [X]),
    ("tg.relu", lambda lib, x: lib.relu(x), [X]),
    ("tg.neg tg.square", lambda lib, x: lib.neg(x) * lib.square(x), [X]),
    ("tg.sum", lambda lib, x: lib.sum(x, dim=1), [X]),
    ("tg.sum all", lambda lib, x: lib.sum(x), [X]),
    ("tg.mean", lambda lib, x: lib.mean(x, 0, keepdim=True), [X]),
    ("tg.var tg.std", lambda lib, x: (lib.var(x, 1), lib.std(x, dim=0, unbiased=False)), [X]),
    ("tg.max dim", lambda lib, x: lib.max(x, 1), [X]),
    ("tg.max dim=", lambda lib, x: lib.max(x, dim=0, keepdim=True), [X]),
    ("tg.max all", lambda lib, x: lib.max(x), [X]),
    ("tg.max two tensors", lambda lib, x, y: lib.max(x, y), [X, Y]),
    ("tg.min dim", lambda lib, x: lib.min(x, dim=1), [X]),
    ("tg.amax", lambda lib, x: lib.amax(x, dim=1), [X]),
    ("tg.argmax", lambda lib, x: lib.argmax(x, dim=1), [X]),
    ("tg.argmax all", lambda lib, x: lib.argmax(x), [X]),
    ("tg.argmin", lambda lib, x: lib.argmin(x, 0), [X]),
    ("tg.sort", lambda lib, x: lib.sort(x, dim=0), [X]),
    ("tg.argsort", lambda lib, x: lib.argsort(x), [X]),
    ("tg.topk", lambda lib, x: lib.topk(x, 3, dim=1), [X]),
    ("tg.gather", lambda lib, x: lib.gather(x, 0, lib.tensor([[2, 1, 0, 0]])), [X]),
    ("tg.softmax", lambda lib, x: lib.softmax(x, dim=1), [X]),
    ("tg.log_softmax", lambda lib, x: lib.log_softmax(x, 0), [X]),
    ("tg.logsumexp", lambda lib, x: lib.logsumexp(x, 1), [X]),
    ("tg.where", lambda lib, x, y: lib.where(x > 0, x, y), [X, Y]),
    ("tg.where scalar", lambda lib, x: lib.where(x > 0, x, 0.0), [X]),
    ("tg.where scalar first", lambda lib, x: lib.where(x > 0, 1.0, x), [X]),
    ("tg.where float scalars", lambda lib, x: lib.where(x > 0, 1.0, -1.0), [X]),
    ("tg.where int scalars", lambda lib, x: lib.where(x > 0, 1, 0), [X]),
    ("tg.where int and float", lambda lib, x: lib.where(x > 0, 1, 0.5), [X]),
    ("tg.clamp", lambda lib, x: lib.clamp(x, min=-0.5, max=0.5), [X]),
    ("tg.clamp min", lambda lib, x: lib.clamp(x, min=0.0), [X]),
    ("tg.clip", lambda lib, x: lib.clip(x, -0.1, 0.1), [X]),
    ("tg.abs", lambda lib, x: lib.abs(x), [X]),
    ("tg.reshape", lambda lib, x: lib.reshape(x, (2, -1)), [X]),
    ("tg.flatten", lambda lib, x: lib.flatten(x, 1), [Z]),
    ("tg.unflatten", lambda lib, x: lib.unflatten(x, 0, (3, 1)), [X]),
    ("tg.transpose", lambda lib, x: lib.transpose(x, 0, 1), [X]),
    ("tg.permute", lambda lib, x: lib.permute(x, (2, 1, 0)), [Z]),
    ("tg.t", lambda lib, x: lib.t(x), [X]),
    ("tg.squeeze", lambda lib, x: lib.squeeze(x, 0), [ONES]),
    ("tg.unsqueeze", lambda lib, x: lib.unsqueeze(x, 1), [X]),
    ("tg.chunk", lambda lib, x: lib.chunk(x, 2, dim=1), [X]),
    ("tg.split", lambda lib, x: lib.split(x, [2, 1]), [X]),
    ("tg.clone", lambda lib, x: lib.clone(x), [X]),
    ("tg.numel", lambda lib, x: lib.numel(x), [Z]),
    ("tg.maximum", lambda lib, x, y: lib.maximum(x, y), [X, Y]),
    # factories
    ("zeros_like", lambda lib, x: lib.zeros_like(x), [X]),
    ("ones_like dtype", lambda lib, x: lib.ones_like(x, dtype=lib.int64), [X]),
    ("full", lambda lib: lib.full((2, 3), 7), []),
    ("full float", lambda lib: lib.full((2,), 1.5), []),
    ("full bool", lambda lib: lib.full((2,), True), []),
    ("full dtype", lambda lib: lib.full((2, 2), 3, dtype=lib.float32), []),
    ("full_like", lambda lib, x: lib.full_like(x, 2), [X]),
    ("full_like int", lambda lib: lib.full_like(lib.tensor([1, 2]), 2.7), []),
    ("arange", lambda lib: lib.arange(5), []),
    ("arange start end", lambda lib: lib.arange(1, 4), []),
    ("arange float step", lambda lib: lib.arange(0, 1, 0.25), []),
    ("arange dtype", lambda lib: lib.arange(3, dtype=lib.float64), []),
    ("linspace", lambda lib: lib.linspace(-1, 1, 5), []),
    ("linspace pi", lambda lib: lib.linspace(-3.14159, 3.14159, 7), []),
    ("linspace float64", lambda lib: lib.linspace(0, 1, 7, dtype=lib.float64) * 3, []),
    ("eye", lambda lib: lib.eye(3), []),
    ("eye rectangular", lambda lib: lib.eye(2, 3), []),
    ("zeros dtype", lambda lib: lib.zeros(2, 3, dtype=lib.int64), []),
    ("ones tuple", lambda lib: lib.ones((2,)), []),
    ("zeros requires_grad", lambda lib: lib.zeros(2, requires_grad=True).requires_grad, []),
    ("empty shape", lambda lib: (tuple(lib.empty(2, 3).shape), lib.empty(2).dtype ==
                                 lib.float32), []),
]


def _in_place(lib, x):
    y = x * 1
    y += 1
    y *= 2
    y -= x
    y /= 4
    return y


def _tensor_in(lib, array):
    return lib.tensor(array, requires_grad=array.dtype.kind == "f")


def _flat(value) -> list:
    """Every leaf of a (nested, named) tuple or list of results, with the tuple's field names."""
    if isinstance(value, (tuple, list)):
        # NOTE: torch's are structseqs, without _fields
        fields = getattr(value, "_fields", None) or (
            ("values", "indices") if hasattr(value, "indices") else None)
        out = [("fields", tuple(fields))] if fields else []
        for item in value:
            out += _flat(item)
        return out
    return [value]


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _compare(ours, theirs, torch) -> None:
    ours, theirs = _flat(ours), _flat(theirs)
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        if isinstance(reference, torch.Tensor):
            assert isinstance(mine, tg.Tensor), type(mine)
            assert mine.shape == tuple(reference.shape)
            assert _dtype_name(mine.dtype) == _dtype_name(reference.dtype)
            np.testing.assert_allclose(mine.numpy().astype(np.float64),
                                       reference.detach().numpy().astype(np.float64),
                                       rtol=2e-6, atol=1e-6, equal_nan=True)
        else:
            assert type(mine) is type(reference) and mine == reference, (mine, reference)


def _float_outputs(value) -> list:
    return [v for v in _flat(value) if hasattr(v, "requires_grad") and v.requires_grad]


@pytest.mark.filterwarnings("ignore:var.*degrees of freedom")  # torch's warning for n <= 1
@pytest.mark.parametrize("snippet, arrays", [s[1:] for s in SNIPPETS],
                         ids=[s[0] for s in SNIPPETS])
def test_snippet_matches_torch(snippet, arrays, torch):
    ours_in = [_tensor_in(tg, a) for a in arrays]
    theirs_in = [_tensor_in(torch, a) for a in arrays]
    ours, theirs = snippet(tg, *ours_in), snippet(torch, *theirs_in)
    _compare(ours, theirs, torch)
    ours_out, theirs_out = _float_outputs(ours), _float_outputs(theirs)
    assert len(ours_out) == len(theirs_out)
    if not theirs_out:
        return
    upstream = [RNG.standard_normal(t.shape) for t in theirs_out]
    sum((tg.tensor(u, dtype=o.dtype) * o).sum() for o, u in zip(ours_out, upstream)).backward()
    sum((torch.tensor(u, dtype=t.dtype) * t).sum() for t, u in zip(theirs_out, upstream)) \
        .backward()
    for mine, reference in zip(ours_in, theirs_in):
        if reference.grad is None:
            assert mine.grad is None
        else:
            assert mine.grad.dtype == mine.dtype
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=2e-5,
                                       atol=1e-5)


# Errors where PyTorch raises too.
ERRORS = [
    ("t of 3-d", lambda lib, x: x.t(), [Z]),
    ("split sections that do not add up", lambda lib, x: x.split([1, 1], dim=1), [X]),
    ("unflatten sizes that do not multiply", lambda lib, x: x.unflatten(1, (3, 3)), [X]),
    ("view of a wrong size", lambda lib, x: x.view(5, -1), [X]),
    ("expand to a wrong size", lambda lib, x: x.expand(3, 5), [X]),
    ("topk larger than the dim", lambda lib, x: x.topk(5), [X]),
    ("hook on a tensor without grad", lambda lib: lib.zeros(2).register_hook(print), []),
    ("mean of an integer tensor", lambda lib: lib.tensor([1, 2]).mean(), []),
    ("squeeze out of range", lambda lib, x: x.squeeze(3), [X]),
    ("cat mismatched shapes", lambda lib, x, w: lib.cat([x, w]), [X, W]),
    ("transpose out of range", lambda lib, x: x.transpose(0, 2), [X]),
]


@pytest.mark.parametrize("snippet, arrays", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_raises_where_torch_raises(snippet, arrays, torch):
    with pytest.raises((RuntimeError, IndexError, ValueError, TypeError)):
        snippet(torch, *[_tensor_in(torch, a) for a in arrays])
    with pytest.raises((RuntimeError, ValueError, TypeError)) as caught:
        snippet(tg, *[_tensor_in(tg, a) for a in arrays])
    assert len(str(caught.value)) > 20  # a message, not a bare NumPy error


def test_other_devices_raise_clearly():
    x = tg.tensor([1.0])
    for device in ("cuda", "cuda:0", "mps"):
        with pytest.raises(RuntimeError, match="CPU.*only"):
            x.to(device)
        with pytest.raises(RuntimeError, match="CPU.*only"):
            tg.zeros(2, device=device)
    assert x.to("cpu") is x and x.to("cpu:0") is x and x.cpu() is x and x.device == "cpu"
    assert x.to(tg.float32) is x and x.to(tg.float32, copy=True) is not x


def test_dim_and_axis_spellings_agree_and_conflicts_raise():
    x = tg.tensor(X)
    for method in ("sum", "mean", "amax", "amin", "logsumexp", "var", "std"):
        by_dim = getattr(x, method)(dim=1, keepdim=True)
        by_axis = getattr(x, method)(axis=1, keepdims=True)
        np.testing.assert_array_equal(by_dim.numpy(), by_axis.numpy())
        assert by_dim.shape == (3, 1)
    assert x.max(axis=1).shape == (3,), "axis= gives the values, as NumPy's max does"
    np.testing.assert_array_equal(x.max(axis=1).numpy(), x.max(dim=1).values.numpy())
    np.testing.assert_array_equal(x.argmax(axis=1).numpy(), x.argmax(dim=1).numpy())
    np.testing.assert_array_equal(tg.cat([x, x], axis=1).numpy(), tg.cat([x, x], 1).numpy())
    np.testing.assert_array_equal(tg.stack([x, x], axis=2).numpy(),
                                  tg.stack([x, x], dim=2).numpy())
    assert x.unsqueeze(axis=0).shape == x.squeeze(axis=0).unsqueeze(dim=0).shape == (1, 3, 4)
    with pytest.raises(TypeError, match="pass one"):
        x.sum(dim=0, axis=1)
    with pytest.raises(TypeError, match="pass one"):
        x.var(unbiased=False, correction=1)


def test_max_with_dim_is_a_named_tuple_that_unpacks():
    values, indices = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]]).max(1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    result = tg.tensor([3, 1, 2]).sort()
    assert isinstance(result, tg.ValuesIndices) and result.indices.dtype == tg.int64
    assert result.values.tolist() == [1, 2, 3]


def test_from_numpy_shares_memory_both_ways(torch):
    array = np.arange(4.0)
    t = tg.from_numpy(array)
    array[0] = 10.0
    t.add_(1)
    assert t.tolist() == [11.0, 2.0, 3.0, 4.0] and array.tolist() == t.tolist()
    reference = np.arange(4.0)
    torch.from_numpy(reference).add_(1)
    assert tg.from_numpy(np.arange(4.0)).dtype == tg.float64 == reference.dtype
    with pytest.raises(TypeError, match="ndarray"):
        tg.from_numpy([1, 2])


def test_random_factories_shapes_dtypes_ranges_and_seed():
    tg.manual_seed(7)
    first = [tg.randn(2, 3), tg.rand((4,)), tg.randint(0, 5, (200,)), tg.randint(3, (2, 2))]
    tg.manual_seed(7)
    second = [tg.randn(2, 3), tg.rand((4,)), tg.randint(0, 5, (200,)), tg.randint(3, (2, 2))]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    randn, rand, randint, small = first
    assert randn.shape == (2, 3) and randn.dtype == tg.float32
    assert rand.dtype == tg.float32 and (0 <= rand.numpy()).all() and (rand.numpy() < 1).all()
    assert randint.dtype == tg.int64 and set(randint.tolist()) == {0, 1, 2, 3, 4}
    assert small.shape == (2, 2) and small.numpy().max() < 3
    like = tg.randn_like(tg.zeros(3, dtype=tg.float64))
    assert like.shape == (3,) and like.dtype == tg.float64
    assert tg.rand_like(tg.zeros(2, 2)).shape == (2, 2)
    assert tg.randn(3, requires_grad=True).requires_grad
    assert tg.randint(0, 4, size=(3,), dtype=tg.int32).dtype == tg.int32


def test_conversions_keep_the_graph_between_floats(torch):
    x = tg.tensor(X, requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == tg.float32 and np.allclose(x.grad.numpy(), 3)
    assert not x.long().requires_grad and x.long().dtype == tg.long
    assert x.type() == "tinygrad_dropbn.FloatTensor"
    assert torch.tensor(X).type() == "torch.FloatTensor"
    assert tg.tensor([1]).type() == "tinygrad_dropbn.LongTensor"
    assert x.to(torch.float64).dtype == tg.float64, "torch dtypes are read by name"


def test_module_float_double_to(torch):
    model = tg.nn.Sequential(tg.nn.Linear(3, 2), tg.nn.BatchNorm1d(2))
    weight = model[0].weight
    assert model.double() is model and weight.dtype == tg.float64
    assert model.to(tg.float32) is model and weight.dtype == tg.float32
    assert model.to("cpu") is model and model.to("cpu", tg.float64) is model
    assert model[0].weight is weight and weight.dtype == tg.float64
    assert model[1].num_batches_tracked.dtype == tg.int64
    assert model.to(dtype=tg.float32).float() is model and weight.dtype == tg.float32
    with pytest.raises(RuntimeError, match="CPU"):
        model.to("cuda")
    with pytest.raises(TypeError, match="floating-point"):
        model.to(tg.int64)
    reference = torch.nn.Linear(3, 2).double()
    assert reference.to("cpu") is reference


def test_split_and_chunk_pieces_get_their_gradients(torch):
    ours = tg.tensor(Z, requires_grad=True)
    theirs = torch.tensor(Z, requires_grad=True)
    for lib, x in ((tg, ours), (torch, theirs)):
        a, b = x.split([3, 1], dim=-1)
        c, d = x.chunk(2, dim=1)
        (a.sum() * 2 + b.exp().sum() + (c * 3).sum() + d.sum()).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)
