"""Optimizers and schedulers: step-by-step parity with PyTorch, validation, state round trips."""
import math

import numpy as np
import pytest

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn import optim
from tinygrad_dropbn.optim.lr_scheduler import CosineAnnealingLR, StepLR

SHAPES = [(3, 4), (4,), (2, 3, 2)]
STEPS = 60


def make_problem(rng, dtype=np.float32):
    """Starting values, a curvature per parameter and one noise term per step and parameter.

    The gradient of step t is ``curvature * param + noise[t]``, so it depends on the current
    parameter (weight decay and momentum feed back) and differs every step.
    """
    start = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    curvature = [rng.uniform(0.5, 2.0, s).astype(dtype) for s in SHAPES]
    noise = [[rng.standard_normal(s).astype(dtype) * 0.5 for s in SHAPES] for _ in range(STEPS)]
    return start, curvature, noise


def run_ours(cls, kwargs, problem, skip=lambda t, i: False):
    start, curvature, noise = problem
    params = [tg.Tensor(x, requires_grad=True) for x in start]
    opt = cls(params, **kwargs)
    history = []
    for t in range(STEPS):
        opt.zero_grad()
        for i, p in enumerate(params):
            if not skip(t, i):
                p.grad = tg.Tensor(curvature[i] * p.data + noise[t][i])
        opt.step()
        history.append([p.data.copy() for p in params])
    return history


def run_torch(torch, cls, kwargs, problem, skip=lambda t, i: False):
    start, curvature, noise = problem
    params = [torch.tensor(x, requires_grad=True) for x in start]
    opt = cls(params, **kwargs)
    history = []
    for t in range(STEPS):
        opt.zero_grad()
        for i, p in enumerate(params):
            if not skip(t, i):
                p.grad = torch.from_numpy(curvature[i] * p.detach().numpy() + noise[t][i])
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


def assert_same_trajectory(ours, theirs, rtol=1e-5, atol=1e-6):
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol,
                                       err_msg=f"step {step}, parameter {i}")


SGD_OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.8, dampening=0.2, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True),
]
ADAM_OPTIONS = [
    dict(),
    dict(lr=0.05, betas=(0.8, 0.99)),
    dict(lr=0.02, eps=1e-3),
    dict(lr=0.02, weight_decay=0.1),
    dict(lr=0.02, amsgrad=True),
    dict(lr=0.02, betas=(0.3, 0.5), weight_decay=0.05, amsgrad=True),
]
RMSPROP_OPTIONS = [
    dict(),
    dict(lr=0.005, alpha=0.9, eps=1e-6),
    dict(lr=0.005, momentum=0.8),
    dict(lr=0.005, centered=True),
    dict(lr=0.002, momentum=0.5, centered=True, weight_decay=0.1),
]
ADAGRAD_OPTIONS = [
    dict(),
    dict(lr=0.1, lr_decay=0.05),
    dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5),
    dict(lr=0.1, eps=1e-3),
]
MAXIMIZE_OPTIONS = [
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.02, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, maximize=True)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True)),
]
CASES = ([("SGD", o) for o in SGD_OPTIONS] + [("Adam", o) for o in ADAM_OPTIONS]
         + [("AdamW", o) for o in ADAM_OPTIONS + [dict(lr=0.01, weight_decay=0.5)]]
         + [("RMSprop", o) for o in RMSPROP_OPTIONS]
         + [("Adagrad", o) for o in ADAGRAD_OPTIONS] + MAXIMIZE_OPTIONS)


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_matches_torch_step_by_step(torch, rng, name, kwargs):
    problem = make_problem(rng)
    ours = run_ours(getattr(optim, name), kwargs, problem)
    theirs = run_torch(torch, getattr(torch.optim, name), kwargs, problem)
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_matches_torch_step_by_step_in_float64(torch, rng, name, kwargs):
    problem = make_problem(rng, np.float64)
    ours = run_ours(getattr(optim, name), kwargs, problem)
    theirs = run_torch(torch, getattr(torch.optim, name), kwargs, problem)
    assert ours[-1][0].dtype == np.float64
    assert_same_trajectory(ours, theirs, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.05, momentum=0.9)),
                                          ("Adam", dict(lr=0.02)), ("AdamW", dict(lr=0.02))])
