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
from .random import Generator, manual_seed
from .serialization import CheckpointError, checkpoint_shapes, load, save
from .visualization import draw_graph, graph_text, record_graph, render_backward, render_graph
from .tensor import (GradDtypeError, RemovableHandle, Tensor, ValuesIndices, cat, concatenate,
                     maximum, minimum, stack, tensor, where)
from .dtypes import (bool, double, float, float16, float32, float64, half, int, int8, int16,
                     int32, int64, long, short, uint8)
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        linspace, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                        zeros, zeros_like)
from .functions import (abs, add, amax, amin, argmax, argmin, argsort, chunk, clamp, clip,
                        clone, cos, div, exp, flatten, gather, log, log_softmax, logsumexp,
                        matmul, max, mean, min, mm, mul, neg, numel, permute, pow, relu,
                        reshape, sigmoid, sin, softmax, sort, split, sqrt, square, squeeze, std,
                        sub, sum, t, tanh, topk, transpose, unflatten, unsqueeze, var)
from .functions import (all, any, bmm, ceil, count_nonzero, cumsum, diag, dot, einsum, eq,
                        expm1, flip, floor, ge, gt, isfinite, isinf, isnan, le, lerp, log1p,
                        logical_and, logical_not, logical_or, lt, masked_fill, ne, nonzero, norm,
                        outer, prod, reciprocal, roll, round, rsqrt, sign, tril, triu, trunc)
from . import autograd, data, nn, onnx, optim, utils  # subpackages, imported after the core they build on
from .autograd import inference_mode

__version__ = "0.1.0"

__all__ = [
    "autograd", "data", "nn", "optim",
    "load", "save", "CheckpointError",
    "draw_graph", "graph_text", "record_graph", "render_backward", "render_graph",
    "Function", "GradDtypeError", "GradcheckError", "Tensor", "arange", "cat", "concatenate",
    "enable_grad", "gradcheck", "gradgradcheck", "is_grad_enabled", "manual_seed", "maximum",
    "minimum",
    "no_grad", "ones", "set_grad_enabled", "rand", "randn", "stack", "tensor", "where", "zeros",
    "RemovableHandle", "ValuesIndices", "inference_mode",
    # dtypes
    "bool", "double", "float", "float16", "float32", "float64", "half", "int", "int8", "int16",
    "int32", "int64", "long", "short", "uint8",
    # factories
    "as_tensor", "empty", "empty_like", "eye", "from_numpy", "full", "full_like", "linspace",
    "ones_like", "rand_like", "randint", "randn_like", "zeros_like",
    # function forms of the Tensor methods
    "abs", "add", "amax", "amin", "argmax", "argmin", "argsort", "chunk", "clamp", "clip",
    "clone", "cos", "div", "exp", "flatten", "gather", "log", "log_softmax", "logsumexp",
    "matmul", "max", "mean", "min", "mm", "mul", "neg", "numel", "permute", "pow", "relu",
    "reshape", "sigmoid", "sin", "softmax", "sort", "split", "sqrt", "square", "squeeze", "std",
    "sub", "sum", "t", "tanh", "topk", "transpose", "unflatten", "unsqueeze", "var",
    "all", "any", "bmm", "ceil", "count_nonzero", "cumsum", "diag", "dot", "einsum", "eq",
    "expm1", "flip", "floor", "ge", "gt", "isfinite", "isinf", "isnan", "le", "lerp", "log1p",
    "logical_and", "logical_not", "logical_or", "lt", "masked_fill", "ne", "nonzero", "norm",
    "outer", "prod", "reciprocal", "roll", "round", "rsqrt", "sign", "tril", "triu", "trunc",
]
