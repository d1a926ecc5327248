"""The PyTorch-shaped nn surface against PyTorch itself: every loss with every option, the
activations, Embedding, the containers and nn.utils -- values and gradients in float32 and
float64, finite differences in float64, and the errors PyTorch raises."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def labels(rng, shape, classes, ignored=None):
    out = rng.integers(0, classes, shape)
    if ignored is not None:
        out.ravel()[::3] = ignored
    return out


def probabilities(rng, shape):
    p = rng.random(shape) + 0.1
    return p / p.sum(axis=1, keepdims=True)


# Each case: functional name, a function of the generator giving (positional arrays, which of
# them are differentiated, keyword arguments). Float arrays become tensors of the dtype under
# test, integer arrays stay label arrays; float keyword arrays (weight, pos_weight) become
# constant tensors.
LOSS_CASES = {
    "ce": ("cross_entropy", lambda r: ([r.normal(size=(6, 4)) * 2, labels(r, 6, 4)], [1, 0], {})),
    "ce-sum": ("cross_entropy", lambda r: ([r.normal(size=(6, 4)), labels(r, 6, 4)], [1, 0],
                                           dict(reduction="sum"))),
    "ce-none": ("cross_entropy", lambda r: ([r.normal(size=(6, 4)), labels(r, 6, 4)], [1, 0],
                                            dict(reduction="none"))),
    "ce-weight": ("cross_entropy", lambda r: ([r.normal(size=(6, 4)), labels(r, 6, 4)], [1, 0],
                                              dict(weight=r.random(4) + 0.5))),
    "ce-ignore": ("cross_entropy", lambda r: ([r.normal(size=(7, 4)), labels(r, 7, 4, -100)],
                                              [1, 0], {})),
    "ce-ignore-2-weight-none": ("cross_entropy", lambda r: (
        [r.normal(size=(7, 4)), labels(r, 7, 4, 2)], [1, 0],
        dict(ignore_index=2, weight=r.random(4) + 0.5, reduction="none"))),
    "ce-smoothing": ("cross_entropy", lambda r: ([r.normal(size=(6, 4)), labels(r, 6, 4)], [1, 0],
                                                 dict(label_smoothing=0.2))),
    "ce-smoothing-weight-ignore": ("cross_entropy", lambda r: (
        [r.normal(size=(7, 4)), labels(r, 7, 4, 1)], [1, 0],
        dict(label_smoothing=0.3, weight=r.random(4) + 0.5, ignore_index=1))),
    "ce-smoothing-weight-ignore-sum": ("cross_entropy", lambda r: (
        [r.normal(size=(7, 4)), labels(r, 7, 4, 1)], [1, 0],
        dict(label_smoothing=0.3, weight=r.random(4) + 0.5, ignore_index=1, reduction="sum"))),
    "ce-NCd": ("cross_entropy", lambda r: ([r.normal(size=(3, 4, 5)), labels(r, (3, 5), 4)],
                                           [1, 0], {})),
    "ce-NCdd-all-options": ("cross_entropy", lambda r: (
        [r.normal(size=(2, 3, 4, 2)), labels(r, (2, 4, 2), 3, -100)], [1, 0],
        dict(weight=r.random(3) + 0.5, label_smoothing=0.1))),
    "ce-NCdd-none": ("cross_entropy", lambda r: (
        [r.normal(size=(2, 3, 4, 2)), labels(r, (2, 4, 2), 3, -100)], [1, 0],
        dict(reduction="none", label_smoothing=0.1))),
    "ce-unbatched": ("cross_entropy", lambda r: ([r.normal(size=5), np.array(3)], [1, 0], {})),
    "ce-unbatched-none": ("cross_entropy", lambda r: ([r.normal(size=5), np.array(3)], [1, 0],
                                                      dict(reduction="none"))),
    "ce-probs": ("cross_entropy", lambda r: ([r.normal(size=(6, 4)), probabilities(r, (6, 4))],
                                             [1, 0], {})),
    "ce-probs-weight-smoothing": ("cross_entropy", lambda r: (
        [r.normal(size=(6, 4)), probabilities(r, (6, 4))], [1, 0],
        dict(weight=r.random(4) + 0.5, label_smoothing=0.2))),
    "ce-probs-NCd-none": ("cross_entropy", lambda r: (
        [r.normal(size=(2, 4, 3)), probabilities(r, (2, 4, 3))], [1, 0],
        dict(reduction="none"))),
    "ce-probs-differentiated": ("cross_entropy", lambda r: (
        [r.normal(size=(5, 3)), probabilities(r, (5, 3))], [1, 1],
        dict(weight=r.random(3) + 0.5, label_smoothing=0.1))),
    "ce-probs-unbatched": ("cross_entropy", lambda r: ([r.normal(size=4), probabilities(
        r, (1, 4))[0]], [1, 0], {})),
    "ce-legacy-size-average": ("cross_entropy", lambda r: (
        [r.normal(size=(6, 4)), labels(r, 6, 4)], [1, 0], dict(size_average=False))),
    "ce-legacy-reduce": ("cross_entropy", lambda r: (
        [r.normal(size=(6, 4)), labels(r, 6, 4)], [1, 0], dict(reduce=False))),
    "nll": ("nll_loss", lambda r: ([r.normal(size=(6, 4)), labels(r, 6, 4)], [1, 0], {})),
    "nll-weight-ignore": ("nll_loss", lambda r: (
        [r.normal(size=(7, 4)), labels(r, 7, 4, 3)], [1, 0],
        dict(weight=r.random(4) + 0.5, ignore_index=3))),
    "nll-NCd-none": ("nll_loss", lambda r: (
        [r.normal(size=(2, 3, 4)), labels(r, (2, 4), 3, -100)], [1, 0],
        dict(reduction="none", weight=r.random(3) + 0.5))),
    "nll-unbatched": ("nll_loss", lambda r: ([r.normal(size=5), np.array(1)], [1, 0], {})),
    "mse": ("mse_loss", lambda r: ([r.normal(size=(4, 3)), r.normal(size=(4, 3))], [1, 1], {})),
    "mse-sum": ("mse_loss", lambda r: ([r.normal(size=(4, 3)), r.normal(size=(4, 3))], [1, 1],
                                       dict(reduction="sum"))),
    "mse-weight": ("mse_loss", lambda r: ([r.normal(size=(4, 3)), r.normal(size=(4, 3))], [1, 1],
                                          dict(weight=r.random((4, 3))))),
    "l1": ("l1_loss", lambda r: ([r.normal(size=(4, 3)), r.normal(size=(4, 3))], [1, 1], {})),
    "l1-none": ("l1_loss", lambda r: ([r.normal(size=(4, 3)), r.normal(size=(4, 3))], [1, 1],
                                      dict(reduction="none"))),
    "l1-weight-sum": ("l1_loss", lambda r: ([r.normal(size=(4, 3)), r.normal(size=(4, 3))],
                                            [1, 1], dict(weight=r.random((4, 3)),
                                                         reduction="sum"))),
    "smooth-l1": ("smooth_l1_loss", lambda r: ([r.normal(size=(5, 3)) * 2, r.normal(size=(5, 3))],
                                               [1, 1], {})),
    "smooth-l1-beta": ("smooth_l1_loss", lambda r: (
        [r.normal(size=(5, 3)) * 2, r.normal(size=(5, 3))], [1, 1],
        dict(beta=0.5, reduction="none"))),
    "smooth-l1-beta-0": ("smooth_l1_loss", lambda r: (
        [r.normal(size=(5, 3)), r.normal(size=(5, 3))], [1, 1], dict(beta=0.0))),
    "huber": ("huber_loss", lambda r: ([r.normal(size=(5, 3)) * 2, r.normal(size=(5, 3))],
                                       [1, 1], {})),
    "huber-delta": ("huber_loss", lambda r: ([r.normal(size=(5, 3)) * 2, r.normal(size=(5, 3))],
                                             [1, 1], dict(delta=2.5, reduction="sum"))),
    "huber-weight": ("huber_loss", lambda r: ([r.normal(size=(5, 3)) * 2, r.normal(size=(5, 3))],
                                              [1, 1], dict(delta=0.7, weight=r.random((5, 3))))),
    "bce": ("binary_cross_entropy", lambda r: ([r.uniform(0.05, 0.95, (4, 3)), r.random((4, 3))],
                                               [1, 1], {})),
    "bce-weight-none": ("binary_cross_entropy", lambda r: (
        [r.uniform(0.05, 0.95, (4, 3)), r.random((4, 3))], [1, 1],
        dict(weight=r.random(3), reduction="none"))),
    "bce-logits": ("binary_cross_entropy_with_logits", lambda r: (
        [r.normal(size=(4, 3)) * 3, r.random((4, 3))], [1, 1], {})),
    "bce-logits-pos-weight": ("binary_cross_entropy_with_logits", lambda r: (
        [r.normal(size=(4, 3)) * 3, r.random((4, 3))], [1, 1],
        dict(pos_weight=r.random(3) * 3))),
    "bce-logits-both-weights-sum": ("binary_cross_entropy_with_logits", lambda r: (
        [r.normal(size=(4, 3)) * 3, r.random((4, 3))], [1, 1],
        dict(pos_weight=r.random(3) * 3, weight=r.random((4, 3)), reduction="sum"))),
    "kl": ("kl_div", lambda r: ([np.log(probabilities(r, (4, 3))), probabilities(r, (4, 3))],
                                [1, 1], {})),
    "kl-batchmean": ("kl_div", lambda r: ([np.log(probabilities(r, (4, 3))),
                                           probabilities(r, (4, 3))], [1, 1],
                                          dict(reduction="batchmean"))),
    "kl-log-target-none": ("kl_div", lambda r: (
        [np.log(probabilities(r, (4, 3))), np.log(probabilities(r, (4, 3)))], [1, 1],
        dict(log_target=True, reduction="none"))),
    "kl-zero-target": ("kl_div", lambda r: ([np.log(probabilities(r, (2, 3))),
                                             np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0]])],
                                            [1, 0], dict(reduction="sum"))),
    "kl-negative-target-is-nan": ("kl_div", lambda r: ([np.log(probabilities(r, (2, 3))),
                                                        np.array([[0.0, -0.3, 1.3]] * 2)],
                                                       [1, 0], dict(reduction="none"))),
}


def _ours(value, dtype, requires_grad=False):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return tg.Tensor(value.astype(dtype), requires_grad=requires_grad)
    return value


def _theirs(torch, value, dtype, requires_grad=False):
    if isinstance(value, np.ndarray):
        array = value.astype(dtype) if value.dtype.kind == "f" else value
        return torch.tensor(array, requires_grad=requires_grad)
    return value


def _compare(torch, ours_fn, theirs_fn, arrays, differentiated, kwargs, dtype, rng):
    """Run the same call on both sides; compare the value and every gradient."""
    ours = [_ours(a, dtype, bool(d)) for a, d in zip(arrays, differentiated)]
    theirs = [_theirs(torch, a, dtype, bool(d)) for a, d in zip(arrays, differentiated)]
    out_ours = ours_fn(*ours, **{k: _ours(v, dtype) for k, v in kwargs.items()})
    out_theirs = theirs_fn(*theirs, **{k: _theirs(torch, v, dtype) for k, v in kwargs.items()})
    assert out_ours.dtype == dtype
    assert out_ours.shape == tuple(out_theirs.shape)
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), **TOLERANCE[dtype])
    upstream = rng.standard_normal(out_ours.shape).astype(dtype)
    out_ours.backward(upstream)
    out_theirs.backward(torch.from_numpy(upstream))
    for a, b, d in zip(ours, theirs, differentiated):
        if d:
            assert a.grad.dtype == dtype
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", LOSS_CASES)
def test_loss_matches_torch(torch, case, dtype, rng):
    name, make = LOSS_CASES[case]
    arrays, differentiated, kwargs = make(rng)
    _compare(torch, getattr(F, name), getattr(torch.nn.functional, name), arrays,
             differentiated, kwargs, dtype, rng)


@pytest.mark.parametrize("case", [case for case in LOSS_CASES if not case.endswith("nan")])
def test_loss_gradcheck(case, rng):
    name, make = LOSS_CASES[case]
    arrays, differentiated, kwargs = make(rng)
    kwargs = {k: _ours(v, np.float64) for k, v in kwargs.items()}
    inputs = [_ours(a, np.float64, bool(d)) for a, d in zip(arrays, differentiated)]
    checked = [i for i, d in enumerate(differentiated) if d]

    def fn(*tensors):
        full = list(inputs)
        for i, tensor in zip(checked, tensors):
            full[i] = tensor
        return getattr(F, name)(*full, **kwargs)

    assert tg.gradcheck(fn, [inputs[i] for i in checked])


@pytest.mark.parametrize("case", ["ce", "ce-smoothing-weight-ignore", "ce-NCdd-all-options",
                                  "ce-probs-weight-smoothing", "nll-weight-ignore",
                                  "bce-logits-pos-weight", "bce"])
def test_loss_gradgradcheck(case, rng):
    name, make = LOSS_CASES[case]
    arrays, differentiated, kwargs = make(rng)
    kwargs = {k: _ours(v, np.float64) for k, v in kwargs.items()}
    x = _ours(arrays[0], np.float64, True)
    rest = [_ours(a, np.float64) for a in arrays[1:]]
    assert tg.gradgradcheck(lambda x: getattr(F, name)(x, *rest, **kwargs), [x])


def test_fused_cross_entropy_agrees_with_log_softmax_plus_nll_for_every_option(rng):
    x = rng.normal(size=(3, 4, 5))
    t = labels(rng, (3, 5), 4, 0)
    options = dict(weight=tg.Tensor(rng.random(4) + 0.5), ignore_index=0)
    fused, composed = tg.Tensor(x, requires_grad=True), tg.Tensor(x, requires_grad=True)
    F.cross_entropy(fused, t, **options).backward()
    F.nll_loss(F.log_softmax(composed, dim=1), t, **options).backward()
    np.testing.assert_allclose(fused.grad.data, composed.grad.data, rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_one_node():
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 2]), weight=np.ones(3), label_smoothing=0.1)
    assert type(loss.grad_fn).__name__ == "CrossEntropy" and loss.grad_fn.inputs == (x,)


def test_probability_target_may_be_int_valued_floats_of_the_input_shape(rng):
    x = rng.normal(size=(3, 3))
    onehot = np.eye(3)[[0, 2, 1]]
    np.testing.assert_allclose(F.cross_entropy(tg.Tensor(x), onehot).data,
                               F.cross_entropy(tg.Tensor(x), np.array([0, 2, 1])).data,
                               rtol=1e-12)


# Module forms: constructor arguments as in torch.nn, same results, same state_dict keys.
MODULE_CASES = [
    ("CrossEntropyLoss", "cross_entropy", dict(weight=np.array([0.5, 1.0, 2.0, 1.5]),
                                               ignore_index=1, label_smoothing=0.1)),
    ("CrossEntropyLoss", "cross_entropy", dict(reduction="sum")),
    ("NLLLoss", "nll_loss", dict(weight=np.array([0.5, 1.0, 2.0, 1.5]), reduction="none")),
    ("MSELoss", "mse_loss", dict(reduction="sum")),
    ("L1Loss", "l1_loss", {}),
    ("SmoothL1Loss", "smooth_l1_loss", dict(beta=0.3)),
    ("HuberLoss", "huber_loss", dict(delta=0.4, reduction="none")),
    ("BCELoss", "binary_cross_entropy", dict(weight=np.array([1.0, 2.0, 0.5, 1.0]))),
    ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
     dict(weight=np.array([1.0, 2.0, 0.5, 1.0]), pos_weight=np.array([3.0, 1.0, 0.5, 2.0]))),
    ("KLDivLoss", "kl_div", dict(reduction="batchmean")),
    ("KLDivLoss", "kl_div", dict(size_average=False)),
]


def _module_inputs(function, rng):
    if function in ("cross_entropy", "nll_loss"):
        return [rng.normal(size=(6, 4)), labels(rng, 6, 4)], [1, 0]
    if function == "binary_cross_entropy":
        return [rng.uniform(0.05, 0.95, (6, 4)), rng.random((6, 4))], [1, 1]
    if function == "kl_div":
        return [np.log(probabilities(rng, (6, 4))), probabilities(rng, (6, 4))], [1, 1]
    return [rng.normal(size=(6, 4)), rng.normal(size=(6, 4))], [1, 1]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("module, function, options", MODULE_CASES,
                         ids=[f"{m}-{sorted(o)}" for m, _, o in MODULE_CASES])
def test_loss_modules_match_torch(torch, module, function, options, dtype, rng):
    arrays, differentiated = _module_inputs(function, rng)
    ours = getattr(nn, module)(**{k: _ours(v, dtype) for k, v in options.items()})
    theirs = getattr(torch.nn, module)(**{k: _theirs(torch, v, dtype)
                                          for k, v in options.items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _compare(torch, ours, theirs, arrays, differentiated, {}, dtype, rng)


def test_loss_weight_buffers_follow_the_model_dtype_and_accept_torch_tensors(torch):
    loss = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0]))
    assert isinstance(loss.weight, tg.Tensor) and loss.weight.dtype == np.float32
    loss.double()
    assert loss.weight.dtype == np.float64
    x = tg.Tensor(np.zeros((2, 2), np.float32))
    assert loss(x, np.array([0, 1])).dtype == np.float32


# Errors: where PyTorch raises, so do we, with a message naming the fix.
LOSS_ERRORS = [
    (lambda: F.cross_entropy(tg.zeros(3, 4), np.array([0, 4, 1])), ValueError,
     r"label 4 at position 1 is outside \[0, 4\)"),
    (lambda: F.cross_entropy(tg.zeros(2, 3, 2), np.array([[0, 1], [3, 0]])), ValueError,
     r"label 3 at position \(1, 0\)"),
    (lambda: F.cross_entropy(tg.zeros(3, 4), np.array([0, -1, 1])), ValueError,
     r"label -1 at position 1"),
    (lambda: F.cross_entropy(tg.zeros(3, 4), np.array([0, 1, 1]), weight=np.ones(3)),
     ValueError, r"weight of shape \(3,\) must have one entry per class, shape \(4,\)"),
    (lambda: F.cross_entropy(tg.zeros(3, 4), np.array([0, 1, 1]), "sum"), TypeError,
     r"the third argument is the weight.*reduction='sum'"),
    (lambda: F.mse_loss(tg.zeros(3), np.zeros(3), "sum"), TypeError,
     r"pass it as reduction=\.\.\., a keyword"),
    (lambda: F.cross_entropy(tg.zeros(3, 4), np.array([0, 1, 1]), label_smoothing=1.5),
     ValueError, r"label_smoothing must be in \[0, 1\]"),
    (lambda: F.cross_entropy(tg.zeros(3, 4), np.zeros(3, np.float32)), TypeError,
     r"integer class labels.*float target of the input's shape"),
    (lambda: F.nll_loss(tg.zeros(3, 4), np.zeros((3, 4))), TypeError, "integer class labels"),
    (lambda: F.binary_cross_entropy(tg.Tensor([0.5, 1.5]), np.ones(2)), ValueError,
     "should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(tg.Tensor([0.5, 0.5]), np.ones(3)), ValueError,
     r"target of shape \(3,\) does not match input of shape \(2,\)"),
    (lambda: F.binary_cross_entropy_with_logits(tg.zeros(2, 3), np.ones((2, 3)),
                                                pos_weight=np.ones(2)), ValueError,
     "pos_weight of shape"),
    (lambda: F.smooth_l1_loss(tg.zeros(2), np.zeros(2), beta=-1.0), ValueError,
     "negative values for beta"),
    (lambda: F.huber_loss(tg.zeros(2), np.zeros(2), delta=0.0), ValueError,
     "non-positive values for delta"),
    (lambda: F.kl_div(tg.zeros(2), np.zeros(2), reduction="avg"), ValueError, "reduction"),
    (lambda: nn.KLDivLoss(reduction="avg"), ValueError, "reduction"),
    (lambda: nn.MSELoss(reduction="batchmean"), ValueError, "reduction"),
]


@pytest.mark.parametrize("call, error, message", LOSS_ERRORS)
def test_loss_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_torch_raises_for_the_same_loss_calls(torch):
    tf = torch.nn.functional
    for call in (lambda: tf.cross_entropy(torch.zeros(3, 4), torch.tensor([0, 4, 1])),
                 lambda: tf.cross_entropy(torch.zeros(3, 4), torch.tensor([0, 1, 1]),
                                          label_smoothing=1.5),
                 lambda: tf.binary_cross_entropy(torch.tensor([0.5, 1.5]), torch.ones(2)),
                 lambda: tf.binary_cross_entropy(torch.tensor([0.5, 0.5]), torch.ones(3)),
                 lambda: tf.smooth_l1_loss(torch.zeros(2), torch.zeros(2), beta=-1.0),
                 lambda: tf.huber_loss(torch.zeros(2), torch.zeros(2), delta=0.0)):
        with pytest.raises((RuntimeError, ValueError, IndexError)):
            call()


def test_bce_is_finite_at_zero_and_one_like_torch(torch):
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    ours = tg.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out_ours = F.binary_cross_entropy(ours, y, reduction="sum")
    out_theirs = torch.nn.functional.binary_cross_entropy(theirs, torch.tensor(y),
                                                          reduction="sum")
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-12)
    out_ours.backward()
    out_theirs.backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name, options", [("cross_entropy", {}),
                                           ("cross_entropy", dict(label_smoothing=0.1)),
                                           ("nll_loss", {})])
def test_every_label_ignored_gives_nan_and_zero_gradients_like_torch(torch, name, options):
    x = np.zeros((2, 3))
    t = np.array([-100, -100])
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with np.errstate(all="raise"):  # and no NumPy warning on the way
        out = getattr(F, name)(ours, t, **options)
        out.backward()
    expected = getattr(torch.nn.functional, name)(theirs, torch.tensor(t), **options)
    expected.backward()
    assert np.isnan(out.item()) and np.isnan(expected.item())
    np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


# Activations: the module and functional forms against torch.nn.
ACTIVATIONS = [
    ("GELU", {}, "gelu", {}),
    ("GELU", dict(approximate="tanh"), "gelu", dict(approximate="tanh")),
    ("ELU", {}, "elu", {}),
    ("ELU", dict(alpha=0.3), "elu", dict(alpha=0.3)),
    ("SiLU", {}, "silu", {}),
    ("Softmax", dict(dim=1), "softmax", dict(dim=1)),
    ("Softmax", dict(dim=0), "softmax", dict(dim=0)),
    ("LogSoftmax", dict(dim=-1), "log_softmax", dict(dim=-1)),
    ("LogSoftmax", dict(dim=0), "log_softmax", dict(dim=0)),
]
ACTIVATION_IDS = [f"{m}{o}" for m, o, _, _ in ACTIVATIONS]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("module, options, function, kwargs", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activations_match_torch(torch, module, options, function, kwargs, dtype, rng):
    x = rng.standard_normal((4, 5)) * 3
    x[0, :3] = [0.0, 50.0, -50.0]
    _compare(torch, getattr(nn, module)(**options), getattr(torch.nn, module)(**options), [x],
             [1], {}, dtype, rng)
    _compare(torch, lambda t: getattr(F, function)(t, **kwargs),
             lambda t: getattr(torch.nn.functional, function)(t, **kwargs), [x], [1], {}, dtype,
             rng)


@pytest.mark.parametrize("module, options, function, kwargs", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activations_gradcheck_and_gradgradcheck(module, options, function, kwargs, rng):
    x = tg.Tensor(rng.standard_normal((3, 4)) * 2, requires_grad=True)
    layer = getattr(nn, module)(**options)
    assert tg.gradcheck(layer, [x])
    assert tg.gradgradcheck(layer, [x])


def test_elu_does_not_overflow_and_has_torchs_slope_at_zero(torch):
    x = tg.Tensor(np.array([0.0, 1000.0, -1000.0]), requires_grad=True)
    out = F.elu(x, alpha=2.0)
    np.testing.assert_array_equal(out.data, [0.0, 1000.0, -2.0])
    out.sum().backward()
    theirs = torch.tensor([0.0, 1000.0, -1000.0], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.elu(theirs, alpha=2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, theirs.grad.numpy())


def test_softmax_takes_dim_or_axis_and_a_dtype(torch):
    x = tg.Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    for function in (F.softmax, F.log_softmax):
        np.testing.assert_array_equal(function(x, axis=0).data, function(x, dim=0).data)
        np.testing.assert_array_equal(function(x, 1, axis=1).data, function(x, dim=-1).data)
        assert function(x, dim=1, dtype=np.float64).dtype == np.float64
        assert function(x, dim=1, dtype=torch.float64).dtype == np.float64
        function(x, dim=1, dtype=np.float64).sum().backward()
        assert x.grad.dtype == np.float32
        with pytest.raises(TypeError, match="dim=0 and axis=1; they are two names"):
            function(x, dim=0, axis=1)


def test_softmax_without_dim_warns_and_picks_torchs_implicit_dim(torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for ndim in (1, 2, 3, 4):
        data = x.reshape(-1)[:24].reshape((24,) if ndim == 1 else (4, 6) if ndim == 2 else
                                          (2, 3, 4) if ndim == 3 else (2, 3, 2, 2))
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            ours = F.softmax(tg.Tensor(data))
        with pytest.warns(UserWarning):
            theirs = torch.nn.functional.softmax(torch.tensor(data))
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


def test_activation_errors():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(tg.zeros(2), approximate="erf")
    with pytest.raises(TypeError, match="elu alpha must be a number"):
        F.elu(tg.zeros(2), alpha="1")
    with pytest.raises(TypeError, match="needs a floating-point tensor"):
        F.silu(tg.tensor([1, 2]))


def test_activation_reprs_match_torch(torch):
    for module, options, _, _ in ACTIVATIONS:
        assert repr(getattr(nn, module)(**options)) == repr(getattr(torch.nn, module)(**options))


# Embedding.
def _embedding_pair(torch, rng, **options):
    torch.manual_seed(0)
    ours, theirs = nn.Embedding(7, 3, **options), torch.nn.Embedding(7, 3, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(torch, padding_idx, rng):
    ours, theirs = _embedding_pair(torch, rng, padding_idx=padding_idx)
    indices = np.array([[1, 2, 2], [6, 0, 1]])
    out, expected = ours(tg.tensor(indices)), theirs(torch.from_numpy(indices))
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-6)
    assert repr(ours) == repr(theirs)


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    layer = nn.Embedding(5, 4, padding_idx=3)
    np.testing.assert_array_equal(layer.weight.data[3], np.zeros(4))
    layer(np.array([3, 3, 1])).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.data[3], np.zeros(4))
    np.testing.assert_array_equal(layer.weight.grad.data[1], np.ones(4))


def test_embedding_gradcheck_and_gradgradcheck(rng):
    weight = tg.Tensor(rng.standard_normal((5, 2)), requires_grad=True)
    indices = np.array([[0, 4], [4, 4], [1, 0]])
    assert tg.gradcheck(lambda w: F.embedding(indices, w), [weight])
    assert tg.gradgradcheck(lambda w: F.embedding(indices, w) ** 2, [weight])


def test_embedding_weight_is_standard_normal_from_the_library_generator():
    tg.manual_seed(3)
    first = nn.Embedding(200, 50).weight.data.copy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Embedding(200, 50).weight.data, first)
    assert first.dtype == np.float32
    assert abs(first.mean()) < 0.02 and abs(first.std() - 1) < 0.02


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.Embedding(4, 2)(np.array([0, 4])), IndexError, "index 4 is out of range for 4"),
    (lambda: nn.Embedding(4, 2)(np.array([0.0, 1.0])), TypeError, "integer indices"),
    (lambda: nn.Embedding(4, 2, padding_idx=4), ValueError, "padding_idx"),
    (lambda: nn.Embedding(4, 2, max_norm=1.0), NotImplementedError, "max_norm"),
    (lambda: nn.Embedding(-1, 2), ValueError, "num_embeddings must be a non-negative"),
])
def test_embedding_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_one_hot_matches_torch(torch):
    t = np.array([[0, 2], [1, 1]])
    for classes in (-1, 4):
        ours = F.one_hot(tg.tensor(t), classes)
        theirs = torch.nn.functional.one_hot(torch.from_numpy(t), classes)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    with pytest.raises(ValueError, match=r"class values must be in \[0, 2\)"):
        F.one_hot(np.array([0, 2]), 2)


# Containers: same names, hence the same state_dict keys, as torch.nn.
def _keys(module):
    return list(module.state_dict())


def test_sequential_editing_matches_torch(torch):
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    for o, t in ((ours, theirs),):
        o.append(nn.Linear(3, 4)), t.append(torch.nn.Linear(3, 4))
        o.extend([nn.Tanh(), nn.Linear(4, 1)]), t.extend([torch.nn.Tanh(), torch.nn.Linear(4, 1)])
        o.insert(1, nn.LayerNorm(3)), t.insert(1, torch.nn.LayerNorm(3))
        o.insert(-1, nn.Identity()), t.insert(-1, torch.nn.Identity())
    assert _keys(ours) == _keys(theirs)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    del ours[1], theirs[1]
    assert _keys(ours) == _keys(theirs)
    part = ours[1:4]
    assert isinstance(part, nn.Sequential) and _keys(part) == _keys(theirs[1:4])
    assert part[0] is ours[1]
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_allclose(ours(tg.Tensor(x)).data,
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_sequential_editing_errors():
    model = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="holds Modules, got int"):
        model.append(3)
    with pytest.raises(IndexError, match="insert index 3 is out of range"):
        model.insert(3, nn.ReLU())
    with pytest.raises(IndexError, match="out of range"):
        model[1] = nn.ReLU()
    assert len(model) == 1


def test_module_dict_matches_torch(torch):
    ours = nn.ModuleDict({"encoder": nn.Linear(2, 3), "head": nn.Linear(3, 1)})
    theirs = torch.nn.ModuleDict({"encoder": torch.nn.Linear(2, 3),
                                  "head": torch.nn.Linear(3, 1)})
    ours["norm"], theirs["norm"] = nn.LayerNorm(3), torch.nn.LayerNorm(3)
    ours.update([("extra", nn.Linear(1, 1))])
    theirs.update([("extra", torch.nn.Linear(1, 1))])
    assert _keys(ours) == _keys(theirs)
    assert list(ours.keys()) == list(theirs.keys()) == list(ours)
    assert "head" in ours and len(ours) == 4
    assert ours.pop("extra").out_features == 1 and "extra" not in ours
    del ours["norm"]
    assert list(ours) == ["encoder", "head"]
    parent = nn.Module()
    parent.blocks = ours
    assert _keys(parent)[0] == "blocks.encoder.weight"
    with pytest.raises(KeyError):
        ours["missing"]
    with pytest.raises(KeyError, match="contain no '.'"):
        ours["a.b"] = nn.ReLU()
    ours.clear()
    assert len(ours) == 0 and list(ours.parameters()) == []


# nn.utils
def _twin_models(torch, rng):
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((5, 3)).astype(np.float32) * 3
    (ours(tg.Tensor(x)) ** 2).sum().backward()
    (theirs(torch.from_numpy(x)) ** 2).sum().backward()
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_matches_torch(torch, rng, norm_type, max_norm):
    ours, theirs = _twin_models(torch, rng)
    total = nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm,
                                              norm_type=norm_type)
    assert total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-5)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_clip_grad_norm_accepts_one_tensor_and_skips_missing_gradients():
    w = tg.Tensor(np.zeros(2, np.float32), requires_grad=True)
    (w * tg.Tensor([3.0, 4.0])).sum().backward()
    unused = tg.Tensor(np.zeros(2, np.float32), requires_grad=True)
    assert nn.utils.clip_grad_norm_([w, unused], 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.grad.data, [0.6, 0.8], rtol=1e-5)
    assert nn.utils.clip_grad_norm_(w, 10.0).item() == pytest.approx(1.0, rel=1e-5)
    assert nn.utils.clip_grad_norm_([unused], 1.0).item() == 0.0


def test_clip_grad_norm_error_if_nonfinite_changes_nothing():
    w = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    (w * tg.Tensor([np.inf, 1.0])).sum().backward()
    with pytest.raises(RuntimeError, match="non-finite.*error_if_nonfinite=False"):
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(w.grad.data, [np.inf, 1.0])


def test_clip_grad_value_matches_torch(torch, rng):
    ours, theirs = _twin_models(torch, rng)
    assert nn.utils.clip_grad_value_(ours.parameters(), 0.5) is None
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.5)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert np.abs(p.grad.data).max() <= 0.5


def test_parameters_to_vector_and_back_match_torch(torch, rng):
    ours, theirs = _twin_models(torch, rng)
    vector = nn.utils.parameters_to_vector(ours.parameters())
    expected = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vector.data, expected.detach().numpy())
    assert vector.requires_grad  # differentiable, as in PyTorch
    (vector * vector).sum().backward()
    replacement = np.arange(vector.shape[0], dtype=np.float32)
    nn.utils.vector_to_parameters(tg.Tensor(replacement), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.from_numpy(replacement), theirs.parameters())
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(p.data, q.detach().numpy())
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.utils.vector_to_parameters(replacement, ours.parameters())
    with pytest.raises(ValueError, match="has 3 elements but the parameters need"):
        nn.utils.vector_to_parameters(tg.Tensor(replacement[:3]), ours.parameters())


@pytest.mark.parametrize("make", [lambda **kw: nn.Linear(3, 2, **kw),
                                  lambda **kw: nn.LayerNorm(3, **kw),
                                  lambda **kw: nn.Embedding(4, 3, **kw)],
                         ids=["Linear", "LayerNorm", "Embedding"])
def test_layers_take_device_and_dtype(torch, make):
    assert {p.dtype for p in make().parameters()} == {np.dtype(np.float32)}
    for dtype in (np.float64, torch.float64, "float64"):
        assert {p.dtype for p in make(device="cpu", dtype=dtype).parameters()} == \
            {np.dtype(np.float64)}
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        make(device="cuda")
    with pytest.raises(TypeError, match="must be floating point"):
        make(dtype=np.int64)


def test_embedding_from_pretrained_matches_torch(torch):
    table = np.arange(12.0).reshape(4, 3)
    ours = nn.Embedding.from_pretrained(torch.tensor(table), padding_idx=1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), padding_idx=1)
    assert ours.weight.dtype == np.float64 and not ours.weight.requires_grad
    np.testing.assert_array_equal(ours(np.array([1, 3])).data,
                                  theirs(torch.tensor([1, 3])).numpy())
    trainable = nn.Embedding.from_pretrained(table.astype(np.float32), freeze=False)
    assert trainable.weight.requires_grad and trainable.weight.data is not table
    with pytest.raises(ValueError, match="2-d float table"):
        nn.Embedding.from_pretrained(np.arange(3.0))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_minus_infinity_scores_of_other_classes_are_fine_like_torch(torch, name):
    x = np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, 0.5]])
    t = np.array([2, 0])
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with np.errstate(all="raise"):
        out = getattr(F, name)(ours, t, reduction="sum")
        out.backward()
    expected = getattr(torch.nn.functional, name)(theirs, torch.tensor(t), reduction="sum")
    expected.backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)
