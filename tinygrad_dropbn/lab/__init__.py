"""The article's claims about dropout and batch norm, as experiments anyone can rerun.

Each experiment (one short module in this package) measures its claim over several seeds and
decides it from the mean and 95% interval of each statistic: PASS, PARTLY (the mechanism holds,
a stronger statement of the article does not) or FAIL. ``tinygrad-dropbn lab all`` runs them
all; :func:`run` is the same from Python.

Example:
    >>> from tinygrad_dropbn import lab
    >>> summary = lab.run(["dropout-backward"], "lab-out", seeds=5)  # doctest: +SKIP
    >>> summary.results[0].verdict  # doctest: +SKIP
    'PASS'
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, TextIO

from . import (bn_affine, bn_eval, bn_exploding, bn_formula, bn_regularises, bn_running_stats,
               bn_speed, bn_vanishing, drop_neuron, dropout_backward, dropout_eval,
               dropout_overfitting, inverted_dropout, placement, relu_softmax)
from .backends import LIBRARY, Torch
from .core import Result, run_experiment, verdict_of, write_index, write_page

EXPERIMENTS = {module.__name__.rpartition(".")[2].replace("_", "-"): module for module in (
    drop_neuron, inverted_dropout, dropout_backward, dropout_eval, dropout_overfitting,
    bn_formula, bn_affine, bn_running_stats, bn_eval, bn_speed, bn_vanishing, bn_exploding,
    relu_softmax, placement, bn_regularises)}
"""Every experiment by its command-line name, dropout first, in the order of the article."""


@dataclass
class Summary:
    """The results of one :func:`run` and where its pages are."""

    results: list[Result]
    seconds: float
    index: Optional[tuple[Path, Path]]

    @property
    def ok(self) -> bool:
        """No claim failed (and PyTorch, when asked, reached the same conclusions)."""
        return all(r.verdict != "FAIL" and (r.torch is None or verdict_of(r.torch) == r.verdict)
                   for r in self.results)

    def line(self, index: bool = False) -> str:
        counts = {v: sum(r.verdict == v for r in self.results) for v in ("PASS", "PARTLY")}
        text = (f"{counts['PASS']} of {len(self.results)} claims pass, {counts['PARTLY']} in "
                f"part, in {self.seconds:.1f} s")
        return text + (f"; index: {self.index[0]}, {self.index[1]}" if index and self.index
                       else "")


def run(names: list[str], out_dir: Path | str, seed: int = 0, seeds: int = 5,
        against: Optional[str] = None, say: Callable[[str], None] = lambda line: None,
        progress: Optional[TextIO] = None) -> Summary:
    """Run the experiments ``names`` over ``seeds`` seeds from ``seed``; write each page and
    plot in ``out_dir`` (and the index pages when every experiment ran).

    Args:
        against: "torch" to rerun every experiment in PyTorch and compare (needs torch).
        say: receives each result's lines as soon as it lands.
        progress: a stream for the progress bars (shown when it is a terminal).
    """
    start, out_dir = time.perf_counter(), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    twin = Torch() if against == "torch" else None
    results = []
    for name in names:
        number = list(EXPERIMENTS).index(name) + 1
        experiment = EXPERIMENTS[name]
        checks, seconds = run_experiment(name, number, experiment, LIBRARY, seed, seeds,
                                         progress)
        result = Result(name, number, experiment, checks, seconds, seed)
        if twin is not None:
            result.torch, _ = run_experiment(name, number, experiment, twin, seed, seeds,
                                             progress)
        write_page(result, out_dir)
        results.append(result)
        say(f"{number:2}. {name}: {result.verdict} [{seconds:.1f} s]  {experiment.TITLE}")
        for check in checks:
            say(f"      {check.line()}")
        if twin is not None:
            agree = "agrees" if verdict_of(result.torch) == result.verdict else "DISAGREES"
            say(f"      PyTorch: {verdict_of(result.torch)} ({agree}); means differ by "
                + ", ".join(f"{abs(a.interval[0] - b.interval[0]):.2g}"
                            for a, b in zip(checks, result.torch)))
    index = write_index(results, out_dir) if len(names) == len(EXPERIMENTS) else None
    return Summary(results, time.perf_counter() - start, index)
