"""What ``tinygrad-dropbn train`` does: build what a :class:`~.cli_config.TrainConfig`
describes, train and measure it, and keep a run folder; and rebuild a trained run from its folder
for ``evaluate`` and ``graph``."""
from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import hashlib
import json
import math
import time
import zipfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

import tinygrad_dropbn as tg
from . import cli_report, data, nn, optim
from .cli_common import CLIError, UsageError
from .cli_config import (Problem, TrainConfig, build_model, build_optimizer, load_problem,
                         loss_function)
from .training import evaluate, train_one_epoch

CHECKPOINT = "model.npz"
CONFIG = "config.json"
METRICS = "metrics.csv"
SUMMARY = "summary.json"


class RunInterrupted(Exception):
    """Training was interrupted; what was completed has been written to ``run_dir``."""

    def __init__(self, run_dir: Path, epochs_done: int) -> None:
        super().__init__(f"interrupted after {epochs_done} epoch(s); run kept in {run_dir}")
        self.run_dir = run_dir
        self.epochs_done = epochs_done


@dataclasses.dataclass
class Completed:
    """The epochs trained so far: their metrics, and the model's state after the last one."""

    history: list[dict[str, float]] = dataclasses.field(default_factory=list)
    state: Optional[dict[str, np.ndarray]] = None


def train_epochs(done: Completed, config: TrainConfig, model: nn.Module, loss_fn: nn.Module,
                 optimizer: optim.Optimizer, loader: data.DataLoader, problem: Problem,
                 progress: cli_report.Progress) -> Optional[dict[str, float]]:
    """Train for ``config.epochs`` epochs, recording each completed epoch in ``done``.

    An epoch counts once its metrics are measured, and only then replaces ``done.state``, so
    an interruption at any point leaves ``done`` describing the last whole epoch. Returns the
    metrics of the epoch whose loss stopped being finite (training stops there), else None.
    """
    for epoch in range(1, config.epochs + 1):
        with progress.epoch(epoch) as on_batch:
            running_loss, running_acc = train_one_epoch(model, loader, loss_fn, optimizer,
                                                        problem.is_classification, on_batch)
            row = _epoch_row(epoch, running_loss, running_acc, model, loss_fn, problem)
            progress.finish_epoch(row)
        if not math.isfinite(row["running_loss"]):
            return row
        state = model.state_dict()  # copies, so later steps leave it as it is
        done.history.append(row)
        done.state = state
    return None


def run_training(config: TrainConfig, out: Path, quiet: bool = False) -> Path:
    """Train as the config says, write the run folder under ``out`` and report; return it.

    Raises :class:`RunInterrupted` (after writing the completed epochs) on KeyboardInterrupt.
    """
    if config.batchnorm and config.batch_size < 2:
        raise UsageError(f"batch norm cannot train on batches of {config.batch_size} example "
                         "(one example has no variance to normalise by): use --batch-size 2 "
                         "or more, or --no-batchnorm")
    say = functools.partial(print, flush=True)
    problem = load_problem(config)
    model = build_model(config, problem)
    loss_fn = loss_function(problem)
    optimizer = build_optimizer(config, model)
    loader = data.DataLoader(problem.train, batch_size=config.batch_size, shuffle=True,
                             drop_last=_drop_last(config, problem))
    progress = cli_report.Progress(config.epochs, len(loader), quiet=quiet, say=say)

    run_dir = new_run_dir(out, config.dataset)
    (run_dir / CONFIG).write_text(config.to_json(
        task=problem.task, in_features=problem.in_features, out_features=problem.out_features,
        test_sha256=data_fingerprint(problem.test)))
    if not quiet:
        say(describe_run(config, problem, model))
        for note in progress.notes:
            say(note)

    done = Completed()
    start = time.perf_counter()
    try:
        # A diverging run is detected and reported below, so NumPy's overflow warnings on the
        # way there would only add noise.
        with np.errstate(over="ignore", invalid="ignore"):
            diverged = train_epochs(done, config, model, loss_fn, optimizer, loader, problem,
                                    progress)
    except KeyboardInterrupt:
        _write_results(run_dir, problem, done, model, time.perf_counter() - start,
                       status="interrupted")
        raise RunInterrupted(run_dir, len(done.history)) from None
    wall = time.perf_counter() - start
    if diverged is not None:
        _write_results(run_dir, problem, done, model, wall, status="diverged")
        kept = (f"the {len(done.history)} epoch(s) before it are kept in {run_dir}"
                if done.history else f"nothing to keep; the config is in {run_dir}")
        raise CLIError(f"training diverged: the loss became {diverged['running_loss']} in epoch "
                       f"{int(diverged['epoch'])}; try a learning rate smaller than "
                       f"{config.lr:g} ({kept})")

    files = _write_results(run_dir, problem, done, model, wall, status="finished")
    report = cli_report.write_figures(run_dir, model, loss_fn, problem, done.history, config)
    say(format_summary(done.history[-1], problem, wall, model.num_parameters(), config.epochs))
    say(f"Run folder: {run_dir}")
    if not quiet:
        listed = files + report.files
        width = max(len(label) for label, _ in listed)
        for label, path in listed:
            say(f"  {label:<{width}} {path}")
        for note in report.notes:
            say(note)
    return run_dir