def test_parameters_without_grad_are_skipped_like_torch(torch, rng, name, kwargs):
    # Parameter 1 has no gradient every third step: it must not move, and Adam's step count
    # for it must lag behind, exactly as in PyTorch.
    def skip(t, i):
        return i == 1 and t % 3 == 0

    problem = make_problem(rng)
    ours = run_ours(getattr(optim, name), kwargs, problem, skip)
    theirs = run_torch(torch, getattr(torch.optim, name), kwargs, problem, skip)
    assert_same_trajectory(ours, theirs)
    np.testing.assert_array_equal(ours[0][1], problem[0][1])


def test_param_groups_with_their_own_options_match_torch(torch, rng):
    start, curvature, noise = make_problem(rng)
    ours = [tg.Tensor(x, requires_grad=True) for x in start]
    theirs = [torch.tensor(x, requires_grad=True) for x in start]

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": 0.01, "momentum": 0.5}]

    opt = optim.SGD(groups(ours), lr=0.1, momentum=0.9, weight_decay=0.01)
    ref = torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.9, weight_decay=0.01)
    for t in range(20):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            p.grad = tg.Tensor(curvature[i] * p.data + noise[t][i])
            q.grad = torch.from_numpy(curvature[i] * q.detach().numpy() + noise[t][i])
        opt.step()
        ref.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]


def test_trains_a_graph_and_updates_outside_it():
    w = tg.Tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    array = w.data
    (w * w).sum().backward()
    opt.step()
    assert w.data is array, "the update must be in place"
    np.testing.assert_allclose(w.data, [0.5, -1.0])
    assert w.grad_fn is None and w.requires_grad


def test_changing_lr_in_a_group_changes_the_next_step():
    w = tg.Tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    opt.param_groups[0]["lr"] = 0.5
    w.grad = tg.Tensor([2.0])
    opt.step()
    np.testing.assert_allclose(w.data, [0.0])


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_in_params_and_state(name, dtype):
    w = tg.Tensor(np.ones((2, 3), dtype), requires_grad=True)
    options = {"SGD": {"momentum": 0.9}, "RMSprop": {"momentum": 0.9, "centered": True}}
    opt = getattr(optim, name)([w], lr=0.1, **options.get(name, {}))
    for _ in range(3):
        w.grad = tg.Tensor(np.full((2, 3), 0.5, dtype))
        opt.step()
    assert w.data.dtype == dtype
    arrays = [v for v in opt.state[w].values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.dtype == dtype for a in arrays)


def test_zero_grad_sets_none_by_default_or_zeros():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = tg.Tensor([3.0, 4.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.data, [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_a_parameter_without_grad_gets_no_state():
    a, b = tg.Tensor([1.0], requires_grad=True), tg.Tensor([2.0], requires_grad=True)
    opt = optim.Adam([a, b])
    a.grad = tg.Tensor([1.0])
    opt.step()
    assert b not in opt.state and b.data[0] == 2.0 and opt.state[a]["step"] == 1


@pytest.mark.parametrize("bad_grad, error", [
    (tg.Tensor(np.ones(5, np.float32)), ValueError),          # wrong shape
    (np.ones((2, 2), np.float32), TypeError),                 # an array, not a Tensor
    (tg.Tensor(np.ones((2, 2), np.float64)), TypeError),      # wrong dtype
])
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_a_bad_gradient_changes_nothing(name, bad_grad, error):
    # The good parameter comes first: it would be updated before the bad one is reached.
    good = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    bad = tg.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    opt = getattr(optim, name)([{"params": [good]}, {"params": [bad]}], lr=0.1,
                               **({"momentum": 0.9} if name == "SGD" else {}))
    good.grad = tg.Tensor(np.ones(3, np.float32))
    bad.grad = bad_grad
    with pytest.raises(error, match="parameter 0 of parameter group 1 .*no parameter was updated"):
        opt.step()
    np.testing.assert_array_equal(good.data, np.ones(3))
    np.testing.assert_array_equal(bad.data, np.ones((2, 2)))
    assert not opt.state


def test_nan_gradients_propagate_like_torch():
    w = tg.Tensor([1.0, 1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = tg.Tensor([np.nan, 1.0])
    opt.step()
    assert np.isnan(w.data[0]) and w.data[1] == np.float32(0.9)


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=-0.1), "learning rate: -0.1"),
    (lambda p: optim.SGD(p, lr=float("nan")), "learning rate: nan"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay value: -1"),
    (lambda p: optim.SGD(p, lr=0.1, dampening=-1), "dampening value: -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, lr=-1e-3), "learning rate: -0.001"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1: -0.1"),
    (lambda p: optim.Adam(p, betas=(0.9, float("nan"))), "beta parameter at index 1: nan"),
    (lambda p: optim.Adam(p, betas=0.9), "betas: 0.9"),
    (lambda p: optim.Adam(p, eps=-1e-8), "epsilon value: -1e-08"),
    (lambda p: optim.Adam(p, weight_decay=-0.1), "weight_decay value: -0.1"),
    (lambda p: optim.AdamW(p, weight_decay=float("nan")), "weight_decay value: nan"),
    (lambda p: optim.SGD([{"params": p, "lr": -2.0}], lr=0.1), "learning rate: -2.0"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD(p + p, lr=0.1), "more than once"),
    (lambda p: optim.SGD([{"params": p}, {"params": p}], lr=0.1), "more than one"),
    (lambda p: optim.SGD([p[0] * 2], lr=0.1), "non-leaf"),
])
def test_invalid_construction_raises_value_error(make, match):
    params = [tg.Tensor([1.0], requires_grad=True)]
    with pytest.raises(ValueError, match=match):
        make(params)


@pytest.mark.parametrize("params", [tg.Tensor([1.0]), [np.ones(2)], {tg.Tensor([1.0])}, 3])
def test_params_of_the_wrong_type_raise_type_error(params):
    with pytest.raises(TypeError):
        optim.SGD(params, lr=0.1)


def test_default_learning_rates_are_torchs(torch):
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]:
        ours = getattr(optim, name)([tg.Tensor([1.0], requires_grad=True)])
        theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)])
        assert ours.defaults["lr"] == theirs.defaults["lr"], name


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                          ("Adam", dict(lr=0.02, amsgrad=True)),
                                          ("AdamW", dict(lr=0.02))])
