"""Batch norm forward + backward in training mode on a (256, 1024) float32 input.

Four implementations side by side, each doing the same work per call -- normalise with the batch
statistics, update the running statistics, backpropagate a fixed upstream gradient to x, weight
and bias:

* fused:    ``batch_norm(..., impl="fused")``, the one-node :class:`BatchNorm` op;
* composed: ``batch_norm(..., impl="composed")``, the same maths from primitive ops;
* numpy:    the textbook forward and backward written directly in NumPy, no engine;
* torch:    ``torch.nn.functional.batch_norm`` (when PyTorch is importable), on one thread
            like the others;
* fused-forward, torch-forward: the recorded forward pass alone, its output dropped with no
            backward pass (an evaluation loss computed outside ``no_grad()``, say): the
            graph is never released, so the op must give its buffers back when it is freed.
* fused-busy-heap: fused, in a program that also keeps a 200 kB object made after its first
            step (what a training loop does all the time: a batch, a log line): which
            freed blocks reach the top of the heap, and so whether glibc trims it, depends
            on such allocations, so a fix that relies on allocation order does not survive it.

Arrays of 1 MiB are large enough that timings can be dominated by page faults: glibc returns
big freed blocks to the kernel, and each new temporary faults its pages in again. So every
timing is printed beside the minor page faults per call (``ru_minflt``), and the whole
measurement is repeated in a subprocess with ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` pinned high, which keeps freed memory in the process.

Run:  python benchmarks/bench_batchnorm.py [--calls 200] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Callable, Optional

import numpy as np

import timing
import tinygrad_dropbn as tg
from timing import PINNED_ENV
from tinygrad_dropbn.nn.functional import batch_norm

SHAPE = (256, 1024)
EPS = 1e-5
MOMENTUM = 0.1
IMPLS = ("fused", "composed", "numpy", "torch", "fused-forward", "torch-forward",
         "fused-busy-heap")


def make_engine_step(x0: np.ndarray, grad: np.ndarray, impl: str,
                     backward: bool = True) -> Callable[[], None]:
    x = tg.Tensor(x0, requires_grad=True)
    weight = tg.ones(SHAPE[1], requires_grad=True)
    bias = tg.zeros(SHAPE[1], requires_grad=True)
    running_mean, running_var = np.zeros(SHAPE[1], np.float32), np.ones(SHAPE[1], np.float32)

    def step() -> None:
        x.grad = weight.grad = bias.grad = None
        out = batch_norm(x, running_mean, running_var, weight, bias, training=True,
                         momentum=MOMENTUM, eps=EPS, impl=impl)
        if backward:
            out.backward(grad)
    return step


def make_numpy_step(x0: np.ndarray, grad: np.ndarray) -> Callable[[], None]:
    """The textbook version: every intermediate a fresh array, as most people write it."""
    weight, bias = np.ones(SHAPE[1], np.float32), np.zeros(SHAPE[1], np.float32)
    running_mean, running_var = np.zeros(SHAPE[1], np.float32), np.ones(SHAPE[1], np.float32)
    n = x0.shape[0]

    def step() -> tuple:
        mean = x0.mean(axis=0)
        centered = x0 - mean
        var = (centered ** 2).mean(axis=0)
        inv_std = 1 / np.sqrt(var + EPS)
        x_hat = centered * inv_std
        out = weight * x_hat + bias
        running_mean[:] = (1 - MOMENTUM) * running_mean + MOMENTUM * mean
        running_var[:] = (1 - MOMENTUM) * running_var + MOMENTUM * var * (n / (n - 1))
        grad_bias = grad.sum(axis=0)
        grad_weight = (grad * x_hat).sum(axis=0)
        grad_x = (weight * inv_std / n) * (n * grad - grad_bias - x_hat * grad_weight)
        return out, grad_x, grad_weight, grad_bias
    return step


def make_torch_step(torch, x0: np.ndarray, grad: np.ndarray,
                    backward: bool = True) -> Callable[[], None]:
    x = torch.tensor(x0, requires_grad=True)
    weight = torch.ones(SHAPE[1], requires_grad=True)
    bias = torch.zeros(SHAPE[1], requires_grad=True)
    running_mean, running_var = torch.zeros(SHAPE[1]), torch.ones(SHAPE[1])
    upstream = torch.tensor(grad)

    def step() -> None:
        x.grad = weight.grad = bias.grad = None
        out = torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias,
                                             training=True, momentum=MOMENTUM, eps=EPS)
        if backward:
            out.backward(upstream)
    return step


def measure(step: Callable[[], None], calls: int, repeats: int) -> tuple[float, float]:
    """(best milliseconds per call, minor page faults per call in that best block)."""
    for _ in range(max(calls // 10, 3)):
        step()
    best = min((timing.measure_block(step, calls) for _ in range(repeats)),
               key=lambda block: block["wall"])
    return best["wall"] * 1e3, best["faults"]


def fixed_data() -> tuple[np.ndarray, np.ndarray]:
    """The input and the upstream gradient every implementation is timed on."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(SHAPE, dtype=np.float32) * 3 + 1
    return x0, rng.standard_normal(SHAPE, dtype=np.float32)


