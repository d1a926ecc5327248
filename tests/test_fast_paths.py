"""The fast paths taken for speed, each against the plain formula it stands in for.

* BatchNorm reuses its centered buffer, its output and its input gradient across steps
  (ops/batchnorm.py, ``_BufferPool``);
* a leaf keeps a new gradient array as its ``.grad`` instead of a copy
  (``Function.returns_new_grads``);
* only in-place changes of tensors a graph may have saved make the backward check the saved
  tensors one by one (``engine._Version.watched``);
* small 2-D arrays are summed along an axis by a matrix-vector product (ops/sums.py), in batch
  norm, a linear layer's bias gradient and the losses; batch norm multiplies out a small
  array's channel dot products (``_channel_dot``);
* Function's engine fields are slots, and ``release()`` drops only the op's own arrays;
* the losses take maxima along the classes of an (N, C) array at argmax (``_class_max``);
* ``Function.apply`` calls ``forward`` of a one- or two-input op without attributes, and the
  sweep calls ``backward`` with no or one saved value, with plain positional arguments;
* ``Function.needs_input_grad`` of a two-input op is spelt out;
* ``engine.topological_order`` of a graph in which no output feeds two inputs (a chain, a
  tree) is the first walk's visiting order, without the second walk.
"""
import threading
import warnings

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
import tinygrad_dropbn.nn.functional as F
from tinygrad_dropbn import engine
from tinygrad_dropbn.ops import batchnorm as batchnorm_ops
from tinygrad_dropbn.ops import losses as losses_ops
from tinygrad_dropbn.ops import sums


@pytest.fixture(autouse=True)
def pool_every_size(monkeypatch):
    """The batch-norm pool's tests use small arrays: pool them as if they were large."""
    monkeypatch.setattr(batchnorm_ops, "POOL_MIN_BYTES", 0)


def plain_batch_norm(x, weight, bias, eps=1e-5):
    """Training batch norm and its gradients by the textbook formulas, for upstream ``g``."""
    mean = x.mean(axis=0)
    inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mean) * inv_std
    return weight * x_hat + bias, x_hat, inv_std


