"""tinygrad_dropbn: a small reverse-mode autodiff framework on NumPy, built to study
backprop, dropout and batch norm.

Example:
    >>> import tinygrad_dropbn as tg
    >>> x = tg.Tensor([[1.0, -2.0]], requires_grad=True)
    >>> y = (x * 3).relu().sum()
    >>> y.backward()
    >>> x.grad.numpy()
    array([[3., 0.]], dtype=float32)
"""
from .engine import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .random import manual_seed
from .serialization import CheckpointError, load, save
from .visualization import draw_graph, graph_text, record_graph, render_backward, render_graph
from .tensor import (GradDtypeError, Tensor, arange, cat, concatenate, maximum, minimum, ones,
                     rand, randn, stack, tensor, where, zeros)
from . import autograd, data, nn, optim  # subpackages, imported after the core they build on

__version__ = "0.1.0"

__all__ = [
    "autograd", "data", "nn", "optim",
    "load", "save", "CheckpointError",
    "draw_graph", "graph_text", "record_graph", "render_backward", "render_graph",
    "Function", "GradDtypeError", "GradcheckError", "Tensor", "arange", "cat", "concatenate",
    "enable_grad", "gradcheck", "gradgradcheck", "is_grad_enabled", "manual_seed", "maximum",
    "minimum",
    "no_grad", "ones", "set_grad_enabled", "rand", "randn", "stack", "tensor", "where", "zeros",
]
