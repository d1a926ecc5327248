"""The speed table: every workload of docs/performance.md, ours beside PyTorch and NumPy.

Each workload compares our step with PyTorch's (when installed, on the same number of threads as
the BLAS) and a hand-written NumPy step, side by side, round by round (:mod:`timing`): each
implementation runs in an interpreter of its own, kept waiting between its blocks, and every
round asks each one for a block of calls, one right after another, the order alternating from
round to round; the rounds are shared among three successive interpreters per implementation, so
that no one process's luck (where its heap lands) makes the figure. A process of its own is what
a program using only that implementation runs in: no other library's objects for Python's
garbage collector to walk, no other step's memory in the allocator's heap (PyTorch is imported
only where it is timed).
Workloads with large arrays run twice, with glibc's default allocator and with
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` pinned high in the children's
environment. Ratios are of CPU time per call (steadier than wall time on a busy machine), each
the median of the per-round ratios; page faults are minor faults per call.

Workloads (the step makers live in the benchmark of their concern):

* toy:        SGD step of the 2-16-16-2 MLP with BatchNorm1d, ReLU, Dropout(0.1), batch 64
              (bench_training.py, config a);
* mnist:      SGD step of the 784-512-512-10 MLP with Dropout(0.2), batch 256 (config b);
* batchnorm:  batch-norm forward + backward in training on (256, 1024) (bench_batchnorm.py);
* chain-200:  forward + backward of a 200-op mul/add/tanh chain on (8, 8), per op
              (bench_ops.py);
* chain-20k:  the same with 20,000 ops, including freeing the graph;
              both chains also time three references, shown below the table: the bare
              Python tape of bench_ops.py (the floor for an engine written in Python), our
              chain with Python's garbage collector paused during each call (what the
              collector's walks over every live object cost us), and our chain in a process
              that has imported PyTorch too (what timing both in one process would show);
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
#: The implementations of the table's columns.
MAIN_IMPLS = ("ours", "torch", "numpy")
#: References timed beside the chains (see floors()): the bare Python tape of bench_ops.py,
#: our chain with the garbage collector paused, and our chain in a process that has also
#: imported PyTorch.
CHAIN_REFERENCES = ("tape", "ours-gc-paused", "ours-beside-torch")
#: The implementations whose processes import PyTorch.
TORCH_LOADED = ("torch", "ours-beside-torch")


def implementations(workload: str, with_torch: bool) -> list[str]:
    """What a workload's rounds time, each in a process of its own."""
    names = [impl for impl in MAIN_IMPLS if with_torch or impl != "torch"]
    if workload.startswith("chain"):
        names += [impl for impl in CHAIN_REFERENCES if with_torch or impl not in TORCH_LOADED]
    return names


def make_step(workload: str, impl: str, torch: Optional[object]) -> Callable[[], object]:
    """One implementation's step of one workload (``torch`` is the module, for its steps)."""
    if workload in ("toy", "mnist"):
        import bench_training
        config = bench_training.CONFIGS["a" if workload == "toy" else "b"]
        return bench_training.MAKERS[impl](config)
    if workload == "batchnorm":
        import bench_batchnorm
        x0, grad = bench_batchnorm.fixed_data()
        if impl == "torch":
            return bench_batchnorm.make_torch_step(torch, x0, grad)
        if impl == "numpy":
            return bench_batchnorm.make_numpy_step(x0, grad)
        return bench_batchnorm.make_engine_step(x0, grad, "fused")
    import bench_ops
    num_ops = 200 if workload == "chain-200" else 20_000
    x0, w = bench_ops.fixed_data()
    chain = {"ours": bench_ops.chain_tinygrad, "ours-beside-torch": bench_ops.chain_tinygrad,
             "numpy": bench_ops.chain_numpy, "tape": bench_ops.chain_bare_tape,
             "ours-gc-paused": collector_paused(bench_ops.chain_tinygrad),
             "torch": bench_ops.make_chain_torch(torch) if torch is not None else None}[impl]
    return lambda: chain(x0, w, num_ops)


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


