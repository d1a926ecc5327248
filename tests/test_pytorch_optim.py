"""Optimizers against PyTorch: state_dict layout and exchange, parameter groups, dtype changes
and invalid learning rates set after construction."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn import optim

OPTIMIZERS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("AdamW", dict(lr=0.02)),
    ("RMSprop", dict(momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
]
IDS = [name for name, _ in OPTIMIZERS]


def pair(torch, rng, name, kwargs, dtype=np.float32):
    """The same two parameters (with fixed gradients) under our optimizer and torch's."""
    start = [rng.standard_normal(s).astype(dtype) for s in [(3, 2), (2,)]]
    ours = [tg.Tensor(x, requires_grad=True) for x in start]
    theirs = [torch.tensor(x, requires_grad=True) for x in start]
    return (ours, getattr(optim, name)(ours, **kwargs),
            theirs, getattr(torch.optim, name)(theirs, **kwargs))


def step_both(ours, opt, theirs, ref, rng, steps=5):
    for _ in range(steps):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape).astype(p.data.dtype)
            p.grad = tg.Tensor(g)
            q.grad = torch_from(q, g)
        opt.step()
        ref.step()


def torch_from(like, array):
    import torch
    return torch.from_numpy(np.array(array, dtype=like.detach().numpy().dtype))


def assert_same_params(ours, theirs, rtol=1e-5):
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=IDS)
def test_state_dict_has_torchs_keys(torch, rng, name, kwargs):
    ours, opt, theirs, ref = pair(torch, rng, name, kwargs)
    step_both(ours, opt, theirs, ref, rng, steps=2)
    a, b = opt.state_dict(), ref.state_dict()
    assert list(a) == list(b) == ["state", "param_groups"]
    assert list(a["param_groups"][0]) == list(b["param_groups"][0])
    assert a["param_groups"] == b["param_groups"]
    assert list(a["state"]) == list(b["state"]) == [0, 1]
    for i in (0, 1):
        assert list(a["state"][i]) == list(b["state"][i])
        for key, value in b["state"][i].items():
            np.testing.assert_allclose(a["state"][i][key], value.numpy(), rtol=1e-5, atol=1e-7)
            assert a["state"][i][key].dtype == value.numpy().dtype


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=IDS)
def test_a_torch_state_dict_loads_and_the_run_continues_like_torch(torch, rng, name, kwargs):
    ours, opt, theirs, ref = pair(torch, rng, name, kwargs)
    step_both(ours, opt, theirs, ref, rng, steps=3)
    fresh = [tg.Tensor(q.detach().numpy().copy(), requires_grad=True) for q in theirs]
    resumed = getattr(optim, name)(fresh, **kwargs)
    resumed.load_state_dict(ref.state_dict())  # torch tensors as values
    step_both(fresh, resumed, theirs, ref, rng, steps=4)
    assert_same_params(fresh, theirs)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=IDS)
def test_our_state_dict_loads_into_torch(torch, rng, name, kwargs):
    ours, opt, theirs, ref = pair(torch, rng, name, kwargs)
    step_both(ours, opt, theirs, ref, rng, steps=3)
    saved = opt.state_dict()
    state = {i: {k: torch.from_numpy(np.array(v)) for k, v in values.items()}
             for i, values in saved["state"].items()}
    fresh = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    resumed = getattr(torch.optim, name)(fresh, **kwargs)
    resumed.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    step_both(ours, opt, fresh, resumed, rng, steps=4)
    assert_same_params(ours, fresh)


def test_add_param_group_matches_torch(torch, rng):
    ours, opt, theirs, ref = pair(torch, rng, "SGD", dict(lr=0.1, momentum=0.9))
    extra = rng.standard_normal(4).astype(np.float32)
    p, q = tg.Tensor(extra, requires_grad=True), torch.tensor(extra, requires_grad=True)
    opt.add_param_group({"params": p, "lr": 0.01})
    ref.add_param_group({"params": q, "lr": 0.01})
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in ref.param_groups]
    step_both(ours + [p], opt, theirs + [q], ref, rng)
    assert_same_params(ours + [p], theirs + [q])


def test_adagrad_creates_state_for_an_added_group_like_torch(torch):
    opt = optim.Adagrad([tg.Tensor([1.0], requires_grad=True)], initial_accumulator_value=0.1)
    extra = tg.Tensor([1.0, 2.0], requires_grad=True)
    opt.add_param_group({"params": [extra], "initial_accumulator_value": 0.5})
    np.testing.assert_array_equal(opt.state[extra]["sum"], [0.5, 0.5])
    assert list(opt.state_dict()["state"]) == [0, 1]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.1, "0.1", None])
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=IDS)
def test_an_invalid_lr_raises_at_construction(name, kwargs, bad):
    with pytest.raises(ValueError, match="learning rate"):
        getattr(optim, name)([tg.Tensor([1.0], requires_grad=True)], **{**kwargs, "lr": bad})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=IDS)
