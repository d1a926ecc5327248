"""Dropout: the op's forward and backward in every form, its statistics, the module, errors."""
import math
import re

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import engine, random
from tinygrad_dropbn.nn.module import module_scope
from tinygrad_dropbn.ops.dropout import dropout_mask, mask_shape

FORMS = [  # (inverted, per_feature)
    (True, False), (False, False), (True, True), (False, True),
]


FORM_IDS = ["inverted", "plain", "inverted-per-feature", "plain-per-feature"]


# ------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 4)])
def test_gradcheck_every_form(form, training, shape, rng):
    inverted, per_feature = form
    x = tg.Tensor(rng.standard_normal(shape), requires_grad=True)

    def fn(x):
        tg.manual_seed(7)  # the same mask on every call, so the function is deterministic
        return F.dropout(x, 0.3, training=training, inverted=inverted, per_feature=per_feature)

    assert tg.gradcheck(fn, [x])


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_backward_reuses_the_saved_mask(form):
    inverted, per_feature = form
    x = tg.ones(6, 5, requires_grad=True)
    out = F.dropout(x, 0.4, inverted=inverted, per_feature=per_feature)
    tg.randn(100)  # move the generator: a re-drawn mask would differ
    out.backward(np.ones(out.shape, np.float32))
    kept = out.numpy() != 0
    scale = np.float32(1) / np.float32(0.6) if inverted else np.float32(1)
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, scale, np.float32(0)))


def test_float32_stays_float32():
    x = tg.randn(4, 3, requires_grad=True)
    for inverted in (True, False):
        for training in (True, False):
            out = F.dropout(x, 0.5, training=training, inverted=inverted)
            out.sum().backward()
            assert out.dtype == np.float32 and x.grad.dtype == np.float32
            x.grad = None


# ---------------------------------------------------------------- statistics, 10^6 units


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_inverted_statistics_on_a_million_elements(p):
    x = tg.Tensor(np.linspace(1, 2, 10**6, dtype=np.float32).reshape(1000, 1000),
                  requires_grad=True)
    out = F.dropout(x, p)
    out.backward(np.ones(x.shape, np.float32))
    kept = out.numpy() != 0
    assert abs((1 - kept.mean()) - p) < 0.005
    keep = np.float32(1 - p)
    np.testing.assert_array_equal(out.numpy()[kept], x.numpy()[kept] / keep)
    np.testing.assert_array_equal(x.grad.numpy(), kept / keep)
    evaluated = F.dropout(x, p, training=False).numpy()
    assert abs(out.numpy().mean() / evaluated.mean() - 1) < 0.01


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_plain_statistics_on_a_million_elements(p):
    x = tg.Tensor(np.linspace(1, 2, 10**6, dtype=np.float32).reshape(1000, 1000),
                  requires_grad=True)
    out = F.dropout(x, p, inverted=False)
    out.backward(np.ones(x.shape, np.float32))
    kept = out.numpy() != 0
    assert abs((1 - kept.mean()) - p) < 0.005
    np.testing.assert_array_equal(out.numpy()[kept], x.numpy()[kept])
    np.testing.assert_array_equal(x.grad.numpy(), kept.astype(np.float32))
    evaluated = F.dropout(x, p, training=False, inverted=False).numpy()
    np.testing.assert_array_equal(evaluated, x.numpy() * np.float32(1 - p))
    assert abs(out.numpy().mean() / evaluated.mean() - 1) < 0.01


def test_per_feature_mask_is_shared_by_every_row():
    x = tg.Tensor(np.ones((2, 10**6), dtype=np.float32))
    out = F.dropout(x, 0.3, per_feature=True).numpy()
    np.testing.assert_array_equal(out[0], out[1])
    assert abs((out[0] == 0).mean() - 0.3) < 0.005


def test_per_feature_mask_shapes():
    assert mask_shape((8, 5), per_feature=True) == (1, 5)
    assert mask_shape((8, 3, 4, 4), per_feature=True) == (1, 3, 4, 4)
    assert mask_shape((8, 5), per_feature=False) == (8, 5)
    assert mask_shape((5,), per_feature=True) == (5,)
    out = F.dropout(tg.ones(6, 2, 3), 0.5, per_feature=True).numpy()
    assert (out == out[:1]).all()


