"""Wall and CPU time of ``tinygrad-dropbn lab all`` with one and with two BLAS threads.

Every measurement runs the command in a fresh subprocess whose environment sets the thread
pools (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) before NumPy loads;
nothing here or in the package sets them on import. CPU time is the child's user + system time
(``resource.getrusage(RUSAGE_CHILDREN)``), which tells a slow machine from a busy one: when
other programs load the cores, wall time grows and CPU time does not.

Run (with the package installed, e.g. `pip install -e .`, or PYTHONPATH=. from the root):
    python benchmarks/bench_lab.py [--repeats 3] [--threads 1 2] [--against torch]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

POOLS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def measure(threads: int, extra: list[str]) -> tuple[float, float]:
    """One ``lab all`` run with ``threads`` BLAS threads: (wall seconds, CPU seconds)."""
    env = {**os.environ, **{pool: str(threads) for pool in POOLS}}
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tinygrad_dropbn", "lab", "all", "--out",
                               out, *extra], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"lab all failed with status {done.returncode}:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting (median)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--against", choices=["torch"], help="time `lab all --against torch`")
    args = parser.parse_args()
    extra = ["--against", args.against] if args.against else []
    print(f"tinygrad-dropbn lab all {' '.join(extra)} (median of {args.repeats}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    results = {}
    for threads in args.threads:
        runs = [measure(threads, extra) for _ in range(args.repeats)]
        wall, cpu = (statistics.median(values) for values in zip(*runs))
        results[threads] = wall
        print(f"  {threads} BLAS thread(s): {wall:6.1f} s wall, {cpu:6.1f} s CPU")
    fastest = min(results, key=results.get)
    print(f"fastest: {fastest} thread(s)")


if __name__ == "__main__":
    main()
