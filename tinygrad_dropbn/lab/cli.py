"""``tinygrad-dropbn lab EXPERIMENT|all [--out DIR] [--seed N] [--small]``.

The main command line mounts this as a subcommand with :func:`register`; ``python -m
tinygrad_dropbn.lab`` runs the same subcommand through :func:`main`. Exit status: 0 when every
claim that ran passes, 1 when one fails or cannot run (matplotlib missing, an output folder that
cannot be created), 2 for invalid options; errors are one line, as for every subcommand.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from ..cli_common import PROG, CLIError, Parser, run_command, seed
from .report import ExperimentResult
from .runner import EXPERIMENTS, run_all, run_experiment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The lab's positional argument and options."""
    parser.add_argument("experiment", choices=[*EXPERIMENTS, "all"], metavar="EXPERIMENT",
                        help=f"one of: {', '.join(EXPERIMENTS)}; or 'all' (also writes "
                        "index.md and a self-contained index.html)")
    parser.add_argument("--out", type=Path, default=Path("lab-results"), metavar="DIR",
                        help="folder for the plots and reports (default: lab-results)")
    parser.add_argument("--seed", type=seed, default=0, metavar="N",
                        help="seed of every experiment; same seed, same figures (default: 0)")
    parser.add_argument("--small", action="store_true",
                        help="smaller sizes for a quick look (`all`: a few seconds instead "
                        "of about 15)")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``lab`` subcommand to an ``add_subparsers()`` object; its handler is :func:`run`.

    Example:
        >>> commands = parser.add_subparsers(dest="command")  # doctest: +SKIP
        >>> register(commands)  # doctest: +SKIP
    """
    parser = subparsers.add_parser(
        "lab", help="reproduce the article's claims about dropout and batch norm",
        description="Run experiments that check the article's claims about dropout and batch "
        "norm. Each writes a plot and a Markdown report and prints PASS or FAIL with the "
        "numbers that decided it. Exit status 1 when a claim fails.")
    add_arguments(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the experiment(s) named by parsed arguments; return the exit status."""
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CLIError(f"cannot create output folder {args.out}: {err.strerror}") from None
    size = "small" if args.small else "full"
    start = time.perf_counter()

    def show(result: ExperimentResult) -> None:
        print(f"{result.number}. {result.name}: {result.verdict}  [{result.seconds:.1f} s]")
        for check in result.checks:
            print(f"    {check.line()}")
        print(f"    report: {result.report}  plot: {result.plot}", flush=True)

    try:
        if args.experiment == "all":
            results, markdown, page = run_all(args.out, size=size, seed=args.seed,
                                              progress=show)
        else:
            results = [run_experiment(args.experiment, args.out, size=size, seed=args.seed)]
            show(results[0])
    except ImportError as error:
        raise CLIError(str(error)) from None
    passed = sum(result.passed for result in results)
    summary = f"{passed} of {len(results)} claims pass in {time.perf_counter() - start:.1f} s"
    if args.experiment == "all":
        summary += f"; index: {markdown}, {page}"
    print(summary)
    return 0 if passed == len(results) else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m tinygrad_dropbn.lab ARGS``: the same as ``tinygrad-dropbn lab ARGS``."""
    # The same parser pieces as the main command's, holding only `lab`: usage, errors and exit
    # statuses are then exactly those of `tinygrad-dropbn lab`.
    parser = Parser(prog=PROG)
    register(parser.add_subparsers(dest="command"))
    return run_command(parser, ["lab", *(sys.argv[1:] if argv is None else argv)])
