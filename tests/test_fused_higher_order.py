"""Higher-order gradients of the fused ops (Drop, BatchNorm, Affine, CrossEntropy,
BinaryCrossEntropyWithLogits) and of the composed losses: second derivatives by finite
differences (``tg.gradgradcheck``), the array and Tensor forms of each backward against each
other, Hessian-vector products and a gradient penalty against PyTorch in float64, and batch
norm's handling of statistics (its own in training, saved running ones in evaluation)."""
import inspect

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn.ops.batchnorm import BatchNorm, BatchStatistics
from tinygrad_dropbn.ops.dropout import Drop, dropout_mask

REDUCTIONS = ["mean", "sum", "none"]
FORMS = [(True, False), (False, False), (True, True), (False, True)]  # (inverted, per_feature)
FORM_IDS = ["inverted", "plain", "inverted-per-feature", "plain-per-feature"]
BN_SHAPES = [(5, 3), (3, 3, 2, 2)]
BN_SHAPE_IDS = ["2-D", "4-D"]


def f64(array, requires_grad=True):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def fixed_mask(shape, p, per_feature):
    tg.manual_seed(3)
    return dropout_mask(shape, p, per_feature)


# ----------------------------------------------------- second derivatives, finite differences


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train-fixed-mask", "eval"])
def test_gradgradcheck_drop(form, training, rng):
    inverted, per_feature = form
    x = f64(rng.standard_normal((4, 3)))
    mask = fixed_mask(x.shape, 0.4, per_feature) if training else None

    def fn(x):
        # tanh after dropout: the gradient reaching Drop's backward depends on x, so the
        # recorded backward itself is differentiated, not only the forward.
        return F.dropout(x, 0.4, training, inverted, per_feature, mask=mask).tanh()

    assert tg.gradgradcheck(fn, [x])
    if training:
        assert 0 < np.count_nonzero(mask) < mask.size  # a mask that drops and keeps


@pytest.mark.parametrize("shape", BN_SHAPES, ids=BN_SHAPE_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("head", ["identity", "tanh"])
def test_gradgradcheck_batch_norm(shape, training, affine, head, rng):
    channels = shape[1]
    x = f64(rng.standard_normal(shape) * 2 + 1)
    weight, bias = f64(rng.uniform(0.5, 1.5, channels)), f64(rng.standard_normal(channels))
    running_mean = f64(rng.standard_normal(channels), requires_grad=False)
    running_var = f64(rng.uniform(0.5, 2, channels), requires_grad=False)

    def fn(x, weight=None, bias=None):
        stats = (None, None) if training else (running_mean, running_var)
        out = F.batch_norm(x, *stats, weight, bias, training=training)
        return out.tanh() if head == "tanh" else out

    assert tg.gradgradcheck(fn, [x, weight, bias] if affine else [x])


@pytest.mark.parametrize("x_shape, bias", [((4, 3), True), ((4, 3), False), ((2, 3, 3), True),
                                           ((3,), True)], ids=["bias", "no-bias", "batched",
                                                               "1-D"])
@pytest.mark.parametrize("head", ["identity", "tanh"])
def test_gradgradcheck_affine(x_shape, bias, head, rng):
    inputs = [f64(rng.standard_normal(x_shape)), f64(rng.standard_normal((2, 3)))]
    if bias:
        inputs.append(f64(rng.standard_normal(2)))

    def fn(*inputs):
        out = F.linear(*inputs)
        return out.tanh() if head == "tanh" else out

    assert tg.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradgradcheck_cross_entropy(reduction, rng):
    labels = np.array([0, 2, 1, 2, 0])
    logits = f64(rng.standard_normal((5, 3)) * 2)
    assert tg.gradgradcheck(lambda x: F.cross_entropy(x, labels, reduction=reduction), [logits])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradgradcheck_bce_with_logits(reduction, rng):
    x, y = f64(rng.standard_normal((4, 3)) * 2), f64(rng.random((4, 3)))
    assert tg.gradgradcheck(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction), [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradgradcheck_nll_and_mse(reduction, rng):
    labels = np.array([1, 0, 2, 2])
    x = f64(rng.standard_normal((4, 3)))
    assert tg.gradgradcheck(lambda x: F.nll_loss(F.log_softmax(x, dim=1), labels,
                                                    reduction=reduction), [x])
    a, b = f64(rng.standard_normal((4, 2))), f64(rng.standard_normal((4, 2)))
    assert tg.gradgradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [a, b])


def test_gradgradcheck_fails_for_a_backward_that_is_not_recorded(rng):
    # The check can fail: an op whose backward uses a value cached in forward (here the
    # softmax, as CrossEntropy's array backward does) has the right first derivative and a
    # wrong second one when recorded.
    class CachedSoftmaxCrossEntropy(tg.Function):
        def forward(self, logits, target):
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))
            self.softmax, self.target = exp / exp.sum(axis=1, keepdims=True), target
            return np.asarray(-np.log(self.softmax[np.arange(len(target)), target]).sum())

        def backward(self, grad):
            return grad * (self.softmax - np.eye(self.softmax.shape[1])[self.target])

    labels = np.array([0, 1, 2])
    logits = f64(rng.standard_normal((3, 3)))
    fn = lambda x: CachedSoftmaxCrossEntropy.apply(x, target=labels)  # noqa: E731
    assert tg.gradcheck(fn, [logits])
    assert not tg.gradgradcheck(fn, [logits], raise_exception=False)


