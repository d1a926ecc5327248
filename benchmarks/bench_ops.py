"""Per-op overhead of the autodiff engine, against PyTorch and hand-written NumPy.

Two measurements, each printed side by side for every implementation available:

(a) per-op overhead: forward + backward of a 200-op chain of mul/add/tanh on an (8, 8) float32
    tensor, in microseconds per op. At this size the arithmetic is negligible, so the figure is
    the Python cost of creating a tensor, recording an op and running its backward rule.
(b) a 100,000-op chain of the same ops, forward + backward, in seconds: deep graphs must
    neither recurse nor slow down per op.

The NumPy column is the same computation written by hand (forward keeping what backward needs,
then the backward rules in reverse): the floor for any engine built on NumPy. The bare-tape
column is the least a Python autodiff engine can do per op (:func:`chain_bare_tape`): a tensor
and a node object per op, a reverse walk, no grad mode, version counters, hooks, broadcasting or
checks -- the floor for an engine written in Python.

Run:  python benchmarks/bench_ops.py [--repeats 7] [--deep-ops 100000]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable, Optional

import numpy as np

import tinygrad_dropbn as tg

SHAPE = (8, 8)


def fixed_data() -> tuple[np.ndarray, np.ndarray]:
    """The chain's input and its constant operand."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(SHAPE).astype(np.float32)
    return x0, rng.uniform(0.5, 1.5, SHAPE).astype(np.float32)


def run_chain(x: Any, weight: Any, num_ops: int) -> Any:
    """x -> x * weight -> + weight -> tanh -> ... for ``num_ops`` ops, on any tensor type
    with ``*``, ``+`` and ``.tanh()`` (ours, PyTorch's, the bare tape's)."""
    y = x
    for i in range(num_ops):
        step = i % 3
        if step == 0:
            y = y * weight
        elif step == 1:
            y = y + weight
        else:
            y = y.tanh()
    return y


def chain_tinygrad(x0: np.ndarray, w: np.ndarray, num_ops: int) -> np.ndarray:
    """:func:`run_chain` summed, then backward; returns d(sum)/dx."""
    x = tg.Tensor(x0, requires_grad=True)
    run_chain(x, tg.Tensor(w), num_ops).sum().backward()
    return x.grad.data


def chain_numpy(x0: np.ndarray, w: np.ndarray, num_ops: int) -> np.ndarray:
    """The same chain with the forward values kept by hand and the backward rules inlined."""
    saved = []
    y = x0
    for i in range(num_ops):
        step = i % 3
        if step == 0:
            y = y * w
        elif step == 1:
            y = y + w
        else:
            y = np.tanh(y)
        saved.append(y)
    y.sum()
    grad = np.ones_like(y)
    for i in reversed(range(num_ops)):
        step = i % 3
        if step == 0:
            grad = grad * w
        elif step == 2:
            out = saved[i]
            grad = grad * (1 - out * out)
    return grad


