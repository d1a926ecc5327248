"""Batch norm: the fused op's gradients, PyTorch parity, the composed reference, running
statistics, the modules, errors."""
import re

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import engine
from tinygrad_dropbn.nn.module import module_scope
from tinygrad_dropbn.ops.batchnorm import batch_statistics

SHAPES = [(5, 3), (4, 3, 5), (3, 3, 2, 4)]
SHAPE_IDS = ["N,C", "N,C,L", "N,C,H,W"]


def module_for(shape, **options):
    return (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1], **options)


def torch_module_for(torch, shape, **options):
    return (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(shape[1],
                                                                               **options)


# ------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
def test_gradcheck(shape, training, affine, rng):
    channels = shape[1]
    x = tg.Tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
    weight = tg.Tensor(rng.standard_normal(channels), requires_grad=True)
    bias = tg.Tensor(rng.standard_normal(channels), requires_grad=True)
    running_mean, running_var = rng.standard_normal(channels), rng.uniform(0.5, 2, channels)

    def fn(x, weight=None, bias=None):
        return F.batch_norm(x, running_mean.copy(), running_var.copy(), weight, bias,
                            training=training)

    assert tg.gradcheck(fn, [x, weight, bias] if affine else [x])


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("wants", ["x", "weight", "bias"])
def test_gradcheck_one_input_at_a_time(training, wants, rng):
    # Each backward branch that skips work for inputs without requires_grad.
    x = tg.Tensor(rng.standard_normal((6, 2)), requires_grad=wants == "x")
    weight = tg.Tensor(rng.standard_normal(2), requires_grad=wants == "weight")
    bias = tg.Tensor(rng.standard_normal(2), requires_grad=wants == "bias")
    def fn(x, weight, bias):
        if training:
            return F.batch_norm(x, None, None, weight, bias, training=True)
        return F.batch_norm(x, np.zeros(2), np.full(2, 1.5), weight, bias)

    assert tg.gradcheck(fn, [x, weight, bias])


def test_weight_without_bias(torch, rng):
    x, w = rng.standard_normal((6, 3)), rng.standard_normal(3)
    xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    out = F.batch_norm(xt, None, None, weight=wt, training=True)
    out.sum().backward()
    x_torch = torch.tensor(x, requires_grad=True)
    w_torch = torch.tensor(w, requires_grad=True)
    expected = torch.nn.functional.batch_norm(x_torch, None, None, w_torch, training=True)
    expected.sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), w_torch.grad.numpy(), atol=1e-12)


def test_backward_twice_with_retain_graph_and_upstream_untouched(rng):
    x = tg.Tensor(rng.standard_normal((8, 4)).astype(np.float32), requires_grad=True)
    bn = nn.BatchNorm1d(4)
    out = bn(x)
    upstream = rng.standard_normal((8, 4)).astype(np.float32)
    saved = upstream.copy()
    out.backward(upstream, retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    out.backward(upstream)
    np.testing.assert_array_equal(x.grad.numpy(), first)
    np.testing.assert_array_equal(upstream, saved)


def test_float32_stays_float32(rng):
    bn = nn.BatchNorm1d(3)
    x = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    for mode in (True, False):
        bn.train(mode)
        out = bn(x)
        out.sum().backward()
        assert out.dtype == x.grad.dtype == bn.weight.grad.dtype == np.float32
        assert bn.running_mean.dtype == bn.running_var.dtype == np.float32


def test_zero_variance_gives_finite_outputs_and_gradients(rng):
    for training in (True, False):
        bn = nn.BatchNorm1d(3).train(training)
        bn.bias.data[:] = [1, 2, 3]
        x = tg.Tensor(np.full((4, 3), 7.25, np.float32), requires_grad=True)
        out = bn(x)
        out.backward(rng.standard_normal((4, 3)).astype(np.float32))
        for values in (out.numpy(), x.grad.numpy(), bn.weight.grad.numpy(),
                       bn.bias.grad.numpy()):
            assert np.isfinite(values).all()
        if training:
            np.testing.assert_allclose(out.numpy(), np.tile([1, 2, 3], (4, 1)), atol=1e-5)


# --------------------------------------------------------------------- against PyTorch


def assert_close(ours, theirs, tol=1e-5):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=tol, atol=tol)


def paired_modules(torch, shape, rng, **options):
    ours, theirs = module_for(shape, **options), torch_module_for(torch, shape, **options)
    if ours.affine:
        weight = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
        bias = rng.standard_normal(shape[1]).astype(np.float32)
        ours.weight.data[:], ours.bias.data[:] = weight, bias
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(weight))
            theirs.bias.copy_(torch.tensor(bias))
    return ours, theirs