def test_state_dict_round_trip_continues_identically(rng, name, kwargs):
    start, curvature, noise = make_problem(rng)
    cls = getattr(optim, name)

    def train(opt, params, steps):
        for t in steps:
            for i, p in enumerate(params):
                p.grad = tg.Tensor(curvature[i] * p.data + noise[t][i])
            opt.step()

    params = [tg.Tensor(x, requires_grad=True) for x in start]
    opt = cls(params, **kwargs)
    train(opt, params, range(10))
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0, 1, 2]
    assert sorted(saved["state"]) == [0, 1, 2]
    assert all(isinstance(v, np.ndarray) for s in saved["state"].values() for v in s.values())

    copies = [tg.Tensor(p.data, requires_grad=True) for p in params]
    resumed = cls(copies, lr=123.0)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    train(opt, params, range(10, 20))
    train(resumed, copies, range(10, 20))
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_snapshot():
    w = tg.Tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tg.Tensor([1.0])
    opt.step()
    saved = opt.state_dict()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], [1.0])


def test_adam_state_dict_has_torchs_layout(torch):
    ours = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    theirs = torch.ones(3, requires_grad=True)
    opt, ref = optim.Adam([ours], amsgrad=True), torch.optim.Adam([theirs], amsgrad=True)
    ours.grad, theirs.grad = tg.Tensor(np.ones(3, np.float32)), torch.ones(3)
    opt.step()
    ref.step()
    a, b = opt.state_dict(), ref.state_dict()
    assert list(a["state"][0]) == list(b["state"][0])
    for key, value in b["state"][0].items():
        np.testing.assert_allclose(a["state"][0][key], value.numpy())
    assert a["state"][0]["step"].dtype == np.float32
    assert set(a["param_groups"][0]) <= set(b["param_groups"][0])


def test_load_state_dict_validates_everything_before_changing_anything():
    w = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tg.Tensor(np.ones(3, np.float32))
    opt.step()
    saved = opt.state_dict()
    before = opt.state_dict()

    bad_shape = {"state": {0: {"momentum_buffer": np.ones(4)}},
                 "param_groups": saved["param_groups"]}
    bad_option = {"state": saved["state"],
                  "param_groups": [{**saved["param_groups"][0], "lr": -1.0}]}
    bad_index = {"state": {5: saved["state"][0]}, "param_groups": saved["param_groups"]}
    two_groups = {"state": {}, "param_groups": saved["param_groups"] * 2}
    for bad, match in [(bad_shape, r"shape \(4,\)"), (bad_option, "learning rate"),
                       (bad_index, "parameter 5"), (two_groups, "2 parameter groups"),
                       ({"state": {}}, "exactly the keys")]:
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict(bad)
        after = opt.state_dict()
        assert after["param_groups"] == before["param_groups"]
        np.testing.assert_array_equal(after["state"][0]["momentum_buffer"],
                                      before["state"][0]["momentum_buffer"])


