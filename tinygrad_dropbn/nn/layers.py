"""Layers: ``Linear``, ``Embedding``, the activations, ``Flatten``, ``Identity``. (The
containers are in containers.py, the normalisation layers in batchnorm.py and
normalization.py.)"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..dtypes import as_dtype, check_device
from ..serialization import to_numpy
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


def factory_dtype(device: Any, dtype: Any) -> np.dtype:
    """The parameter dtype for a layer's ``device=``/``dtype=`` arguments (float32 by default,
    as in PyTorch); any device but the CPU raises."""
    check_device(device)
    dtype = np.dtype(np.float32) if dtype is None else as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"layer parameters must be floating point, got dtype {dtype}")
    return dtype


class Linear(Module):
    """Affine map: y = x @ weight^T + bias.

    Initialised as PyTorch does, from the library's generator: ``weight`` by
    ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(in), 1/sqrt(in)), and ``bias`` by
    U(-1/sqrt(in), 1/sqrt(in)).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        device: ``None`` or ``"cpu"`` (the only device).
        dtype: the parameters' float dtype (float32 by default).

    Shape:
        (*, in_features) -> (*, out_features).

    Attributes:
        weight: Parameter of shape (out_features, in_features).
        bias: Parameter of shape (out_features,), or None.

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> nn.Linear(3, 2)(tg.randn(4, 3)).shape
        (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        dtype = factory_dtype(device, dtype)
        for what, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
                raise ValueError(f"Linear {what} must be a non-negative integer, got {size!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw the weights from the library's generator (weight first, then bias)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(Module):
    """y = max(x, 0), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x, elementwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x)), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """y = tanh(x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softmax(Module):
    """y = exp(x) / sum(exp(x)) along ``dim`` (None: PyTorch's deprecated implicit choice)."""

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """y = x - logsumexp(x) along ``dim``: log-probabilities, for :class:`NLLLoss`."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, dim=self.dim)


class GELU(Module):
    """y = x * Phi(x) (Phi the standard normal CDF), or its tanh approximation with
    ``approximate="tanh"``."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    """y = x if x > 0 else alpha * (exp(x) - 1). ``inplace`` is accepted and ignored."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SiLU(Module):
    """y = x * sigmoid(x) (swish). ``inplace`` is accepted and ignored."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x)


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by index:
    ``Embedding(10, 3)(tg.tensor([[1, 2], [4, 9]]))`` has shape (2, 2, 3).

    ``weight`` is drawn from N(0, 1), as in PyTorch, from the library's generator; row
    ``padding_idx`` (if given) starts at zero and never receives a gradient.

    Args:
        num_embeddings: size of the table.
        embedding_dim: size of each vector.
        padding_idx: a row kept at zero and out of training (negative counts from the end).
        max_norm, scale_grad_by_freq, sparse: not supported (anything but the default raises).
        device, dtype: as for :class:`Linear`.

    Shape:
        integer indices (*) -> (*, embedding_dim).

    Example:
        >>> import tinygrad_dropbn as tg
        >>> import tinygrad_dropbn.nn as nn
        >>> nn.Embedding(10, 3, padding_idx=0)(tg.tensor([[1, 2], [0, 9]])).shape
        (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        dtype = factory_dtype(device, dtype)
        for what, size in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
                raise ValueError(f"Embedding {what} must be a non-negative integer, got "
                                 f"{size!r}")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse are "
                                      "not supported; leave them at their defaults")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = F.check_padding_idx(padding_idx, self.num_embeddings, "Embedding")
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        self.reset_parameters()

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An embedding whose table is a copy of ``embeddings`` (a 2-d array, Tensor or
        PyTorch tensor, dtype kept), not trained when ``freeze``; the padding row is used as
        given."""
        table = to_numpy(embeddings)
        if table.ndim != 2 or table.dtype.kind != "f":
            raise ValueError(f"Embedding.from_pretrained expects a 2-d float table, got shape "
                             f"{table.shape} and dtype {table.dtype}")
        layer = cls(table.shape[0], table.shape[1], padding_idx, max_norm, norm_type,
                    scale_grad_by_freq, sparse, dtype=table.dtype)
        layer.weight = Parameter(table.copy(), requires_grad=not freeze)
        return layer

    def reset_parameters(self) -> None:
        """Redraw ``weight`` from N(0, 1) and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


class Identity(Module):
    """y = x (a placeholder, e.g. to switch a layer off without changing the model's keys)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merge axes ``start_dim`` through ``end_dim``: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