# ------------------------------------------------- the array and the Tensor backward agree


def both_backwards(fn, inputs, rng):
    """The gradients of ``fn(*inputs)`` for one random upstream gradient: by the ordinary
    (array) backward, and by the recorded (Tensor) backward of ``create_graph=True``."""
    out = fn(*inputs)
    upstream = rng.standard_normal(out.shape)
    wanted = [t for t in inputs if t.requires_grad]
    plain = tg.autograd.grad(out, wanted, grad_outputs=upstream, retain_graph=True)
    recorded = tg.autograd.grad(out, wanted, grad_outputs=upstream, create_graph=True)
    return [g.numpy() for g in plain], [g.numpy() for g in recorded]


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 2, 4)], ids=["N,C", "N,C,L",
                                                                         "N,C,H,W"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
def test_batch_norm_fast_and_readable_backward_agree(shape, training, affine, rng):
    channels = shape[1]
    x = f64(rng.standard_normal(shape) * 3 - 1)
    weight, bias = f64(rng.standard_normal(channels)), f64(rng.standard_normal(channels))
    running = (f64(rng.standard_normal(channels), False),
               f64(rng.uniform(0.5, 2, channels), False))

    def fn(x, weight=None, bias=None):
        return F.batch_norm(x, *running, weight, bias, training=training, momentum=0.0)

    plain, recorded = both_backwards(fn, [x, weight, bias] if affine else [x], rng)
    for a, b in zip(plain, recorded):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_drop_fast_and_readable_backward_agree(form, p, rng):
    inverted, per_feature = form
    x = f64(rng.standard_normal((5, 4)))
    mask = fixed_mask(x.shape, p, per_feature)
    plain, recorded = both_backwards(
        lambda x: F.dropout(x, p, inverted=inverted, per_feature=per_feature, mask=mask), [x],
        rng)
    np.testing.assert_allclose(plain[0], recorded[0], rtol=1e-15, atol=0)
    assert np.isfinite(recorded[0]).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_fast_and_readable_backward_agree(reduction, rng):
    labels = np.array([3, 0, 1, 1, 2])
    logits = f64(rng.standard_normal((5, 4)) * 4)
    plain, recorded = both_backwards(lambda x: F.cross_entropy(x, labels, reduction=reduction), [logits],
                                     rng)
    np.testing.assert_allclose(plain[0], recorded[0], rtol=1e-12, atol=1e-15)
    x, y = f64(rng.standard_normal((4, 3)) * 5), f64(rng.random((4, 3)))
    plain, recorded = both_backwards(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction), [x, y], rng)
    for a, b in zip(plain, recorded):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------- against PyTorch


def hvp_torch(torch, fn, inputs, vectors):
    leaves = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = fn(*leaves)
    grads = torch.autograd.grad(out, leaves, create_graph=True)
    dot = sum((g * torch.tensor(v)).sum() for g, v in zip(grads, vectors))
    return [h.numpy() for h in torch.autograd.grad(dot, leaves)]


def hvp_ours(fn, inputs, vectors):
    leaves = [f64(a) for a in inputs]
    out = fn(*leaves)
    grads = tg.autograd.grad(out, leaves, create_graph=True)
    dot = sum((g * f64(v, False)).sum() for g, v in zip(grads, vectors))
    return [h.numpy() for h in tg.autograd.grad(dot, leaves)]


