"""The ``tinygrad-dropbn`` command: train, evaluate, graph, datasets, lab.

``train`` trains an MLP with batch norm and dropout on a built-in dataset and keeps a run folder;
``evaluate`` reloads a run and measures it; ``graph`` draws a model's computation graph;
``datasets`` lists the built-in datasets; ``lab`` reruns the article's claims. Bad input is one
line on stderr with a non-zero exit status: 2 for invalid options, 1 for files that cannot be
used, a diverged run or a failed claim, 130 when interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import tinygrad_dropbn as tg
from .. import data, lab
from ..models import ACTIVATIONS, BN_POSITIONS
from ..training import evaluate
from .models import (DEFAULT_LR, CLIError, TrainConfig, UsageError, build_model, load_problem,
                     load_run, loss_function)
from .report import GRAPH_MODES, draw_backward_steps, draw_graphs, graph_of, unchanged
from .train import RunInterrupted, format_metrics, run_training

PROG = "tinygrad-dropbn"
DEFAULTS = TrainConfig()
MODEL_OPTIONS = ("dataset", "hidden", "activation", "batchnorm", "bn_position", "dropout", "seed")
"""Options that describe a model; ``graph`` takes either these or a run, not both."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
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


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand and option."""
    parser = Parser(prog=PROG, description="Train, evaluate and draw small networks with batch "
                    "norm and dropout, on a NumPy autodiff engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {tg.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    model = Parser(add_help=False)
    group = model.add_argument_group("model and data")
    group.add_argument("--dataset", type=dataset_name, metavar="NAME", help="built-in dataset "
                       f"(see `{PROG} datasets`; default: {DEFAULTS.dataset})")
    group.add_argument("--hidden", type=layer_sizes, metavar="SIZES", help="hidden layer "
                       f"widths, comma-separated (default: {','.join(map(str, DEFAULTS.hidden))})")
    group.add_argument("--activation", choices=list(ACTIVATIONS),
                       help=f"hidden activation (default: {DEFAULTS.activation})")
    group.add_argument("--batchnorm", action=argparse.BooleanOptionalAction,
                       help="BatchNorm1d in every hidden layer (default: on)")
    group.add_argument("--bn-position", choices=BN_POSITIONS, help="batch norm before or after "
                       f"the activation (default: {DEFAULTS.bn_position})")
    group.add_argument("--dropout", type=probability, metavar="P", help="dropout probability "
                       f"after each hidden activation, in [0, 1) (default: {DEFAULTS.dropout})")
    group.add_argument("--seed", type=non_negative("seed"), metavar="N", help="seed for data, "
                       f"initial weights and batches (default: {DEFAULTS.seed})")

    train = commands.add_parser(
        "train", parents=[model], help="train an MLP and keep a run folder",
        description="Train an MLP with batch norm and dropout on a built-in dataset, show a "
        "progress bar per epoch, and write a new run folder with the checkpoint, config, "
        "metrics, curves, decision boundary and computation graphs (SVG and PNG).")
    group = train.add_argument_group("training")
    group.add_argument("--optimizer", choices=list(DEFAULT_LR),
                       help=f"optimizer (default: {DEFAULTS.optimizer}; sgd uses momentum 0.9)")
    group.add_argument("--lr", type=learning_rate, metavar="LR", help="learning rate (default: "
                       + ", ".join(f"{lr:g} for {name}" for name, lr in DEFAULT_LR.items()) + ")")
    group.add_argument("--epochs", type=positive("number of epochs"), metavar="N",
                       help=f"passes over the training set (default: {DEFAULTS.epochs})")
    _add_batch_size(group, f"examples per training batch (default: {DEFAULTS.batch_size})")
    group.add_argument("--out", type=Path, default=Path("runs"), metavar="DIR",
                       help="folder that receives a new run folder (default: runs)")
    group.add_argument("--quiet", action="store_true",
                       help="no progress bars or file list: only the final summary")
    train.set_defaults(handler=_train)

    evaluate_ = commands.add_parser(
        "evaluate", help="reload a run and report its metrics",
        description="Rebuild the model from a run's config.json, load its checkpoint and report "
        "loss and accuracy on the run's train and test sets.")
    evaluate_.add_argument("run", type=Path, metavar="RUN_DIR_OR_CHECKPOINT",
                           help="a run folder written by `train`, or its model.npz")
    evaluate_.set_defaults(handler=_evaluate)

    graph = commands.add_parser(
        "graph", parents=[model], help="draw a model's computation graph without training",
        description="Draw the computation graph of one batch's loss, in training and/or "
        "evaluation mode, for a trained run or for a freshly initialised model described by "
        "the model options. Exit status 1 when the file cannot be written.")
    graph.add_argument("run", type=Path, nargs="?", metavar="RUN_DIR_OR_CHECKPOINT",
                       help="draw this run's model (omit to use the model options)")
    group = graph.add_argument_group("drawing")
    group.add_argument("--mode", choices=[*GRAPH_MODES, "both"], default="both",
                       help="model mode to draw (default: both)")
    group.add_argument("--format", choices=["svg", "png", "pdf", "dot"], default="svg",
                       help="file format (default: svg; svg, png and pdf need Graphviz)")
    group.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                       help="folder for graph-<mode>.<format> (default: current folder)")
    group.add_argument("--text", action="store_true",
                       help="print the graph as a plain-text tree instead of writing files")
    group.add_argument("--backward-steps", action="store_true",
                       help="write backward-<mode>.html, a page that replays the backward "
                       "pass one op at a time")
    _add_batch_size(group, "examples in the drawn batch (default: the run's batch size, "
                    f"else {DEFAULTS.batch_size})")
    graph.set_defaults(handler=_graph)

    datasets = commands.add_parser("datasets", help="list the built-in datasets",
                                   description="List the built-in datasets.")
    datasets.set_defaults(handler=_datasets)

    lab_ = commands.add_parser(
        "lab", help="rerun the article's claims about dropout and batch norm",
        formatter_class=argparse.RawDescriptionHelpFormatter, description=textwrap.fill(
            "Check the article's claims about dropout and batch norm, each over several seeds: "
            "every claim prints PASS, PARTLY (the mechanism holds, a stronger statement does "
            "not) or FAIL with the means and 95% intervals that decided it, and writes a plot "
            "and a Markdown report. Exit status 1 when a claim fails.", 78) + "\n\nclaims:\n"
        + "\n".join(textwrap.fill(f"{name}: {module.CLAIM}", 78, initial_indent="  ",
                                   subsequent_indent="      ")
                     for name, module in lab.EXPERIMENTS.items()))
    lab_.add_argument("experiment", choices=[*lab.EXPERIMENTS, "all"], metavar="EXPERIMENT",
                      help=f"one of: {', '.join(lab.EXPERIMENTS)}; or 'all' (also writes "
                      "index.md and a self-contained index.html)")
    lab_.add_argument("--out", type=Path, default=Path("lab-results"), metavar="DIR",
                      help="folder for the plots and reports (default: lab-results)")
    lab_.add_argument("--seed", type=non_negative("seed"), default=0, metavar="N",
                      help="first seed; runs use seeds N, N+1, ... (default: 0)")
    lab_.add_argument("--seeds", type=positive("number of seeds", minimum=2), default=5,
                      metavar="K", help="runs per claim, for the means and intervals "
                      "(default: 5)")
    lab_.add_argument("--against", choices=["torch"], help="also rerun each experiment's "
                      "model in PyTorch from the same weights and data, and compare")
    lab_.set_defaults(handler=_lab)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run config the options describe, with defaults for what was not given."""
    given = {name: getattr(args, name) for name in (*MODEL_OPTIONS, "optimizer", "lr", "epochs",
                                                    "batch_size")
             if getattr(args, name, None) is not None}
    if "lr" not in given:
        given["lr"] = DEFAULT_LR[given.get("optimizer", DEFAULTS.optimizer)]
    return TrainConfig(**given)


