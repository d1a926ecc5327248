"""Tensor hooks (``Tensor.register_hook``) as the backward sweep runs them.

A leaf's hooks live on the tensor (``_hooks``); a non-leaf's on the op that produced it
(``fn.hooks``, with a weak reference to the tensor), since the sweep meets a non-leaf's
gradient, summed over all its consumers, at that op. A leaf's gradient is held until the sweep
ends, so its hooks too see the sum over every use, once -- as in PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# NOTE: the sweep hands over tensors and ops; this module imports neither kind.
Tensor = Function = Any


def hold(held: dict, t: "Tensor", g: Any) -> None:
    """Add ``g`` to what the hooked leaf ``t`` has received so far in this sweep."""
    entry = held.get(id(t))
    if entry is None:
        held[id(t)] = [t, g]
    else:
        entry[1] = entry[1] + g


def output_of(fn: "Function", grad: Any, create_graph: bool) -> "Tensor":
    """The tensor whose hooks ``fn`` carries; a stand-in if it was garbage-collected (its
    hooks still apply to the gradient that flows on)."""
    t = fn.hooked_tensor()
    if t is not None:
        return t
    return grad if create_graph else fn.inputs[0]._from_op(grad, None)


def run(hooks: list, t: "Tensor", grad: Any, create_graph: bool) -> Any:
    """``grad`` after each of ``t``'s hooks in turn: a hook gets the gradient as a tensor, and
    a tensor it returns replaces it."""
    for hook in list(hooks):
        result = hook(grad if create_graph else t._from_op(grad, None))
        if result is None:
            continue
        if create_graph and isinstance(result, (np.ndarray, np.generic)):
            result = t._from_op(result, None)
        elif not create_graph and hasattr(result, "grad_fn"):
            result = result.data
        if np.shape(result) != np.shape(grad):
            raise RuntimeError(f"a hook returned a gradient of shape {np.shape(result)} for a "
                               f"tensor of shape {np.shape(grad)}; it must keep the shape")
        grad = result
    return grad
