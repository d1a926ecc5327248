"""Einstein summation: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

The output is a sum of products, one factor from each operand, so the gradient of one operand
is the same kind of sum: the gradient times every other operand, summed over the indices the
operand does not have. That is itself an einsum, ``"<out>,<others>-><operand>"``, with one
twist: an index that appears only in that operand (summed away in the forward pass, as the
``j`` of ``"ij->i"``) is absent from every factor, and its gradient is broadcast along it.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..engine import Function


def parse_equation(equation: str, shapes: Sequence[tuple]) -> tuple:
    """``(input subscripts, output subscripts)`` of an explicit or implicit equation (the
    implicit output is every index used once, in alphabetical order, as in NumPy and
    PyTorch). Raises ``ValueError`` on what the backward cannot handle: ellipses and an index
    repeated within one operand (a diagonal)."""
    equation = equation.replace(" ", "")
    if "." in equation:
        raise ValueError(f"einsum {equation!r}: the ellipsis (...) is not supported; name "
                         "every dimension with a letter")
    inputs, arrow, output = equation.partition("->")
    subscripts = inputs.split(",")
    if len(subscripts) != len(shapes):
        raise ValueError(f"einsum {equation!r} names {len(subscripts)} operand(s) but got "
                         f"{len(shapes)}")
    for letters, shape in zip(subscripts, shapes):
        if not letters.isalpha() and letters:
            raise ValueError(f"einsum {equation!r}: subscripts must be letters, got {letters!r}")
        if len(letters) != len(shape):
            raise ValueError(f"einsum {equation!r}: subscripts {letters!r} name {len(letters)} "
                             f"dimension(s) of an operand of shape {tuple(shape)}")
        if len(set(letters)) != len(letters):
            raise ValueError(f"einsum {equation!r}: an index repeated within one operand "
                             f"({letters!r}, a diagonal) is not supported; take the diagonal "
                             "first with diag()")
    if not arrow:
        joined = "".join(subscripts)
        output = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return subscripts, output


def contract(subscripts: Sequence[str], output: str, *operands: Any) -> Any:
    """The einsum of arrays (NumPy) or of Tensors (a recorded :class:`Einsum`)."""
    if all(isinstance(o, (np.ndarray, np.generic)) for o in operands):
        return np.asarray(np.einsum(",".join(subscripts) + "->" + output, *operands))
    return Einsum.apply(*operands, subscripts=tuple(subscripts), output=output)


class Einsum(Function):
    """out = einsum(subscripts -> output, *operands);
    d operand_k = einsum(output, subscripts of the others -> subscripts_k)(grad, *others),
    broadcast along the indices only operand k has."""

    def forward(self, *operands: np.ndarray, subscripts: tuple, output: str) -> np.ndarray:
        self.subscripts, self.output = subscripts, output
        self.save_for_backward(*operands)
        return np.asarray(np.einsum(",".join(subscripts) + "->" + output, *operands))

    def backward(self, grad: np.ndarray, *operands: np.ndarray) -> tuple:
        return tuple(self._operand_gradient(k, grad, operands) if needed else None
                     for k, needed in enumerate(self.needs_input_grad))

    def _operand_gradient(self, k: int, grad: Any, operands: tuple) -> Any:
        others = [i for i in range(len(operands)) if i != k]
        available = set(self.output).union(*(self.subscripts[i] for i in others))
        target = self.subscripts[k]
        kept = "".join(c for c in target if c in available)
        partial = contract([self.output] + [self.subscripts[i] for i in others], kept, grad,
                           *(operands[i] for i in others))
        if kept == target:
            return partial
        shape = operands[k].shape
        kept_shape = tuple(n if c in available else 1 for c, n in zip(target, shape))
        return np.broadcast_to(partial.reshape(kept_shape), shape)