def plain_grads(g, x_hat, inv_std, weight):
    n = len(g)
    grad_x = weight * inv_std / n * (n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    return grad_x, (g * x_hat).sum(axis=0), g.sum(axis=0)


def run_step(x0, g, weight0, bias0, retain_graph=False):
    x = tg.Tensor(x0, requires_grad=True)
    weight, bias = tg.Tensor(weight0, requires_grad=True), tg.Tensor(bias0, requires_grad=True)
    out = F.batch_norm(x, None, None, weight, bias, training=True)
    out.backward(g, retain_graph=retain_graph)
    return out, x, weight, bias


def test_reused_buffer_gives_the_plain_formula_step_after_step(rng):
    weight0, bias0 = rng.standard_normal(6), rng.standard_normal(6)
    for _ in range(4):  # from the second step on, the forward runs in a reused buffer
        x0, g = rng.standard_normal((10, 6)) * 3 + 1, rng.standard_normal((10, 6))
        out, x, weight, bias = run_step(x0, g, weight0, bias0)
        expected, x_hat, inv_std = plain_batch_norm(x0, weight0, bias0)
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
        for got, want in zip((x.grad, weight.grad, bias.grad),
                             plain_grads(g, x_hat, inv_std, weight0)):
            np.testing.assert_allclose(got.data, want, rtol=1e-9, atol=1e-12)


def test_a_retained_graph_keeps_its_buffer_while_later_steps_run(rng):
    weight0, bias0 = rng.standard_normal(4), rng.standard_normal(4)
    x0, g = rng.standard_normal((8, 4)), rng.standard_normal((8, 4))
    out, x, _, _ = run_step(x0, g, weight0, bias0, retain_graph=True)
    first = x.grad.data.copy()
    for _ in range(3):  # other steps of the same shape, released: their buffers are reused
        run_step(rng.standard_normal((8, 4)), g, weight0, bias0)
        F.batch_norm(tg.Tensor(rng.standard_normal((8, 4))), None, None, training=True)
    x.grad = None
    out.backward(g)  # reads the first graph's own buffer, untouched by the later steps
    np.testing.assert_allclose(x.grad.data, first, rtol=1e-12)


def test_spare_buffers_never_alias_an_output_or_a_gradient(rng):
    weight0, bias0 = rng.standard_normal(5), rng.standard_normal(5)
    kept = []
    for _ in range(3):
        out, x, weight, bias = run_step(rng.standard_normal((7, 5)),
                                        rng.standard_normal((7, 5)), weight0, bias0)
        kept += [out.data, x.grad.data, weight.grad.data, bias.grad.data]
    with tg.no_grad():  # an unrecorded forward hands its buffer back at once
        kept.append(F.batch_norm(tg.Tensor(rng.standard_normal((7, 5))), None, None,
                                 training=True).data)
    spares = batchnorm_ops._pool.spares
    assert spares, "the released steps left no buffer to reuse"
    for spare in spares:
        assert not any(np.shares_memory(spare, array) for array in kept)
    assert len(spares) <= batchnorm_ops.SPARE_LIMIT


def test_a_recorded_forward_dropped_without_backward_gives_its_buffer_back(rng):
    x = tg.Tensor(rng.standard_normal((9, 4)), requires_grad=True)
    batchnorm_ops._pool.spares.clear()
    out = F.batch_norm(x, None, None, training=True)
    centered = out.grad_fn.centered
    assert not batchnorm_ops._pool.spares  # the recorded op holds it for its backward
    del centered, out  # no backward pass: the op is freed unreleased
    assert [b.shape for b in batchnorm_ops._pool.spares] == [(9, 4)]
    again = F.batch_norm(x, None, None, training=True)  # the next forward reuses it
    assert not batchnorm_ops._pool.spares
    np.testing.assert_allclose(again.grad_fn.centered, x.data - x.data.mean(axis=0))


def test_a_buffer_someone_still_holds_is_never_reused(rng):
    x = tg.Tensor(rng.standard_normal((9, 4)), requires_grad=True)
    batchnorm_ops._pool.spares.clear()
    out = F.batch_norm(x, None, None, training=True)
    held = out.grad_fn.centered
    snapshot = held.copy()
    out.sum().backward()  # released while `held` still points at the buffer
    del out
    assert not batchnorm_ops._pool.spares
    F.batch_norm(tg.Tensor(rng.standard_normal((9, 4))), None, None, training=True)
    np.testing.assert_array_equal(held, snapshot)


def test_spare_buffers_are_per_thread(rng):
    x0 = rng.standard_normal((6, 3))
    results = {}

    def worker(name):
        x = tg.Tensor(x0, requires_grad=True)
        F.batch_norm(x, None, None, training=True).sum().backward()
        results[name] = len(batchnorm_ops._pool.spares)

    thread = threading.Thread(target=worker, args=("other",))
    before = list(batchnorm_ops._pool.spares)
    thread.start()
    thread.join()
    assert results["other"] == 1  # the other thread's released buffer went to its own list
    assert [id(b) for b in batchnorm_ops._pool.spares] == [id(b) for b in before]


def eval_step(x0, g, weight0, bias0, running_mean, running_var):
    x = tg.Tensor(x0, requires_grad=True)
    out = F.batch_norm(x, running_mean, running_var, tg.Tensor(weight0), tg.Tensor(bias0),
                       training=False)
    out.backward(g)
    return out, x


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_an_output_and_a_gradient_nobody_holds_are_reused_by_the_next_step(training, rng):
    weight0, bias0 = rng.standard_normal(6), rng.standard_normal(6)
    running_mean, running_var = rng.standard_normal(6), rng.uniform(0.5, 2, 6)
    for step in range(4):
        x0, g = rng.standard_normal((10, 6)) * 3 + 1, rng.standard_normal((10, 6))
        pool = batchnorm_ops._pool
        pooled = {id(array) for array in pool.lent + pool.spares}  # ids: no references
        if training:
            out, x, _, _ = run_step(x0, g, weight0, bias0)
            expected, x_hat, inv_std = plain_batch_norm(x0, weight0, bias0)
            expected_grad = plain_grads(g, x_hat, inv_std, weight0)[0]
        else:
            out, x = eval_step(x0, g, weight0, bias0, running_mean, running_var)
            inv_std = 1 / np.sqrt(running_var + 1e-5)
            expected = weight0 * (x0 - running_mean) * inv_std + bias0
            expected_grad = g * weight0 * inv_std
        if step:  # the previous step's arrays, dropped, came back: nothing new was allocated
            assert {id(out.data), id(x.grad.data)} <= pooled
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x.grad.data, expected_grad, rtol=1e-9, atol=1e-12)
        del out, x