def test_closure_is_evaluated_with_grad_enabled():
    w = tg.Tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(w.data, [1.0])


def test_repr_lists_each_group():
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


def run_scheduler(make, opt, epochs=35):
    sched = make(opt)
    lrs = [sched.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    return sched, lrs


SCHEDULERS = [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=5, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS)
def test_schedulers_match_torch(torch, name, kwargs):
    ours = optim.SGD([{"params": [tg.Tensor([1.0], requires_grad=True)]},
                      {"params": [tg.Tensor([1.0], requires_grad=True)], "lr": 0.3}], lr=0.1)
    theirs = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)]},
                              {"params": [torch.ones(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    ours_cls = getattr(optim.lr_scheduler, name)
    theirs_cls = getattr(torch.optim.lr_scheduler, name)
    _, a = run_scheduler(lambda o: ours_cls(o, **kwargs), ours)
    _, b = run_scheduler(lambda o: theirs_cls(o, **kwargs), theirs)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert [g["lr"] for g in ours.param_groups] == a[-1]
    assert [g["initial_lr"] for g in ours.param_groups] == [0.1, 0.3]


def test_cosine_follows_the_closed_form_within_a_period():
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=1.0)
    _, lrs = run_scheduler(lambda o: CosineAnnealingLR(o, T_max=8, eta_min=0.1), opt, epochs=8)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 8)) / 2 for t in range(9)]
    np.testing.assert_allclose([lr[0] for lr in lrs], expected, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda o: StepLR(o, step_size=4, gamma=0.5),
                                  lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.05)])
def test_scheduler_state_dict_round_trip(make):
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=1.0)
    sched, _ = run_scheduler(make, opt, epochs=5)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 5

    opt2 = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=1.0)
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for _ in range(10):
        sched.step()
        sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr()


@pytest.mark.parametrize("make, match", [
    (lambda o: StepLR(o, step_size=0), "step_size"),
    (lambda o: StepLR(o, step_size=2.5), "step_size"),
    (lambda o: StepLR(o, step_size=2, gamma=-0.1), "gamma"),
    (lambda o: CosineAnnealingLR(o, T_max=0), "T_max"),
    (lambda o: CosineAnnealingLR(o, T_max=5, eta_min=float("nan")), "eta_min"),
])
def test_invalid_scheduler_options_raise(make, match):
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match=match):
        make(opt)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR([tg.Tensor([1.0])], step_size=2)


def test_loading_another_optimizers_state_dict_names_the_problem_and_changes_nothing():
    w = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    adam = optim.Adam([w])
    w.grad = tg.Tensor(np.ones(2, np.float32))
    adam.step()
    sgd = optim.SGD([w], lr=0.1, momentum=0.9)
    before = sgd.state_dict()
    with pytest.raises(ValueError, match="lacks SGD.s hyperparameters .*momentum.*different optimizer"):
        sgd.load_state_dict(adam.state_dict())
    after = sgd.state_dict()
    assert after["param_groups"] == before["param_groups"] and after["state"] == {}


class TwoLayer(nn.Module):
    """x @ w1 -> relu -> @ w2: the second matmul saves w2 to send the gradient back to its
    input (in PyTorch as here), so a backward pass needs the weights as they were."""

    def __init__(self, rng):
        super().__init__()
        self.w1 = nn.Parameter(rng.standard_normal((3, 4)).astype(np.float32))
        self.w2 = nn.Parameter(rng.standard_normal((4, 2)).astype(np.float32))

    def forward(self, x):
        return (x @ self.w1).relu() @ self.w2


def squared_error(model, x):
    out = model(tg.Tensor(x))
    return (out * out).sum()


def torch_two_layer(torch, model):
    return [torch.tensor(p.data, requires_grad=True) for p in model.parameters()]


def torch_forward(torch, params, x):
    return ((torch.from_numpy(x) @ params[0]).relu() @ params[1]).square().sum()


