"""The engine's overhead against PyTorch's, as ratios measured side by side, round by round.

Three workloads whose time is mostly Python per op, so they show what the engine itself costs:

* chain-200:  forward + backward of a 200-op mul/add/tanh chain on (8, 8) float32, per op;
* chain-20k:  forward + backward of a 20,000-op chain, including freeing the graph;
* toy step:   one SGD step of the 2-16-16-2 MLP with BatchNorm1d, ReLU and Dropout(0.1) at
              batch 64 (the model of benchmarks/bench_training.py's (a)).

On a shared 2-core machine a timing moves several-fold from minute to minute, so a ratio of
two timings taken minutes apart means little. Here every round times ours and PyTorch back to
back, in the same process, for each workload, and keeps the ratio of that round; the figure
reported is the median ratio over the rounds, with the lowest and highest beside it. BLAS and
PyTorch run on one thread.

Run:  python benchmarks/bench_core.py [--rounds 7]
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from typing import Callable

import numpy as np

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # NOTE: before NumPy's BLAS starts its threads

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ops import SHAPE, chain_tinygrad, make_chain_torch  # noqa: E402
from bench_training import CONFIGS, make_ours_step, make_torch_step  # noqa: E402


def best_seconds(run: Callable[[], None], number: int, repeats: int = 3) -> float:
    """The fastest of ``repeats`` timings of ``number`` calls, per call."""
    run()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for _ in range(number):
            run()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def workloads(torch: object) -> dict[str, tuple[Callable[[], None], Callable[[], None], int]]:
    """name -> (ours, PyTorch's, calls per timing)."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(SHAPE).astype(np.float32)
    w = rng.uniform(0.5, 1.5, SHAPE).astype(np.float32)
    chain_torch = make_chain_torch(torch)
    return {
        "chain-200 (per op)": (lambda: chain_tinygrad(x0, w, 200),
                               lambda: chain_torch(x0, w, 200), 20),
        "chain-20k": (lambda: chain_tinygrad(x0, w, 20_000),
                      lambda: chain_torch(x0, w, 20_000), 1),
        "toy step": (make_ours_step(CONFIGS["a"]), make_torch_step(CONFIGS["a"]), 200),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of side-by-side timings")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("bench_core compares with PyTorch: pip install torch==2.13.0")
    torch.set_num_threads(1)
    cases = workloads(torch)
    ratios: dict[str, list[float]] = {name: [] for name in cases}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (ours, theirs, number) in cases.items():
            mine, reference = best_seconds(ours, number), best_seconds(theirs, number)
            ratios[name].append(mine / reference)
            times[name].append((mine, reference))
    print(f"ours / PyTorch {torch.__version__}, median of {args.rounds} rounds "
          "(each round times both, back to back); 1 thread")
    print(f"  {'workload':<20} {'median':>7} {'lowest':>7} {'highest':>8}   median times")
    for name, values in ratios.items():
        scale, unit = (1e6 / 200, "us/op") if name.startswith("chain-200") else (1e3, "ms")
        mine = statistics.median(t for t, _ in times[name]) * scale
        reference = statistics.median(t for _, t in times[name]) * scale
        print(f"  {name:<20} {statistics.median(values):6.2f}x {min(values):6.2f}x "
              f"{max(values):7.2f}x   ours {mine:.3g} {unit}, PyTorch {reference:.3g} {unit}")


if __name__ == "__main__":
    main()
