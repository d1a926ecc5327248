"""Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_non_negative, implementation_options


class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g`, step :math:`t`:

    .. math::
        g &\leftarrow -g \text{ if maximize}                 && \text{(gradient ascent)} \\
        g &\leftarrow g + \lambda\,\theta                      && \text{(weight decay)} \\
        b_1 &= g,\quad b_t = \mu\, b_{t-1} + (1 - \tau)\, g   && \text{(momentum buffer)} \\
        g &\leftarrow g + \mu\, b_t \text{ if Nesterov, else } b_t \\
        \theta &\leftarrow \theta - \gamma\, g

    The first momentum buffer is the gradient itself (no dampening on step 1), as in PyTorch.

    Args:
        params: parameters (or parameter groups) to update.
        lr: learning rate :math:`\gamma`.
        momentum: momentum factor :math:`\mu`; 0 disables the buffer.
        dampening: dampening :math:`\tau` of the gradient added to the buffer.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: maximise the objective (step along the gradient instead of against it).
        foreach, fused: PyTorch's kernel choices; accepted and ignored (one implementation).
        differentiable: must stay False (autograd through a step is not supported).

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> w = tg.Tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.numpy()
        array([ 0.8, -1.6], dtype=float32)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: Optional[bool] = None,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        flags = implementation_options(foreach=foreach, differentiable=differentiable,
                                       fused=fused)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, **flags))

    @staticmethod
    def _check_options(options: dict[str, Any]) -> None:
        check_non_negative("learning rate", options["lr"])
        check_non_negative("momentum value", options["momentum"])
        check_non_negative("dampening value", options["dampening"])
        check_non_negative("weight_decay value", options["weight_decay"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening, got "
                             f"momentum={options['momentum']!r}, "
                             f"dampening={options['dampening']!r}")

    def _update_group(self, group: dict[str, Any],
                      pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for p, grad in pairs:
            param = p.data
            work = self._scratch(param)
            if group["maximize"]:
                grad = np.negative(grad, out=work)
            if weight_decay != 0:
                decay = np.multiply(param, weight_decay, out=self._scratch(param, slot=1))
                grad = np.add(grad, decay, out=work)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = grad.copy()
                else:
                    buf *= momentum
                    if dampening == 0:
                        buf += grad
                    else:
                        buf += np.multiply(grad, 1 - dampening, out=work)
                if nesterov:
                    # grad may live in `work` already (weight decay), so b * mu needs a 2nd buffer
                    lookahead = np.multiply(buf, momentum, out=self._scratch(param, slot=1))
                    grad = np.add(grad, lookahead, out=work)
                else:
                    grad = buf
            param += np.multiply(grad, -lr, out=work)
