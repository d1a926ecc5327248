"""Losses: values and gradients against PyTorch and formulas, stability, label checks, dtypes."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F

REDUCTIONS = ["mean", "sum", "none"]


def f64(array, requires_grad=True):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


@pytest.fixture
def logits(rng):
    return rng.standard_normal((6, 4)) * 3


@pytest.fixture
def labels():
    return np.array([0, 3, 1, 1, 2, 3])


def _reference_cross_entropy(x, t):
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(t)), t]


def _reduce(values, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](values)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_value_and_gradcheck(logits, labels, reduction):
    out = F.cross_entropy(f64(logits, False), labels, reduction=reduction)
    np.testing.assert_allclose(out.data, _reduce(_reference_cross_entropy(logits, labels),
                                                 reduction), rtol=1e-12)
    tg.gradcheck(lambda x: F.cross_entropy(x, labels, reduction=reduction), [f64(logits)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_cross_entropy_agrees_with_log_softmax_plus_nll(logits, labels, reduction, rng):
    fused, composed = f64(logits), f64(logits)
    out_fused = F.cross_entropy(fused, labels, reduction=reduction)
    out_composed = F.nll_loss(F.log_softmax(composed, dim=1), labels, reduction=reduction)
    np.testing.assert_allclose(out_fused.data, out_composed.data, rtol=1e-12)
    upstream = rng.standard_normal(out_fused.shape)
    out_fused.backward(upstream)
    out_composed.backward(upstream)
    np.testing.assert_allclose(fused.grad.data, composed.grad.data, rtol=1e-10, atol=1e-15)
    if reduction == "mean":  # the closed form: (softmax - onehot) / N
        softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        onehot = np.eye(4)[labels]
        np.testing.assert_allclose(fused.grad.data, upstream * (softmax - onehot) / 6,
                                   rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_classification_losses_match_torch(torch, logits, labels, reduction, name, rng):
    x = logits.astype(np.float32)
    if name == "nll_loss":
        x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours = getattr(F, name)(ours, labels, reduction=reduction)
    out_theirs = getattr(torch.nn.functional, name)(theirs, torch.from_numpy(labels),
                                                    reduction=reduction)
    assert out_ours.dtype == np.float32
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
    upstream = rng.standard_normal(out_ours.shape).astype(np.float32)
    out_ours.backward(upstream)
    out_theirs.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_cross_entropy_is_stable_for_huge_logits():
    x = tg.Tensor([[1e4, -1e4, 0.0], [3e38, 3e38, 0.0], [-1e30, 0.0, 1e30]],
                  requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 1, 0]), reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, np.log(2), 2e30], rtol=1e-6)
    loss.sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, [[0, 0, 0], [0.5, -0.5, 0], [-1, 0, 1]], atol=1e-6)


@pytest.mark.parametrize("bad, position", [(-1, 2), (4, 0), (100, 5)])
def test_labels_out_of_range_are_named(logits, labels, bad, position):
    labels = labels.copy()
    labels[position] = bad
    for loss in (F.cross_entropy, F.nll_loss):
        with pytest.raises(ValueError, match=rf"label {bad} at position {position} is outside "
                                             r"\[0, 4\)"):
            loss(f64(logits), labels)


def test_label_type_and_shape_errors(logits, labels):
    with pytest.raises(TypeError, match="integer class labels.*float32.*astype\\(np.int64\\)"):
        F.cross_entropy(f64(logits), labels.astype(np.float32))
    with pytest.raises(TypeError, match="integer class labels"):
        F.cross_entropy(f64(logits), labels.astype(bool))
    with pytest.raises(ValueError, match="expected one label per position, shape \\(6,\\)"):
        F.cross_entropy(f64(logits), labels[:, None])
    with pytest.raises(ValueError, match="expected one label per position, shape \\(\\)"):
        F.cross_entropy(f64(logits[0]), labels[:2])
    with pytest.raises(ValueError, match="scores of shape \\(C,\\), \\(N, C\\) or"):
        F.cross_entropy(f64(logits[0, 0]), labels[:1])
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(f64(logits), labels, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="total")


def test_labels_may_be_tensors_lists_or_int32(logits, labels):
    expected = F.cross_entropy(f64(logits), labels).data
    for form in (tg.Tensor(labels), labels.tolist(), labels.astype(np.int32),
                 labels.astype(np.uint8)):
        np.testing.assert_allclose(F.cross_entropy(f64(logits), form).data, expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(rng, reduction):
    x, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    out = F.mse_loss(f64(x, False), y, reduction=reduction)
    np.testing.assert_allclose(out.data, _reduce((x - y) ** 2, reduction), rtol=1e-12)
    tg.gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [f64(x), f64(y)])


def test_mse_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="target of shape \\(5,\\) does not match input of "
                                         "shape \\(5, 1\\)"):
        F.mse_loss(tg.zeros(5, 1), np.zeros(5))


def _reference_bce(x, y):
    s = 1 / (1 + np.exp(-x))
    return -(y * np.log(s) + (1 - y) * np.log(1 - s))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(rng, reduction):
    x, y = rng.standard_normal((4, 3)) * 2, rng.random((4, 3))
    out = F.binary_cross_entropy_with_logits(f64(x, False), y, reduction=reduction)
    np.testing.assert_allclose(out.data, _reduce(_reference_bce(x, y), reduction), rtol=1e-10)
    tg.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
                 [f64(x), f64(y)])


def test_bce_with_logits_is_stable_and_exact_at_zero():
    x = tg.Tensor([1e4, -1e4, 100.0, 0.0], requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 1.0], dtype=np.float32)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [1e4, 1e4, np.exp(-100.0), np.log(2)],
                               rtol=1e-6, atol=1e-30)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, 0.0, -0.5], atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "binary_cross_entropy_with_logits"])
def test_regression_losses_match_torch(torch, rng, reduction, name):
    x = (rng.standard_normal((6, 2)) * 3).astype(np.float32)
    y = rng.random((6, 2)).astype(np.float32)
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours = getattr(F, name)(ours, y, reduction=reduction)
    out_theirs = getattr(torch.nn.functional, name)(theirs, torch.from_numpy(y),
                                                    reduction=reduction)
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("module, function", [
    (nn.CrossEntropyLoss, F.cross_entropy), (nn.NLLLoss, F.nll_loss), (nn.MSELoss, F.mse_loss),
    (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits)])
def test_module_forms(module, function, rng):
    x = tg.Tensor(rng.standard_normal((3, 2)).astype(np.float32))
    target = np.array([1, 0, 1]) if function in (F.cross_entropy, F.nll_loss) else \
        rng.random((3, 2)).astype(np.float32)
    for reduction in REDUCTIONS:
        np.testing.assert_array_equal(module(reduction=reduction)(x, target).data,
                                      function(x, target, reduction=reduction).data)
    assert repr(module()) == f"{module.__name__}()"
    assert repr(module(reduction="sum")) == f"{module.__name__}(reduction='sum')"


@pytest.mark.parametrize("name, target", [
    ("cross_entropy", np.array([0, 2, 1, 2])),
    ("nll_loss", np.array([0, 2, 1, 2], dtype=np.int32)),
    ("mse_loss", np.array([[0, 1, 1]] * 4)),
    ("mse_loss", np.ones((4, 3))),
    ("binary_cross_entropy_with_logits", np.array([[0, 1, 1]] * 4)),
    ("binary_cross_entropy_with_logits", tg.Tensor(np.ones((4, 3)))),
])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_keep_float32_with_integer_or_float64_targets(name, target, reduction, rng):
    x = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    loss = getattr(F, name)(x, target, reduction=reduction)
    assert loss.dtype == np.float32
    loss.sum().backward()
    assert x.grad.dtype == np.float32


def test_changing_the_labels_after_the_forward_pass_does_not_change_the_gradient():
    logits = tg.Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    labels = np.array([0])
    loss = F.cross_entropy(logits, labels)
    labels[0] = 2
    loss.backward()
    softmax = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(logits.grad.numpy()[0], softmax - [1, 0, 0], rtol=1e-6)