@pytest.mark.parametrize("shape", [(16, 4), (6, 4, 5), (4, 4, 3, 5)], ids=SHAPE_IDS)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_modules_match_pytorch_over_several_steps(torch, shape, momentum, rng):
    ours, theirs = paired_modules(torch, shape, rng, momentum=momentum)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        upstream = rng.standard_normal(shape).astype(np.float32)
        x_ours = tg.Tensor(x, requires_grad=True)
        x_theirs = torch.tensor(x, requires_grad=True)
        out, expected = ours(x_ours), theirs(x_theirs)
        out.backward(upstream)
        expected.backward(torch.tensor(upstream))
        assert_close(out.numpy(), expected)
        assert_close(x_ours.grad.numpy(), x_theirs.grad, tol=1e-4)
        assert_close(ours.weight.grad.numpy(), theirs.weight.grad, tol=1e-4)
        assert_close(ours.bias.grad.numpy(), theirs.bias.grad, tol=1e-4)
        assert_close(ours.running_mean.numpy(), theirs.running_mean)
        assert_close(ours.running_var.numpy(), theirs.running_var)
        assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == step + 1
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    assert_close(ours(tg.Tensor(x)).numpy(), theirs(torch.tensor(x)))


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 2)], ids=["N,C", "N,C,H,W"])
def test_affine_false_matches_pytorch(torch, shape, rng):
    ours, theirs = paired_modules(torch, shape, rng, affine=False)
    assert ours.weight is None and ours.bias is None and list(ours.parameters()) == []
    for training in (True, False):
        ours.train(training)
        theirs.train(training)
        x = rng.standard_normal(shape).astype(np.float32) * 3
        x_ours = tg.Tensor(x, requires_grad=True)
        x_theirs = torch.tensor(x, requires_grad=True)
        out, expected = ours(x_ours), theirs(x_theirs)
        out.sum().backward()
        expected.sum().backward()
        assert_close(out.numpy(), expected)
        assert_close(x_ours.grad.numpy(), x_theirs.grad, tol=1e-4)
        assert_close(ours.running_var.numpy(), theirs.running_var)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 2)], ids=["N,C", "N,C,H,W"])
def test_track_running_stats_false_matches_pytorch(torch, shape, rng):
    ours, theirs = paired_modules(torch, shape, rng, track_running_stats=False)
    assert ours.running_mean is None and ours.running_var is None
    assert ours.num_batches_tracked is None and list(ours.buffers()) == []
    for training in (True, False):  # batch statistics in both modes
        ours.train(training)
        theirs.train(training)
        x = rng.standard_normal(shape).astype(np.float32) * 2 - 1
        x_ours = tg.Tensor(x, requires_grad=True)
        x_theirs = torch.tensor(x, requires_grad=True)
        out, expected = ours(x_ours), theirs(x_theirs)
        out.sum().backward()
        expected.sum().backward()
        assert_close(out.numpy(), expected)
        assert_close(x_ours.grad.numpy(), x_theirs.grad, tol=1e-4)
        assert_close(ours.weight.grad.numpy(), theirs.weight.grad, tol=1e-4)
        ours.zero_grad()
        theirs.zero_grad()
        assert out.grad_fn.name.endswith("[train: batch statistics]")


def test_functional_matches_pytorch_in_float64(torch, rng):
    x = rng.standard_normal((7, 3, 4))
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    running = [np.zeros(3), np.ones(3)]
    running_torch = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    for training in (True, True, False):
        out = F.batch_norm(tg.Tensor(x), *running, tg.Tensor(weight), tg.Tensor(bias),
                           training=training, momentum=0.3, eps=1e-3)
        expected = torch.nn.functional.batch_norm(
            torch.tensor(x), *running_torch, torch.tensor(weight), torch.tensor(bias),
            training=training, momentum=0.3, eps=1e-3)
        np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-12)
        for ours, theirs in zip(running, running_torch):
            np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)


# ------------------------------------------------------------- fused versus composed


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
def test_fused_agrees_with_composed(shape, training, affine, rng):
    x0 = rng.standard_normal(shape) * 3 + 2
    weight0, bias0 = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    upstream = rng.standard_normal(shape)
    results = {}
    for impl in ("fused", "composed"):
        x = tg.Tensor(x0, requires_grad=True)
        weight = tg.Tensor(weight0, requires_grad=True)
        bias = tg.Tensor(bias0, requires_grad=True)
        running_mean, running_var = np.full(shape[1], 0.5), np.full(shape[1], 2.0)
        out = F.batch_norm(x, running_mean, running_var, weight if affine else None,
                           bias if affine else None, training=training, impl=impl)
        nodes = len(engine.topological_order(out))
        out.backward(upstream)
        results[impl] = [out.numpy(), x.grad.numpy(), running_mean, running_var]
        if affine:
            results[impl] += [weight.grad.numpy(), bias.grad.numpy()]
        assert nodes == 1 if impl == "fused" else nodes >= 2
    for fused, composed in zip(results["fused"], results["composed"]):
        np.testing.assert_allclose(fused, composed, rtol=1e-10, atol=1e-12)