# ------------------------------------------------------------------- edge values of p


@pytest.mark.parametrize("inverted", [True, False])
def test_p_zero_is_the_identity(inverted):
    x = tg.randn(4, 5, requires_grad=True)
    out = F.dropout(x, 0.0, inverted=inverted)
    out.backward(np.full(x.shape, 3, np.float32))
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, 3, np.float32))


@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_p_one_gives_zeros_and_zero_gradients(inverted, training):
    x = tg.randn(4, 5, requires_grad=True)
    out = F.dropout(x, 1.0, training=training, inverted=inverted)
    out.sum().backward()
    if training or not inverted:
        np.testing.assert_array_equal(out.numpy(), np.zeros((4, 5), np.float32))
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 5), np.float32))
    else:  # inverted evaluation is the identity whatever p
        np.testing.assert_array_equal(out.numpy(), x.numpy())
    assert np.isfinite(x.grad.numpy()).all()


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_evaluation_is_deterministic_and_draws_nothing(form):
    inverted, per_feature = form
    x = tg.randn(4, 5, requires_grad=True)
    state = random.get_rng_state()
    out = F.dropout(x, 0.25, training=False, inverted=inverted, per_feature=per_feature)
    assert random.get_rng_state() == state
    expected = x.numpy() if inverted else x.numpy() * np.float32(0.75)
    np.testing.assert_array_equal(out.numpy(), expected)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(),
                                  np.full(x.shape, 1 if inverted else 0.75, np.float32))


def test_module_in_eval_draws_nothing_and_keeps_its_mask():
    drop = nn.Dropout(0.5)
    drop(tg.ones(3, 4))
    mask = drop.mask
    drop.eval()
    state = random.get_rng_state()
    np.testing.assert_array_equal(drop(tg.ones(3, 4)).numpy(), np.ones((3, 4), np.float32))
    assert random.get_rng_state() == state
    assert drop.mask is mask


# ------------------------------------------------------------------------------- graph


@pytest.mark.parametrize("training, inverted, per_feature, expected", [
    (True, True, False, r"Drop p=0.5 inverted \[train\] kept \d+/64"),
    (True, False, True, r"Drop p=0.5 plain per-feature \[train\] kept \d+/8 features"),
    (False, True, False, r"Drop p=0.5 inverted \[eval\] identity"),
    (False, False, False, r"Drop p=0.5 plain \[eval\] out = 0.5 x"),
])
def test_one_node_with_an_informative_name(training, inverted, per_feature, expected):
    x = tg.randn(8, 8, requires_grad=True)
    out = F.dropout(x, 0.5, training=training, inverted=inverted, per_feature=per_feature)
    order = engine.topological_order(out)
    assert len(order) == 1
    assert re.fullmatch(expected, order[0].name), order[0].name
    out.sum().backward()  # releases the saved mask; the name must survive
    assert order[0].released and re.fullmatch(expected, order[0].name)


def test_name_counts_the_kept_units():
    out = F.dropout(tg.ones(4, 4, requires_grad=True), 0.5)
    kept = int((out.numpy() != 0).sum())
    assert out.grad_fn.name.endswith(f"kept {kept}/16")


def test_dropout_module_is_one_node_in_its_scope():
    drop = nn.Dropout(0.2)
    scopes = []
    hook = lambda fn, out: scopes.append((fn, module_scope()))  # noqa: E731
    engine.record_hooks.append(hook)
    try:
        out = drop(tg.randn(3, 3, requires_grad=True))
    finally:
        engine.record_hooks.remove(hook)
    (fn,) = engine.topological_order(out)
    assert scopes == [(fn, (drop,))]


# ------------------------------------------------------------------------------ module


def test_module_mask_is_the_last_training_mask():
    drop = nn.Dropout(0.5)
    assert drop.mask is None
    x = tg.Tensor(np.arange(1, 41, dtype=np.float32).reshape(5, 8))
    out = drop(x)
    assert drop.mask.dtype == bool and drop.mask.shape == (5, 8)
    np.testing.assert_array_equal(out.numpy(), np.where(drop.mask, x.numpy() * 2, 0))
    first = drop.mask
    drop(x)
    assert drop.mask is not first