def describe_run(config: TrainConfig, problem: Problem, model: nn.Module) -> str:
    """One line saying what is about to be trained."""
    sizes = "-".join(str(n) for n in (problem.in_features, *config.hidden, problem.out_features))
    if config.batchnorm:
        norm = f"batch norm {config.bn_position} {config.activation}"
    else:
        norm = f"{config.activation}, no batch norm"
    return (f"Training MLP {sizes} ({norm}, dropout {config.dropout:g}) on {config.dataset} "
            f"({len(problem.train)} train / {len(problem.test)} test), {config.optimizer} "
            f"lr {config.lr:g}, {config.epochs} epochs of batch {config.batch_size}, "
            f"seed {config.seed}, {model.num_parameters():,} parameters")


def format_summary(row: dict[str, float], problem: Problem, wall: float, num_parameters: int,
                   epochs: int) -> str:
    """The closing lines: time, size, and the last epoch's evaluation-mode figures."""
    return (f"Finished {epochs} epochs in {wall:.1f} s ({num_parameters:,} parameters)\n"
            + format_metrics(row, problem))


def format_metrics(row: dict[str, float], problem: Problem) -> str:
    """A small table of loss (and accuracy) on the train and test splits."""
    if problem.is_classification:
        lines = [f"  {'':5}  {'loss':>8}  {'accuracy':>8}"]
        for split in ("train", "test"):
            lines.append(f"  {split:5}  {row[split + '_loss']:8.4f}  "
                         f"{row[split + '_accuracy']:8.1%}")
    else:
        lines = [f"  {'':5}  {'MSE':>8}"]
        for split in ("train", "test"):
            lines.append(f"  {split:5}  {row[split + '_loss']:8.4f}")
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
        raise CLIError(f"cannot create output folder {out}: {_reason(err)}") from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        run_dir = out / (f"{dataset}-{stamp}" if k == 1 else f"{dataset}-{stamp}-{k}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            raise CLIError(f"cannot create run folder {run_dir}: {_reason(err)}") from None
        return run_dir
    raise CLIError(f"too many runs named {dataset}-{stamp}-* in {out}")


def data_fingerprint(dataset: data.TensorDataset) -> str:
    """SHA-256 of a split's arrays, so ``evaluate`` can tell if the generator changed."""
    digest = hashlib.sha256()
    for t in dataset.tensors:
        digest.update(np.ascontiguousarray(t.numpy()).tobytes())
    return digest.hexdigest()


@dataclasses.dataclass
class LoadedRun:
    """A trained run rebuilt from its folder: config, data, model with the saved weights."""

    run_dir: Path
    checkpoint: Path
    config: TrainConfig
    problem: Problem
    model: nn.Sequential
    same_data: bool
    """Whether the test set drawn now is the one the run was trained with."""


def locate_run(path: Path) -> tuple[Path, Path]:
    """The run folder and checkpoint named by a run folder or a checkpoint path."""
    if path.is_dir():
        run_dir, checkpoint = path, path / CHECKPOINT
        if not checkpoint.exists():
            raise CLIError(f"no checkpoint {CHECKPOINT} in {run_dir} (give a run folder written "
                           "by `tinygrad-dropbn train`; a run interrupted before its first "
                           "epoch finished has none)")
    elif path.exists():
        run_dir, checkpoint = path.parent, path
    else:
        raise CLIError(f"{path} does not exist: give a run folder written by "
                       f"`tinygrad-dropbn train` or its {CHECKPOINT}")
    if not (run_dir / CONFIG).exists():
        raise CLIError(f"no {CONFIG} beside {checkpoint}: the model is rebuilt from the run's "
                       "config, so keep the checkpoint in its run folder")
    return run_dir, checkpoint


def load_run(path: Path) -> LoadedRun:
    """Rebuild a run's data and model from its config and load the checkpoint's weights."""
    run_dir, checkpoint = locate_run(path)
    config_path = run_dir / CONFIG
    try:
        fields = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CLIError(f"cannot read run config {config_path}: {_reason(err)}") from None
    config = TrainConfig.from_dict(fields, config_path)
    try:
        problem = load_problem(config)
        model = build_model(config, problem)
    except (ValueError, TypeError) as err:
        raise CLIError(f"run config {config_path} describes no valid model: {err}") from None
    try:
        state = tg.load(checkpoint)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise CLIError(f"cannot read checkpoint {checkpoint}: {_reason(err)}") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        reason = "; ".join(line.strip() for line in str(err).splitlines()[1:])
        raise CLIError(f"checkpoint {checkpoint} does not fit the model described in "
                       f"{config_path}: {reason}") from None
    same_data = fields.get("test_sha256") in (None, data_fingerprint(problem.test))
    return LoadedRun(run_dir, checkpoint, config, problem, model, same_data)


def _epoch_row(epoch: int, running_loss: float, running_acc: Optional[float], model: nn.Module,
               loss_fn: nn.Module, problem: Problem) -> dict[str, float]:
    train_loss, train_acc = evaluate(model, problem.train, loss_fn, problem.is_classification)
    test_loss, test_acc = evaluate(model, problem.test, loss_fn, problem.is_classification)
    row: dict[str, Any] = {"epoch": epoch, "running_loss": running_loss,
                           "running_accuracy": running_acc, "train_loss": train_loss,
                           "train_accuracy": train_acc, "test_loss": test_loss,
                           "test_accuracy": test_acc}
    return {name: row[name] for name in metric_names(problem)}


def _write_results(run_dir: Path, problem: Problem, done: Completed, model: nn.Module,
                   wall: float, status: str) -> list[tuple[str, Path]]:
    """Write the checkpoint of the last completed epoch (if any), the metrics and the summary
    (``status``: finished, interrupted or diverged); list what was written."""
    files = [("config", run_dir / CONFIG)]
    if done.state is not None:
        tg.save(done.state, run_dir / CHECKPOINT)
        files.insert(0, ("checkpoint", run_dir / CHECKPOINT))
    with (run_dir / METRICS).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=metric_names(problem), lineterminator="\n")
        writer.writeheader()
        writer.writerows(done.history)
    files.append(("metrics", run_dir / METRICS))
    summary = {"status": status, "epochs_completed": len(done.history),
               "wall_time_seconds": round(wall, 3),
               "num_parameters": model.num_parameters(),
               "final": done.history[-1] if done.history else None}
    (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    files.append(("summary", run_dir / SUMMARY))
    return files


def _drop_last(config: TrainConfig, problem: Problem) -> bool:
    # Batch norm cannot normalise a batch of one example (its variance is 0), so a lone
    # leftover example is dropped rather than trained on.
    return config.batchnorm and len(problem.train) % config.batch_size == 1


def _reason(err: BaseException) -> str:
    """An exception as a short reason: ``strerror`` for OS errors, else its message."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__