def test_a_held_output_view_or_gradient_is_never_reused(rng):
    weight0, bias0 = rng.standard_normal(5), rng.standard_normal(5)
    out, x, _, _ = run_step(rng.standard_normal((7, 5)), rng.standard_normal((7, 5)),
                            weight0, bias0)
    view, grad = out.data[2:], x.grad  # a view of the output, the gradient tensor
    held = [view.copy(), grad.data.copy()]
    del out, x
    later = [run_step(rng.standard_normal((7, 5)), rng.standard_normal((7, 5)), weight0, bias0)
             for _ in range(3)]
    np.testing.assert_array_equal(view, held[0])
    np.testing.assert_array_equal(grad.data, held[1])
    for out, x, _, _ in later:
        assert not np.shares_memory(out.data, view) and not np.shares_memory(x.grad.data, view)
        assert not np.shares_memory(x.grad.data, grad.data)
        assert not np.shares_memory(out.data, grad.data)


def test_a_dropped_array_made_read_only_or_reshaped_is_not_reused(rng):
    weight0, bias0 = rng.standard_normal(4), rng.standard_normal(4)
    out, x, _, _ = run_step(rng.standard_normal((6, 4)), rng.standard_normal((6, 4)),
                            weight0, bias0)
    out.data.flags.writeable = False
    x.grad.data.shape = (4, 6)
    changed = {id(out.data), id(x.grad.data)}
    batchnorm_ops._pool.spares.clear()
    del out, x
    x0, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    out, x, _, _ = run_step(x0, g, weight0, bias0)
    assert not {id(out.data), id(x.grad.data)} & changed
    expected, x_hat, inv_std = plain_batch_norm(x0, weight0, bias0)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


def test_the_lent_arrays_are_bounded_in_number_and_bytes(rng):
    for n in range(2, 40):  # many shapes, each step's arrays dropped
        run_step(rng.standard_normal((n, 3)), rng.standard_normal((n, 3)), np.ones(3),
                 np.zeros(3))
    pool = batchnorm_ops._pool
    assert len(pool.lent) == batchnorm_ops.LENT_LIMIT
    assert pool.lent_bytes == sum(array.nbytes for array in pool.lent)
    big = (batchnorm_ops.LENT_BYTES // 8 // 4 // 3 + 1, 4)  # three of these pass the budget
    for _ in range(3):
        run_step(np.ones(big), np.ones(big), np.ones(4), np.zeros(4))
    assert pool.lent_bytes <= batchnorm_ops.LENT_BYTES
    assert pool.lent_bytes == sum(array.nbytes for array in pool.lent)


def test_small_arrays_bypass_the_pool(rng, monkeypatch):
    monkeypatch.setattr(batchnorm_ops, "POOL_MIN_BYTES", 10 * 4 * 8)  # a (10, 4) float64
    pool = batchnorm_ops._pool
    pool.spares.clear()
    pool.lent.clear()
    pool.lent_bytes = 0
    run_step(rng.standard_normal((9, 4)), rng.standard_normal((9, 4)), np.ones(4), np.zeros(4))
    assert not pool.spares and not pool.lent
    out, x, _, _ = run_step(rng.standard_normal((10, 4)), rng.standard_normal((10, 4)),
                            np.ones(4), np.zeros(4))
    assert [a.shape for a in pool.lent] == [(10, 4), (10, 4)]  # the output and the gradient
    assert pool.lent[0] is out.data and pool.lent[1] is x.grad.data
    assert [a.shape for a in pool.spares] == [(10, 4)]  # the released centered buffer


@pytest.mark.parametrize("shape, rows", [((256, 1024), 16), ((255, 1024), 15),
                                         ((257, 1024), 1), ((4096, 8), 2048),
                                         ((2, 40000), 1), ((64, 16), None)])
@pytest.mark.parametrize("ufunc", [np.subtract, np.multiply, np.add])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float32, np.float64),
                                    (np.float64, np.float64)], ids=["f32", "f32-f64", "f64"])