OPTIMIZERS = [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
              ("Adam", dict(lr=0.1)), ("AdamW", dict(lr=0.1, amsgrad=True))]
INPLACE = "modified by an inplace operation"


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
def test_a_step_between_forward_and_backward_makes_backward_raise(rng, name, kwargs):
    model = TwoLayer(rng)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    squared_error(model, x).backward()  # gradients for the step
    loss = squared_error(model, x)
    opt.step()
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
def test_a_step_after_backward_is_the_normal_loop(rng, name, kwargs):
    model = TwoLayer(rng)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    for _ in range(3):
        opt.zero_grad()
        before = [p.data.copy() for p in model.parameters()]
        loss = squared_error(model, x)
        loss.backward()
        opt.step()
        assert not any(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def test_step_between_forward_and_backward_raises_like_torch(torch, rng):
    model = TwoLayer(rng)
    theirs = torch_two_layer(torch, model)
    opt, ref = optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(theirs, lr=0.1)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    squared_error(model, x).backward()
    torch_forward(torch, theirs, x).backward()
    loss, their_loss = squared_error(model, x), torch_forward(torch, theirs, x)
    opt.step()
    ref.step()
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()
    with pytest.raises(RuntimeError, match=INPLACE):
        their_loss.backward()
    # After the step, the same loop gives PyTorch's gradients.
    opt.zero_grad()
    ref.zero_grad()
    squared_error(model, x).backward()
    torch_forward(torch, theirs, x).backward()
    for p, q in zip(model.parameters(), theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_a_step_that_updates_nothing_leaves_a_pending_backward_alone(rng):
    model = TwoLayer(rng)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = squared_error(model, rng.standard_normal((5, 3)).astype(np.float32))
    opt.step()  # no parameter has a gradient yet
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_a_rejected_step_does_not_count_as_a_change(rng, name):
    model = TwoLayer(rng)
    opt = getattr(optim, name)(model.parameters(), lr=0.1)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    squared_error(model, x).backward()
    loss = squared_error(model, x)
    model.w2.grad = tg.Tensor(np.ones(3, np.float32))  # wrong shape: the step raises first
    with pytest.raises(ValueError, match="no parameter was updated"):
        opt.step()
    model.w2.grad = None
    loss.backward()


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_zero_grad_in_place_invalidates_a_graph_that_saved_the_gradient(torch):
    # A gradient penalty saves the gradient of backward(create_graph=True); zeroing it in
    # place must not let the penalty's backward use the zeros (PyTorch raises too).
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    (w * w * w).sum().backward(create_graph=True)
    penalty = (w.grad * w.grad).sum()
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    with pytest.raises(RuntimeError, match=INPLACE):
        penalty.backward()
    theirs = torch.tensor([1.0, 2.0], requires_grad=True)
    (theirs ** 3).sum().backward(create_graph=True)
    their_penalty = (theirs.grad * theirs.grad).sum()
    torch.optim.SGD([theirs], lr=0.1).zero_grad(set_to_none=False)
    with pytest.raises(RuntimeError):
        their_penalty.backward()


def test_each_step_bumps_each_updated_parameter_once():
    a, b = tg.Tensor([1.0], requires_grad=True), tg.Tensor([2.0], requires_grad=True)
    opt = optim.Adam([a, b], weight_decay=0.1)
    a.grad = tg.Tensor([1.0])
    start = a._version
    opt.step()
    opt.step()
    assert a._version == start + 2 and b._version == 0


def test_a_step_between_forward_and_backward_of_linear_layers_raises_like_torch(torch):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    x = tg.randn(5, 3)

    def ours_loss():
        return model(x).relu().sum()

    def their_loss():
        return theirs(torch.from_numpy(x.numpy())).relu().sum()

    ours_loss().backward()
    their_loss().backward()
    pending, their_pending = ours_loss(), their_loss()
    opt.step()
    ref.step()
    with pytest.raises(RuntimeError, match=INPLACE):
        pending.backward()
    with pytest.raises(RuntimeError, match=INPLACE):
        their_pending.backward()
    for _ in range(2):  # the usual loop: step after backward
        opt.zero_grad()
        ref.zero_grad()
        ours_loss().backward()
        their_loss().backward()
        opt.step()
        ref.step()
    for p, q in zip(model.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-5, atol=1e-6)
