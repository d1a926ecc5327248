"""What ``tinygrad-dropbn train`` does: build what a :class:`~.models.TrainConfig` describes, train
it with :func:`tinygrad_dropbn.training.fit`, and keep a run folder."""
from __future__ import annotations

import csv
import datetime
import functools
import json
import math
import time
from pathlib import Path

import numpy as np

import tinygrad_dropbn as tg
from .. import nn
from ..training import History, fit
from . import report
from .models import (CHECKPOINT, CONFIG, SGD_MOMENTUM, CLIError, Problem, TrainConfig,
                     UsageError, build_model, data_fingerprint, load_problem, loss_function,
                     reason)

METRICS = "metrics.csv"
SUMMARY = "summary.json"


class RunInterrupted(Exception):
    """Training was interrupted; what was completed has been written to ``run_dir``."""

    def __init__(self, run_dir: Path, epochs_done: int) -> None:
        super().__init__(f"interrupted after {epochs_done} epoch(s); run kept in {run_dir}")
        self.run_dir = run_dir
        self.epochs_done = epochs_done


def run_training(config: TrainConfig, out: Path, quiet: bool = False) -> Path:
    """Train as the config says, write the run folder under ``out`` and report; return it.

    An epoch counts once its metrics are measured, and only then replaces the kept state, so an
    interruption at any point keeps the last whole epoch. Raises :class:`RunInterrupted` (after
    writing the completed epochs) on KeyboardInterrupt, :class:`CLIError` when the loss stops
    being finite.
    """
    if config.batchnorm and config.batch_size < 2:
        raise UsageError(f"batch norm cannot train on batches of {config.batch_size} example "
                         "(one example has no variance to normalise by): use --batch-size 2 "
                         "or more, or --no-batchnorm")
    say = functools.partial(print, flush=True)
    problem = load_problem(config)
    model = build_model(config, problem)
    loss_fn = loss_function(problem)
    # Batch norm cannot normalise a batch of one example, so a lone leftover one is dropped.
    drop_last = config.batchnorm and len(problem.train) % config.batch_size == 1
    batches = len(problem.train) // config.batch_size + (not drop_last and bool(
        len(problem.train) % config.batch_size))
    progress = report.Progress(config.epochs, batches, quiet=quiet, say=say)
    run_dir = new_run_dir(out, config.dataset)
    (run_dir / CONFIG).write_text(config.to_json(
        task=problem.task, in_features=problem.in_features, out_features=problem.out_features,
        test_sha256=data_fingerprint(problem.test)))
    if not quiet:
        say(describe_run(config, problem, model))
        for note in progress.notes:
            say(note)

    kept: dict = {"rows": [], "state": None}

    def on_epoch(history: History) -> bool:
        row = {"epoch": len(history.test_loss), **history.row()}
        progress.finish_epoch(row)
        if not math.isfinite(row["running_loss"]):
            kept["diverged"] = row
            return False
        kept["rows"].append({name: row[name] for name in metric_names(problem)})
        kept["state"] = model.state_dict()  # copies, so later steps leave it as it is
        return True

    start = time.perf_counter()
    try:
        # A diverging run is reported below, so NumPy's overflow warnings would only add noise.
        with np.errstate(over="ignore", invalid="ignore"):
            fit(model, problem.train, problem.test, epochs=config.epochs, lr=config.lr,
                batch_size=config.batch_size, optimizer=config.optimizer,
                momentum=SGD_MOMENTUM, loss_fn=loss_fn, drop_last=drop_last,
                on_batch=progress.on_batch, on_epoch=on_epoch)
    except KeyboardInterrupt:
        progress.close()
        write_results(run_dir, problem, kept, model, time.perf_counter() - start, "interrupted")
        raise RunInterrupted(run_dir, len(kept["rows"])) from None
    wall = time.perf_counter() - start
    if "diverged" in kept:
        write_results(run_dir, problem, kept, model, wall, status="diverged")
        done = len(kept["rows"])
        where = (f"the {done} epoch(s) before it are kept in {run_dir}" if done
                 else f"nothing to keep; the config is in {run_dir}")
        raise CLIError(f"training diverged: the loss became {kept['diverged']['running_loss']} "
                       f"in epoch {kept['diverged']['epoch']}; try a learning rate smaller than "
                       f"{config.lr:g} ({where})")

    files = write_results(run_dir, problem, kept, model, wall, status="finished")
    figures = report.write_figures(run_dir, model, loss_fn, problem, kept["rows"], config)
    say(f"Finished {config.epochs} epochs in {wall:.1f} s ({model.num_parameters():,} "
        f"parameters)\n" + format_metrics(kept["rows"][-1], problem))
    say(f"Run folder: {run_dir}")
    if not quiet:
        listed = files + figures.files
        width = max(len(label) for label, _ in listed)
        for label, path in listed:
            say(f"  {label:<{width}} {path}")
        for note in figures.notes:
            say(note)
    return run_dir