def test_channelwise_long_rows_give_exactly_the_broadcast_result(shape, rows, ufunc, dtypes,
                                                                 rng):
    if rows is not None:
        assert batchnorm_ops._rows_per_pass(*shape) == rows
    a = (rng.standard_normal(shape) * 3).astype(dtypes[0])
    values = rng.standard_normal(shape[1]).astype(dtypes[1])
    expected = ufunc(a, values)
    out = np.empty(shape, expected.dtype)
    assert batchnorm_ops._channelwise(ufunc, a, values, out) is out
    np.testing.assert_array_equal(out, expected)
    if dtypes[0] == dtypes[1]:  # in place, as the backward does
        batchnorm_ops._channelwise(ufunc, a, values, a)
        np.testing.assert_array_equal(a, expected)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_a_large_batch_norm_step_through_long_rows_is_the_plain_formula(training, rng):
    shape = (256, 1024)  # large enough for _channelwise's long rows
    assert shape[0] * shape[1] >= batchnorm_ops.LONG_ROWS_FROM
    x0, g = rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape)
    weight0, bias0 = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    if training:
        out, x, _, _ = run_step(x0, g, weight0, bias0)
        expected, x_hat, inv_std = plain_batch_norm(x0, weight0, bias0)
        expected_grad = plain_grads(g, x_hat, inv_std, weight0)[0]
    else:
        running_mean, running_var = rng.standard_normal(shape[1]), rng.uniform(0.5, 2, shape[1])
        out, x = eval_step(x0, g, weight0, bias0, running_mean, running_var)
        inv_std = 1 / np.sqrt(running_var + 1e-5)
        expected = weight0 * (x0 - running_mean) * inv_std + bias0
        expected_grad = g * weight0 * inv_std
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, expected_grad, rtol=1e-9, atol=1e-12)


def test_channelwise_of_a_strided_array_falls_back_to_broadcasting(rng):
    a = rng.standard_normal((1024, 256)).T  # (256, 1024), not C-contiguous
    values = rng.standard_normal(1024)
    out = np.empty((256, 1024))
    batchnorm_ops._channelwise(np.multiply, a, values, out)
    np.testing.assert_array_equal(out, a * values)
    out = np.empty((1024, 256)).T  # nor an output that is not
    batchnorm_ops._channelwise(np.subtract, a, values, out)
    np.testing.assert_array_equal(out, a - values)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_float32_weights_with_float64_input_keep_the_plain_dtype(training, rng):
    x = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    weight, bias = tg.ones(3, requires_grad=True), tg.zeros(3, requires_grad=True)
    weight64 = tg.Tensor(np.ones(3), requires_grad=True)
    out = F.batch_norm(x, np.zeros(3), np.ones(3), weight, bias, training=training)
    assert out.dtype == np.float32
    out = F.batch_norm(x, np.zeros(3), np.ones(3), weight64, bias, training=training)
    assert out.dtype == (x.data * weight64.data).dtype


# ------------------------------------------------------------ leaves keep new gradients


def test_a_new_gradient_is_kept_and_then_accumulated_in_place(rng):
    x = tg.Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    weight = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    g = rng.standard_normal((5, 2))
    F.linear(x, weight).backward(g)
    first = x.grad.data
    np.testing.assert_allclose(first, g @ weight.data)
    F.linear(x, weight).backward(g)  # the second gradient is added into the kept array
    assert x.grad.data is first
    np.testing.assert_allclose(x.grad.data, 2 * g @ weight.data)