def _train(args: argparse.Namespace) -> int:
    try:
        run_training(config_from_args(args), args.out, quiet=args.quiet)
    except RunInterrupted as stop:
        if stop.epochs_done == 0:
            print(f"Interrupted before the first epoch finished: nothing trained to keep "
                  f"(config in {stop.run_dir})", file=sys.stderr)
        else:
            print(f"Interrupted: kept the checkpoint of epoch {stop.epochs_done} and the metrics "
                  f"of the {stop.epochs_done} completed epoch(s) in {stop.run_dir} "
                  f"(`{PROG} evaluate {stop.run_dir}` measures it)", file=sys.stderr)
        return 130
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    run = load_run(args.run)
    loss_fn = loss_function(run.problem)
    row = {}
    for split, dataset in (("train", run.problem.train), ("test", run.problem.test)):
        row[f"{split}_loss"], row[f"{split}_accuracy"] = evaluate(
            run.model, dataset, loss_fn, run.problem.is_classification)
    print(f"Evaluated {run.checkpoint} on {run.config.dataset} ({len(run.problem.train)} train "
          f"/ {len(run.problem.test)} test, evaluation mode)")
    print(format_metrics(row, run.problem))
    if not run.same_data:
        print(f"warning: the {run.config.dataset} test set drawn now differs from the one this "
              "run was trained with (the dataset generator changed), so these figures are not "
              "comparable with the run's metrics.csv", file=sys.stderr)
    return 0


