"""Learning-rate schedulers: the same rate (and momentum) sequence as PyTorch, step for step."""
import numpy as np
import pytest

import tinygrad_dropbn as tg
from tinygrad_dropbn import optim
from tinygrad_dropbn.optim import lr_scheduler


def two_groups(lib, cls_name="SGD", **options):
    """An optimizer of library ``lib`` (ours or torch) with two groups of different rates."""
    if lib is optim:
        make = lambda: tg.Tensor([1.0], requires_grad=True)  # noqa: E731
    else:
        make = lambda: lib.ones(1, requires_grad=True)  # noqa: E731
    opt_module = optim if lib is optim else lib.optim
    return getattr(opt_module, cls_name)([{"params": [make()]},
                                          {"params": [make()], "lr": 0.3}], lr=0.1, **options)


def run(make, opt, steps, metrics=None):
    """Rates (and SGD momentum or Adam beta1) after construction and after each step."""
    sched = make(opt)
    record = []

    def snapshot():
        momenta = [g["momentum"] if "momentum" in g else g["betas"][0]
                   for g in opt.param_groups]
        record.append((list(sched.get_last_lr()), momenta))

    snapshot()
    for t in range(steps):
        opt.step()
        sched.step(metrics[t]) if metrics is not None else sched.step()
        snapshot()
    return sched, record


CASES = [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=5, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9])),
    ("MultiStepLR", dict(milestones=[7, 3], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.8, total_iters=12)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=30)),
    ("OneCycleLR", dict(max_lr=[0.5, 2.0], epochs=5, steps_per_epoch=6, pct_start=0.25,
                        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=30, three_phase=True, base_momentum=0.8,
                        max_momentum=0.9)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=30, cycle_momentum=False)),
]


@pytest.mark.parametrize("cls_name, optimizer", [("SGD", dict(momentum=0.9)), ("Adam", {})])
@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_rates_and_momenta_match_torch(torch, name, kwargs, cls_name, optimizer):
    # A 30-step cycle sets the rates of steps 0..29; a 30th step extrapolates past its end.
    steps = 29 if name == "OneCycleLR" else 35
    ours = two_groups(optim, cls_name, **optimizer)
    theirs = two_groups(torch, cls_name, **optimizer)
    _, a = run(lambda o: getattr(lr_scheduler, name)(o, **kwargs), ours, steps)
    _, b = run(lambda o: getattr(torch.optim.lr_scheduler, name)(o, **kwargs), theirs, steps)
    np.testing.assert_allclose(np.array([r[0] for r in a]), np.array([r[0] for r in b]),
                               rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(np.array([r[1] for r in a]), np.array([r[1] for r in b]),
                               rtol=1e-13, atol=1e-16)
    assert [g["lr"] for g in ours.param_groups] == a[-1][0]


@pytest.mark.parametrize("functions", [
    lambda epoch: 0.95 ** epoch,
    [lambda epoch: 1 / (1 + epoch), lambda epoch: 0.5 if epoch % 4 == 0 else 1.0],
])
def test_lambda_lr_matches_torch(torch, functions):
    _, a = run(lambda o: lr_scheduler.LambdaLR(o, functions), two_groups(optim), 20)
    _, b = run(lambda o: torch.optim.lr_scheduler.LambdaLR(o, functions), two_groups(torch), 20)
    assert [r[0] for r in a] == [r[0] for r in b]


PLATEAU_CASES = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.5, cooldown=2, min_lr=0.02),
    dict(patience=1, threshold=0.1, threshold_mode="abs", min_lr=[0.01, 0.1]),
    dict(mode="max", patience=0, factor=0.7),
    dict(mode="max", patience=1, threshold=0.05, threshold_mode="rel", eps=0.05),
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_torch(torch, kwargs):
    metrics = [1.0, 0.8, 0.8, 0.79, 0.81, 0.7, 0.7, 0.7, 0.7, 0.9, 0.6] * 4
    ours, a = run(lambda o: lr_scheduler.ReduceLROnPlateau(o, **kwargs), two_groups(optim),
                  len(metrics), metrics)
    theirs, b = run(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs),
                    two_groups(torch), len(metrics), metrics)
    assert [r[0] for r in a] == [r[0] for r in b]
    assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch) == \
        (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.last_epoch)


def test_plateau_accepts_a_tensor_metric():
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(tg.tensor(1.0))
    sched.step(tg.tensor(2.0))
    assert sched.get_last_lr() == [0.1]