@pytest.mark.parametrize("inverted", [True, False], ids=["inverted", "plain"])
def test_an_op_that_hands_back_grad_itself_gets_a_copy(inverted, rng):
    # Dropout in evaluation, inverted, is the identity: its backward returns ``grad`` itself,
    # the caller's array, which the leaf must not take as its own .grad.
    x = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    g = rng.standard_normal((4, 3))
    original = g.copy()
    for _ in range(2):
        F.dropout(x, p=0.5, training=False, inverted=inverted).backward(g)
    assert not np.shares_memory(x.grad.data, g)
    np.testing.assert_array_equal(g, original)  # the in-place accumulation left g alone
    np.testing.assert_allclose(x.grad.data, 2 * g * (1 if inverted else 0.5))


def test_a_broadcast_gradient_is_summed_into_a_new_array_and_kept(rng):
    bias = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    x = tg.Tensor(rng.standard_normal((4, 3)))
    g = rng.standard_normal((4, 3))
    (x + bias).backward(g)
    np.testing.assert_allclose(bias.grad.data, g.sum(axis=0))
    assert not np.shares_memory(bias.grad.data, g)


def test_create_graph_through_the_fast_paths_still_differentiates_twice(rng):
    x0 = rng.standard_normal((6, 3))
    run_step(x0, rng.standard_normal((6, 3)), np.ones(3), np.zeros(3))  # leaves a spare
    weight = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    bias = tg.Tensor(rng.standard_normal(3), requires_grad=True)

    def cubed(x, weight, bias):
        return F.batch_norm(x, None, None, weight, bias, training=True) ** 3

    inputs = [tg.Tensor(x0, requires_grad=True), weight, bias]
    assert tg.gradcheck(cubed, inputs)
    assert tg.gradgradcheck(cubed, inputs)


# -------------------------------------------- in-place checks skipped for unsaved tensors


def count_slow_checks(monkeypatch):
    calls = []
    original = engine.Function.saved_values

    def counting(self, as_tensors):
        calls.append(self.name)
        return original(self, as_tensors)

    monkeypatch.setattr(engine.Function, "saved_values", counting)
    return calls


def test_running_statistics_updates_keep_the_fast_path(monkeypatch, rng):
    # The running statistics change in place during every training forward pass; no op saved
    # them, so the ops recorded before need not be checked one by one in the backward.
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2),
                          nn.BatchNorm1d(2))
    x = tg.Tensor(rng.standard_normal((6, 3)).astype(np.float32))
    model(x).sum().backward()  # the first step gives the running statistics their counters
    calls = count_slow_checks(monkeypatch)
    model(x).sum().backward()
    assert calls == []


def test_a_saved_running_statistic_changed_in_place_is_still_caught(rng):
    bn = nn.BatchNorm1d(3)
    x = tg.Tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    bn.train()
    bn(x)  # gives the running statistics counters while no graph has saved them
    bn.eval()
    out = bn(x)  # saves running_mean and running_var
    bn.train()
    bn(x)  # updates them in place
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_a_detached_alias_changed_in_place_is_caught(rng):
    x = tg.Tensor(rng.standard_normal(4), requires_grad=True)
    y = x * 1.0
    out = (y * y).sum()  # saves y, which has no counter of its own yet
    alias = y.detach()
    with tg.no_grad():
        alias.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