@pytest.mark.parametrize("inverted, per_feature", FORMS, ids=FORM_IDS)
def test_module_forms_match_the_functional(inverted, per_feature):
    drop = nn.Dropout(0.3, inverted=inverted, per_feature=per_feature)
    x = tg.randn(6, 4)
    tg.manual_seed(11)
    out = drop(x)
    tg.manual_seed(11)
    expected = F.dropout(x, 0.3, inverted=inverted, per_feature=per_feature)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    assert drop.mask.shape == ((1, 4) if per_feature else (6, 4))
    drop.eval()
    np.testing.assert_array_equal(
        drop(x).numpy(), F.dropout(x, 0.3, training=False, inverted=inverted).numpy())


def test_module_repr():
    assert repr(nn.Dropout()) == "Dropout(p=0.5)"
    assert repr(nn.Dropout(0.1, inverted=False, per_feature=True)) == \
        "Dropout(p=0.1, inverted=False, per_feature=True)"


def test_given_mask_is_used():
    mask = np.array([[True, False, True]])
    out = F.dropout(tg.ones(2, 3), 0.5, mask=mask)
    np.testing.assert_array_equal(out.numpy(), [[2, 0, 2], [2, 0, 2]])
    assert np.array_equal(dropout_mask((2, 3), 0.0), np.ones((2, 3), bool))
    assert not dropout_mask((2, 3), 1.0).any()


def test_dropout_matches_pytorch_scaling(torch):
    # Different generators draw different masks; the values kept and their scale must agree.
    x = np.linspace(1, 2, 1000, dtype=np.float32)
    ours = F.dropout(tg.Tensor(x), 0.3).numpy()
    theirs = torch.nn.functional.dropout(torch.tensor(x), 0.3).numpy()
    for out in (ours, theirs):
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / np.float32(0.7), rtol=1e-6)


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, math.inf])
def test_invalid_p_raises_naming_value_and_range(p):
    message = rf"Dropout probability must be in \[0, 1\], got {p}"
    with pytest.raises(ValueError, match=message):
        F.dropout(tg.ones(2, 2), p)
    with pytest.raises(ValueError, match=message):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=message):
        F.dropout(tg.ones(2, 2), p, training=False)


@pytest.mark.parametrize("p", ["0.5", None, True])
def test_non_numeric_p_raises_type_error(p):
    with pytest.raises(TypeError, match=r"Dropout probability must be a number in \[0, 1\]"):
        nn.Dropout(p)


def test_input_errors():
    with pytest.raises(TypeError, match="dropout expects a Tensor, got ndarray"):
        F.dropout(np.ones(3), 0.5)
    with pytest.raises(TypeError, match="floating-point tensor, got dtype int64"):
        F.dropout(tg.Tensor(np.arange(3)), 0.5)


@pytest.mark.parametrize("mask, message", [
    (np.ones((2, 3)), "boolean array"),
    (np.ones((3, 2), bool), r"broadcasts to the input's shape \(2, 3\).*shape \(3, 2\)"),
])
def test_bad_mask_raises(mask, message):
    with pytest.raises(ValueError, match=message):
        F.dropout(tg.ones(2, 3), 0.5, mask=mask)


def test_mask_in_evaluation_raises():
    with pytest.raises(ValueError, match="evaluation uses no mask"):
        F.dropout(tg.ones(2, 3), 0.5, training=False, mask=np.ones((2, 3), bool))


def test_the_inspectable_mask_is_read_only_so_the_backward_matches_the_forward():
    drop = nn.Dropout(0.5)
    x = tg.ones(2, 4, requires_grad=True)
    out = drop(x)
    with pytest.raises(ValueError):
        drop.mask[:] = True
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())


def test_a_callers_mask_is_copied():
    mask = np.array([[True, False]])
    x = tg.ones(1, 2, requires_grad=True)
    out = F.dropout(x, 0.5, mask=mask)
    mask[:] = True
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0]])
