"""Learning-rate schedulers: change each parameter group's ``lr`` once per ``step()``.

As in PyTorch, a scheduler records each group's starting rate as ``group["initial_lr"]`` (its
``base_lrs``), sets the rate for epoch 0 on construction, and is stepped *after* the optimizer,
usually once per epoch::

    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        scheduler.step()

Most schedulers update the current rate recursively (``lr *= gamma`` at a milestone), exactly
as PyTorch does, so they compose with other changes to ``lr`` and give the same floating-point
sequence. A step that would set an invalid rate (negative, NaN, infinite) raises ``ValueError``
and changes nothing.
"""
from __future__ import annotations

import math
import types
from collections import Counter
from typing import Any, Callable, Iterable, Sequence, Union

from .optimizer import Optimizer, check_non_negative


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list:
    """``value`` repeated for every parameter group, or a list with one value per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have one value per parameter group: got "
                             f"{len(value)} values for {len(optimizer.param_groups)} groups")
        return list(value)
    return [value] * len(optimizer.param_groups)


def _check_lrs(scheduler: Any, lrs: Sequence[float]) -> None:
    for number, lr in enumerate(lrs):
        try:
            check_non_negative("learning rate", lr)
        except ValueError as error:
            raise ValueError(f"{type(scheduler).__name__} computed an invalid rate for "
                             f"parameter group {number} at epoch {scheduler.last_epoch}: "
                             f"{error}; nothing was changed. Check the scheduler's options "
                             "and the groups' lr") from None


class LRScheduler:
    """Base class: subclasses compute the next rates in :meth:`get_lr` from ``last_epoch``.

    Args:
        optimizer: the optimizer whose groups' ``lr`` is set.
        last_epoch: the index of the last epoch when resuming (the groups must then hold
            ``initial_lr``); -1, the default, starts a new schedule.

    Attributes:
        optimizer: the optimizer whose groups' ``lr`` is set.
        base_lrs: each group's ``initial_lr``.
        last_epoch: how many times :meth:`step` has run (0 right after construction).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs an Optimizer, got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an integer >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for number, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"parameter group {number} has no 'initial_lr', needed to "
                                   f"resume a schedule at last_epoch={last_epoch}: load the "
                                   "optimizer's state_dict first, or pass last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rates for epoch ``last_epoch``, one per parameter group."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Advance one epoch and set every group's ``lr`` (nothing changes if one is invalid)."""
        self.last_epoch += 1
        self._step_count += 1
        try:
            lrs = self.get_lr()
            _check_lrs(self, lrs)
        except BaseException:
            self.last_epoch -= 1
            self._step_count -= 1
            raise
        self._apply(lrs)

    def _apply(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (PyTorch's layout)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the optimizer's own state is loaded separately)."""
        unknown = set(state_dict) - set(self.state_dict())
        if unknown:
            raise ValueError(f"unexpected keys in a {type(self).__name__} state_dict: "
                             f"{sorted(unknown)}")
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    r"""Set each group's rate to its initial rate times ``lr_lambda(epoch)``.

    .. math:: \eta_t = \eta_0 \cdot \lambda(t)

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the epoch, or a list with one function per parameter group.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5 ** epoch)
        >>> sched.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Union[Callable[[int], float], list[Callable[[int], float]]],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _per_group("lr_lambda", optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda must be a function of the epoch, got "
                                f"{type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        """As PyTorch: plain functions are not saved (``None``); a callable object's
        attributes are."""
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                vars(fn).update(attributes)


class StepLR(LRScheduler):
    r"""Multiply every group's rate by ``gamma`` every ``step_size`` epochs.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}

    Args:
        optimizer: the optimizer to schedule.
        step_size: epochs between decays (a positive integer).
        gamma: multiplicative decay factor.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        >>> for _ in range(4):
        ...     sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        _check_positive_int("step_size", step_size)
        check_non_negative("gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    r"""Multiply every group's rate by ``gamma`` at each epoch listed in ``milestones``.

    .. math:: \eta_t = \eta_0 \, \gamma^{\#\{m \in \text{milestones} : m \le t\}}

    A milestone listed twice decays twice, as in PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        milestones: epoch indices (any order).
        gamma: multiplicative decay factor.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
        >>> for _ in range(3):
        ...     sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, int):
                raise ValueError(f"milestones must be integer epochs, got {m!r}")
        check_non_negative("gamma", gamma)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    r"""Multiply every group's rate by ``gamma`` every epoch: :math:`\eta_t = \eta_0\gamma^t`.

    Args:
        optimizer: the optimizer to schedule.
        gamma: multiplicative decay factor.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_non_negative("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class LinearLR(LRScheduler):
    r"""Scale every group's rate by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs, then stays there (a warm-up).

    .. math:: \eta_t = \eta_0 \left(f_s + (f_e - f_s)\,\frac{\min(t, T)}{T}\right)

    computed recursively from the previous rate, as in PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: factor at epoch 0, in (0, 1].
        end_factor: factor from epoch ``total_iters`` on, in [0, 1].
        total_iters: epochs the change takes (a positive integer).
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(3):
        ...     sched.step()
        ...     lrs.append(sched.get_last_lr()[0])
        >>> lrs
        [0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"end_factor must be in [0, 1], got {end_factor!r}")
        _check_positive_int("total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if self._is_initial or t > self.total_iters:
            return self._current_lrs()
        ratio = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [lr * ratio for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal every group's rate from its initial value to ``eta_min`` along a cosine.

    .. math:: \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
              \left(1 + \cos\frac{\pi t}{T_{max}}\right)

    Like PyTorch, it updates the current rate recursively,
    :math:`\eta_t = \eta_{min} + (\eta_{t-1} - \eta_{min})
    \frac{1 + \cos(\pi t / T_{max})}{1 + \cos(\pi (t-1) / T_{max})}`, so it composes with other
    changes to ``lr``; past ``T_max`` the rate climbs back up (a period of ``2 T_max``).

    Args:
        optimizer: the optimizer to schedule.
        T_max: epochs from the initial rate down to ``eta_min`` (a positive integer).
        eta_min: the smallest rate.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        >>> sched.step(); sched.step()
        >>> round(sched.get_last_lr()[0], 6)
        0.5
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        _check_positive_int("T_max", T_max)
        check_non_negative("eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # resumed: the recursion has no previous rate
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / T_max)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T_max) % (2 * T_max) == 0:
            # At the trough cos((t-1) pi / T_max) = -1 and the ratio below is 0/0: step up by
            # the first increment of the rising half instead.
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs())]
        ratio = (1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018): warm up to ``max_lr``, then anneal far below
    the start, stepping once per *batch*, while momentum moves the opposite way.

    The rate starts at ``max_lr / div_factor``, rises to ``max_lr`` over the first
    ``pct_start`` of ``total_steps``, and falls to ``initial_lr / final_div_factor`` by the
    last step, each phase along a cosine (or linearly):
    :math:`\text{anneal}(a, b, p) = b + \tfrac12 (a - b)(1 + \cos \pi p)`. With
    ``three_phase``, it first comes back down to the start rate, symmetrically, before the
    final fall. With ``cycle_momentum``, SGD's ``momentum`` (or Adam's ``beta1``) goes from
    ``max_momentum`` to ``base_momentum`` and back. Stepping more than ``total_steps`` times
    raises ``ValueError``.

    Args:
        optimizer: the optimizer to schedule.
        max_lr: the peak rate (or one per parameter group).
        total_steps: the number of steps of the cycle; or give ``epochs`` and
            ``steps_per_epoch``.
        epochs, steps_per_epoch: ``total_steps = epochs * steps_per_epoch``.
        pct_start: the fraction of the cycle spent rising (a float in [0, 1]).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        cycle_momentum: cycle the momentum inversely to the rate.
        base_momentum, max_momentum: the momentum bounds (or one per group).
        div_factor: ``initial_lr = max_lr / div_factor``.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``.
        three_phase: add a symmetric decline back to ``initial_lr`` before the final fall.
        last_epoch: see :class:`LRScheduler`.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        >>> sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> round(sched.get_last_lr()[0], 6)
        0.04
        >>> for _ in range(2):
        ...     sched.step()
        >>> sched.get_last_lr(), opt.param_groups[0]["momentum"]
        ([1.0], 0.85)
    """

    def __init__(self, optimizer: Optimizer, max_lr: Union[float, list[float]],
                 total_steps: Union[int, None] = None, epochs: Union[int, None] = None,
                 steps_per_epoch: Union[int, None] = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: Union[float, list[float]] = 0.85,
                 max_momentum: Union[float, list[float]] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs an Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            _check_positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            _check_positive_int("epochs", epochs)
            _check_positive_int("steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"pct_start must be a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.total_steps = total_steps
        self._anneal_func_type = anneal_strategy
        rise_end = float(pct_start * total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                dict(end_step=rise_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * total_steps) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=rise_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for value in max_lrs:
            check_non_negative("max_lr", value)
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"cycle_momentum=True needs an optimizer with momentum or "
                                 f"betas; {type(optimizer).__name__} has neither: pass "
                                 "cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
        if last_epoch == -1:
            for number, group in enumerate(optimizer.param_groups):
                group["initial_lr"] = max_lrs[number] / div_factor
                group["max_lr"] = max_lrs[number]
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if cycle_momentum:
                    self._set_momentum(group, max_momentums[number])
                    group["max_momentum"] = max_momentums[number]
                    group["base_momentum"] = base_momentums[number]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _phase(self) -> tuple[dict[str, Any], float]:
        """The phase that step ``last_epoch`` falls in, and the fraction of it done."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR was stepped {step} times, but its cycle has "
                             f"total_steps={self.total_steps}: create it with more steps")
        start_step = 0.0
        for i, phase in enumerate(self._schedule_phases):
            if step <= phase["end_step"] or i == len(self._schedule_phases) - 1:
                return phase, (step - start_step) / (phase["end_step"] - start_step)
            start_step = phase["end_step"]
        raise AssertionError("unreachable: the last phase always matches")

    def get_lr(self) -> list[float]:
        phase, pct = self._phase()
        return [self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                for group in self.optimizer.param_groups]

    def _apply(self, lrs: list[float]) -> None:
        if self.cycle_momentum:
            phase, pct = self._phase()
            for group in self.optimizer.param_groups:
                self._set_momentum(group, self._anneal(group[phase["start_momentum"]],
                                                       group[phase["end_momentum"]], pct))
        super()._apply(lrs)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the rate by ``factor`` when a metric has stopped improving.

    ``step(metric)`` (after each validation, say) counts the epochs since the best value; after
    more than ``patience`` epochs without an improvement beyond ``threshold``, every group's
    rate becomes :math:`\max(\eta\cdot\text{factor}, \text{min\_lr})` (unless that changes it
    by at most ``eps``), then ``cooldown`` epochs pass before counting resumes. An improvement
    is ``metric < best * (1 - threshold)`` in ``"min"``/``"rel"`` mode, ``metric < best -
    threshold`` in ``"abs"`` mode, and the mirror images in ``"max"`` mode.

    Args:
        optimizer: the optimizer to schedule.
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: the decay factor, in [0, 1).
        patience: epochs without improvement to tolerate.
        threshold: how much better counts as an improvement.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: epochs to wait after a reduction.
        min_lr: the smallest rate (or one per parameter group).
        eps: reductions smaller than this are skipped.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
        >>> for loss in [1.0, 0.9, 0.9, 0.9]:
        ...     sched.step(loss)
        >>> sched.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: Union[float, list[float]] = 0,
                 eps: float = 1e-8) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs an Optimizer, got {type(optimizer).__name__}")
        check_non_negative("factor", factor)
        if factor >= 1.0:
            raise ValueError(f"factor must be < 1.0 (it multiplies the rate), got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        for name, value in [("patience", patience), ("cooldown", cooldown)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        self.min_lrs = _per_group("min_lr", optimizer, min_lr)
        for value in self.min_lrs:
            check_non_negative("min_lr", value)
        self.optimizer = optimizer
        self.factor = factor
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            bar = self.best * (1 - self.threshold) if self.threshold_mode == "rel" \
                else self.best - self.threshold
            return value < bar
        bar = self.best * (1 + self.threshold) if self.threshold_mode == "rel" \
            else self.best + self.threshold
        return value > bar

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record one epoch's metric and reduce the rates if it has plateaued."""
        current = float(metrics)
        reduce = False
        if self._is_better(current):
            best, bad = current, 0
        else:
            best, bad = self.best, self.num_bad_epochs + 1
        cooldown_counter = self.cooldown_counter
        if cooldown_counter > 0:
            cooldown_counter -= 1
            bad = 0  # bad epochs during a cooldown do not count
        if bad > self.patience:
            reduce, cooldown_counter, bad = True, self.cooldown, 0
        lrs = self._current_lrs()
        if reduce:
            if len(self.min_lrs) != len(lrs):
                if self.default_min_lr is None:
                    raise RuntimeError(
                        f"the optimizer has {len(lrs)} parameter groups but min_lr has "
                        f"{len(self.min_lrs)} values (a group was added): set "
                        "scheduler.min_lrs to one value per group")
                self.min_lrs = [self.default_min_lr] * len(lrs)
            lrs = [max(lr * self.factor, min_lr) if lr - max(lr * self.factor, min_lr) > self.eps
                   else lr for lr, min_lr in zip(lrs, self.min_lrs)]
        self.last_epoch += 1
        try:
            _check_lrs(self, lrs)
        except ValueError:
            self.last_epoch -= 1
            raise
        self.best, self.num_bad_epochs, self.cooldown_counter = best, bad, cooldown_counter
        self._apply(lrs)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the optimizer's own state is loaded separately)."""
        super().load_state_dict(state_dict)
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
