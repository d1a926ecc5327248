"""The article's claims about dropout and batch norm, as experiments anyone can rerun.

Each experiment measures one claim with the library's own layers, decides PASS or FAIL from the
numbers with thresholds fixed by the claim, and writes a plot (PNG) and a short Markdown report.
``tinygrad-dropbn lab all`` (or ``python -m tinygrad_dropbn.lab all``) runs all eight and writes
an index page in Markdown and as a self-contained HTML file.

Example:
    >>> from tinygrad_dropbn.lab import run_experiment
    >>> result = run_experiment("dropout-backward", "lab-out", size="small")  # doctest: +SKIP
    >>> result.verdict  # doctest: +SKIP
    'PASS'
"""
from .report import Check, ExperimentResult
from .runner import EXPERIMENTS, run_all, run_experiment

__all__ = ["Check", "EXPERIMENTS", "ExperimentResult", "run_all", "run_experiment"]