def _graph(args: argparse.Namespace) -> int:
    if args.run is not None:
        given = [f"--{name.replace('_', '-')}" for name in MODEL_OPTIONS
                 if getattr(args, name) is not None]
        if given:
            raise UsageError(f"give either a run or model options, not both (got {args.run} and "
                             f"{', '.join(given)})")
        run = load_run(args.run)
        config, problem, model = run.config, run.problem, run.model
    else:
        config = config_from_args(args)
        problem = load_problem(config)
        model = build_model(config, problem)
    x, y = problem.train.tensors
    batch = min(args.batch_size or config.batch_size, len(x))
    x, y = x[:batch], y[:batch]
    loss_fn = loss_function(problem)
    modes = list(GRAPH_MODES) if args.mode == "both" else [args.mode]
    if args.text:
        for mode in modes:
            print(f"{GRAPH_MODES[mode]} mode, batch of {batch}:")
            with unchanged(model):
                print(tg.graph_text(graph_of(model, loss_fn, x, y, mode)))
        return 0
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CLIError(f"cannot create output folder {args.out}: {err.strerror}") from None
    if args.backward_steps:
        files = draw_backward_steps(model, loss_fn, x, y, args.out, modes)
    else:
        files = draw_graphs(model, loss_fn, x, y, args.out, args.format, modes).files
    width = max(len(label) for label, _ in files)
    for label, path in files:
        print(f"{label:<{width}} {path}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    names = data.available_datasets()
    width = max(map(len, names))
    print(f"Built-in datasets (use with `{PROG} train --dataset NAME`):")
    for name, description in names.items():
        print(f"  {name:<{width}}  {data.dataset_task(name):<14}  {description}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CLIError(f"cannot create output folder {args.out}: {err.strerror}") from None
    names = list(lab.EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    try:
        with _one_blas_thread():
            summary = lab.run(names, args.out, seed=args.seed, seeds=args.seeds,
                              against=args.against, say=functools.partial(print, flush=True),
                              progress=sys.stderr)
    except ImportError as err:
        raise CLIError(str(err)) from None
    print(summary.line(index=args.experiment == "all"))
    return 0 if summary.ok else 1


def _one_blas_thread() -> Any:
    """Limit BLAS to one thread, unless the environment chose a number: the lab's matrices are
    too small to split: ``benchmarks/bench_lab.py`` measures one thread as fast as two on a quiet
    machine, and faster when the other core is busy.
    Needs the optional ``threadpoolctl``; without it the libraries' defaults stay."""
    if any(pool in os.environ for pool in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                           "MKL_NUM_THREADS")):
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def dataset_name(value: str) -> str:
    """argparse type: a built-in dataset's name."""
    names = data.available_datasets()
    if value not in names:
        raise argparse.ArgumentTypeError(
            f"unknown dataset {value!r}; choose one of: {', '.join(names)}")
    return value


def layer_sizes(value: str) -> tuple[int, ...]:
    """argparse type: comma-separated positive layer widths such as ``64,64``."""
    try:
        sizes = tuple(int(part) for part in value.split(","))
    except ValueError:
        sizes = (0,)
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes {value!r} must be positive integers "
                                         "(give widths like 64,64)")
    return sizes


def _number(what: str, check: Callable[[float], bool], kind: type = float) -> Callable:
    """argparse type factory: a number of ``kind`` satisfying ``check``, else ``what`` in the
    error."""
    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            number = math.nan if kind is float else -1
        if not check(number):
            raise argparse.ArgumentTypeError(f"{what}, got {value!r}")
        return number
    return parse


probability = _number("dropout probability must be a number in [0, 1)", lambda p: 0 <= p < 1)
learning_rate = _number("learning rate must be a positive number",
                        lambda lr: math.isfinite(lr) and lr > 0)


def positive(what: str, minimum: int = 1) -> Callable[[str], int]:
    """argparse type: an integer of at least ``minimum``."""
    meaning = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
    return _number(f"{what} must be {meaning}", lambda n: n >= minimum, int)


def non_negative(what: str) -> Callable[[str], int]:
    """argparse type: a non-negative integer."""
    return _number(f"{what} must be a non-negative integer", lambda n: n >= 0, int)


def _add_batch_size(group: Any, help: str) -> None:
    group.add_argument("--batch-size", type=positive("batch size"), metavar="N", help=help)