MAKERS = {
    "StepLR": lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, 6, 8]),
    "ExponentialLR": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.05),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o, total_iters=8),
    "OneCycleLR": lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20),
    "LambdaLR": lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 0.9 ** epoch),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_state_dict_round_trip_continues_identically(name):
    make = MAKERS[name]
    opt = two_groups(optim, momentum=0.9)
    sched, _ = run(make, opt, 5)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 5

    opt2 = two_groups(optim, momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for _ in range(10):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert [g["momentum"] for g in opt2.param_groups] == \
            [g["momentum"] for g in opt.param_groups]


def test_plateau_state_dict_round_trip():
    opt = two_groups(optim)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for metric in [1.0, 1.0, 1.0]:
        sched.step(metric)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    opt2 = two_groups(optim)
    sched2 = lr_scheduler.ReduceLROnPlateau(opt2, patience=1, cooldown=1)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for metric in [1.0, 0.5, 0.6, 0.6, 0.6, 0.6]:
        sched.step(metric)
        sched2.step(metric)
        assert sched2.get_last_lr() == sched.get_last_lr()


def test_lambda_state_dict_saves_a_callable_objects_attributes_like_torch(torch):
    class Warmup:
        def __init__(self, length):
            self.length = length

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.length)

    ours = lr_scheduler.LambdaLR(two_groups(optim), [Warmup(4), lambda epoch: 1.0])
    theirs = torch.optim.lr_scheduler.LambdaLR(two_groups(torch), [Warmup(4), lambda e: 1.0])
    assert ours.state_dict()["lr_lambdas"] == theirs.state_dict()["lr_lambdas"] == \
        [{"length": 4}, None]
    other = lr_scheduler.LambdaLR(two_groups(optim), [Warmup(10), lambda epoch: 1.0])
    other.load_state_dict(ours.state_dict())
    assert other.lr_lambdas[0].length == 4


def test_resuming_with_last_epoch_matches_torch(torch):
    ours, theirs = two_groups(optim), two_groups(torch)
    for opt in (ours, theirs):
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
    a = lr_scheduler.CosineAnnealingLR(ours, T_max=10, last_epoch=4)
    b = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=10, last_epoch=4)
    for _ in range(8):
        np.testing.assert_allclose(a.get_last_lr(), b.get_last_lr(), rtol=1e-13)
        ours.step(), theirs.step()
        a.step(), b.step()


def test_resuming_without_initial_lr_raises():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(two_groups(optim), step_size=2, last_epoch=3)


def test_a_scheduler_that_would_set_an_invalid_rate_changes_nothing():
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=1.0)
    rates = iter([1.0, 0.5, float("nan")])
    sched = lr_scheduler.LambdaLR(opt, lambda epoch: next(rates))
    sched.step()
    before = sched.state_dict()
    with pytest.raises(ValueError, match="LambdaLR computed an invalid rate for parameter "
                                         "group 0 at epoch 2.*nan.*nothing was changed"):
        sched.step()
    assert sched.state_dict() == before and opt.param_groups[0]["lr"] == 0.5


def test_an_overflowing_rate_raises():
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=1e300)
    sched = lr_scheduler.ExponentialLR(opt, gamma=1e10)
    with pytest.raises(ValueError, match="inf"):
        sched.step()
    assert opt.param_groups[0]["lr"] == 1e300 and sched.last_epoch == 0


def test_one_cycle_refuses_to_step_past_its_cycle():
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    lr, momentum = opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]
    with pytest.raises(ValueError, match="stepped 4 times.*total_steps=3"):
        sched.step()
    assert (opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]) == (lr, momentum)


def test_one_cycle_refuses_the_negative_rate_torch_extrapolates_to():
    # Linear annealing carried one step past the cycle's last step goes below zero; PyTorch
    # sets that rate, and its optimizer then climbs the loss. Here the step raises.
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.2,
                                    anneal_strategy="linear")
    for _ in range(9):
        sched.step()
    with pytest.raises(ValueError, match="OneCycleLR computed an invalid rate"):
        sched.step()
    assert opt.param_groups[0]["lr"] > 0


@pytest.mark.parametrize("make, match", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must be a positive integer"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2.5), "step_size must be a positive integer"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=-0.1), "gamma: -0.1"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[1.5]), "milestones must be integer"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=float("nan")), "gamma: nan"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max must be a positive integer"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=-1.0), "eta_min: -1.0"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), r"start_factor must be in \(0, 1\]"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), r"end_factor must be in \[0, 1\]"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 2), "one value per parameter group"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), "needs total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1),
     "pct_start must be a float"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
     "anneal_strategy"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=-1.0, total_steps=10), "max_lr: -1.0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "factor must be < 1.0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="maximum"), "mode must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "one value per"),
])
def test_invalid_options_raise_value_error(make, match):
    opt = optim.SGD([tg.Tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=match):
        make(opt)


def test_one_cycle_needs_momentum_to_cycle_it():
    opt = optim.Adagrad([tg.Tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5, cycle_momentum=False)


@pytest.mark.parametrize("cls", [lr_scheduler.StepLR, lr_scheduler.ReduceLROnPlateau])
def test_a_scheduler_needs_an_optimizer(cls):
    with pytest.raises(TypeError, match="needs an Optimizer"):
        cls([tg.Tensor([1.0])], step_size=1) if cls is lr_scheduler.StepLR else cls([])
