"""More of PyTorch's Tensor methods: comparisons and logic, elementwise functions, reductions
and scans, linear algebra, ``new_*`` constructors and in-place fills. Each snippet runs once
with ``lib = torch`` and once with ``lib = tinygrad_dropbn`` on the same inputs, in float32 and
in float64; values, dtypes, shapes and the inputs' gradients must agree. Every differentiable
one is also checked by finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_dropbn as tg

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))
POSITIVE = RNG.uniform(0.5, 2.0, (3, 4))
WITH_ZEROS = np.array([[2.0, 0.0, 3.0, 0.5], [1.5, 0.0, -2.0, 4.0], [0.0, 0.0, 1.0, 2.0]])
ONE_ZERO = np.array([[2.0, 0.0, 3.0, -0.5], [1.5, 1.0, -2.0, 4.0], [0.7, 1.2, 1.0, 2.0]])
VECTOR = RNG.standard_normal(5)
VECTOR2 = RNG.standard_normal(5)
SQUARE = RNG.standard_normal((4, 4))
BATCH_A = RNG.standard_normal((2, 3, 4))
BATCH_B = RNG.standard_normal((2, 4, 5))
HALVES = np.array([[-2.5, -1.5, -0.5, 0.5], [1.5, 2.5, 0.2, -0.7], [3.49, -3.51, 2.0, 0.0]])
SPECIAL = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -2.0])
INTS = np.array([[3, 0, 2], [0, 5, -4]], dtype=np.int64)
BOOLS = np.array([[True, False, True], [False, False, True]])
MASK = A > 0.3
ZERO_VECTOR = np.zeros(4)

# (name, snippet(lib, *inputs), inputs): float inputs require grad, and are tried in float32
# and float64; an output that requires grad is differentiated.
SNIPPETS = [
    # comparisons and logic: boolean constants
    ("eq", lambda lib, a, b: a.eq(b), [A, A * (A > 0)]),
    ("ne scalar", lambda lib, a: a.ne(0.5), [HALVES]),
    ("lt", lambda lib, a, b: a.lt(b), [A, B]),
    ("le", lambda lib, a, b: lib.le(a, b), [A, B]),
    ("gt scalar", lambda lib, a: lib.gt(a, 0), [A]),
    ("ge", lambda lib, a, b: a.ge(b), [A, B]),
    ("eq function", lambda lib, a: lib.eq(a, a), [A]),
    ("isnan", lambda lib, a: a.isnan(), [SPECIAL]),
    ("isinf", lambda lib, a: lib.isinf(a), [SPECIAL]),
    ("isfinite", lambda lib, a: a.isfinite(), [SPECIAL]),
    ("isnan of ints", lambda lib, a: a.isnan(), [INTS]),
    ("isfinite of ints", lambda lib, a: lib.isfinite(a), [INTS]),
    ("logical_not", lambda lib, a: a.logical_not(), [INTS]),
    ("logical_and", lambda lib, a, b: a.logical_and(b), [INTS, BOOLS]),
    ("logical_or", lambda lib, a, b: lib.logical_or(a, b), [INTS, BOOLS]),
    ("all", lambda lib, a: a.all(), [BOOLS]),
    ("all dim", lambda lib, a: a.all(dim=1), [BOOLS]),
    ("all dim keepdim", lambda lib, a: a.all(0, keepdim=True), [INTS]),
    ("all dims tuple", lambda lib, a: a.all(dim=(0, 1)), [BOOLS]),
    ("any", lambda lib, a: lib.any(a), [INTS]),
    ("any dim", lambda lib, a: a.any(1), [BOOLS]),
    ("all of floats", lambda lib, a: a.all(), [WITH_ZEROS]),
    ("any of uint8", lambda lib, a: a.any(0), [INTS.astype(np.uint8)]),
    ("nonzero", lambda lib, a: a.nonzero(), [INTS]),
    ("nonzero as_tuple", lambda lib, a: lib.nonzero(a, as_tuple=True), [INTS]),
    ("nonzero of floats", lambda lib, a: a.nonzero(), [WITH_ZEROS]),
    ("count_nonzero", lambda lib, a: a.count_nonzero(), [INTS]),
    ("count_nonzero dim", lambda lib, a: lib.count_nonzero(a, dim=0), [WITH_ZEROS]),
    # elementwise, differentiable
    ("reciprocal", lambda lib, a: a.reciprocal(), [A]),
    ("reciprocal function", lambda lib, a: lib.reciprocal(a), [POSITIVE]),
    ("reciprocal of ints", lambda lib, a: a.reciprocal(), [INTS]),
    ("rsqrt", lambda lib, a: a.rsqrt(), [POSITIVE]),
    ("rsqrt function", lambda lib, a: lib.rsqrt(a), [POSITIVE]),
    ("log1p", lambda lib, a: a.log1p(), [POSITIVE - 0.4]),
    ("log1p tiny", lambda lib, a: lib.log1p(a), [np.array([1e-10, -1e-12, 3e-8])]),
    ("expm1", lambda lib, a: a.expm1(), [A]),
    ("expm1 tiny", lambda lib, a: lib.expm1(a), [np.array([1e-10, -1e-12, 3e-8])]),
    ("sign", lambda lib, a: a.sign(), [np.array([-2.0, 0.0, 3.0, -0.1])]),
    ("sign of ints", lambda lib, a: lib.sign(a), [INTS]),
    ("sign of bools", lambda lib, a: a.sign(), [BOOLS]),
    ("floor", lambda lib, a: a.floor(), [HALVES]),
    ("ceil", lambda lib, a: lib.ceil(a), [HALVES]),
    ("round half to even", lambda lib, a: a.round(), [HALVES]),
    ("round decimals", lambda lib, a: lib.round(a, decimals=1), [A]),
    ("trunc", lambda lib, a: a.trunc(), [HALVES]),
    ("floor of ints", lambda lib, a: a.floor(), [INTS]),
    ("lerp scalar weight", lambda lib, a, b: a.lerp(b, 0.3), [A, B]),
    ("lerp tensor weight", lambda lib, a, b, w: lib.lerp(a, b, w), [A, B, POSITIVE / 2]),
    ("masked_fill", lambda lib, a: a.masked_fill(lib.tensor(MASK), -1.5), [A]),
    ("masked_fill broadcast mask", lambda lib, a: a.masked_fill(lib.tensor(MASK[0]), 0.0), [A]),
    ("masked_fill tensor value", lambda lib, a, v: lib.masked_fill(a, lib.tensor(MASK), v),
     [A, np.array(2.5)]),
    ("masked_fill ints", lambda lib, a: a.masked_fill(a > 1, 7), [INTS]),
    ("masked_fill ints float value", lambda lib, a: a.masked_fill(a > 1, 1.7), [INTS]),
    ("masked_fill_", lambda lib, a: (a * 1).masked_fill_(lib.tensor(MASK), -1.5), [A]),
    ("masked_fill_ tensor value", lambda lib, a, v:
     (a * 2).masked_fill_(lib.tensor(MASK[1]), v), [A, np.array(0.5)]),
    # reductions and scans
    ("prod", lambda lib, a: a.prod(), [POSITIVE]),
    ("prod dim", lambda lib, a: a.prod(1), [A]),
    ("prod dim keepdim", lambda lib, a: lib.prod(a, dim=0, keepdim=True), [A]),
    ("prod with one zero", lambda lib, a: a.prod(), [ONE_ZERO]),
    ("prod with zeros dim", lambda lib, a: a.prod(dim=1), [WITH_ZEROS]),
    ("prod with zeros dim 0", lambda lib, a: a.prod(0), [WITH_ZEROS]),
    ("prod of ints", lambda lib, a: a.prod(1), [INTS]),
    ("prod of nothing", lambda lib: lib.ones(2, 0).prod(1), []),
    ("prod dtype", lambda lib, a: a.prod(dtype=lib.float64), [INTS]),
    ("cumsum", lambda lib, a: a.cumsum(1), [A]),
    ("cumsum dim 0", lambda lib, a: lib.cumsum(a, dim=0), [A]),
    ("cumsum negative dim", lambda lib, a: a.cumsum(dim=-1), [BATCH_A]),
    ("cumsum of ints", lambda lib, a: a.cumsum(0), [INTS]),
    ("norm", lambda lib, a: a.norm(), [A]),
    ("norm fro dim", lambda lib, a: a.norm("fro", dim=1), [A]),
    ("norm 2 dim keepdim", lambda lib, a: lib.norm(a, 2, dim=0, keepdim=True), [A]),
    ("norm 2 two dims", lambda lib, a: a.norm(p=2, dim=(1, 2)), [BATCH_A]),
    ("norm 1", lambda lib, a: a.norm(p=1), [A]),
    ("norm 1 dim", lambda lib, a: a.norm(1, dim=1), [A]),
    ("norm inf", lambda lib, a: a.norm(p=float("inf")), [A]),
    ("norm inf ties", lambda lib, a: a.norm(p=float("inf")), [np.array([1.0, -3.0, 3.0])]),
    ("norm -inf dim", lambda lib, a: a.norm(p=-float("inf"), dim=1), [A]),
    ("norm 3", lambda lib, a: a.norm(p=3, dim=0), [A]),
    ("norm 0", lambda lib, a: a.norm(p=0), [WITH_ZEROS]),
    ("norm at zero", lambda lib, a: a.norm(), [ZERO_VECTOR]),
    ("norm 1 at zero", lambda lib, a: a.norm(p=1), [ZERO_VECTOR]),
    ("norm rows with a zero row", lambda lib, a: a.norm(dim=1), [np.vstack([A, 0 * A[:1]])]),
    # linear algebra and rearranging
    ("dot", lambda lib, a, b: a.dot(b), [VECTOR, VECTOR2]),
    ("dot function", lambda lib, a, b: lib.dot(a, b), [VECTOR, VECTOR2]),
    ("outer", lambda lib, a, b: a.outer(b), [VECTOR, VECTOR2[:3]]),
    ("outer function", lambda lib, a, b: lib.outer(a, b), [VECTOR, VECTOR2]),
    ("bmm", lambda lib, a, b: a.bmm(b), [BATCH_A, BATCH_B]),
    ("bmm function", lambda lib, a, b: lib.bmm(a, b), [BATCH_A, BATCH_B]),
    ("flip", lambda lib, a: a.flip(0), [A]),
    ("flip dims list", lambda lib, a: lib.flip(a, [0, 2]), [BATCH_A]),
    ("flip varargs", lambda lib, a: a.flip(0, -1), [BATCH_A]),
    ("roll", lambda lib, a: a.roll(1, 1), [A]),
    ("roll flattened", lambda lib, a: lib.roll(a, 5), [A]),
    ("roll several", lambda lib, a: a.roll(shifts=(1, -2), dims=(0, 2)), [BATCH_A]),
    ("tril", lambda lib, a: a.tril(), [SQUARE]),
    ("tril diagonal", lambda lib, a: lib.tril(a, diagonal=-1), [A]),
    ("triu", lambda lib, a: a.triu(), [A]),
    ("triu diagonal batch", lambda lib, a: lib.triu(a, 1), [BATCH_A]),
    ("tril of ints", lambda lib, a: a.tril(), [INTS]),
    ("diag of a vector", lambda lib, a: a.diag(), [VECTOR]),
    ("diag of a vector above", lambda lib, a: lib.diag(a, 2), [VECTOR]),
    ("diag of a vector below", lambda lib, a: a.diag(-1), [VECTOR]),
    ("diag of a matrix", lambda lib, a: a.diag(), [SQUARE]),
    ("diag of a wide matrix above", lambda lib, a: lib.diag(a, 1), [A]),
    ("diag of a wide matrix below", lambda lib, a: a.diag(-2), [A]),
    ("einsum matmul", lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [A, A.T.copy()]),
    ("einsum implicit", lambda lib, a, b: lib.einsum("ij,kj", a, b), [A, B]),
    ("einsum batch", lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b), [BATCH_A, BATCH_B]),
    ("einsum sum out", lambda lib, a: lib.einsum("ij->j", a), [A]),
    ("einsum transpose", lambda lib, a: lib.einsum("abc->cab", a), [BATCH_A]),
    ("einsum outer", lambda lib, a, b: lib.einsum("i,j->ij", a, b), [VECTOR, VECTOR2]),
    ("einsum dot", lambda lib, a, b: lib.einsum("i,i->", a, b), [VECTOR, VECTOR2]),
    ("einsum index only in one", lambda lib, a, b: lib.einsum("ij,k->i", a, b), [A, VECTOR]),
    ("einsum three operands", lambda lib, a, b, c: lib.einsum("ij,jk,k->i", a, b, c),
     [A, A.T.copy(), VECTOR2[:3]]),
    ("einsum list", lambda lib, a, b: lib.einsum("ij,ij->i", [a, b]), [A, B]),
    ("einsum spaces", lambda lib, a, b: lib.einsum("ij, jk -> ik", a, b), [A, A.T.copy()]),
]

DIFFERENTIABLE = [s for s in SNIPPETS if any(np.asarray(a).dtype.kind == "f" for a in s[2])]


def _inputs(lib, arrays, dtype):
    """Tensors of ``lib`` for ``arrays``: float ones in ``dtype``, requiring grad."""
    out = []
    for array in arrays:
        array = np.asarray(array)
        if array.dtype.kind == "f":
            array = array.astype(dtype)
            out.append(lib.tensor(array, requires_grad=True))
        else:
            out.append(lib.tensor(array))
    return out


def _flat(value) -> list:
    return list(value) if isinstance(value, tuple) else [value]


def _compare(ours, theirs, torch, dtype) -> None:
    ours, theirs = _flat(ours), _flat(theirs)
    assert len(ours) == len(theirs)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for mine, reference in zip(ours, theirs):
        assert isinstance(mine, tg.Tensor), type(mine)
        assert mine.shape == tuple(reference.shape)
        assert str(mine.dtype) == str(reference.dtype).replace("torch.", "")
        assert mine.requires_grad == reference.requires_grad
        np.testing.assert_allclose(mine.numpy().astype(np.float64),
                                   reference.detach().numpy().astype(np.float64),
                                   rtol=tolerance, atol=tolerance, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("snippet, arrays", [s[1:] for s in SNIPPETS],
                         ids=[s[0] for s in SNIPPETS])
def test_snippet_matches_torch(snippet, arrays, dtype, torch):
    ours_in, theirs_in = _inputs(tg, arrays, dtype), _inputs(torch, arrays, dtype)
    ours, theirs = snippet(tg, *ours_in), snippet(torch, *theirs_in)
    _compare(ours, theirs, torch, dtype)
    differentiated = [(o, t) for o, t in zip(_flat(ours), _flat(theirs)) if t.requires_grad]
    if not differentiated:
        return
    upstream = [np.random.default_rng(3).standard_normal(t.shape).astype(dtype)
                for _, t in differentiated]
    sum(((o * tg.tensor(u)).sum() for (o, _), u in zip(differentiated, upstream)),
        tg.tensor(0.0, dtype=dtype)).backward()
    sum(((t * torch.tensor(u)).sum() for (_, t), u in zip(differentiated, upstream)),
        torch.tensor(0.0, dtype=getattr(torch, np.dtype(dtype).name))).backward()
    for mine, reference in zip(ours_in, theirs_in):
        if reference.grad is None:  # PyTorch's "no gradient" (the 0-norm): ours is zero
            assert mine.grad is None or not mine.grad.numpy().any()
            continue
        _compare(mine.grad, reference.grad, torch, dtype)


def _differentiable_inputs(arrays):
    return [tg.tensor(np.asarray(a, np.float64), requires_grad=True)
            if np.asarray(a).dtype.kind == "f" else tg.tensor(a) for a in arrays]


# Points where the function is not differentiable (ties of inf-norms, zeros of norms, the
# jumps of rounding) are left to the comparison with PyTorch above.
NOT_SMOOTH = {"norm inf ties", "norm at zero", "norm 1 at zero", "norm rows with a zero row",
              "round decimals"}


# The rounding functions are checked away from their jumps, where finite differences see 0.
AWAY_FROM_JUMPS = {"sign": [HALVES + 0.25], "floor": [HALVES + 0.25], "ceil": [HALVES + 0.25],
                   "round half to even": [HALVES + 0.25], "trunc": [HALVES + 0.25]}


@pytest.mark.parametrize("name, snippet, arrays", [s for s in DIFFERENTIABLE
                                                   if s[0] not in NOT_SMOOTH],
                         ids=[s[0] for s in DIFFERENTIABLE if s[0] not in NOT_SMOOTH])
def test_gradcheck(name, snippet, arrays):
    inputs = _differentiable_inputs(AWAY_FROM_JUMPS.get(name, arrays))
    out = snippet(tg, *inputs)
    if not out.requires_grad:  # comparisons: constants, nothing to differentiate
        assert out.grad_fn is None
        return
    assert tg.gradcheck(lambda *xs: snippet(tg, *xs), inputs)


GRADGRAD = ["reciprocal", "rsqrt", "log1p", "expm1", "prod with one zero", "prod dim",
            "cumsum", "norm", "norm fro dim", "einsum matmul", "einsum index only in one",
            "einsum three operands", "lerp tensor weight", "diag of a vector above", "roll",
            "masked_fill tensor value", "floor"]


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    snippet, arrays = next(s[1:] for s in SNIPPETS if s[0] == name)
    inputs = _differentiable_inputs(arrays)
    assert tg.gradgradcheck(lambda *xs: snippet(tg, *xs), inputs)


def test_norm_gradient_at_zero_is_zero_also_when_recorded():
    x = tg.zeros(3, dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad(x.norm(), [x], create_graph=True)
    assert np.array_equal(g.numpy(), np.zeros(3))
    assert np.isfinite(tg.autograd.grad(g.sum(), [x], allow_unused=True)[0].numpy()).all()


# (name, snippet(lib, *inputs), inputs): torch raises; so must we (the exception types may
# differ: see docs/pytorch.md).
RAISING = [
    ("masked_fill with a float mask", lambda lib, a: a.masked_fill(a, 0.0), [A]),
    ("masked_fill with a long mask", lambda lib, a: a.masked_fill(lib.tensor(INTS), 0.0),
     [A[:2, :3]]),
    ("masked_fill mask that does not broadcast", lambda lib, a:
     a.masked_fill(lib.tensor(MASK[:, :2]), 0.0), [A]),
    ("masked_fill value with dimensions", lambda lib, a, v: a.masked_fill(lib.tensor(MASK), v),
     [A, VECTOR[:1]]),
    ("dot of matrices", lambda lib, a, b: a.dot(b), [A, B]),
    ("dot of unequal lengths", lambda lib, a, b: a.dot(b), [VECTOR, VECTOR2[:3]]),
    ("dot of mixed dtypes", lambda lib, a: a.dot(a.double() if a.dtype == lib.float32
                                                   else a.float()), [VECTOR]),
    ("outer of matrices", lambda lib, a, b: a.outer(b), [A, B]),
    ("bmm of matrices", lambda lib, a, b: a.bmm(b), [A, B.T.copy()]),
    ("bmm batch mismatch", lambda lib, a, b: a.bmm(b), [BATCH_A, BATCH_B[:1]]),
    ("bmm inner mismatch", lambda lib, a: a.bmm(a), [BATCH_A]),
    ("tril of a vector", lambda lib, a: a.tril(), [VECTOR]),
    ("triu of a vector", lambda lib, a: lib.triu(a), [VECTOR]),
    ("diag of a 3-d tensor", lambda lib, a: a.diag(), [BATCH_A]),
    ("flip a dim twice", lambda lib, a: a.flip(0, 0), [A]),
    ("flip a missing dim", lambda lib, a: a.flip(2), [A]),
    ("roll shifts and dims of two lengths", lambda lib, a: a.roll((1, 2), (0,)), [A]),
    ("roll a missing dim", lambda lib, a: a.roll(1, 3), [A]),
    ("cumsum a missing dim", lambda lib, a: a.cumsum(2), [A]),
    ("cumsum without a dim", lambda lib, a: a.cumsum(), [A]),
    ("diag of a 0-d tensor", lambda lib: lib.tensor(3.0).diag(), []),
    ("prod a missing dim", lambda lib, a: a.prod(2), [A]),
    ("norm nuc of a vector", lambda lib, a: a.norm("nuc"), [VECTOR]),
    ("norm fro over three dims", lambda lib, a: a.norm("fro", dim=(0, 1, 2)), [BATCH_A]),
    ("norm of ints", lambda lib, a: a.norm(), [INTS]),
    ("all a missing dim", lambda lib, a: a.all(2), [BOOLS]),
    ("masked_fill_ with a long mask", lambda lib, a: a.masked_fill_(a > 0, 0).masked_fill_(
        lib.tensor(INTS), 0), [INTS]),
    ("uniform_ of ints", lambda lib, a: a.uniform_(), [INTS]),
    ("normal_ of ints", lambda lib, a: a.normal_(), [INTS]),
    ("uniform_ unknown keyword", lambda lib, a: a.detach().uniform_(low=2), [A]),
    ("einsum too few operands", lambda lib, a: lib.einsum("ij,jk->ik", a), [A]),
    ("einsum wrong rank", lambda lib, a, b: lib.einsum("ij,j->i", a, b), [A, A]),
    ("einsum size mismatch", lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [A, A]),
    ("einsum unknown output index", lambda lib, a: lib.einsum("ij->k", a), [A]),
]


@pytest.mark.parametrize("snippet, arrays", [s[1:] for s in RAISING],
                         ids=[s[0] for s in RAISING])
def test_raises_where_torch_raises(snippet, arrays, torch):
    with pytest.raises(Exception):
        snippet(torch, *_inputs(torch, arrays, np.float32))
    with pytest.raises((ValueError, TypeError)):
        snippet(tg, *_inputs(tg, arrays, np.float32))


def test_einsum_refuses_what_its_backward_cannot_do_with_a_clear_error():
    x = tg.tensor(SQUARE, requires_grad=True)
    with pytest.raises(ValueError, match="repeated within one operand"):
        tg.einsum("ii->i", x)
    with pytest.raises(ValueError, match="ellipsis"):
        tg.einsum("...ij->...ji", x)


def test_rounding_functions_keep_the_graph_with_a_zero_gradient(torch):
    for name in ("sign", "floor", "ceil", "round", "trunc"):
        x = tg.tensor(HALVES, requires_grad=True)
        out = getattr(x, name)()
        assert out.grad_fn is not None, name
        out.sum().backward()
        assert np.array_equal(x.grad.numpy(), np.zeros_like(HALVES)), name


@pytest.mark.parametrize("dtype", [None, "float64", "int64"])
def test_new_constructors_match_torch(dtype, torch):
    for data in (A.astype(np.float32), INTS):
        ours, theirs = tg.tensor(data), torch.tensor(data)
        kwargs_ours = {} if dtype is None else {"dtype": getattr(tg, dtype)}
        kwargs_theirs = {} if dtype is None else {"dtype": getattr(torch, dtype)}
        pairs = [
            (ours.new_zeros(2, 3, **kwargs_ours), theirs.new_zeros(2, 3, **kwargs_theirs)),
            (ours.new_zeros((2, 3), **kwargs_ours), theirs.new_zeros((2, 3), **kwargs_theirs)),
            (ours.new_ones([4], **kwargs_ours), theirs.new_ones([4], **kwargs_theirs)),
            (ours.new_full((2, 2), 1.5, **kwargs_ours),
             theirs.new_full((2, 2), 1.5, **kwargs_theirs)),
            (ours.new_tensor([[1.5, 2], [3, 4]], **kwargs_ours),
             theirs.new_tensor([[1.5, 2], [3, 4]], **kwargs_theirs)),
        ]
        empty_ours, empty_theirs = ours.new_empty(3, 1, **kwargs_ours), \
            theirs.new_empty(3, 1, **kwargs_theirs)
        assert empty_ours.shape == tuple(empty_theirs.shape)
        assert str(empty_ours.dtype) == str(empty_theirs.dtype).replace("torch.", "")
        for mine, reference in pairs:
            assert mine.shape == tuple(reference.shape)
            assert str(mine.dtype) == str(reference.dtype).replace("torch.", "")
            np.testing.assert_array_equal(mine.numpy(), reference.numpy())
            assert not mine.requires_grad


def test_new_tensor_copies_and_can_require_grad():
    source = np.array([1.0, 2.0])
    x = tg.zeros(1, dtype=tg.float64)
    y = x.new_tensor(source, requires_grad=True)
    source[0] = 9.0
    assert y.requires_grad and y.is_leaf and y.numpy()[0] == 1.0
    with pytest.raises(RuntimeError, match="cpu"):
        x.new_zeros(2, device="cuda")


def test_detach_in_place_cuts_the_tensor_off_the_graph(torch):
    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        assert y.detach_() is y
        assert y.grad_fn is None and not y.requires_grad and y.is_leaf
        assert (y + 1).grad_fn is None


RANDOM_FILLS = [
    ("uniform_", lambda x, **kw: x.uniform_(-2.0, 3.0, **kw)),
    ("normal_", lambda x, **kw: x.normal_(1.0, 0.5, **kw)),
    ("bernoulli_", lambda x, **kw: x.bernoulli_(0.25, **kw)),
    ("exponential_", lambda x, **kw: x.exponential_(2.0, **kw)),
]


@pytest.mark.parametrize("fill", [f[1] for f in RANDOM_FILLS], ids=[f[0] for f in RANDOM_FILLS])
def test_random_fills_draw_from_the_seeded_generator(fill):
    tg.manual_seed(5)
    first = fill(tg.zeros(50, 40)).numpy().copy()
    tg.manual_seed(5)
    x = tg.zeros(50, 40)
    version = x._version
    assert fill(x) is x
    assert x._version == version + 1 and x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), first)
    assert not np.array_equal(fill(x).numpy(), first)  # the stream moved on
    own = tg.Generator().manual_seed(3)
    a = fill(tg.zeros(5), generator=own).numpy().copy()
    b = fill(tg.zeros(5), generator=tg.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(a, b)


def test_random_fills_have_the_asked_distribution():
    tg.manual_seed(0)
    n = 200_000
    uniform = tg.zeros(n, dtype=tg.float64).uniform_(-2.0, 3.0).numpy()
    assert uniform.min() >= -2.0 and uniform.max() < 3.0 and abs(uniform.mean() - 0.5) < 0.02
    normal = tg.zeros(n, dtype=tg.float64).normal_(1.0, 0.5).numpy()
    assert abs(normal.mean() - 1.0) < 0.01 and abs(normal.std() - 0.5) < 0.01
    coins = tg.zeros(n, dtype=tg.int64).bernoulli_(0.25).numpy()
    assert set(np.unique(coins)) == {0, 1} and abs(coins.mean() - 0.25) < 0.01
    waits = tg.zeros(n, dtype=tg.float64).exponential_(2.0).numpy()
    assert waits.min() >= 0 and abs(waits.mean() - 0.5) < 0.01
    per_element = tg.zeros(n // 2, 2).bernoulli_(tg.tensor([0.0, 1.0])).numpy()
    assert per_element[:, 0].max() == 0 and per_element[:, 1].min() == 1


def test_in_place_fills_follow_the_in_place_rules(torch):
    for lib in (tg, torch):
        w = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            w.uniform_()
        with pytest.raises(RuntimeError, match="leaf"):
            w.exp_()
        with lib.no_grad():
            w.normal_()
            w.abs_()
        assert (w.detach().numpy() >= 0).all()
    with pytest.raises(ValueError, match="p must be in"):
        tg.zeros(2).bernoulli_(1.5)
    with pytest.raises(ValueError, match="positive"):
        tg.zeros(2).exponential_(0.0)
    with pytest.raises(ValueError, match="non-negative"):
        tg.zeros(2).normal_(0.0, -1.0)


def test_uniform_takes_pytorchs_from_and_to_keywords(torch):
    tg.manual_seed(1)
    keyword = tg.zeros(1000).uniform_(**{"from": 2.0, "to": 2.5}).numpy().copy()
    tg.manual_seed(1)
    np.testing.assert_array_equal(keyword, tg.zeros(1000).uniform_(2.0, 2.5).numpy())
    theirs = torch.zeros(1000).uniform_(**{"from": 2.0, "to": 2.5}).numpy()
    assert keyword.min() >= 2.0 and keyword.max() < 2.5 and theirs.min() >= 2.0


@pytest.mark.parametrize("name", ["abs_", "neg_", "exp_", "log_", "sqrt_", "relu_",
                                  "sigmoid_", "tanh_"])
def test_elementwise_in_place_methods_match_torch_values_and_gradients(name, torch):
    out_of_place = name[:-1]
    results = []
    for lib in (tg, torch):
        x = lib.tensor(POSITIVE - 0.4, requires_grad=True)
        y = x * 1.5
        assert getattr(y, name)() is y
        y.sum().backward()
        reference = getattr(x.detach() * 1.5, out_of_place)()
        results.append((y.detach().numpy().copy(), x.grad.numpy().copy(),
                        np.asarray(reference.numpy())))
    (ours, our_grad, our_reference), (theirs, their_grad, _) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(ours, our_reference, rtol=1e-6)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-5, atol=1e-7)


def test_a_permutation_given_as_one_pair_is_a_permutation():
    # NumPy's x.transpose((0, 1)) keeps the axes (it is not PyTorch's swap transpose(0, 1));
    # Transpose's backward relies on it, so a recorded backward of an identity permute of a
    # matrix must not transpose the gradient.
    x = tg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    assert np.array_equal(x.transpose((0, 1)).numpy(), x.numpy())
    assert np.array_equal(x.transpose(0, 1).numpy(), x.numpy().T)
    weights = tg.tensor(np.array([[1.0, 0.0], [5.0, 0.0]]))
    (recorded,) = tg.autograd.grad((x.permute(0, 1) * weights).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(recorded.numpy(), weights.numpy())