def op_cases(torch, rng):
    """(name, our function, PyTorch's, input arrays): scalar functions of every fused op."""
    tf = torch.nn.functional
    labels = np.array([2, 0, 1, 1])
    u = rng.standard_normal((4, 3))  # fixed weights make each function a non-trivial scalar
    mask = fixed_mask((4, 3), 0.5, False)
    running = [rng.standard_normal(3), rng.uniform(0.5, 2, 3)]
    cases = [
        ("linear", lambda x, w, b: (F.linear(x, w, b).tanh() * u[:, :2]).sum(),
         lambda x, w, b: (tf.linear(x, w, b).tanh() * torch.tensor(u[:, :2])).sum(),
         [rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)]),
        ("batch_norm train", lambda x, w, b: (F.batch_norm(x, None, None, w, b, training=True)
                                              .tanh() * u).sum(),
         lambda x, w, b: (tf.batch_norm(x, None, None, w, b, training=True).tanh()
                          * torch.tensor(u)).sum(),
         [rng.standard_normal((4, 3)) * 2, rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)]),
        ("batch_norm eval", lambda x, w, b: (F.batch_norm(x, *running, w, b).tanh() * u).sum(),
         lambda x, w, b: (tf.batch_norm(x, *map(torch.tensor, running), w, b).tanh()
                          * torch.tensor(u)).sum(),
         [rng.standard_normal((4, 3)) * 2, rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)]),
        ("dropout", lambda x: (F.dropout(x, 0.5, mask=mask).tanh() * u).sum(),
         lambda x: ((x * torch.tensor(mask) / 0.5).tanh() * torch.tensor(u)).sum(),
         [rng.standard_normal((4, 3))]),
        ("cross_entropy", lambda x: F.cross_entropy(x.tanh() * 3, labels),
         lambda x: tf.cross_entropy(x.tanh() * 3, torch.tensor(labels)),
         [rng.standard_normal((4, 3))]),
        ("bce_with_logits", lambda x, y: F.binary_cross_entropy_with_logits(x * x, y),
         lambda x, y: tf.binary_cross_entropy_with_logits(x * x, y),
         [rng.standard_normal((4, 3)), rng.random((4, 3))]),
    ]
    return cases


def test_hessian_vector_products_of_every_fused_op_match_pytorch(torch, rng):
    for name, ours, theirs, inputs in op_cases(torch, rng):
        vectors = [rng.standard_normal(a.shape) for a in inputs]
        expected = hvp_torch(torch, theirs, inputs, vectors)
        got = hvp_ours(ours, inputs, vectors)
        for i, (a, b) in enumerate(zip(got, expected)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11, err_msg=f"{name} input {i}")
        assert any(np.abs(b).max() > 1e-3 for b in expected), name  # not trivially zero


P_DROP = 0.5


