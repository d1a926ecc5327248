"""What every subcommand shares: its errors, a parser that reports them in one line, running a
parsed command with the exit statuses, and the types of option values.

The main command line (:mod:`tinygrad_dropbn.cli`) and the lab's (:mod:`tinygrad_dropbn.lab.cli`)
both run through :func:`run_command`, so an error reads and exits the same whichever way a
subcommand is started: 2 for invalid options, 1 for files that cannot be used or a diverged run,
130 when interrupted.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Callable, Optional, Sequence

from . import data

PROG = "tinygrad-dropbn"


class CLIError(Exception):
    """A problem the user can fix, reported as one line without a traceback."""


class UsageError(CLIError):
    """Options that cannot go together (exit status 2, like any invalid option)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def run_command(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> int:
    """Parse ``argv`` (``None``: ``sys.argv[1:]``) and run the chosen subcommand's ``handler``;
    return the exit status.

    ``parser``'s subcommands are stored in ``command`` and each sets a ``handler`` taking the
    parsed arguments. A :class:`CLIError` becomes one line on stderr.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code is None else int(exit_.code)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except CLIError as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2 if isinstance(err, UsageError) else 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): silence the rest, as Python's
        # documentation recommends, instead of a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def dataset_name(value: str) -> str:
    """argparse type: a built-in dataset's name."""
    names = data.available_datasets()
    if value not in names:
        raise argparse.ArgumentTypeError(
            f"unknown dataset {value!r}; choose one of: {', '.join(names)}")
    return value


def layer_sizes(value: str) -> tuple[int, ...]:
    """argparse type: comma-separated positive layer widths such as ``64,64``."""
    sizes = []
    for part in value.split(","):
        try:
            size = int(part)
        except ValueError:
            size = 0
        if size < 1:
            raise argparse.ArgumentTypeError(
                f"layer size {part.strip()!r} in {value!r} is not a positive integer "
                "(give widths like 64,64)")
        sizes.append(size)
    return tuple(sizes)


def probability(value: str) -> float:
    """argparse type: a dropout probability in [0, 1)."""
    try:
        p = float(value)
    except ValueError:
        p = math.nan
    if not 0.0 <= p < 1.0:
        raise argparse.ArgumentTypeError(
            f"dropout probability must be a number in [0, 1), got {value!r}")
    return p


def learning_rate(value: str) -> float:
    """argparse type: a positive, finite learning rate."""
    try:
        lr = float(value)
    except ValueError:
        lr = math.nan
    if not (math.isfinite(lr) and lr > 0):
        raise argparse.ArgumentTypeError(
            f"learning rate must be a positive number, got {value!r}")
    return lr


def positive_int(what: str) -> Callable[[str], int]:
    """argparse type factory: a positive integer, named ``what`` in the error."""
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise argparse.ArgumentTypeError(f"{what} must be a positive integer, got {value!r}")
        return n
    return parse


def seed(value: str) -> int:
    """argparse type: a non-negative integer seed."""
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"seed must be a non-negative integer, got {value!r}")
    return n