def describe_run(config: TrainConfig, problem: Problem, model: nn.Module) -> str:
    """One line saying what is about to be trained."""
    sizes = "-".join(str(n) for n in (problem.in_features, *config.hidden, problem.out_features))
    norm = (f"batch norm {config.bn_position} {config.activation}" if config.batchnorm
            else f"{config.activation}, no batch norm")
    return (f"Training MLP {sizes} ({norm}, dropout {config.dropout:g}) on {config.dataset} "
            f"({len(problem.train)} train / {len(problem.test)} test), {config.optimizer} "
            f"lr {config.lr:g}, {config.epochs} epochs of batch {config.batch_size}, "
            f"seed {config.seed}, {model.num_parameters():,} parameters")


def format_metrics(row: dict, problem: Problem) -> str:
    """A small table of loss (and accuracy) on the train and test splits."""
    classification = problem.is_classification
    lines = [f"  {'':5}  {'loss' if classification else 'MSE':>8}"
             + (f"  {'accuracy':>8}" if classification else "")]
    for split in ("train", "test"):
        lines.append(f"  {split:5}  {row[split + '_loss']:8.4f}"
                     + (f"  {row[split + '_accuracy']:8.1%}" if classification else ""))
    return "\n".join(lines)


def metric_names(problem: Problem) -> list[str]:
    """Columns of ``metrics.csv``: running (training-mode) and evaluation-mode figures."""
    if problem.is_classification:
        return ["epoch", "running_loss", "running_accuracy", "train_loss", "train_accuracy",
                "test_loss", "test_accuracy"]
    return ["epoch", "running_loss", "train_loss", "test_loss"]


def new_run_dir(out: Path, dataset: str) -> Path:
    """Create a fresh folder ``out/<dataset>-<YYYYmmdd-HHMMSS>[-k]``, never reusing one."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CLIError(f"cannot create output folder {out}: {reason(err)}") from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        run_dir = out / (f"{dataset}-{stamp}" if k == 1 else f"{dataset}-{stamp}-{k}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            raise CLIError(f"cannot create run folder {run_dir}: {reason(err)}") from None
        return run_dir
    raise CLIError(f"too many runs named {dataset}-{stamp}-* in {out}")


def write_results(run_dir: Path, problem: Problem, kept: dict, model: nn.Module, wall: float,
                  status: str) -> list[tuple[str, Path]]:
    """Write the checkpoint of the last completed epoch (if any), the metrics and the summary
    (``status``: finished, interrupted or diverged); list what was written."""
    files = [("config", run_dir / CONFIG)]
    if kept["state"] is not None:
        tg.save(kept["state"], run_dir / CHECKPOINT)
        files.insert(0, ("checkpoint", run_dir / CHECKPOINT))
    with (run_dir / METRICS).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=metric_names(problem), lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept["rows"])
    summary = {"status": status, "epochs_completed": len(kept["rows"]),
               "wall_time_seconds": round(wall, 3), "num_parameters": model.num_parameters(),
               "final": kept["rows"][-1] if kept["rows"] else None}
    (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    return files + [("metrics", run_dir / METRICS), ("summary", run_dir / SUMMARY)]
