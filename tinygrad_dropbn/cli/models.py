"""A run of the command line as data: its :class:`TrainConfig`, the dataset, model and loss built
from it, and a trained run reloaded from its folder.

A run is described entirely by a :class:`TrainConfig`. The dataset is drawn from a generator
seeded with ``config.seed``; the library's generator, reseeded with it, then draws the initial
weights, the dropout masks and the batch order. So every number of a run is a function of the
config alone: ``evaluate`` rebuilds the same test set from ``config.json``, and two runs with
the same seed write identical metrics.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

import tinygrad_dropbn as tg
from .. import data, nn
from ..models import ACTIVATIONS, BN_POSITIONS, mlp

DEFAULT_LR = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}
"""Learning rate used when ``--lr`` is not given (SGD runs with momentum 0.9)."""
SGD_MOMENTUM = 0.9
CHECKPOINT = "model.npz"
CONFIG = "config.json"


class CLIError(Exception):
    """A problem the user can fix, reported as one line without a traceback (exit status 1)."""


class UsageError(CLIError):
    """Options that cannot go together (exit status 2, like any invalid option)."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run (saved as ``config.json``)."""

    dataset: str = "spiral"
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    batchnorm: bool = True
    bn_position: str = "before"
    dropout: float = 0.1
    optimizer: str = "adam"
    lr: float = DEFAULT_LR["adam"]
    epochs: int = 30
    batch_size: int = 32
    seed: int = 0

    def to_json(self, **extra: Any) -> str:
        """The config as JSON, with ``extra`` keys (dataset shape, task) appended."""
        fields = dataclasses.asdict(self)
        fields["hidden"] = list(self.hidden)
        return json.dumps({**fields, **extra}, indent=2) + "\n"

    @classmethod
    def from_dict(cls, fields: Any, source: Path) -> "TrainConfig":
        """The config stored in a parsed ``config.json`` (extra keys are ignored)."""
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [name for name in names if name not in fields] if isinstance(
            fields, dict) else names
        if missing:
            raise CLIError(f"run config {source} lacks {', '.join(missing)}: "
                           "it was not written by `tinygrad-dropbn train`")
        for name in names:
            check, meaning = _FIELD_CHECKS[name]
            if not check(fields[name]):
                raise CLIError(f"run config {source}: {name} is {json.dumps(fields[name])}, "
                               f"but it must be {meaning} (was the file edited?)")
        values = {name: fields[name] for name in names}
        values["hidden"] = tuple(values["hidden"])
        return cls(**values)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


_FIELD_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "dataset": (lambda v: v in data.available_datasets(), "a built-in dataset's name"),
    "hidden": (lambda v: isinstance(v, list) and all(_is_int(n) and n >= 1 for n in v),
               "a list of positive layer widths"),
    "activation": (lambda v: v in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}"),
    "batchnorm": (lambda v: isinstance(v, bool), "true or false"),
    "bn_position": (lambda v: v in BN_POSITIONS, f"one of {', '.join(BN_POSITIONS)}"),
    "dropout": (lambda v: _is_number(v) and 0 <= v < 1, "a probability in [0, 1)"),
    "optimizer": (lambda v: v in DEFAULT_LR, f"one of {', '.join(DEFAULT_LR)}"),
    "lr": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "epochs": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "batch_size": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "seed": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
}
"""For each field of a saved config: whether a parsed JSON value is valid, and what it must be."""


@dataclasses.dataclass
class Problem:
    """A dataset ready for training: the splits, the task and the sizes the model needs."""

    train: data.TensorDataset
    test: data.TensorDataset
    task: str
    in_features: int
    out_features: int

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"


def load_problem(config: TrainConfig) -> Problem:
    """Draw the dataset from ``config.seed`` and seed the library's generator with it.

    The data come from a generator of their own, so the same seed gives the same splits
    whatever else is drawn; the library's generator, reseeded here, then draws the initial
    weights, the dropout masks and the batch order.
    """
    try:
        train, test = data.load_dataset(config.dataset, seed=config.seed)
    except ImportError as err:
        raise CLIError(f"dataset {config.dataset!r} needs an optional package: {err}") from None
    task = data.dataset_task(config.dataset)
    x_train, y_train = train.tensors
    if task == "classification":
        labels = np.concatenate([y_train.numpy(), test.tensors[1].numpy()])
        out_features = int(labels.max()) + 1
    else:
        out_features = int(y_train.shape[1])
    tg.manual_seed(config.seed)
    return Problem(train, test, task, int(x_train.shape[1]), out_features)


def build_model(config: TrainConfig, problem: Problem) -> nn.Sequential:
    """The MLP the config describes, initialised from the generator's current state."""
    try:
        return mlp(problem.in_features, config.hidden, problem.out_features,
                   activation=config.activation, batchnorm=config.batchnorm,
                   bn_position=config.bn_position, dropout=config.dropout)
    except MemoryError:
        widths = ",".join(map(str, config.hidden))
        raise CLIError(f"not enough memory for the weights of hidden layers --hidden {widths}: "
                       "give smaller widths") from None


def loss_function(problem: Problem) -> nn.Module:
    """Cross-entropy on logits for classification, mean squared error for regression."""
    return nn.CrossEntropyLoss() if problem.is_classification else nn.MSELoss()


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


def check_widths(config: TrainConfig, problem: Problem, shapes: dict[str, tuple],
                 checkpoint: Path, config_path: Path) -> None:
    """Refuse a config whose layer widths differ from the checkpoint's weight matrices, before
    any model (whose size the config alone decides) is built."""
    widths = (problem.in_features, *config.hidden, problem.out_features)
    wanted = [(n_out, n_in) for n_in, n_out in zip(widths, widths[1:])]
    found = [shape for shape in shapes.values() if len(shape) == 2]
    if found != wanted:
        saved = "-".join(str(s[1]) for s in found[:1]) + "".join(f"-{s[0]}" for s in found)
        raise CLIError(f"checkpoint {checkpoint} holds an MLP {saved or 'without weights'}, but "
                       f"{config_path} describes {'-'.join(map(str, widths))}: keep the "
                       "checkpoint with the config it was trained with")


def load_run(path: Path) -> LoadedRun:
    """Rebuild a run's data and model from its config and load the checkpoint's weights."""
    run_dir, checkpoint = locate_run(path)
    config_path = run_dir / CONFIG
    try:
        fields = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CLIError(f"cannot read run config {config_path}: {reason(err)}") from None
    config = TrainConfig.from_dict(fields, config_path)
    try:
        shapes = tg.checkpoint_shapes(checkpoint)  # the array headers only
    except (OSError, ValueError, EOFError) as err:
        raise CLIError(f"cannot read checkpoint {checkpoint}: {reason(err)}") from None
    problem = load_problem(config)
    check_widths(config, problem, shapes, checkpoint, config_path)
    model = build_model(config, problem)
    try:
        state = tg.load(checkpoint)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise CLIError(f"cannot read checkpoint {checkpoint}: {reason(err)}") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        why = "; ".join(line.strip() for line in str(err).splitlines()[1:])
        raise CLIError(f"checkpoint {checkpoint} does not fit the model described in "
                       f"{config_path}: {why}") from None
    same_data = fields.get("test_sha256") in (None, data_fingerprint(problem.test))
    return LoadedRun(run_dir, checkpoint, config, problem, model, same_data)


def reason(err: BaseException) -> str:
    """An exception as a short reason: ``strerror`` for OS errors, else its message."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__