@pytest.mark.parametrize("shape", [(7, 3), (64, 16), (200, 200), (5, 3, 4)],
                         ids=["tiny", "toy", "above-threshold", "3-D"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_sums_match_the_plain_formula(shape, dtype, rng):
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    axes = (0,) + tuple(range(2, len(shape)))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    got_sum, got_dot = batchnorm_ops._channel_sum(a), batchnorm_ops._channel_dot(a, b)
    assert got_sum.dtype == dtype and got_dot.dtype == dtype
    assert got_sum.shape == got_dot.shape == (shape[1],)
    np.testing.assert_allclose(got_sum, a.astype(np.float64).sum(axis=axes), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(got_dot, (a.astype(np.float64) * b).sum(axis=axes), rtol=rtol,
                               atol=rtol)


def test_the_small_path_is_taken_below_the_threshold_only():
    assert 64 * 16 <= sums.SMALL < 200 * 200


@pytest.mark.parametrize("shape", [(64, 2), (64, 16), (300, 200)], ids=["toy", "bn", "large"])
def test_axis_sums_match_numpy(shape, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    exact = a.astype(np.float64)
    for got, want in ((sums.sum_axis0(a), exact.sum(axis=0)),
                      (sums.sum_axis1(a), exact.sum(axis=1)),
                      (sums.sum_axis1(a, keepdims=True), exact.sum(axis=1, keepdims=True))):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "broadcast", "strided"])
def test_column_sums_of_large_arrays_match_numpy_in_every_layout(layout, rng):
    base = rng.standard_normal((400, 300)).astype(np.float32)
    a = {"contiguous": base, "transposed": base.T,
         "broadcast": np.broadcast_to(base[:1], base.shape), "strided": base[::2]}[layout]
    assert a.size > sums.SMALL or layout == "strided"
    got = sums.sum_axis0(a)
    assert got.dtype == np.float32 and got.shape == (a.shape[1],)
    np.testing.assert_allclose(got, a.astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-4)


def test_column_sums_over_many_rows_are_as_accurate_as_numpys(rng):
    a = (rng.standard_normal((200_000, 4)) + 3).astype(np.float32)
    exact = a.astype(np.float64).sum(axis=0)
    ours = np.abs(sums.sum_axis0(a) - exact).max()
    numpys = np.abs(np.add.reduce(a, axis=0) - exact).max()
    assert ours <= 2 * numpys  # the BLAS adds the rows in turn, as NumPy's reduction does


def test_linear_bias_gradient_is_the_plain_column_sum(rng):
    x = tg.Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    weight = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    bias = tg.Tensor(rng.standard_normal(4), requires_grad=True)
    g = rng.standard_normal((5, 4))
    F.linear(x, weight, bias).backward(g)
    np.testing.assert_allclose(bias.grad.data, g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(weight.grad.data, g.T @ x.data, rtol=1e-12)


def test_release_drops_the_ops_arrays_and_keeps_its_settings(rng):
    x = tg.Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    out = F.batch_norm(x, None, None, training=True)
    fn = out.grad_fn
    assert isinstance(fn.centered, np.ndarray) and fn.result is out.data
    out.sum().backward()
    assert fn.released and fn.inputs == () and fn.saved == () and fn.result is None
    assert "centered" not in vars(fn) and "inv_std" not in vars(fn)
    assert fn.eps == 1e-5 and fn.training is True  # settings stay (the drawing reads them)


def test_a_recorded_op_that_saved_gets_every_engine_field_from_apply(rng):
    x = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    for y in (x.tanh(), x * x):  # one input (the general path), two (spelt out)
        fields = {name: getattr(y.grad_fn, name) for name in engine.Function.__slots__
                  if not name.startswith("__")}
        assert fields["released"] is False and fields["input_versions"] is None
        assert fields["result"] is y.data and fields["inputs"] == y.grad_fn.inputs
        assert fields["changes_at_save"] == engine._Version.changes
        # the rarely changed fields are class-level defaults, not stored per op
        assert y.grad_fn.hooks == () and y.grad_fn.output_version is engine.UNCHANGED
        assert "hooks" not in vars(y.grad_fn) and "output_version" not in vars(y.grad_fn)


def test_the_spelt_out_two_input_path_records_versions_like_the_general_one(rng):
    a = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(3))
    with tg.no_grad():
        b.add_(1)  # b has a counter of its own, at version 1
    y = a * b  # Mul saves both inputs
    assert y.grad_fn.input_versions == (0, 1) and b._version_counter.watched
    with tg.no_grad():
        b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    s = a + b  # Add saves nothing: inputs are marked, no versions kept
    assert a._used_by_graph and b._used_by_graph and not s.grad_fn.saved
    s.sum().backward()
    assert a.grad.data.tolist() == [1.0, 1.0, 1.0]


def test_bump_versions_counts_one_change_per_tensor_like_increment_version(rng):
    from tinygrad_dropbn.autograd import increment_version
    a, b = tg.Tensor(rng.standard_normal(3)), tg.Tensor(rng.standard_normal(3))
    watched = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    saved = watched * 2  # watched is now an input of a recorded op
    twin = tg.Tensor(a.data.copy())
    changes = engine._Version.changes
    engine.bump_versions([a, b])
    increment_version(twin)
    assert (a._version, b._version, twin._version) == (1, 1, 1)
    assert engine._Version.changes == changes  # nothing a graph saved changed
    engine.bump_versions([watched, a])
    assert (watched._version, a._version) == (1, 2)
    assert engine._Version.changes == changes + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved.sum().backward()


def test_sgd_step_bumps_every_updated_parameter_once_and_matches_the_formula(rng):
    model = nn.Linear(3, 2)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    before = [p.data.copy() for p in model.parameters()]
    model(tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    grads = [p.grad.data.copy() for p in model.parameters()]
    versions = [p._version for p in model.parameters()]
    opt.step()
    for p, old, g, v in zip(model.parameters(), before, grads, versions):
        np.testing.assert_allclose(p.data, old - 0.1 * g, rtol=1e-6)
        assert p._version == v + 1


@pytest.mark.parametrize("shape", [(64, 2), (256, 10), (3, 4, 5)], ids=["toy", "mnist", "3-D"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_reductions_match_numpy(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    x[1, 0] = np.nan  # NaN is the maximum, as with max
    x[2, 1] = -np.inf
    total, kept = losses_ops._class_sum(x), losses_ops._class_sum(x, keepdims=True)
    exact = x.astype(np.float64).sum(axis=1, keepdims=True)
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12)
    np.testing.assert_allclose(total, exact.squeeze(1), **tolerance)
    np.testing.assert_allclose(kept, exact, **tolerance)
    assert total.dtype == kept.dtype == dtype
    np.testing.assert_array_equal(losses_ops._class_max(x), x.max(axis=1, keepdims=True))


def test_weighted_sum_adds_nothing_where_the_coefficient_is_zero():
    q = np.array([[1.0, 0.0], [0.25, 0.75]], np.float32)
    log_probs = np.array([[-0.5, -np.inf], [-1.0, -2.0]], np.float32)
    with np.errstate(all="raise"):  # no 0 * -inf is ever computed
        got = losses_ops._weighted_sum(q, log_probs)
    np.testing.assert_allclose(got, [-0.5, 0.25 * -1.0 + 0.75 * -2.0])
    assert got.dtype == np.float32


def test_mean_loss_with_every_label_ignored_is_nan_without_a_warning():
    logits = tg.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(logits, np.array([-100, -100]))
        loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(logits.grad.data, 0)


class _Recorder(engine.Function):
    """Records what forward and backward receive; saves the first ``num_saved`` inputs."""

    def forward(self, *arrays, scale=1.0, num_saved=0):
        self.received = arrays
        self.needs_during_forward = self.needs_input_grad
        self.save_for_backward(*arrays[:num_saved])
        self.scale = scale
        return sum(arrays) * scale

    def backward(self, grad, *saved):
        self.saved_received = saved
        return tuple(grad * self.scale for _ in self.received)


@pytest.mark.parametrize("num_inputs", [1, 2, 3])
@pytest.mark.parametrize("attributes", [{}, {"scale": 2.0}])
@pytest.mark.parametrize("num_saved", [0, 1, 2])
@pytest.mark.parametrize("grad_enabled", [True, False])
def test_positional_forward_and_backward_calls_match_the_plain_call(num_inputs, attributes,
                                                                    num_saved, grad_enabled,
                                                                    rng):
    arrays = [rng.standard_normal((3, 2)) for _ in range(num_inputs)]
    tensors = [tg.Tensor(a, requires_grad=i == 0) for i, a in enumerate(arrays)]
    attributes = dict(attributes)
    if num_saved and num_saved <= num_inputs:
        attributes["num_saved"] = num_saved
    plain = _Recorder()
    plain.inputs = tuple(tensors) if grad_enabled else ()
    expected = plain.forward(*arrays, **attributes)
    with tg.set_grad_enabled(grad_enabled):
        out = _Recorder.apply(*tensors, **attributes)
    fn = out.grad_fn
    np.testing.assert_array_equal(out.data, expected)
    if not grad_enabled:
        assert fn is None
        return
    assert all(got is t.data for got, t in zip(fn.received, tensors))
    assert len(fn.received) == num_inputs
    assert fn.needs_during_forward == plain.needs_during_forward
    out.sum().backward()
    assert all(got is t.data for got, t in zip(fn.saved_received, tensors[:num_saved]))
    assert len(fn.saved_received) == len(plain.saved) == attributes.get("num_saved", 0)
    np.testing.assert_array_equal(tensors[0].grad.data, np.full((3, 2), plain.scale))


@pytest.mark.parametrize("flags", [(True,), (True, False), (False, True), (True, True),
                                   (True, False, True)])
def test_needs_input_grad_is_each_inputs_requires_grad(flags, rng):
    tensors = [tg.Tensor(rng.standard_normal(3), requires_grad=f) for f in flags]
    fn = _Recorder.apply(*tensors).grad_fn
    assert fn.needs_input_grad == tuple(t.requires_grad for t in tensors) == flags
    fn.release()
    assert fn.needs_input_grad == ()


def plain_topological_order(roots):
    """Kahn's algorithm on consumer counts, both walks, whatever the graph."""
    starts = list(dict.fromkeys(t.grad_fn for t in roots if t.grad_fn is not None))
    consumers = dict.fromkeys(starts, 0)
    stack = starts[:]
    while stack:
        for t in stack.pop().inputs:
            if t.grad_fn is not None:
                if t.grad_fn not in consumers:
                    stack.append(t.grad_fn)
                consumers[t.grad_fn] = consumers.get(t.grad_fn, 0) + 1
    order, ready = [], [fn for fn in reversed(starts) if not consumers[fn]]
    while ready:
        order.append(ready.pop())
        for t in reversed(order[-1].inputs):
            if t.grad_fn is not None:
                consumers[t.grad_fn] -= 1
                if not consumers[t.grad_fn]:
                    ready.append(t.grad_fn)
    return order


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("tree", [True, False])
def test_topological_order_of_a_tree_or_a_dag_is_kahns_order(seed, tree):
    """A tree (no output feeds two inputs) takes the one-walk path; a DAG both walks."""
    rng = np.random.default_rng(seed)
    outputs = [tg.Tensor(rng.standard_normal(2), requires_grad=True) * 2.0 for _ in range(5)]
    for _ in range(15):
        # a tree consumes each output once (and takes a fresh leaf as the other operand);
        # a DAG reuses any output
        a = outputs.pop(rng.integers(len(outputs))) if tree else outputs[-1]
        if tree and (len(outputs) < 1 or rng.random() < 0.5):
            b = tg.Tensor(rng.standard_normal(2), requires_grad=True)
        else:
            b = outputs.pop(rng.integers(len(outputs))) if tree else outputs[
                rng.integers(len(outputs))]
        outputs.append(a * b if rng.random() < 0.5 else (a + b).tanh())
    roots = outputs[-1:] if rng.random() < 0.5 else outputs[-3:]
    order = engine.topological_order(roots)
    assert len(order) > 5
    assert order == plain_topological_order(roots)
    position = {fn: k for k, fn in enumerate(order)}
    for fn in order:  # every op after each of its consumers
        assert all(position[t.grad_fn] > position[fn] for t in fn.inputs if t.grad_fn)