def test_an_invalid_lr_set_later_makes_the_step_raise_and_change_nothing(name, kwargs, bad):
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(optim, name)([w], **kwargs)
    w.grad = tg.Tensor([0.5, 0.5])
    opt.step()
    params, state = w.data.copy(), opt.state_dict()
    opt.param_groups[0]["lr"] = bad
    with pytest.raises(ValueError, match=f"parameter group 0: Invalid learning rate: {bad}.*"
                                         "no parameter was updated"):
        opt.step()
    np.testing.assert_array_equal(w.data, params)
    after = opt.state_dict()
    for key, value in state["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)


def test_the_closure_is_not_run_when_the_lr_is_invalid():
    w = tg.Tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.param_groups[0]["lr"] = float("nan")
    calls = []
    with pytest.raises(ValueError, match="learning rate"):
        opt.step(lambda: calls.append(1))
    assert calls == []


def as_float64(params):
    """What ``model.double()`` does to each parameter: the same values, now float64."""
    for p in params:
        p.data = p.data.astype(np.float64)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=IDS)
def test_state_follows_the_parameters_after_they_become_float64(torch, rng, name, kwargs):
    ours, opt, theirs, ref = pair(torch, rng, name, kwargs)
    step_both(ours, opt, theirs, ref, rng, steps=3)
    as_float64(ours)
    # PyTorch's optimizer casts the state to the parameter's dtype when it loads a state_dict.
    fresh = [torch.tensor(q.detach().numpy().astype(np.float64), requires_grad=True)
             for q in theirs]
    resumed = getattr(torch.optim, name)(fresh, **kwargs)
    resumed.load_state_dict(ref.state_dict())
    step_both(ours, opt, fresh, resumed, rng, steps=4)
    assert all(p.data.dtype == np.float64 for p in ours)
    for values in opt.state.values():
        assert all(v.dtype == np.float64 for v in values.values() if isinstance(v, np.ndarray))
    assert_same_params(ours, fresh, rtol=1e-12)


def test_after_double_the_module_and_its_optimizer_agree():
    model = tg.nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = tg.Tensor(np.ones((4, 3), np.float32))
    model(x).sum().backward()
    opt.step()
    if hasattr(model, "double"):
        model.double()
    else:  # until Module.double() exists
        as_float64(model.parameters())
    opt.zero_grad()
    model(tg.Tensor(np.ones((4, 3), np.float64))).sum().backward()
    opt.step()
    assert {p.data.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert {v.dtype for s in opt.state.values() for v in s.values()
            if isinstance(v, np.ndarray)} == {np.dtype(np.float64)}


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.Adam(p, capturable=True), "capturable=True"),
    (lambda p: optim.SGD(p, differentiable=True), "differentiable=True"),
    (lambda p: optim.RMSprop(p, differentiable=True), "differentiable=True"),
])
def test_options_that_change_what_a_step_is_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make([tg.Tensor([1.0], requires_grad=True)])


def test_kernel_choices_are_accepted_and_change_nothing(rng):
    start = rng.standard_normal(5).astype(np.float32)
    results = []
    for flags in [{}, {"foreach": True}, {"fused": False}]:
        w = tg.Tensor(start.copy(), requires_grad=True)
        opt = optim.Adam([w], lr=0.1, **flags)
        w.grad = tg.Tensor(start)
        opt.step()
        results.append(w.data)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_named_parameters_keep_their_names_like_torch(torch):
    ours = tg.nn.Linear(2, 1)
    theirs = torch.nn.Linear(2, 1)
    opt = optim.SGD(ours.named_parameters(), lr=0.1, momentum=0.9)
    ref = torch.optim.SGD(theirs.named_parameters(), lr=0.1, momentum=0.9)
    assert list(opt.param_groups[0]) == list(ref.param_groups[0])
    assert opt.state_dict()["param_groups"] == ref.state_dict()["param_groups"]
    with pytest.raises(ValueError, match="parameter names or none has"):
        opt.add_param_group({"params": [tg.Tensor([1.0], requires_grad=True)]})
    with pytest.raises(ValueError, match="some names are missing"):
        optim.SGD([("weight", ours.weight), ours.bias])


def test_a_group_with_its_own_options_has_torchs_key_order(torch):
    ours = optim.Adam([{"params": [tg.Tensor([1.0], requires_grad=True)], "eps": 1e-6}])
    theirs = torch.optim.Adam([{"params": [torch.ones(1, requires_grad=True)], "eps": 1e-6}])
    assert list(ours.param_groups[0]) == list(theirs.param_groups[0])


def test_a_state_dict_saved_before_the_newer_options_existed_still_loads():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    opt = optim.AdamW([w], lr=0.1)
    w.grad = tg.Tensor([1.0, 1.0])
    opt.step()
    saved = opt.state_dict()
    for key in ["maximize", "foreach", "capturable", "differentiable", "fused",
                "decoupled_weight_decay"]:
        del saved["param_groups"][0][key]
    fresh = optim.AdamW([tg.Tensor([1.0, 2.0], requires_grad=True)], lr=0.1)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["decoupled_weight_decay"] is True
    assert fresh.param_groups[0]["maximize"] is False
    del saved["param_groups"][0]["betas"]
    with pytest.raises(ValueError, match=r"lacks AdamW's hyperparameters \['betas'\]"):
        fresh.load_state_dict(saved)
