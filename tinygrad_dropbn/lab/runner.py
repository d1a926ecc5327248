"""The lab's table of experiments, and running one or all of them."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .batchnorm import run_bn_running_stats, run_bn_saturation, run_bn_speed
from .dropout import (run_dropout_backward, run_dropout_mask, run_dropout_overfitting,
                      run_inverted_dropout)
from .placement import run_placement
from .report import ExperimentResult, write_index

EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {
    "inverted-dropout": run_inverted_dropout,
    "dropout-mask": run_dropout_mask,
    "dropout-backward": run_dropout_backward,
    "dropout-overfitting": run_dropout_overfitting,
    "bn-running-stats": run_bn_running_stats,
    "bn-saturation": run_bn_saturation,
    "bn-speed": run_bn_speed,
    "placement": run_placement,
}
"""Every experiment by its command-line name, in the order of the article (numbers 1-8)."""


def run_experiment(name: str, out_dir: Path | str, size: str = "full",
                   seed: int = 0) -> ExperimentResult:
    """Run one experiment by name; it writes ``NN-name.png`` and ``NN-name.md`` in ``out_dir``.

    Raises:
        ValueError: ``name`` is not one of :data:`EXPERIMENTS`.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)} "
                         "or 'all'")
    return EXPERIMENTS[name](out_dir, size=size, seed=seed)


def run_all(out_dir: Path | str, size: str = "full", seed: int = 0,
            progress: Callable[[ExperimentResult], None] | None = None,
            ) -> tuple[list[ExperimentResult], Path, Path]:
    """Run every experiment and write the index pages.

    Args:
        out_dir: folder for every plot and report, ``index.md`` and ``index.html``.
        size: "full" or "small".
        seed: the seed each experiment starts from.
        progress: called with each result as soon as it is ready.

    Returns:
        The results, the Markdown index and the HTML index.
    """
    results = []
    for name in EXPERIMENTS:
        result = run_experiment(name, out_dir, size=size, seed=seed)
        results.append(result)
        if progress is not None:
            progress(result)
    markdown, page = write_index(results, out_dir)
    return results, markdown, page
