"""``tg.*`` function forms of the Tensor methods, as ``torch.*`` has them: ``tg.sum(x, dim=1)``
is ``x.sum(dim=1)``, ``tg.matmul(a, b)`` is ``a.matmul(b)``. The first argument may also be a
number, a list or an array, read as ``tg.tensor`` reads it.

(``tg.cat``, ``tg.stack``, ``tg.where``, ``tg.maximum`` and ``tg.minimum``, which take several
tensors, live in :mod:`.tensor`; ``tg.einsum`` is at the end of this module.)
"""
from __future__ import annotations

from typing import Any, Callable

from .ops.einsum import Einsum, parse_equation
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

# More methods (comparisons and logic, elementwise functions, reductions and scans, linear
# algebra) and their function forms.
eq = _function_of("eq")
ne = _function_of("ne")
lt = _function_of("lt")
le = _function_of("le")
gt = _function_of("gt")
ge = _function_of("ge")
isnan = _function_of("isnan")
isinf = _function_of("isinf")
isfinite = _function_of("isfinite")
logical_not = _function_of("logical_not")
logical_and = _function_of("logical_and")
logical_or = _function_of("logical_or")
all = _function_of("all")  # noqa: A001 -- torch.all
any = _function_of("any")  # noqa: A001 -- torch.any
nonzero = _function_of("nonzero")
count_nonzero = _function_of("count_nonzero")
reciprocal = _function_of("reciprocal")
rsqrt = _function_of("rsqrt")
log1p = _function_of("log1p")
expm1 = _function_of("expm1")
sign = _function_of("sign")
floor = _function_of("floor")
ceil = _function_of("ceil")
round = _function_of("round")  # noqa: A001 -- torch.round
trunc = _function_of("trunc")
lerp = _function_of("lerp")
masked_fill = _function_of("masked_fill")
prod = _function_of("prod")
cumsum = _function_of("cumsum")
norm = _function_of("norm")
dot = _function_of("dot")
outer = _function_of("outer")
bmm = _function_of("bmm")
flip = _function_of("flip")
roll = _function_of("roll")
tril = _function_of("tril")
triu = _function_of("triu")
diag = _function_of("diag")


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``tg.einsum("ij,jk->ik", a, b)`` is ``a @ b``;
    without ``->`` the output is every index used once, alphabetically. The operands may also
    come as one list. Differentiable in every operand (the gradient of one is the einsum of the
    output gradient with the others). Ellipses and an index repeated within one operand raise
    ``ValueError``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = tuple(o if isinstance(o, Tensor) else tensor(o) for o in operands)
    if not operands:
        raise ValueError("einsum() needs at least one operand")
    if len({o.dtype for o in operands}) > 1:
        raise TypeError(f"einsum() needs operands of one dtype, got "
                        f"{[str(o.dtype) for o in operands]}; convert them first")
    subscripts, output = parse_equation(equation, [o.shape for o in operands])
    sizes: dict = {}
    for letters, o in zip(subscripts, operands):
        for letter, n in zip(letters, o.shape):
            if sizes.setdefault(letter, n) != n:
                raise ValueError(f"einsum {equation!r}: index {letter!r} has sizes "
                                 f"{sizes[letter]} and {n}")
    if set(output) - set("".join(subscripts)) or len(set(output)) != len(output):
        raise ValueError(f"einsum {equation!r}: each output index must appear once, and in "
                         "an operand")
    return Einsum.apply(*operands, subscripts=tuple(subscripts), output=output)
