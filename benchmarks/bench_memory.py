"""Memory a training loop keeps per step when it keeps every loss (``losses.append(loss)``).

After ``loss.backward()`` without ``retain_graph`` the graph's saved activations and per-op
gradients must be freed even though the loss, and through its ``grad_fn`` the whole graph
structure, stays alive in the list. Each step here is ``zero_grad``, forward, cross-entropy,
backward, ``SGD.step`` on a fixed float32 batch of 256, on two models:

* mlp:    Linear 256->1024, ReLU, Linear 1024->1024, ReLU, Linear 1024->10;
* bn:     the same with BatchNorm1d before and Dropout(0.2) after each ReLU, as the command
          line's models (``tinygrad_dropbn.models.mlp``) build it.

Each is run three ways: the losses kept in a list (the case under test), dropped (the baseline,
which should retain nothing), and kept with ``backward(retain_graph=True)``: a graph that is
pinned on purpose, which shows what the figure looks like when activations leak, so the
measurement can be seen to fail.

"Retained per step" is the growth between the end of the warm-up steps and the end of
``--steps`` more steps, divided by ``--steps``, read after ``gc.collect()``, by three gauges:

* malloc:  bytes in use in glibc's allocator (``mallinfo2``: heap plus mmapped blocks). NumPy's
           arrays and PyTorch's CPU tensors both come from malloc, so this compares the two
           directly; Python's small objects come from pymalloc's arenas and are not in it;
* traced:  ``tracemalloc``'s current total (ours only): NumPy reports its arrays to it, and it
           sees every Python object too, so it also counts the kept graph's nodes. It runs in a
           process of its own, as its bookkeeping would show up in the other gauges. PyTorch's
           tensors are invisible to it ("-");
* RSS:     resident set size (``/proc/self/statm``): what the operating system sees, including
           heap fragmentation, so it is the noisiest of the three.

Every row runs in a fresh subprocess (the parent imports neither the library nor PyTorch), with
the BLAS and PyTorch on ``--threads`` threads. Target (Core 2 issue): under 1 MiB per step for
ours with the losses kept; the issue measured ~14 MiB before the fix, and ~0.15 MiB for PyTorch.

Run (with the package installed, e.g. `pip install -e .`, or PYTHONPATH=. from the root):
          python benchmarks/bench_memory.py [--steps 30] [--warmup 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tracemalloc
from typing import Callable, Optional

import numpy as np

SIZES = (256, 1024, 1024, 10)
BATCH = 256
P = 0.2
LR = 0.01
MODELS = {"mlp": "MLP 256-1024-1024-10, ReLU",
          "bn": "the same with BatchNorm1d and Dropout(0.2)"}
MODES = ("kept", "dropped", "retained")
MODE_LABELS = {"kept": "losses kept", "dropped": "losses dropped",
               "retained": "kept, retain_graph"}
TARGET_MIB = 1.0
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MIB = 2 ** 20


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo2() -> Optional[Callable[[], int]]:
    """Bytes in use in glibc's malloc, or None where there is no ``mallinfo2`` (not glibc
    2.33+)."""
    try:
        function = ctypes.CDLL(None).mallinfo2
    except (AttributeError, OSError):
        return None
    function.restype = _Mallinfo2

    def in_use() -> int:
        info = function()
        return info.uordblks + info.hblkhd
    return in_use


def _rss() -> Optional[int]:
    try:
        with open("/proc/self/statm") as file:
            return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32),
            rng.integers(0, SIZES[-1], BATCH))


def make_ours_step(model_name: str, mode: str) -> Callable[[], None]:
    import tinygrad_dropbn as tg
    import tinygrad_dropbn.nn as nn
    from tinygrad_dropbn import optim
    from tinygrad_dropbn.models import mlp

    bn = model_name == "bn"
    model = mlp(SIZES[0], list(SIZES[1:-1]), SIZES[-1], batchnorm=bn, dropout=P if bn else 0.0)
    opt = optim.SGD(model.parameters(), lr=LR)
    x, y = batch()
    x = tg.Tensor(x)
    losses: list = []

    def step() -> None:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward(retain_graph=mode == "retained")
        opt.step()
        if mode != "dropped":
            losses.append(loss)
    return step


def make_torch_step(model_name: str, mode: str) -> Callable[[], None]:
    import torch

    layers: list = []
    for fan_in, fan_out in zip(SIZES[:-2], SIZES[1:-1]):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if model_name == "bn":
            layers += [torch.nn.BatchNorm1d(fan_out), torch.nn.ReLU(), torch.nn.Dropout(P)]
        else:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers, torch.nn.Linear(SIZES[-2], SIZES[-1]))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = (torch.from_numpy(a) for a in batch())
    losses: list = []

    def step() -> None:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward(retain_graph=mode == "retained")
        opt.step()
        if mode != "dropped":
            losses.append(loss)
    return step


MAKERS = {"ours": make_ours_step, "torch": make_torch_step}


def child(impl: str, model_name: str, mode: str, steps: int, warmup: int, traced: bool,
          threads: int) -> dict:
    """Bytes retained per step by each gauge, in one process. With ``traced``, tracemalloc
    runs from before the model is built, so every array and object of the run is counted."""
    if impl == "torch" and threads:
        import torch
        torch.set_num_threads(threads)
    if traced:
        tracemalloc.start()
    gauges: dict[str, Callable[[], Optional[int]]] = {}
    if traced:
        gauges["traced"] = lambda: tracemalloc.get_traced_memory()[0]
    else:
        in_use = _mallinfo2()
        if in_use is not None:
            gauges["malloc"] = in_use
        gauges["rss"] = _rss
    step = MAKERS[impl](model_name, mode)
    for _ in range(warmup):
        step()
    gc.collect()
    before = {name: gauge() for name, gauge in gauges.items()}
    for _ in range(steps):
        step()
    gc.collect()
    after = {name: gauge() for name, gauge in gauges.items()}
    return {name: None if before[name] is None or after[name] is None
            else (after[name] - before[name]) / steps for name in gauges}


def run_child(args: list[str], threads: int) -> dict:
    env = dict(os.environ)
    if threads:
        env.update({name: str(threads) for name in THREAD_VARS})
    out = subprocess.run([sys.executable, __file__, *args, "--threads", str(threads)], env=env,
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.splitlines()[-1])


def implementations() -> list[str]:
    """Ours, and PyTorch when it is installed (found, not imported)."""
    return [name for name in MAKERS if name != "torch" or importlib.util.find_spec("torch")]


def measure_all(steps: int, warmup: int, threads: int) -> dict:
    results: dict = {}
    common = ["--steps", str(steps), "--warmup", str(warmup)]
    for model_name in MODELS:
        for impl in implementations():
            for mode in MODES:
                row = run_child(["--child", impl, model_name, mode, *common], threads)
                if impl == "ours":
                    row.update(run_child(["--child", impl, model_name, mode, *common,
                                          "--traced"], threads))
                results[model_name, impl, mode] = row
    return results


def _mib(value: Optional[float]) -> str:
    return "-" if value is None else f"{value / MIB:.3f}"


def report(results: dict, steps: int, warmup: int, threads: int) -> None:
    """Print the table, and for each model whether ours meets the target with losses kept."""
    print(f"memory retained per training step (MiB), float32, batch {BATCH}, SGD; {steps} "
          f"steps after {warmup} warm-up steps; threads: {threads or 'library defaults'}")
    for model_name, title in MODELS.items():
        print(f"\n({model_name}) {title}")
        print(f"  {'impl':<7}{'losses':<21}{'malloc':>9}{'traced':>9}{'RSS':>9}")
        for impl in implementations():
            for mode in MODES:
                row = results[model_name, impl, mode]
                print(f"  {impl:<7}{MODE_LABELS[mode]:<21}{_mib(row.get('malloc')):>9}"
                      f"{_mib(row.get('traced')):>9}{_mib(row.get('rss')):>9}")
        kept = results[model_name, "ours", "kept"]
        worst = max(v for k, v in kept.items() if k != "rss" and v is not None)
        ok = worst < TARGET_MIB * MIB
        line = (f"  ours, losses kept: {worst / MIB:.3f} MiB/step (malloc/traced, the larger) "
                f"{'<' if ok else '>='} {TARGET_MIB:g} MiB target: {'met' if ok else 'MISSED'}")
        if (model_name, "torch", "kept") in results:
            line += f"; PyTorch {_mib(results[model_name, 'torch', 'kept'].get('malloc'))} (malloc)"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="measured steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="steps before the first reading")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads in the measuring processes (0: defaults)")
    parser.add_argument("--child", nargs=3, metavar=("IMPL", "MODEL", "MODE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be at least 1 and --warmup at least 0")
    if args.child:
        print(json.dumps(child(*args.child, args.steps, args.warmup, args.traced, args.threads)))
    else:
        results = measure_all(args.steps, args.warmup, args.threads)
        report(results, args.steps, args.warmup, args.threads)


if __name__ == "__main__":
    main()
