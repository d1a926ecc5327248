"""Adam and AdamW: per-coordinate step sizes from running moments of the gradient."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, check_betas, check_non_negative,
                        implementation_options)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g`, at step :math:`t = 1, 2, \dots`:

    .. math::
        g &\leftarrow -g \text{ if maximize} \\
        g &\leftarrow g + \lambda\,\theta                   && \text{(L2 weight decay, Adam)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ with amsgrad, else } v_t \\
        \theta &\leftarrow \theta - \frac{\gamma}{1 - \beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    The bias corrections :math:`1 - \beta^t` are Python floats, as in PyTorch; every array
    operation runs in the parameter's dtype.

    Args:
        params: parameters (or parameter groups) to update.
        lr: learning rate :math:`\gamma`.
        betas: decay rates :math:`(\beta_1, \beta_2)` of the two moments, each in [0, 1).
        eps: :math:`\epsilon`, added to the denominator for stability.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        amsgrad: normalise by the running maximum of :math:`v_t` (Reddi et al., 2018).
        maximize: maximise the objective (step along the gradient).
        decoupled_weight_decay: decay the weights directly, as :class:`AdamW` does.
        foreach, fused: PyTorch's kernel choices; accepted and ignored (one implementation).
        capturable, differentiable: must stay False (CUDA graphs, autograd through a step).

    Example:
        >>> import tinygrad_dropbn as tg
        >>> from tinygrad_dropbn import optim
        >>> w = tg.Tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.numpy().round(4)
        array([ 0.9, -1.9], dtype=float32)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        flags = implementation_options(foreach=foreach, capturable=capturable,
                                       differentiable=differentiable, fused=fused)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, **flags,
                                      decoupled_weight_decay=decoupled_weight_decay))

    @staticmethod
    def _check_options(options: dict[str, Any]) -> None:
        check_non_negative("learning rate", options["lr"])
        check_non_negative("epsilon value", options["eps"])
        check_betas(options["betas"])
        check_non_negative("weight_decay value", options["weight_decay"])

    def _update_group(self, group: dict[str, Any],
                      pairs: list[tuple[Tensor, np.ndarray]]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        for p, grad in pairs:
            param = p.data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(param)
                state["exp_avg_sq"] = np.zeros_like(param)
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(param)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] = step = state["step"] + 1
            work = self._scratch(param)

            if group["maximize"]:
                grad = np.negative(grad, out=work)
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    param *= 1 - lr * weight_decay
                else:
                    decay = np.multiply(param, weight_decay, out=self._scratch(param, 1))
                    grad = np.add(grad, decay, out=work)
            # m += (1 - beta1) (g - m): PyTorch's lerp form of the moving average.
            exp_avg += np.multiply(np.subtract(grad, exp_avg, out=self._scratch(param, 1)),
                                   1 - beta1, out=self._scratch(param, 1))
            exp_avg_sq *= beta2
            squared = np.multiply(grad, grad, out=self._scratch(param, 1))
            exp_avg_sq += np.multiply(squared, 1 - beta2, out=squared)

            bias_correction1 = 1 - beta1 ** step
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            if amsgrad:
                second_moment = state.setdefault("max_exp_avg_sq", np.zeros_like(param))
                np.maximum(second_moment, exp_avg_sq, out=second_moment)
            else:
                second_moment = exp_avg_sq
            denom = np.sqrt(second_moment, out=work)
            denom /= bias_correction2_sqrt
            denom += eps
            update = np.divide(exp_avg, denom, out=work)
            param += np.multiply(update, -lr / bias_correction1, out=update)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), with PyTorch's rule.

    :class:`Adam` with ``decoupled_weight_decay=True``: weight decay shrinks the parameter directly,
    :math:`\theta \leftarrow \theta (1 - \gamma\lambda)`, before the Adam step, instead of adding
    :math:`\lambda\theta` to the gradient; the default :math:`\lambda` is 0.01.

    Args:
        params: parameters (or parameter groups) to update.
        lr: learning rate :math:`\gamma`.
        betas: decay rates of the two moments, each in [0, 1).
        eps: added to the denominator for stability.
        weight_decay: decoupled weight decay :math:`\lambda`.
        amsgrad: normalise by the running maximum of the second moment.
        maximize, foreach, capturable, differentiable, fused: as in :class:`Adam`.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
