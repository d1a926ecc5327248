"""The speed table: every workload of docs/performance.md, ours beside PyTorch and NumPy.

For each workload a fresh interpreter builds our step, PyTorch's (when installed, on the same
number of threads as the BLAS) and a hand-written NumPy step, and times them side by side,
round by round (:mod:`timing`); workloads with large arrays run twice, with glibc's default
allocator and with ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` pinned high in that
child's environment. Ratios are of CPU time per call (steadier than wall time on a busy
machine), each the median of the per-round ratios; page faults are minor faults per call,
counted for each implementation alone in a fresh process and during the side-by-side rounds.

Workloads (the step makers live in the benchmark of their concern):

* toy:        SGD step of the 2-16-16-2 MLP with BatchNorm1d, ReLU, Dropout(0.1), batch 64
              (bench_training.py, config a);
* mnist:      SGD step of the 784-512-512-10 MLP with Dropout(0.2), batch 256 (config b);
* batchnorm:  batch-norm forward + backward in training on (256, 1024) (bench_batchnorm.py);
* chain-200:  forward + backward of a 200-op mul/add/tanh chain on (8, 8), per op
              (bench_ops.py);
* chain-20k:  the same with 20,000 ops, including freeing the graph;
              both chains also time two references, shown below the table: the bare Python
              tape of bench_ops.py (the floor for an engine written in Python), and our chain
              with Python's garbage collector paused during each call (what the collector's
              walks over every live object cost us);
* peak:       growth of the peak resident memory over 50 mnist steps, each implementation in
              a process of its own;
* train:      wall time of ``tinygrad-dropbn train`` with its defaults.

Run (from the repository root, with the package importable; matplotlib for the plot):
    python benchmarks/performance.py            # prints the table, rewrites docs/performance.md
                                                # and docs/images/performance.png
    python benchmarks/performance.py --rounds 3 --only batchnorm --no-write
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import timing  # noqa: E402

PEAK_STEPS = 50
#: name -> (description, calls per block, the malloc modes it runs in, unit scale, unit)
WORKLOADS = {
    "toy": ("toy MLP 2-16-16-2 + BN + dropout, batch 64, SGD step", 200, ("default",),
            1e3, "ms"),
    "mnist": ("MNIST-size MLP 784-512-512-10 + BN + dropout(0.2), batch 256, SGD step", 5,
              ("default", "pinned"), 1e3, "ms"),
    "batchnorm": ("BatchNorm forward+backward (256, 1024), training", 50,
                  ("default", "pinned"), 1e3, "ms"),
    "chain-200": ("200-op elementwise chain on (8, 8), per op forward+backward", 20,
                  ("default",), 1e6 / 200, "us/op"),
    "chain-20k": ("20,000-op chain, forward+backward+free", 2, ("default",), 1e3, "ms"),
}
#: (workload, malloc mode) -> {implementation compared with: highest ours / it}
TARGETS = {
    ("toy", "default"): {"torch": 0.5},
    ("mnist", "default"): {"torch": 0.9},
    ("mnist", "pinned"): {"torch": 0.9, "numpy": 1.0},
    ("batchnorm", "default"): {"numpy": 1.0, "torch": 1.5},
    ("batchnorm", "pinned"): {"numpy": 0.8},
    ("chain-200", "default"): {"torch": 0.6},
    ("chain-20k", "default"): {"torch": 0.4},
    ("peak", "default"): {"numpy": 1.2},
}
TRAIN_TARGET_SECONDS = 3.0
#: The implementations of the table's columns (the chains also time references, see floors()).
MAIN_IMPLS = ("ours", "torch", "numpy")


def make_steps(workload: str, torch: Optional[object]) -> dict[str, Callable[[], object]]:
    """ours / torch / numpy steps of one workload (torch only when it is installed)."""
    if workload in ("toy", "mnist"):
        import bench_training
        config = bench_training.CONFIGS["a" if workload == "toy" else "b"]
        makers = bench_training.MAKERS
        steps = {"ours": makers["ours"](config), "numpy": makers["numpy"](config)}
        if torch is not None:
            steps["torch"] = makers["torch"](config)
        return steps
    if workload == "batchnorm":
        import bench_batchnorm
        x0, grad = bench_batchnorm.fixed_data()
        steps = {"ours": bench_batchnorm.make_engine_step(x0, grad, "fused"),
                 "numpy": bench_batchnorm.make_numpy_step(x0, grad)}
        if torch is not None:
            steps["torch"] = bench_batchnorm.make_torch_step(torch, x0, grad)
        return steps
    import bench_ops
    num_ops = 200 if workload == "chain-200" else 20_000
    x0, w = bench_ops.fixed_data()
    chains = {"ours": bench_ops.chain_tinygrad, "numpy": bench_ops.chain_numpy,
              "tape": bench_ops.chain_bare_tape,
              "ours-gc-paused": collector_paused(bench_ops.chain_tinygrad)}
    if torch is not None:
        chains["torch"] = bench_ops.make_chain_torch(torch)
    return {name: (lambda chain=chain: chain(x0, w, num_ops)) for name, chain in chains.items()}


def collector_paused(chain: Callable) -> Callable:
    """``chain`` run with Python's cyclic garbage collector paused (a measurement only: the
    library never touches the collector). The chain's graph holds no reference cycles, so
    reference counting frees it all the same."""
    import gc

    def run(*args: object) -> object:
        gc.disable()
        try:
            return chain(*args)
        finally:
            gc.enable()
    return run


def child_workload(workload: str, rounds: int, threads: int) -> dict:
    torch = timing.load_torch(threads)
    steps = make_steps(workload, torch)
    results = timing.side_by_side(steps, WORKLOADS[workload][1], rounds)
    return timing.summarise(results)


def child_faults(workload: str, impl: str, threads: int) -> float:
    """Minor page faults per call of one implementation alone in this process (what ran
    before in a process changes how the allocator serves the next, so the side-by-side
    figure can hide faults that a program running only this step pays)."""
    torch = timing.load_torch(threads) if impl == "torch" else None
    step = make_steps(workload, torch)[impl]
    results = timing.side_by_side({impl: step}, WORKLOADS[workload][1], 3)
    return timing.summarise(results, ours=impl)[impl]["faults"]


def child_peak(impl: str, threads: int) -> float:
    """MiB the peak resident memory grows by over 50 mnist steps after the set-up."""
    import bench_training
    timing.load_torch(threads if impl == "torch" else 0)
    step = bench_training.MAKERS[impl](bench_training.CONFIGS["b"])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(PEAK_STEPS):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def train_seconds(threads: int) -> float:
    """Wall seconds of ``python -m tinygrad_dropbn train`` with its defaults, in a scratch
    folder."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tinygrad_dropbn", "train", "--out", folder,
                        "--quiet"], env=timing.child_env(threads, False), check=True,
                       stdout=subprocess.DEVNULL, cwd=folder)
        return time.perf_counter() - start


