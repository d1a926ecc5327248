"""``tg.*`` function forms of the Tensor methods, as ``torch.*`` has them: ``tg.sum(x, dim=1)``
is ``x.sum(dim=1)``, ``tg.matmul(a, b)`` is ``a.matmul(b)``. The first argument may also be a
number, a list or an array, read as ``tg.tensor`` reads it.

(``tg.cat``, ``tg.stack``, ``tg.where``, ``tg.maximum`` and ``tg.minimum``, which take several
tensors, live in :mod:`.tensor`.)
"""
from __future__ import annotations

from typing import Any, Callable

from .tensor import Tensor, tensor


def _function_of(name: str) -> Callable:
    """``tg.<name>(input, *args, **kwargs)``: ``input.<name>(*args, **kwargs)``."""
    method = getattr(Tensor, name)

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:
        return method(input if isinstance(input, Tensor) else tensor(input), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``tg.{name}(input, ...)`` is ``input.{name}(...)``: see " \
                       f":meth:`Tensor.{name}`."
    return function


add = _function_of("add")
sub = _function_of("sub")
mul = _function_of("mul")
div = _function_of("div")
matmul = _function_of("matmul")
mm = _function_of("mm")
pow = _function_of("pow")  # noqa: A001 -- torch.pow
neg = _function_of("neg")
square = _function_of("square")
exp = _function_of("exp")
log = _function_of("log")
sqrt = _function_of("sqrt")
abs = _function_of("abs")  # noqa: A001 -- torch.abs
tanh = _function_of("tanh")
sin = _function_of("sin")
cos = _function_of("cos")
sigmoid = _function_of("sigmoid")
relu = _function_of("relu")
clamp = _function_of("clamp")
clip = _function_of("clip")
softmax = _function_of("softmax")
log_softmax = _function_of("log_softmax")

sum = _function_of("sum")  # noqa: A001 -- torch.sum
mean = _function_of("mean")
var = _function_of("var")
std = _function_of("std")
max = _function_of("max")  # noqa: A001 -- torch.max
min = _function_of("min")  # noqa: A001 -- torch.min
amax = _function_of("amax")
amin = _function_of("amin")
argmax = _function_of("argmax")
argmin = _function_of("argmin")
logsumexp = _function_of("logsumexp")
sort = _function_of("sort")
argsort = _function_of("argsort")
topk = _function_of("topk")
gather = _function_of("gather")

reshape = _function_of("reshape")
flatten = _function_of("flatten")
unflatten = _function_of("unflatten")
squeeze = _function_of("squeeze")
unsqueeze = _function_of("unsqueeze")
transpose = _function_of("transpose")
permute = _function_of("permute")
t = _function_of("t")
chunk = _function_of("chunk")
split = _function_of("split")
numel = _function_of("numel")
clone = _function_of("clone")
