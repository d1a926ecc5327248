"""The timing helper every benchmark here shares: implementations side by side, round by round.

On a shared machine a timing moves several-fold from minute to minute, so a ratio of two
timings taken minutes apart means little. :func:`alternating_rounds` times every implementation
of a workload one block of calls per round, alternating the order from one round to the next,
and keeps each round's figures; :func:`summarise` reports the median over the rounds, and each
ratio as the median of the per-round ratios. :func:`rounds_in_own_processes` does the same with
each implementation in a process of its own (see below), kept alive between its blocks.

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
:func:`rounds_in_own_processes` gives each implementation a process of its own, as in a program
that uses only it: in a shared process, the allocator serves each step from the heap the others
left, and Python's full garbage collections walk every object of every library imported
(PyTorch's too: docs/performance.md measures what that costs our 20,000-op chain).
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
from typing import Callable, Optional, Sequence

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


def serve_blocks(step: Callable[[], object], calls: int, extra: dict) -> None:
    """The measuring side of :func:`rounds_in_own_processes`: one untimed block (caches, lazily
    built state), then a line ``ready``; then, for each line read from standard input, one
    timed block of ``calls`` calls, answered with its figures (and ``extra``) as a JSON line."""
    for _ in range(calls):
        step()
    print("ready", flush=True)
    for _ in sys.stdin:
        print(json.dumps({**measure_block(step, calls), **extra}), flush=True)


def alternating_rounds(names: Sequence[str], rounds: int,
                       run_block: Callable[[str], dict[str, float]]
                       ) -> dict[str, list[dict[str, float]]]:
    """``rounds`` rounds of one block per implementation, ``run_block(name)``, the order
    reversed every other round; returns each implementation's blocks, in round order."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_index in range(rounds):
        for name in names if round_index % 2 == 0 else reversed(names):
            results[name].append(run_block(name))
    return results


def rounds_in_own_processes(commands: dict[str, list[str]], env: dict[str, str], rounds: int,
                            processes: int = 3) -> dict[str, list[dict[str, float]]]:
    """:func:`alternating_rounds` with each implementation in an interpreter of its own,
    ``python *commands[name]`` (which must call :func:`serve_blocks`). The processes stay alive,
    waiting, so each round's blocks still run one right after another, and the machine's drift
    from minute to minute cancels out of the per-round ratios. The rounds are shared among
    ``processes`` successive interpreters per implementation, so that no single process's
    luck (where its heap and its arrays happen to land) makes the whole figure."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for generation in range(processes):
        share = rounds // processes + (generation < rounds % processes)
        if share:
            for name, blocks in _rounds_in_processes(commands, env, share).items():
                results[name] += blocks
    return results


def _rounds_in_processes(commands: dict[str, list[str]], env: dict[str, str], rounds: int
                         ) -> dict[str, list[dict[str, float]]]:
    """``rounds`` alternating rounds, one interpreter per implementation started for them."""
    children = {name: subprocess.Popen([sys.executable, *command], env=env, text=True,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                for name, command in commands.items()}
    try:
        for name, child in children.items():
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {name} process stopped before it was ready "
                                   f"(exit code {child.wait()}); its error is above")

        def run_block(name: str) -> dict[str, float]:
            child = children[name]
            child.stdin.write("block\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline())

        return alternating_rounds(list(commands), rounds, run_block)
    finally:
        for child in children.values():
            child.stdin.close()
            child.wait()


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