class Network:
    """Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear, ours (float64) and PyTorch's
    functional copy of it, sharing parameters and the dropout mask."""

    def __init__(self, torch, rng):
        self.torch = torch
        self.model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                   nn.Dropout(P_DROP), nn.Linear(6, 3)).double()
        self.model[1].weight.data[:] = rng.uniform(0.5, 1.5, 6)
        self.model[1].bias.data[:] = rng.standard_normal(6) * 0.3
        self.params = list(self.model.parameters())
        self.torch_params = [torch.tensor(p.numpy().copy(), requires_grad=True)
                             for p in self.params]
        self.running = [torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)]

    def ours(self, x, labels, seed):
        tg.manual_seed(seed)  # the dropout mask of this call, read back from the module
        out = F.cross_entropy(self.model(x), labels)
        self.mask = self.model[3].mask
        return out

    def theirs(self, x, labels, training):
        tf, (w1, b1, gamma, beta, w2, b2) = self.torch.nn.functional, self.torch_params
        h = tf.batch_norm(tf.linear(x, w1, b1), *self.running, gamma, beta, training=training)
        h = tf.relu(h)
        if training:
            h = h * self.torch.tensor(self.mask) / (1 - P_DROP)
        return tf.cross_entropy(tf.linear(h, w2, b2), self.torch.tensor(labels))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_gradient_penalty_through_the_network_matches_pytorch(torch, training, rng):
    net = Network(torch, rng)
    if not training:  # running statistics from one training step, on both sides
        warm = rng.standard_normal((8, 4))
        net.ours(f64(warm, False), np.zeros(8, int), seed=0)
        net.theirs(torch.tensor(warm), np.zeros(8, int), training=True)
        net.model.eval()
    x0, labels = rng.standard_normal((8, 4)), np.array([0, 1, 2, 0, 1, 2, 2, 1])

    x = f64(x0)
    loss = net.ours(x, labels, seed=5)
    (grad_x,) = tg.autograd.grad(loss, x, create_graph=True)
    penalty = loss + (grad_x ** 2).sum()
    penalty.backward()

    x_torch = torch.tensor(x0, requires_grad=True)
    loss_torch = net.theirs(x_torch, labels, training)
    (grad_x_torch,) = torch.autograd.grad(loss_torch, x_torch, create_graph=True)
    (loss_torch + (grad_x_torch ** 2).sum()).backward()

    if training:
        assert 0 < np.count_nonzero(net.mask) < net.mask.size
    np.testing.assert_allclose(loss.item(), loss_torch.item(), rtol=1e-12)
    np.testing.assert_allclose(grad_x.numpy(), grad_x_torch.detach().numpy(), rtol=1e-9,
                               atol=1e-12)
    names = [name for name, _ in net.model.named_parameters()]
    for name, p, q in zip(names, net.params, net.torch_params):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)
    np.testing.assert_allclose(net.model[1].running_mean.numpy(), net.running[0].numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(net.model[1].running_var.numpy(), net.running[1].numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_network_hessian_vector_product_matches_pytorch(torch, training, rng):
    net = Network(torch, rng)
    net.model.train(training)
    x0, labels = rng.standard_normal((8, 4)), np.array([2, 1, 0, 0, 1, 2, 2, 1])
    vectors = [rng.standard_normal(p.shape) for p in net.params]

    loss = net.ours(f64(x0, False), labels, seed=9)
    grads = tg.autograd.grad(loss, net.params, create_graph=True)
    dot = sum((g * f64(v, False)).sum() for g, v in zip(grads, vectors))
    ours = tg.autograd.grad(dot, net.params)

    loss_torch = net.theirs(torch.tensor(x0), labels, training)
    grads_torch = torch.autograd.grad(loss_torch, net.torch_params, create_graph=True)
    dot_torch = sum((g * torch.tensor(v)).sum() for g, v in zip(grads_torch, vectors))
    theirs = torch.autograd.grad(dot_torch, net.torch_params)

    names = [name for name, _ in net.model.named_parameters()]
    for name, a, b in zip(names, ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-11, err_msg=name)


# ------------------------------------------------- batch norm's statistics: its own, or saved


def test_training_op_takes_no_statistics_from_outside(rng):
    parameters = inspect.signature(BatchNorm.forward).parameters
    assert not {"mean", "var", "running_mean", "running_var", "centered"} & set(parameters)
    x = f64(rng.standard_normal((6, 2)) * 3 + 5)
    with pytest.raises(TypeError, match="mean"):
        BatchNorm.apply(x, mean=np.zeros(2), var=np.ones(2), eps=1e-5, training=True)
    # The report is write-only: stale values in it change nothing and are overwritten.
    statistics = BatchStatistics()
    statistics.mean, statistics.var = np.zeros(2), np.ones(2)
    out = BatchNorm.apply(x, eps=0.0, training=True, statistics=statistics)
    x0 = x.numpy()
    np.testing.assert_allclose(out.numpy(), (x0 - x0.mean(0)) / x0.std(0), rtol=1e-12)
    np.testing.assert_allclose(statistics.mean, x0.mean(0), rtol=1e-12)
    np.testing.assert_allclose(statistics.var, x0.var(0), rtol=1e-12)
    # And the gradient is batch norm's, through the batch statistics: it sums to 0 per channel.
    (grad,) = tg.autograd.grad(out, x, grad_outputs=rng.standard_normal((6, 2)))
    np.testing.assert_allclose(grad.numpy().sum(axis=0), 0, atol=1e-12)


def test_functional_updates_running_statistics_from_the_ops_report(rng):
    x = rng.standard_normal((10, 3)) * 2 + 1
    running_mean, running_var = f64(np.zeros(3), False), f64(np.ones(3), False)
    versions = running_mean._version, running_var._version
    out = F.batch_norm(f64(x), running_mean, running_var, training=True, momentum=0.5)
    np.testing.assert_allclose(running_mean.numpy(), 0.5 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(running_var.numpy(), 0.5 + 0.5 * x.var(axis=0, ddof=1),
                               rtol=1e-12)
    assert (running_mean._version, running_var._version) == (versions[0] + 1, versions[1] + 1)
    assert out.grad_fn.inputs[0].shape == x.shape and len(out.grad_fn.inputs) == 1


def test_module_bumps_the_version_of_every_buffer_it_updates():
    bn = nn.BatchNorm1d(2)
    buffers = [bn.running_mean, bn.running_var, bn.num_batches_tracked]
    before = [b._version for b in buffers]
    bn(tg.randn(4, 2))
    assert [b._version for b in buffers] == [v + 1 for v in before]
    bn.eval()(tg.randn(4, 2))
    assert [b._version for b in buffers] == [v + 1 for v in before]


INPLACE_MESSAGE = "modified by an inplace operation"


@pytest.mark.parametrize("change", ["tensor method", "data and increment_version",
                                    "a training step"])
@pytest.mark.parametrize("stat", ["running_mean", "running_var"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_changing_a_running_statistic_before_an_eval_backward_raises(change, stat,
                                                                     create_graph, rng):
    bn = nn.BatchNorm1d(3).double().eval()
    x = f64(rng.standard_normal((4, 3)))
    out = bn(x)
    buffer = getattr(bn, stat)
    if change == "tensor method":
        with tg.no_grad():
            buffer.mul_(2.0)
    elif change == "data and increment_version":
        buffer.data[:] = 4.0
        tg.autograd.increment_version(buffer)
    else:
        bn.train()(f64(rng.standard_normal((4, 3)), False))
    with pytest.raises(RuntimeError, match=INPLACE_MESSAGE):
        tg.autograd.grad(out.sum(), x, create_graph=create_graph)


def test_eval_backward_without_an_in_place_change_uses_the_saved_statistics(rng):
    bn = nn.BatchNorm1d(3).double().eval()
    bn.running_var.data[:] = [4.0, 0.25, 1.0]
    x = f64(rng.standard_normal((4, 3)))
    out = bn(x)
    inputs = out.grad_fn.inputs
    assert any(t is bn.running_mean for t in inputs) and any(t is bn.running_var for t in inputs)
    (grad,) = tg.autograd.grad(out.sum(), x)
    expected = 1 / np.sqrt(np.array([4.0, 0.25, 1.0]) + bn.eps)
    np.testing.assert_allclose(grad.numpy(), np.tile(expected, (4, 1)), rtol=1e-12)


def test_an_array_running_statistic_is_copied_for_the_backward(rng):
    running_mean, running_var = np.zeros(2), np.full(2, 4.0)
    x = f64(rng.standard_normal((3, 2)))
    weight = f64(np.ones(2))
    out = F.batch_norm(x, running_mean, running_var, weight, f64(np.zeros(2)))
    running_var[:] = 100.0  # an array has no version counter: the op kept its own copy
    (grad_weight,) = tg.autograd.grad(out.sum(), weight, create_graph=True)
    np.testing.assert_allclose(grad_weight.numpy(), x.numpy().sum(axis=0) / np.sqrt(4 + 1e-5),
                               rtol=1e-12)


def test_drop_is_a_fixed_linear_map_so_its_second_derivative_is_zero(rng):
    x = f64(rng.standard_normal((3, 4)))
    mask = fixed_mask(x.shape, 0.5, False)
    out = F.dropout(x, 0.5, mask=mask)
    assert isinstance(out.grad_fn, Drop)
    (grad,) = tg.autograd.grad((out ** 2).sum(), x, create_graph=True)
    np.testing.assert_allclose(grad.numpy(), 2 * x.numpy() * mask / 0.25, rtol=1e-14)
    (hessian_diagonal,) = tg.autograd.grad(grad.sum(), x)
    np.testing.assert_allclose(hessian_diagonal.numpy(), 2 * mask / 0.25, rtol=1e-14)


def test_fused_op_names_do_not_clash_with_module_names():
    from tinygrad_dropbn.ops import (activations, batchnorm, dropout, embedding, layernorm, linear,
                                     losses)

    ops = {name for module in (activations, batchnorm, dropout, embedding, layernorm, linear,
                               losses)
           for name, value in vars(module).items()
           if isinstance(value, type) and issubclass(value, tg.Function)
           and value.__module__ == module.__name__}
    modules = {name for name in nn.__all__
               if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)}
    assert ops == {"Drop", "BatchNorm", "Affine", "CrossEntropy", "BinaryCrossEntropyWithLogits",
                   "NegativeLogLikelihood", "BinaryCrossEntropy", "LayerNormalization",
                   "EmbeddingLookup", "NormalCdf", "ExponentialLinear"}
    assert not ops & modules
    assert not hasattr(F, "LinearOp")
    # The functional forms are functions of their own, not re-exported ops or functions.
    assert all(inspect.isfunction(getattr(F, name)) and getattr(F, name).__module__ == F.__name__
               for name in F.__all__)
