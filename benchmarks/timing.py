"""The timing helper every benchmark here shares: implementations side by side, round by round.

On a shared machine a timing moves several-fold from minute to minute, so a ratio of two
timings taken minutes apart means little. :func:`side_by_side` times every implementation of a
workload in the same process, one block of calls each per round, alternating the order from one
round to the next, and keeps each round's figures; :func:`summarise` reports the median over
the rounds, and each ratio as the median of the per-round ratios.

Each block records, per call:

* ``wall``: elapsed seconds (``time.perf_counter``);
* ``cpu``: CPU seconds of the process (``time.process_time``): time the process spent waiting
  for a core taken by someone else does not count, so it is the steadier figure on a busy
  machine (with more than one BLAS thread it adds up the threads);
* ``faults``: minor page faults (``ru_minflt``), which large temporaries pay when the
  allocator gives their memory back to the kernel and takes it again.

:func:`run_child` runs a measurement in a fresh interpreter with a chosen environment: the
allocator's settings (``MALLOC_*``) and the thread counts are read once, at start-up, so the
only way to measure under other settings without changing this process is another process.
"""
from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Optional

#: glibc settings that keep freed memory in the process (set in a child's environment only).
PINNED_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**30)}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def measure_block(step: Callable[[], object], calls: int) -> dict[str, float]:
    """Wall seconds, CPU seconds and minor page faults per call over ``calls`` calls."""
    gc.collect()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"wall": wall / calls, "cpu": cpu / calls, "faults": faults / calls}


def side_by_side(steps: dict[str, Callable[[], object]], calls: int, rounds: int,
                 warmup: int = 3) -> dict[str, list[dict[str, float]]]:
    """``rounds`` blocks of ``calls`` calls of every step, the order reversed every other
    round; returns each step's blocks, in round order."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in steps}
    names = list(steps)
    for round_index in range(rounds):
        for name in names if round_index % 2 == 0 else reversed(names):
            results[name].append(measure_block(steps[name], calls))
    return results


def summarise(results: dict[str, list[dict[str, float]]], ours: str = "ours",
              metric: str = "cpu") -> dict[str, dict[str, float]]:
    """Per implementation: the median of each figure over the rounds and, except for
    ``ours``, ``ratio``: the median over the rounds of ours / it on ``metric``."""
    summary = {}
    for name, blocks in results.items():
        figures = {key: statistics.median(block[key] for block in blocks) for key in blocks[0]}
        if name != ours:
            figures["ratio"] = statistics.median(
                mine[metric] / theirs[metric] for mine, theirs in zip(results[ours], blocks))
        summary[name] = figures
    return summary


def child_env(threads: int, pinned: bool) -> dict[str, str]:
    """This process's environment with the allocator pinned or at glibc's defaults, and
    ``threads`` BLAS threads (0 keeps the libraries' defaults)."""
    env = {k: v for k, v in os.environ.items() if k not in PINNED_ENV}
    if pinned:
        env.update(PINNED_ENV)
    if threads:
        env.update({name: str(threads) for name in THREAD_VARS})
    return env


def run_child(script: str, args: list[str], env: dict[str, str]) -> object:
    """Run ``script`` with ``args`` in a fresh interpreter; its last line of output is JSON."""
    out = subprocess.run([sys.executable, script, *args], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.splitlines()[-1])


def load_torch(threads: int) -> Optional[object]:
    """PyTorch on ``threads`` threads (the BLAS's count), or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    if threads:
        torch.set_num_threads(threads)
    return torch