def test_batch_statistics():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    mean, var, centered = batch_statistics(x)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2)))
    np.testing.assert_allclose(var, x.var(axis=(0, 2)))
    np.testing.assert_allclose(centered, x - mean[None, :, None])


# ------------------------------------------------------------------------------- graph


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 2, 2)])
def test_one_node_with_an_informative_name(shape):
    bn = module_for(shape)
    x = tg.randn(*shape, requires_grad=True)
    scopes = []
    hook = lambda fn, out: scopes.append((fn, module_scope()))  # noqa: E731
    engine.record_hooks.append(hook)
    try:
        out = bn(x)
    finally:
        engine.record_hooks.remove(hook)
    (fn,) = engine.topological_order(out)
    assert fn.name == "BatchNorm [train: batch statistics]"
    assert scopes == [(fn, (bn,))]  # recorded once, inside the module's forward
    out.sum().backward()
    assert fn.released and fn.name == "BatchNorm [train: batch statistics]"
    (fn,) = engine.topological_order(bn.eval()(x))
    assert fn.name == "BatchNorm [eval: running statistics]"


# -------------------------------------------------------------------- running statistics


@pytest.mark.parametrize("wrap", [np.asarray, tg.Tensor], ids=["ndarray", "Tensor"])
def test_running_stats_update_in_place_even_under_no_grad(wrap, rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    running_mean, running_var = wrap(np.zeros(3, np.float32)), wrap(np.ones(3, np.float32))
    arrays = [r.data if isinstance(r, tg.Tensor) else r for r in (running_mean, running_var)]
    with tg.no_grad():
        F.batch_norm(tg.Tensor(x), running_mean, running_var, training=True, momentum=0.25)
    np.testing.assert_allclose(arrays[0], 0.25 * x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(arrays[1], 0.75 + 0.25 * x.var(axis=0, ddof=1), rtol=1e-6)
    assert arrays[0] is (running_mean.data if isinstance(running_mean, tg.Tensor)
                         else running_mean)
    before = [a.copy() for a in arrays]
    F.batch_norm(tg.Tensor(x), running_mean, running_var, training=False)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


def test_momentum_none_is_the_average_of_every_batch(rng):
    bn = nn.BatchNorm1d(3, momentum=None)
    batches = [rng.standard_normal((5, 3)).astype(np.float32) * (i + 1) for i in range(5)]
    for x in batches:
        bn(tg.Tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([x.mean(axis=0) for x in batches], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([x.var(axis=0, ddof=1) for x in batches], axis=0),
                               rtol=1e-5)
    assert bn.num_batches_tracked.item() == 5


def test_num_batches_tracked_counts_training_calls_only():
    bn = nn.BatchNorm1d(2)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
    counter = bn.num_batches_tracked.data
    bn(tg.randn(4, 2))
    with tg.no_grad():
        bn(tg.randn(4, 2))
    bn.eval()(tg.randn(4, 2))
    assert bn.num_batches_tracked.item() == 2 and bn.num_batches_tracked.data is counter


def test_evaluation_uses_running_statistics(rng):
    bn = nn.BatchNorm1d(2).eval()
    bn.running_mean.data[:] = [1, -2]
    bn.running_var.data[:] = [4, 0.25]
    bn.weight.data[:] = [2, 3]
    bn.bias.data[:] = [0.5, -0.5]
    x = rng.standard_normal((3, 2)).astype(np.float32)
    expected = (x - [1, -2]) / np.sqrt(np.array([4, 0.25]) + 1e-5) * [2, 3] + [0.5, -0.5]
    np.testing.assert_allclose(bn(tg.Tensor(x)).numpy(), expected, rtol=1e-6)
    one_sample = bn(tg.Tensor(x[:1])).numpy()  # a batch of one is fine in evaluation
    np.testing.assert_allclose(one_sample, expected[:1], rtol=1e-6)


# ------------------------------------------------------------------------------ modules


def test_module_parameters_buffers_and_repr():
    bn = nn.BatchNorm1d(16)
    assert isinstance(bn.weight, nn.Parameter) and isinstance(bn.bias, nn.Parameter)
    np.testing.assert_array_equal(bn.weight.numpy(), np.ones(16, np.float32))
    np.testing.assert_array_equal(bn.bias.numpy(), np.zeros(16, np.float32))
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == \
        ["running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.state_dict()) == \
        ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(16, np.float32))
    assert repr(bn) == \
        "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(nn.BatchNorm2d(3, momentum=None, affine=False)) == \
        "BatchNorm2d(3, eps=1e-05, momentum=None, affine=False, track_running_stats=True)"
    assert nn.BatchNorm1d(4, affine=False, track_running_stats=False).state_dict() == {}


def test_state_dict_keys_match_pytorch(torch):
    ours = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    assert list(ours.state_dict()) == list(theirs.state_dict())


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("shape", [(1, 4), (1, 4, 1), (1, 4, 1, 1)])
def test_training_with_one_value_per_channel_raises_and_changes_nothing(shape):
    bn = module_for(shape, momentum=None)
    message = (re.escape(f"Expected more than 1 value per channel when training, got input "
                         f"of shape {shape}") + r".*model\.eval\(\).*larger batch")
    with pytest.raises(ValueError, match=message):
        bn(tg.randn(*shape))
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=message):
        F.batch_norm(tg.randn(*shape), None, None, training=True)


def test_channel_mismatch_names_both_numbers():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(16\) expects 16 channels \(axis 1\), "
                                         r"got input of shape \(4, 8\) with 8 channels"):
        nn.BatchNorm1d(16)(tg.randn(4, 8))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects 3 channels.*5 channels"):
        nn.BatchNorm2d(3)(tg.randn(2, 5, 2, 2))
    with pytest.raises(ValueError, match=r"has 3 channels \(axis 1\) but running_mean has "
                                         r"shape \(5,\); it needs 3 entries"):
        F.batch_norm(tg.randn(4, 3), np.zeros(5, np.float32), np.ones(5, np.float32))
    with pytest.raises(ValueError, match=r"has 3 channels.*weight has shape \(2,\)"):
        F.batch_norm(tg.randn(4, 3), None, None, tg.ones(2), tg.zeros(2), training=True)


@pytest.mark.parametrize("module, shape, message", [
    (nn.BatchNorm1d, (2, 3, 4, 4), r"BatchNorm1d expects 2-D \(N, C\) or 3-D \(N, C, L\) "
                                   r"input, got 4-D input of shape \(2, 3, 4, 4\)"),
    (nn.BatchNorm2d, (2, 3), r"BatchNorm2d expects 4-D \(N, C, H, W\) input, got 2-D"),
])
def test_wrong_rank_raises(module, shape, message):
    with pytest.raises(ValueError, match=message):
        module(3)(tg.randn(*shape))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.batch_norm(tg.randn(3), None, None, training=True), ValueError,
     r"expects input of shape \(N, C\) or \(N, C, \.\.\.\), got 1-D input of shape \(3,\)"),
    (lambda: F.batch_norm(tg.randn(4, 2), None, None), ValueError,
     "running_mean and running_var, but they are None"),
    (lambda: F.batch_norm(tg.randn(4, 2), np.zeros(2), None, training=True), ValueError,
     "both running_mean and running_var, or neither"),
    (lambda: F.batch_norm(tg.randn(4, 2), np.zeros(2), np.ones(2), training=True,
                          momentum=None), ValueError, "momentum=None .* num_batches_tracked"),
    (lambda: F.batch_norm(tg.randn(4, 2), np.zeros(2), np.ones(2), momentum=1.5), ValueError,
     r"momentum must be a number in \[0, 1\], got 1.5"),
    (lambda: F.batch_norm(tg.randn(4, 2), None, None, training=True, impl="fast"), ValueError,
     "impl must be 'fused' or 'composed', got 'fast'"),
    (lambda: F.batch_norm(np.ones((4, 2)), None, None, training=True), TypeError,
     "expects a Tensor, got ndarray"),
    (lambda: F.batch_norm(tg.Tensor(np.ones((4, 2), np.int64)), None, None, training=True),
     TypeError, "floating-point tensor, got dtype int64"),
    (lambda: F.batch_norm(tg.randn(4, 2), [0, 0], [1, 1]), TypeError,
     "running_mean must be a float Tensor or ndarray, got list"),
    (lambda: nn.BatchNorm1d(0), ValueError, "num_features must be a positive integer"),
    (lambda: nn.BatchNorm1d(3, momentum=-0.1), ValueError,
     r"momentum must be in \[0, 1\], or None"),
    (lambda: nn.BatchNorm1d(3, eps=-1.0), ValueError, "eps must be a positive number"),
    (lambda: nn.BatchNorm1d(3, eps=0), ValueError, "eps must be a positive number.*got 0"),
])
def test_argument_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("eps", [-1e-5, 0.0, float("nan"), float("inf")])
def test_functional_rejects_a_bad_eps(eps):
    with pytest.raises(ValueError, match="eps must be a positive number"):
        F.batch_norm(tg.randn(4, 3), None, None, training=True, eps=eps)