def _mul_backward(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
    return g * b, g * a


def _add_backward(g: np.ndarray) -> tuple:
    return g, g


def _tanh_backward(g: np.ndarray, out: np.ndarray) -> tuple:
    return (g * (1 - out * out),)


class _TapeTensor:
    """A value and the node that made it, ``(backward, inputs, saved)``: what a minimal
    reverse-mode tape records."""

    __slots__ = ("data", "node", "requires_grad", "grad")

    def __init__(self, data: np.ndarray, node: Optional[tuple] = None,
                 requires_grad: bool = False) -> None:
        self.data, self.node, self.requires_grad, self.grad = data, node, requires_grad, None

    def __mul__(self, other: "_TapeTensor") -> "_TapeTensor":
        a, b = self.data, other.data
        return _TapeTensor(a * b, (_mul_backward, (self, other), (a, b)), True)

    def __add__(self, other: "_TapeTensor") -> "_TapeTensor":
        return _TapeTensor(self.data + other.data, (_add_backward, (self, other), ()), True)

    def tanh(self) -> "_TapeTensor":
        out = np.tanh(self.data)
        return _TapeTensor(out, (_tanh_backward, (self,), (out,)), True)


def _tape_backward(root: _TapeTensor) -> None:
    """d(sum root)/d(leaf) into each leaf's ``grad``: walk the nodes from the root, each one
    once, sending each input its share (a chain: every node has one consumer)."""
    grads = {id(root): np.ones_like(root.data)}
    stack = [root]
    while stack:
        t = stack.pop()
        grad = grads.pop(id(t))
        if t.node is None:
            t.grad = grad if t.grad is None else t.grad + grad
            continue
        backward, inputs, saved = t.node
        for source, g in zip(inputs, backward(grad, *saved)):
            if source.requires_grad:
                grads[id(source)] = g if id(source) not in grads else grads[id(source)] + g
                stack.append(source)


def chain_bare_tape(x0: np.ndarray, w: np.ndarray, num_ops: int) -> np.ndarray:
    """The chain of :func:`chain_tinygrad` on the bare tape above."""
    x = _TapeTensor(x0, requires_grad=True)
    _tape_backward(run_chain(x, _TapeTensor(w), num_ops))
    return x.grad


def make_chain_torch(torch) -> Callable[[np.ndarray, np.ndarray, int], np.ndarray]:
    def chain_torch(x0: np.ndarray, w: np.ndarray, num_ops: int) -> np.ndarray:
        x = torch.tensor(x0, requires_grad=True)
        run_chain(x, torch.tensor(w), num_ops).sum().backward()
        return x.grad.numpy()

    return chain_torch


def time_per_op(chain: Callable, x0: np.ndarray, w: np.ndarray, num_ops: int, number: int,
                repeats: int) -> tuple[float, float]:
    """(min, median) over ``repeats`` of the mean seconds per op across ``number`` runs."""
    chain(x0, w, num_ops)  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            chain(x0, w, num_ops)
        samples.append((time.perf_counter() - start) / (number * num_ops))
    return min(samples), statistics.median(samples)


def time_once(chain: Callable, x0: np.ndarray, w: np.ndarray, num_ops: int,
              repeats: int) -> float:
    """The fastest of ``repeats`` single runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        chain(x0, w, num_ops)
        best = min(best, time.perf_counter() - start)
    return best


def load_torch() -> Optional[object]:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per figure")
    parser.add_argument("--number", type=int, default=50, help="200-op chains per repeat")
    parser.add_argument("--chain-ops", type=int, default=200)
    parser.add_argument("--deep-ops", type=int, default=100_000)
    parser.add_argument("--deep-repeats", type=int, default=3)
    args = parser.parse_args()

    x0, w = fixed_data()

    chains = {"tinygrad_dropbn": chain_tinygrad, "numpy (by hand)": chain_numpy,
              "bare Python tape": chain_bare_tape}
    torch = load_torch()
    if torch is not None:
        chains["pytorch " + torch.__version__] = make_chain_torch(torch)

    reference = chain_numpy(x0, w, args.chain_ops)
    for name, chain in chains.items():
        np.testing.assert_allclose(chain(x0, w, args.chain_ops), reference, rtol=1e-4,
                                   atol=1e-6, err_msg=f"{name} computes a different gradient")

    print(f"(a) forward+backward of a {args.chain_ops}-op mul/add/tanh chain on {SHAPE} "
          f"float32, microseconds per op (min / median of {args.repeats} repeats "
          f"x {args.number} runs)")
    for name, chain in chains.items():
        best, median = time_per_op(chain, x0, w, args.chain_ops, args.number, args.repeats)
        print(f"    {name:<24} {best * 1e6:7.2f} / {median * 1e6:7.2f} us/op")

    print(f"(b) forward+backward of a {args.deep_ops:,}-op chain, seconds "
          f"(best of {args.deep_repeats})")
    for name, chain in chains.items():
        seconds = time_once(chain, x0, w, args.deep_ops, args.deep_repeats)
        print(f"    {name:<24} {seconds:7.3f} s")


if __name__ == "__main__":
    main()
