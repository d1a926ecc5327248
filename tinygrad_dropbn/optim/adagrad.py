"""Adagrad: per-coordinate step sizes shrinking with the sum of squared past gradients."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_non_negative, implementation_options


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g`, at step :math:`t = 1, 2, \dots`:

    .. math::
        g &\leftarrow -g \text{ if maximize};\quad g \leftarrow g + \lambda\,\theta \\
        \tilde\gamma &= \gamma / (1 + (t - 1)\,\eta) \\
        s &\leftarrow s + g^2 \\
        \theta &\leftarrow \theta - \tilde\gamma\, g / (\sqrt{s} + \epsilon)

    The sum :math:`s` starts at ``initial_accumulator_value``. As in PyTorch, every parameter's
    state is created with the optimizer (so it is in the first state_dict).

    Args:
        params: parameters (or parameter groups) to update.
        lr: learning rate :math:`\gamma`.
        lr_decay: learning-rate decay :math:`\eta` per step.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        initial_accumulator_value: starting value of :math:`s`.
        eps: :math:`\epsilon`, added to the denominator for stability.
        foreach, fused: PyTorch's kernel choices; accepted and ignored (one implementation).
        maximize: maximise the objective (step along the gradient).
        differentiable: must stay False (autograd through a step is not supported).

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> w = tg.Tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.Adagrad([w], lr=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.numpy().round(4)
        array([ 0.5, -1.5], dtype=float32)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      **implementation_options(differentiable=differentiable,
                                                               fused=fused)))

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group, creating each of its parameters' state at once, as PyTorch does."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = {"step": 0,
                             "sum": np.full_like(p.data, group["initial_accumulator_value"])}

    @staticmethod
    def _check_options(options: dict[str, Any]) -> None:
        check_non_negative("learning rate", options["lr"])
        check_non_negative("lr_decay value", options["lr_decay"])
        check_non_negative("weight_decay value", options["weight_decay"])
        check_non_negative("initial_accumulator_value", options["initial_accumulator_value"])
        check_non_negative("epsilon value", options["eps"])

    def _update_group(self, group: dict[str, Any],
                      pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        weight_decay = group["weight_decay"]
        for p, grad in pairs:
            param = p.data
            state = self.state[p]
            state["step"] = step = state["step"] + 1
            work = self._scratch(param)
            if group["maximize"]:
                grad = np.negative(grad, out=work)
            if weight_decay != 0:
                decay = np.multiply(param, weight_decay, out=self._scratch(param, 1))
                grad = np.add(grad, decay, out=work)
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]
            squared = np.multiply(grad, grad, out=self._scratch(param, 1))
            state_sum += squared
            std = np.sqrt(state_sum, out=squared)
            std += eps
            update = np.divide(grad, std, out=std)
            param += np.multiply(update, -clr, out=update)
