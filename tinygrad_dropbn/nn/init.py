"""Weight initialisation, in place, with PyTorch's formulas and the library's generator.

Each function overwrites ``tensor.data`` (keeping its dtype and shape, recording nothing in the
graph), bumps its version counter (so a backward pass that saved the old values raises, as in
PyTorch) and returns the tensor. For a weight of shape ``(out, in, *kernel)``::

    fan_in  = in  * prod(kernel)        fan_out = out * prod(kernel)

    xavier_uniform_:  U(-a, a),   a   = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal_:   N(0, std),  std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_: U(-b, b),   b   = gain * sqrt(3 / fan)
    kaiming_normal_:  N(0, std),  std = gain / sqrt(fan)

where ``fan`` is ``fan_in`` (keeps the forward activations' variance) or ``fan_out`` (keeps the
backward gradients' variance) and ``gain = calculate_gain(nonlinearity, a)``.

Example:
    >>> import numpy as np
    >>> import tinygrad_dropbn.nn as nn
    >>> w = nn.Parameter(np.empty((4, 3), dtype=np.float32))
    >>> nn.init.kaiming_uniform_(w, nonlinearity="relu").dtype
    dtype('float32')
"""
from __future__ import annotations

import math
from typing import Optional

from .. import random as _random
from ..autograd import increment_version
from ..tensor import Tensor

_LINEAR_GAINS = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The factor that keeps activations' variance stable through ``nonlinearity``.

    linear/conv/sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + negative_slope^2)) (slope ``param``, default 0.01);  selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}; choose one of "
                     f"{', '.join(_LINEAR_GAINS)}, tanh, relu, leaky_relu, selu")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got "
                         f"shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fill_random(tensor: Tensor, draw: str, *args: float) -> Tensor:
    """Overwrite ``tensor.data`` with ``generator().<draw>(*args)`` samples in its dtype."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init works on Tensors, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"random initialisation needs a floating-point tensor, got dtype "
                        f"{tensor.dtype}")
    samples = getattr(_random.generator(), draw)(*args, size=tensor.shape)
    tensor.data[...] = samples
    increment_version(tensor)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples of U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill_random(tensor, "uniform", a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples of N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_ needs std >= 0, got {std}")
    return _fill_random(tensor, "normal", mean, std)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init works on Tensors, got {type(tensor).__name__}")
    tensor.data[...] = val
    increment_version(tensor)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    bound = math.sqrt(3.0) * _xavier_std(tensor, gain)
    return _fill_random(tensor, "uniform", -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    return _fill_random(tensor, "normal", 0.0, _xavier_std(tensor, gain))


def _xavier_std(tensor: Tensor, gain: float) -> float:
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    # NOTE: a zero fan means a tensor with no elements: nothing to draw, as in PyTorch.
    return calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain from ``nonlinearity`` and ``a``
    (the negative slope of a leaky ReLU; ``nn.Linear`` uses a = sqrt(5))."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return _fill_random(tensor, "uniform", -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    return _fill_random(tensor, "normal", 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
