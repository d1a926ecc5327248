"""RMSprop: divide the gradient by a running root mean square of its recent values."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_non_negative, implementation_options


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g`:

    .. math::
        g &\leftarrow -g \text{ if maximize};\quad g \leftarrow g + \lambda\,\theta \\
        v &\leftarrow \alpha\, v + (1 - \alpha)\, g^2 \\
        \bar g &\leftarrow \alpha\, \bar g + (1 - \alpha)\, g
            \quad\text{and}\quad \tilde v = v - \bar g^2 \text{ if centered, else } \tilde v = v \\
        b &\leftarrow \mu\, b + g / (\sqrt{\tilde v} + \epsilon),\quad
            \theta \leftarrow \theta - \gamma\, b \text{ with momentum } \mu > 0 \\
        \theta &\leftarrow \theta - \gamma\, g / (\sqrt{\tilde v} + \epsilon) \text{ otherwise}

    :math:`v`, :math:`\bar g` and :math:`b` start at zero; :math:`\epsilon` is added outside
    the square root, as in PyTorch.

    Args:
        params: parameters (or parameter groups) to update.
        lr: learning rate :math:`\gamma`.
        alpha: smoothing constant :math:`\alpha` of the running averages.
        eps: :math:`\epsilon`, added to the denominator for stability.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        momentum: momentum factor :math:`\mu`; 0 disables the buffer.
        centered: normalise by an estimate of the gradient's variance instead of its second
            moment.
        maximize: maximise the objective (step along the gradient).
        foreach: PyTorch's kernel choice; accepted and ignored (one implementation).
        capturable, differentiable: must stay False (CUDA graphs, autograd through a step).

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> w = tg.Tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.numpy().round(3)
        array([ 0.9, -1.9], dtype=float32)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        implementation_options(capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    @staticmethod
    def _check_options(options: dict[str, Any]) -> None:
        check_non_negative("learning rate", options["lr"])
        check_non_negative("epsilon value", options["eps"])
        check_non_negative("momentum value", options["momentum"])
        check_non_negative("weight_decay value", options["weight_decay"])
        check_non_negative("alpha value", options["alpha"])

    def _update_group(self, group: dict[str, Any],
                      pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum, centered = group["weight_decay"], group["momentum"], \
            group["centered"]
        for p, grad in pairs:
            param = p.data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(param)
                if momentum > 0:
                    state["momentum_buffer"] = np.zeros_like(param)
                if centered:
                    state["grad_avg"] = np.zeros_like(param)
            state["step"] += 1
            work = self._scratch(param)
            if group["maximize"]:
                grad = np.negative(grad, out=work)
            if weight_decay != 0:
                decay = np.multiply(param, weight_decay, out=self._scratch(param, 1))
                grad = np.add(grad, decay, out=work)

            square_avg = state["square_avg"]
            square_avg *= alpha
            squared = np.multiply(grad, grad, out=self._scratch(param, 1))
            square_avg += np.multiply(squared, 1 - alpha, out=squared)
            if centered:
                grad_avg = state.setdefault("grad_avg", np.zeros_like(param))
                # PyTorch's lerp form: g_avg += (1 - alpha) (g - g_avg)
                grad_avg += np.multiply(np.subtract(grad, grad_avg, out=self._scratch(param, 1)),
                                        1 - alpha, out=self._scratch(param, 1))
                variance = np.multiply(grad_avg, grad_avg, out=self._scratch(param, 1))
                avg = np.sqrt(np.subtract(square_avg, variance, out=variance), out=variance)
            else:
                avg = np.sqrt(square_avg, out=self._scratch(param, 1))
            avg += eps
            if momentum > 0:
                buf = state.setdefault("momentum_buffer", np.zeros_like(param))
                buf *= momentum
                buf += np.divide(grad, avg, out=avg)
                param += np.multiply(buf, -lr, out=work)
            else:
                step = np.divide(grad, avg, out=avg)
                param += np.multiply(step, -lr, out=step)