def torch_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("torch") is not None


def collect(args: argparse.Namespace) -> dict:
    """Every row: {(workload, mode): {impl: figures}} plus the peak and train figures."""
    rows: dict = {}
    script = str(Path(__file__).resolve())
    for workload, (description, _, modes, _, _) in WORKLOADS.items():
        if args.only and workload not in args.only:
            continue
        for mode in modes:
            print(f"measuring {workload} ({mode} malloc) ...", file=sys.stderr)
            env = timing.child_env(args.threads, mode == "pinned")
            figures = timing.run_child(script, ["--child", workload, "--rounds",
                                                str(args.rounds), "--threads",
                                                str(args.threads)], env)
            for impl in [impl for impl in figures if impl in MAIN_IMPLS]:
                figures[impl]["alone_faults"] = timing.run_child(
                    script, ["--child-faults", workload, impl, "--threads", str(args.threads)],
                    env)
            rows[(workload, mode)] = figures
    if not args.only or "peak" in args.only:
        print("measuring peak memory ...", file=sys.stderr)
        impls = ["ours", "numpy"] + (["torch"] if torch_installed() else [])
        peaks = {impl: {"growth": timing.run_child(
            script, ["--child-peak", impl, "--threads", str(args.threads)],
            timing.child_env(args.threads, False))} for impl in impls}
        for impl in peaks:
            if impl != "ours":
                peaks[impl]["ratio"] = peaks["ours"]["growth"] / max(peaks[impl]["growth"], 1.0)
        rows[("peak", "default")] = peaks
    if not args.only or "train" in args.only:
        print("measuring train ...", file=sys.stderr)
        rows[("train", "default")] = {"ours": {"wall": min(
            train_seconds(args.threads) for _ in range(max(1, args.rounds // 2)))}}
    return rows


def verdict(key: tuple, figures: dict) -> str:
    """'met' / 'missed' for each target of a row."""
    if key[0] == "train":
        seconds = figures["ours"]["wall"]
        return f"<= {TRAIN_TARGET_SECONDS:g} s: {'met' if seconds <= TRAIN_TARGET_SECONDS else 'missed'}"
    parts = []
    for impl, limit in TARGETS.get(key, {}).items():
        if impl in figures:
            ratio = figures[impl]["ratio"]
            parts.append(f"<= {limit:g}x {'PyTorch' if impl == 'torch' else 'NumPy'}: "
                         f"{'met' if ratio <= limit else 'missed'}")
    return "; ".join(parts)


def table(rows: dict) -> list[str]:
    lines = ["| workload | malloc | ours (CPU per call) | ours / PyTorch | ours / NumPy | "
             "page faults per call, alone (side by side): ours / PyTorch / NumPy | target |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, figures in rows.items():
        workload, mode = key

        def ratio(impl: str) -> str:
            return f"{figures[impl]['ratio']:.2f}x" if impl in figures else "-"

        if workload == "peak":
            ours = f"{figures['ours']['growth']:.1f} MiB"
            lines.append(f"| peak RSS growth over {PEAK_STEPS} MNIST-size steps | {mode} | "
                         f"{ours} | {ratio('torch')} | {ratio('numpy')} | - | "
                         f"{verdict(key, figures)} |")
            continue
        if workload == "train":
            lines.append(f"| `tinygrad-dropbn train` (defaults, wall time) | {mode} | "
                         f"{figures['ours']['wall']:.2f} s | - | - | - | "
                         f"{verdict(key, figures)} |")
            continue
        description, _, _, scale, unit = WORKLOADS[workload]
        faults = " / ".join(
            f"{figures[impl]['alone_faults']:.0f} ({figures[impl]['faults']:.0f})"
            if impl in figures else "-" for impl in ("ours", "torch", "numpy"))
        lines.append(f"| {description} | {mode} | {figures['ours']['cpu'] * scale:.3g} {unit} "
                     f"| {ratio('torch')} | {ratio('numpy')} | {faults} | "
                     f"{verdict(key, figures)} |")
    return lines


def floors(rows: dict) -> list[str]:
    """What the two chain rows are set by, from the reference steps timed beside them."""
    lines = []
    shallow, deep = rows.get(("chain-200", "default")), rows.get(("chain-20k", "default"))
    if shallow and "torch" in shallow:
        tape_per_op = shallow["tape"]["cpu"] * 1e6 / 200
        tape_vs_torch = shallow["torch"]["ratio"] / shallow["tape"]["ratio"]
        lines += [
            f"**What sets the chain rows.** A bare Python tape (`chain_bare_tape` in "
            f"`benchmarks/bench_ops.py`: a tensor and a node tuple per op and a reverse walk; no "
            f"grad mode, version counters, hooks, broadcasting or checks) takes "
            f"{tape_per_op:.2f} us/op on the 200-op chain, {tape_vs_torch:.2f}x PyTorch: the "
            f"floor for an engine written in Python. Ours is {shallow['tape']['ratio']:.2f}x "
            f"that floor; the target of {TARGETS[('chain-200', 'default')]['torch']:g}x "
            f"PyTorch is {TARGETS[('chain-200', 'default')]['torch'] / tape_vs_torch:.2f}x it."]
    if deep and "torch" in deep:
        paused = deep["torch"]["ratio"] / deep["ours-gc-paused"]["ratio"]
        tape_vs_torch = deep["torch"]["ratio"] / deep["tape"]["ratio"]
        lines += [
            "",
            f"On the 20,000-op chain, with Python's garbage collector paused during our call "
            f"(a measurement only; the library never touches the collector), ours / PyTorch "
            f"is {paused:.2f}x instead of {deep['torch']['ratio']:.2f}x. Each op leaves "
            f"three objects the collector tracks (the tensor, the op and its tuple of inputs); "
            f"a graph of 20,000 ops sets off the collector's full collections, which walk "
            f"every live Python object of the process, PyTorch's own among them. The bare "
            f"tape, which keeps as many, takes {tape_vs_torch:.2f}x PyTorch here."]
    return lines


def plot(rows: dict, path: Path) -> None:
    """Horizontal bars: ours / PyTorch and ours / NumPy per row, each target a black tick."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    keys = [key for key in rows if key[0] != "train"]
    labels = [("peak memory growth" if key[0] == "peak" else key[0])
              + (" (pinned malloc)" if key[1] == "pinned" else "") for key in keys]
    fig, ax = plt.subplots(figsize=(9, 0.65 * len(keys) + 2))
    positions = np.arange(len(keys))
    for offset, impl, colour, name in ((-0.2, "torch", "tab:orange", "ours / PyTorch"),
                                       (0.2, "numpy", "tab:blue", "ours / hand-written NumPy")):
        values = [rows[key][impl]["ratio"] if impl in rows[key] else np.nan for key in keys]
        ax.barh(positions + offset, values, height=0.38, color=colour, label=name)
        for y, key, value in zip(positions, keys, values):
            if not np.isnan(value):
                ax.text(value * 1.04, y + offset + 0.02, f"{value:.2f}x", va="center", fontsize=8)
            limit = TARGETS.get(key, {}).get(impl)
            if limit is not None:
                ax.plot([limit, limit], [y + offset - 0.22, y + offset + 0.22], color="black",
                        linewidth=2.5)
    ax.plot([], [], color="black", linewidth=2.5, label="target (at most)")
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ticks = [0.25, 0.5, 1, 2, 4, 8]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}x" for t in ticks])
    ax.set_xlim(0.2, 12)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlabel("ours / theirs, CPU time per call (memory growth for the last row); "
                  "below 1x ours is better", fontsize=9)
    ax.set_title("tinygrad_dropbn against PyTorch and hand-written NumPy (median of rounds)",
                 fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize="small",
              frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


PAGE_INTRO = """# Performance

Regenerate this page and its plot (a few minutes; wait for a quiet machine) with:

```bash
python benchmarks/performance.py
```

Every row compares our step with PyTorch's and with a hand-written NumPy step, timed side by
side in one process, round by round, the order alternating: the ratios are of CPU time per
call, each the median of the per-round ratios (below 1: ours is faster). Rows with large arrays
run twice: with glibc's default allocator, and with `MALLOC_MMAP_THRESHOLD_` and
`MALLOC_TRIM_THRESHOLD_` pinned high in the measuring process's environment, which keeps freed
memory in the process. Page faults are minor faults per call, counted for each step alone in a
fresh process (what a program running only that step pays) and, in brackets, during the
side-by-side rounds, where the other implementations' allocations change what the allocator
does. `benchmarks/performance.py` describes each workload and where its steps are built.
Absolute times depend on the machine and on how busy it is: compare the ratios.
"""


def page(rows: dict, args: argparse.Namespace, versions: str) -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return "\n".join([
        PAGE_INTRO,
        f"Last run: {when}, {args.rounds} rounds, {args.threads or 'default'} BLAS/PyTorch "
        f"thread(s), {os.cpu_count()} cores, {versions}.",
        "",
        *table(rows),
        "",
        *floors(rows),
        "",
        "![ours against PyTorch and NumPy, per workload](images/performance.png)",
        ""])


def versions_line() -> str:
    parts = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    if torch_installed():
        out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                             stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
        parts.append(f"PyTorch {out}")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="side-by-side rounds per row")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads in the measuring processes (0: defaults)")
    parser.add_argument("--only", nargs="+", choices=[*WORKLOADS, "peak", "train"],
                        help="measure only these rows (implies --no-write)")
    parser.add_argument("--no-write", action="store_true",
                        help="print the table without rewriting docs/performance.md")
    parser.add_argument("--child", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--child-faults", nargs=2, metavar=("WORKLOAD", "IMPL"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--child-peak", choices=("ours", "torch", "numpy"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import json
        print(json.dumps(child_workload(args.child, args.rounds, args.threads)))
        return
    if args.child_faults:
        import json
        print(json.dumps(child_faults(*args.child_faults, args.threads)))
        return
    if args.child_peak:
        import json
        print(json.dumps(child_peak(args.child_peak, args.threads)))
        return
    rows = collect(args)
    print("\n".join(table(rows) + [""] + floors(rows)))
    if args.only or args.no_write:
        return
    (ROOT / "docs" / "performance.md").write_text(page(rows, args, versions_line()))
    plot(rows, ROOT / "docs" / "images" / "performance.png")
    print("wrote docs/performance.md and docs/images/performance.png", file=sys.stderr)


if __name__ == "__main__":
    main()