def child_serve(workload: str, impl: str, threads: int) -> None:
    """Time blocks of one implementation for the parent (:func:`timing.serve_blocks`), alone in
    this process (PyTorch imported only for the implementations that need it); each block's
    figures include the number of objects Python's garbage collector tracks."""
    import gc
    torch = timing.load_torch(threads) if impl in TORCH_LOADED else None
    step = make_step(workload, impl, torch)
    timing.serve_blocks(step, WORKLOADS[workload][1], {"tracked": len(gc.get_objects())})


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
    for workload, (_, _, modes, _, _) in WORKLOADS.items():
        if args.only and workload not in args.only:
            continue
        impls = implementations(workload, torch_installed())
        for mode in modes:
            print(f"measuring {workload} ({mode} malloc) ...", file=sys.stderr)
            env = timing.child_env(args.threads, mode == "pinned")
            blocks = timing.rounds_in_own_processes(
                {impl: [script, "--child", workload, impl, "--threads", str(args.threads)]
                 for impl in impls}, env, args.rounds)
            rows[(workload, mode)] = timing.summarise(blocks)
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
             "page faults per call: ours / PyTorch / NumPy | target |",
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
        faults = " / ".join(f"{figures[impl]['faults']:.0f}" if impl in figures else "-"
                            for impl in ("ours", "torch", "numpy"))
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
        beside = deep["torch"]["ratio"] / deep["ours-beside-torch"]["ratio"]
        tape_vs_torch = deep["torch"]["ratio"] / deep["tape"]["ratio"]
        lines += [
            "",
            f"On the 20,000-op chain, each op leaves three objects Python's garbage collector "
            f"tracks (the tensor, the op and its tuple of inputs), and a graph that size sets "
            f"off its full collections, which walk every tracked object of the process. With "
            f"the collector paused during our call (a measurement only; the library never "
            f"touches it), ours / PyTorch is {paused:.2f}x instead of "
            f"{deep['torch']['ratio']:.2f}x. The bare tape, which keeps as many objects, takes "
            f"{tape_vs_torch:.2f}x PyTorch. In a process that has imported PyTorch too, the "
            f"collector tracks {deep['ours-beside-torch']['tracked']:,.0f} objects instead of "
            f"{deep['ours']['tracked']:,.0f}, and our chain takes {beside:.2f}x PyTorch: "
            f"why every implementation here is timed in a process of its own."]
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
            limit = TARGETS.get(key, {}).get(impl)
            if not np.isnan(value):  # right of the bar, or of a target tick just past it
                near = limit is not None and value <= limit <= value * 1.3
                ax.text((limit if near else value) * 1.04, y + offset + 0.02, f"{value:.2f}x",
                        va="center", fontsize=8)
            if limit is not None:
                ax.plot([limit, limit], [y + offset - 0.22, y + offset + 0.22], color="black",
                        linewidth=2.5)
    ax.plot([], [], color="black", linewidth=2.5, label="target (at most)")
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ratios = [rows[key][impl]["ratio"] for key in keys for impl in ("torch", "numpy")
              if impl in rows[key]]
    low, high = min([0.2] + [r / 1.5 for r in ratios]), max([12] + [r * 1.5 for r in ratios])
    ticks = [2.0 ** k for k in range(-6, 7) if low <= 2.0 ** k <= high]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}x" for t in ticks])
    ax.set_xlim(low, high)
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

Every row compares our step with PyTorch's and with a hand-written NumPy step, side by side,
round by round: each implementation runs in a process of its own (as in a program that uses only
it), kept waiting between its blocks, and every round asks each one for a block of calls, one
right after another, the order alternating from round to round. The rounds are shared among
three successive processes per implementation, so that no one process's luck (where its heap
lands) makes the figure. The ratios are of CPU time per call, each the median of the per-round
ratios (below 1: ours is faster). Rows with large arrays run twice: with glibc's default
allocator, and with `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` pinned high in the
measuring processes' environment, which keeps freed memory in the process. Page faults are minor
faults per call.
`benchmarks/performance.py` describes each workload and where its steps are built. Absolute
times depend on the machine and on how busy it is: compare the ratios.
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
    parser.add_argument("--rounds", type=int, default=15,
                        help="rounds per row (one block of calls per implementation per round)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads in the measuring processes (0: defaults)")
    parser.add_argument("--only", nargs="+", choices=[*WORKLOADS, "peak", "train"],
                        help="measure only these rows (implies --no-write)")
    parser.add_argument("--no-write", action="store_true",
                        help="print the table without rewriting docs/performance.md")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS)
    parser.add_argument("--child-peak", choices=("ours", "torch", "numpy"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_serve(*args.child, args.threads)
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
