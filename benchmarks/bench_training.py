"""One SGD training step (forward, backward, update) of an MLP with batch norm and dropout.

Three implementations of the same step, side by side:

* ours:   ``nn.Sequential`` of ``Linear``, ``BatchNorm1d``, ``ReLU``, ``Dropout``,
          ``nn.CrossEntropyLoss`` and ``optim.SGD`` (``zero_grad`` sets gradients to None);
* torch:  the same model in PyTorch (when importable);
* numpy:  the forward and backward written out by hand in NumPy, every intermediate a fresh
          array, as most people write it.

Two sizes, float32, cross-entropy loss, plain SGD (lr 0.01):

* (a) toy:   2-16-16-2,     BatchNorm1d, ReLU, Dropout(0.1), batch 64;
* (b) mnist: 784-512-512-10, BatchNorm1d, ReLU, Dropout(0.2), batch 256.

Each timing is printed beside the minor page faults per step (``ru_minflt``): glibc returns
big freed blocks to the kernel, and every new large temporary faults its pages in again. So the
measurement runs twice: with the default allocator and with
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` pinned high, which keeps freed memory in
the process. Every implementation and size is measured in a fresh subprocess of its own
(what ran before in a process changes how it allocates, and so its page faults), and so is the
peak memory (``ru_maxrss``) of 50 steps of (b). The parent process imports neither
the library nor PyTorch: a child's ``ru_maxrss`` starts from its parent's size at fork.

Every subprocess runs the BLAS and PyTorch on ``--threads`` threads (1 by default, so the
figures do not depend on how busy the other cores are; 0 leaves the libraries' defaults).

Run (with the package installed, e.g. `pip install -e .`, or PYTHONPATH=. from the root):
          python benchmarks/bench_training.py [--repeats 5] [--threads 1]
Profile:  python benchmarks/bench_training.py --profile a   (or b): our step under cProfile
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import os
import pstats
import resource
import subprocess
import sys
from typing import Callable

import numpy as np

import timing
from timing import PINNED_ENV, THREAD_VARS

CONFIGS = {
    "a": dict(sizes=(2, 16, 16, 2), p=0.1, batch=64, steps=1000),
    "b": dict(sizes=(784, 512, 512, 10), p=0.2, batch=256, steps=30),
}
LR = 0.01
EPS = 1e-5
MOMENTUM = 0.1
PEAK_STEPS = 50
PEERS = {"a": "NumPy 0.14 ms, PyTorch 0.46 ms", "b": "NumPy 11.0 ms, PyTorch 8.6 ms"}


def batch(config: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((config["batch"], config["sizes"][0]), dtype=np.float32)
    y = rng.integers(0, config["sizes"][-1], config["batch"])
    return x, y


def make_ours_step(config: dict) -> Callable[[], None]:
    import tinygrad_dropbn as tg
    import tinygrad_dropbn.nn as nn
    from tinygrad_dropbn import optim

    sizes, p = config["sizes"], config["p"]
    layers: list = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(fan_in, fan_out), nn.BatchNorm1d(fan_out), nn.ReLU(), nn.Dropout(p)]
    model = nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))
    opt = optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    x, y = (tg.Tensor(a) for a in batch(config))

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def make_torch_step(config: dict) -> Callable[[], None]:
    import torch

    sizes, p = config["sizes"], config["p"]
    layers: list = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.BatchNorm1d(fan_out),
                   torch.nn.ReLU(), torch.nn.Dropout(p)]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], sizes[-1]))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = (torch.from_numpy(a) for a in batch(config))

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def make_numpy_step(config: dict) -> Callable[[], None]:
    """Linear -> batch norm -> ReLU -> inverted dropout per hidden layer, written out by hand."""
    sizes, p = config["sizes"], config["p"]
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-1 / np.sqrt(i), 1 / np.sqrt(i), (o, i)).astype(np.float32)
               for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(o, np.float32) for o in sizes[1:]]
    gammas = [np.ones(o, np.float32) for o in sizes[1:-1]]
    betas = [np.zeros(o, np.float32) for o in sizes[1:-1]]
    running_means = [np.zeros(o, np.float32) for o in sizes[1:-1]]
    running_vars = [np.ones(o, np.float32) for o in sizes[1:-1]]
    x, y = batch(config)
    n = len(x)
    scale = np.float32(1 / (1 - p))

    def step() -> None:
        inputs, saved = x, []
        for k in range(len(gammas)):
            h = inputs @ weights[k].T + biases[k]
            mean = h.mean(axis=0)
            centered = h - mean
            var = (centered * centered).mean(axis=0)
            inv_std = 1 / np.sqrt(var + EPS)
            x_hat = centered * inv_std
            bn = gammas[k] * x_hat + betas[k]
            running_means[k][:] = (1 - MOMENTUM) * running_means[k] + MOMENTUM * mean
            running_vars[k][:] = (1 - MOMENTUM) * running_vars[k] + MOMENTUM * var * (n / (n - 1))
            active = bn > 0
            keep = rng.random(bn.shape, dtype=np.float32) < np.float32(1 - p)
            out = bn * active * keep * scale
            saved.append((inputs, x_hat, inv_std, active, keep))
            inputs = out
        logits = inputs @ weights[-1].T + biases[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        grad = probs
        grad[np.arange(n), y] -= 1
        grad /= n
        grads_w = [grad.T @ inputs]
        grads_b = [grad.sum(axis=0)]
        grad = grad @ weights[-1]
        grads_gamma, grads_beta = [], []
        for k in reversed(range(len(gammas))):
            inputs, x_hat, inv_std, active, keep = saved[k]
            grad_bn = grad * keep * scale * active
            grad_beta = grad_bn.sum(axis=0)
            grad_gamma = (grad_bn * x_hat).sum(axis=0)
            grad_h = (gammas[k] * inv_std / n) * (n * grad_bn - grad_beta - x_hat * grad_gamma)
            grads_w.insert(0, grad_h.T @ inputs)
            grads_b.insert(0, grad_h.sum(axis=0))
            grads_gamma.insert(0, grad_gamma)
            grads_beta.insert(0, grad_beta)
            grad = grad_h @ weights[k]
        for params, grads in ((weights, grads_w), (biases, grads_b), (gammas, grads_gamma),
                              (betas, grads_beta)):
            for param, g in zip(params, grads):
                param -= LR * g
    return step


MAKERS = {"ours": make_ours_step, "torch": make_torch_step, "numpy": make_numpy_step}


def measure(step: Callable[[], None], steps: int, repeats: int) -> tuple[float, float]:
    """(best milliseconds per step, minor page faults per step in that best block)."""
    for _ in range(max(steps // 10, 3)):
        step()
    best = min((timing.measure_block(step, steps) for _ in range(repeats)),
               key=lambda block: block["wall"])
    return best["wall"] * 1e3, best["faults"]


def implementations() -> list[str]:
    """The implementations to measure: PyTorch only when it is installed (found, not imported)."""
    return [name for name in MAKERS if name != "torch" or importlib.util.find_spec("torch")]


def set_torch_threads(impl: str, threads: int) -> None:
    if impl == "torch" and threads:
        import torch
        torch.set_num_threads(threads)


def child_times(impl: str, key: str, repeats: int, threads: int) -> tuple[float, float]:
    """ms and faults per step of one implementation on one config."""
    set_torch_threads(impl, threads)
    config = CONFIGS[key]
    return measure(MAKERS[impl](config), config["steps"], repeats)


def child_peak(impl: str, threads: int) -> dict:
    """Resident memory before and after 50 steps of (b), in MiB (``ru_maxrss`` is in KiB)."""
    set_torch_threads(impl, threads)
    step = MAKERS[impl](CONFIGS["b"])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(PEAK_STEPS):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"before": before / 1024, "peak": peak / 1024}


def run_child(args: list[str], threads: int, extra_env: dict) -> dict:
    env = {**os.environ, **extra_env}
    if threads:
        env.update({name: str(threads) for name in THREAD_VARS})
    out = subprocess.run([sys.executable, __file__, *args, "--threads", str(threads)], env=env,
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.splitlines()[-1])


def report(default: dict, pinned: dict, peaks: dict, repeats: int, threads: int) -> None:
    print(f"one SGD training step, float32, best of {repeats} blocks; threads: "
          f"{threads or 'library defaults'}")
    print("pinned = MALLOC_MMAP_THRESHOLD_=32 MiB, MALLOC_TRIM_THRESHOLD_=1 GiB\n")
    for key, config in CONFIGS.items():
        sizes = "-".join(map(str, config["sizes"]))
        print(f"({key}) MLP {sizes}, BatchNorm1d, ReLU, Dropout({config['p']}), "
              f"batch {config['batch']}, {config['steps']} steps per block")
        print(f"  {'impl':<8}{'default ms':>12}{'faults':>9}{'pinned ms':>12}{'faults':>9}")
        for name in default[key]:
            (ms, faults), (pms, pfaults) = default[key][name], pinned[key][name]
            print(f"  {name:<8}{ms:>12.3f}{faults:>9.0f}{pms:>12.3f}{pfaults:>9.0f}")
        ours = default[key]["ours"][0]
        ratios = [f"ours / numpy = {ours / default[key]['numpy'][0]:.2f}x"]
        if "torch" in default[key]:
            ratios.append(f"ours / torch = {ours / default[key]['torch'][0]:.2f}x")
        target = "<= 0.8x torch" if key == "a" else "<= 1.15x numpy"
        print(f"  {'; '.join(ratios)} (default allocator; target {target}; "
              f"measured elsewhere: {PEERS[key]})\n")
    print(f"peak resident memory over {PEAK_STEPS} steps of (b), each in a fresh process:")
    for name, peak in peaks.items():
        print(f"  {name:<8}{peak['peak']:>8.1f} MiB peak ({peak['peak'] - peak['before']:+.1f} "
              f"MiB over the {peak['before']:.1f} MiB after setup)")


def profile(key: str) -> None:
    step = make_ours_step(CONFIGS[key])
    for _ in range(5):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(CONFIGS[key]["steps"]):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks; the best counts")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads in the measuring processes (0: defaults)")
    parser.add_argument("--profile", choices=sorted(CONFIGS), help="profile our step instead")
    parser.add_argument("--child-times", nargs=2, metavar=("IMPL", "CONFIG"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--child-peak", choices=sorted(MAKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
    elif args.child_times:
        print(json.dumps(child_times(*args.child_times, args.repeats, args.threads)))
    elif args.child_peak:
        print(json.dumps(child_peak(args.child_peak, args.threads)))
    else:
        impls = implementations()
        runs = {}
        for allocator, env in (("default", {}), ("pinned", PINNED_ENV)):
            runs[allocator] = {
                key: {name: run_child(["--child-times", name, key, "--repeats",
                                       str(args.repeats)], args.threads, env) for name in impls}
                for key in CONFIGS}
        peaks = {name: run_child(["--child-peak", name], args.threads, {}) for name in impls}
        report(runs["default"], runs["pinned"], peaks, args.repeats, args.threads)


if __name__ == "__main__":
    main()