def after_first_call_keeping(step: Callable[[], None], size: int) -> Callable[[], None]:
    """``step``, which after its first call allocates a ``size``-byte object kept from then on."""
    kept: list = []

    def run() -> None:
        step()
        if not kept:
            kept.append(bytearray(size))
    return run


def make_step(impl: str) -> Optional[Callable[[], None]]:
    """One call of ``impl`` on fixed data; None when it cannot run here (no PyTorch)."""
    x0, grad = fixed_data()
    if impl == "numpy":
        return make_numpy_step(x0, grad)
    if impl == "fused-busy-heap":
        return after_first_call_keeping(make_engine_step(x0, grad, "fused"), 200_000)
    backward = not impl.endswith("-forward")
    if not impl.startswith("torch"):
        return make_engine_step(x0, grad, impl.removesuffix("-forward"), backward)
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return make_torch_step(torch, x0, grad, backward)


def measure_in_subprocess(impl: str, env: dict, calls: int, repeats: int
                          ) -> Optional[tuple[float, float]]:
    """Run one implementation in a fresh interpreter, so the allocator state one leaves behind
    cannot help or hurt the next."""
    result = subprocess.run(
        [sys.executable, __file__, "--impl", impl, "--calls", str(calls),
         "--repeats", str(repeats)],
        env=env, check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def report(title: str, results: dict[str, Optional[tuple[float, float]]]) -> None:
    print(title)
    print(f"  {'impl':<16}{'ms/call':>10}{'minor faults/call':>20}")
    for name, result in results.items():
        if result is None:
            print(f"  {name:<16}{'(PyTorch not importable)':>30}")
        else:
            print(f"  {name:<16}{result[0]:>10.3f}{result[1]:>20.1f}")
    fused, composed, numpy_ms = (results[k][0] for k in ("fused", "composed", "numpy"))
    line = (f"  fused / numpy = {fused / numpy_ms:.2f}x (target <= 1.2x); "
            f"composed / fused = {composed / fused:.1f}x (target >= 3x)")
    if results["torch"] is not None:
        line += f"; fused / torch = {fused / results['torch'][0]:.2f}x"
        line += (f"; forward only: fused / torch = "
                 f"{results['fused-forward'][0] / results['torch-forward'][0]:.2f}x")
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per timed block")
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks; the best counts")
    parser.add_argument("--impl", choices=IMPLS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.impl:
        step = make_step(args.impl)
        print(json.dumps(None if step is None else measure(step, args.calls, args.repeats)))
        return
    print(f"batch norm forward + backward (-forward: the recorded forward alone), training "
          f"mode, {SHAPE} float32, "
          f"best of {args.repeats} x {args.calls} calls, each implementation in a fresh process")
    default_env = {k: v for k, v in os.environ.items() if k not in PINNED_ENV}
    for title, env in (("default allocator:", default_env),
                       ("pinned allocator (MALLOC_MMAP_THRESHOLD_=32 MiB, "
                        "MALLOC_TRIM_THRESHOLD_=1 GiB):", {**default_env, **PINNED_ENV})):
        print()
        report(title, {impl: measure_in_subprocess(impl, env, args.calls, args.repeats)
                       for impl in IMPLS})


if __name__ == "__main__":
    main()
