"""Learning-rate schedulers: change each parameter group's ``lr`` once per ``step()``.

As in PyTorch, a scheduler records each group's starting rate as ``group["initial_lr"]`` (its
``base_lrs``), sets the rate for epoch 0 on construction, and is stepped *after* the optimizer,
usually once per epoch::

    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        scheduler.step()
"""
from __future__ import annotations

import math
from typing import Any

from .optimizer import Optimizer, check_non_negative


class LRScheduler:
    """Base class: subclasses compute the next rates in :meth:`get_lr` from ``last_epoch``.

    Attributes:
        optimizer: the optimizer whose groups' ``lr`` is set.
        base_lrs: each group's rate when the scheduler was created.
        last_epoch: how many times :meth:`step` has run (0 right after construction).
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def get_lr(self) -> list[float]:
        """The rates for epoch ``last_epoch``, one per parameter group."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Advance one epoch and set every group's ``lr``."""
        self.last_epoch += 1
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

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


class StepLR(LRScheduler):
    r"""Multiply every group's rate by ``gamma`` every ``step_size`` epochs.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}

    It is applied multiplicatively to the current rate (``lr *= gamma`` at epochs
    ``step_size, 2 step_size, ...``), so it composes with other changes to ``lr``, as in PyTorch.

    Args:
        optimizer: the optimizer to schedule.
        step_size: epochs between decays (a positive integer).
        gamma: multiplicative decay factor.

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

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        check_non_negative("gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


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

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=1.0)
        >>> sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        >>> sched.step(); sched.step()
        >>> round(sched.get_last_lr()[0], 6)
        0.5
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"T_max must be a positive integer, got {T_max!r}")
        check_non_negative("eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        groups, t = self.optimizer.param_groups, self.last_epoch
        T_max, eta_min = self.T_max, self.eta_min
        if t == 0:
            return [group["lr"] for group in groups]
        if (t - 1 - T_max) % (2 * T_max) == 0:
            # At the trough cos((t-1) pi / T_max) = -1 and the ratio below is 0/0: step up by
            # the first increment of the rising half instead.
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]
