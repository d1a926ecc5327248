"""How long drawing a big graph takes: the DOT text of a 100,000-op chain.

Three measurements, each the fastest of a few rounds (a shared machine's timings move a lot
from minute to minute; the fastest is the least disturbed):

* draw:            ``tg.draw_graph(y).source`` of an unrecorded, live chain ``y = -(-(...x))``;
* draw recorded:   the same chain built and back-propagated inside ``tg.record_graph()``, drawn
                   after ``backward()`` released it (labels then carry gradients and the order);
* text:            ``tg.graph_text(y)`` of that recorded chain.

Building and back-propagating the chain is not timed. The issue's target is at most 10 s for
the DOT text of the 100,000-op chain.

Run:  python benchmarks/bench_drawing.py [--ops 100000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import contextlib
import time
from typing import Callable

import tinygrad_dropbn as tg


def chain(ops: int, recorded: bool) -> tg.Tensor:
    """``ops`` negations of one number; with ``recorded`` also back-propagated, recorded."""
    x = tg.Tensor([0.5], requires_grad=True, name="x")
    with tg.record_graph() if recorded else contextlib.nullcontext():
        y = x
        for _ in range(ops):
            y = -y
        if recorded:
            y.backward()
    return y


def fastest(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    live = chain(args.ops, recorded=False)
    recorded = chain(args.ops, recorded=True)
    results = {
        "draw": fastest(lambda: tg.draw_graph(live).source, args.rounds),
        "draw recorded": fastest(lambda: tg.draw_graph(recorded).source, args.rounds),
        "text": fastest(lambda: tg.graph_text(recorded), args.rounds),
    }
    print(f"{args.ops:,}-op chain, fastest of {args.rounds} rounds")
    for name, seconds in results.items():
        print(f"  {name:<14} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
