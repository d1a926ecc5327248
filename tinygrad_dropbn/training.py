"""Training and measuring a model: the one loop the command line, the lab and users share.

:func:`evaluate` measures a model in evaluation mode; :func:`train_one_epoch` is one pass over
the training batches in training mode; :func:`fit` alternates the two for some epochs and
records a :class:`History`. ``tinygrad-dropbn train`` and every lab experiment call :func:`fit`
(the command line adds progress bars and checkpoints through its callbacks).

Example:
    >>> import tinygrad_dropbn as tg
    >>> from tinygrad_dropbn import data
    >>> from tinygrad_dropbn.models import mlp
    >>> from tinygrad_dropbn.training import fit
    >>> _ = tg.manual_seed(0)
    >>> train, test = data.spiral(seed=0)
    >>> history = fit(mlp(2, [32], 3), train, test, epochs=3, lr=0.01, batch_size=32)
    >>> len(history.test_accuracy)
    3
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np

import tinygrad_dropbn as tg
from . import data, nn, optim

BatchCallback = Callable[[float, Optional[float]], None]


def make_optimizer(name: str, parameters: Iterable[nn.Parameter], lr: float,
                   momentum: float = 0.0) -> optim.Optimizer:
    """The optimizer called ``name`` ("sgd", "adam" or "adamw") over ``parameters``.

    ``momentum`` is SGD's; Adam and AdamW ignore it.
    """
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=momentum)
    if name == "adam":
        return optim.Adam(parameters, lr=lr)
    if name == "adamw":
        return optim.AdamW(parameters, lr=lr)
    raise ValueError(f"optimizer must be 'sgd', 'adam' or 'adamw', got {name!r}")


def train_one_epoch(model: nn.Module, loader: data.DataLoader, loss_fn: nn.Module,
                    optimizer: optim.Optimizer, classification: bool = True,
                    on_batch: Optional[BatchCallback] = None) -> tuple[float, Optional[float]]:
    """One pass over the training batches in training mode.

    Returns the running loss and accuracy (None when ``classification`` is False): their
    averages over the epoch's examples, measured on each batch as it was trained (dropout
    active, batch statistics), so they differ from the evaluation-mode figures. ``on_batch``,
    when given, receives the running values after every batch.
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        n = len(x)
        seen += n
        total_loss += float(loss.item()) * n
        if classification:
            correct += int(np.sum(out.numpy().argmax(axis=1) == y.numpy()))
        if on_batch is not None:
            on_batch(total_loss / seen, correct / seen if classification else None)
    return total_loss / seen, (correct / seen if classification else None)


def evaluate(model: nn.Module, dataset: data.TensorDataset, loss_fn: nn.Module,
             classification: bool = True) -> tuple[float, Optional[float]]:
    """Loss and accuracy (None when ``classification`` is False) of the model in evaluation
    mode on a dataset.

    The model is put back in the mode it was in. Evaluation-mode layers treat each example on its
    own (dropout is the identity, batch norm uses the running statistics), so one pass over the
    whole set gives the mean loss exactly.
    """
    was_training = model.training
    model.eval()
    x, y = dataset.tensors
    with tg.no_grad():
        out = model(x)
        loss = float(loss_fn(out, y).item())
    model.train(was_training)
    if not classification:
        return loss, None
    return loss, float(np.mean(out.numpy().argmax(axis=1) == y.numpy()))


@dataclass
class History:
    """Per-epoch curves of one training run. ``running_*`` are the training-mode averages over
    the epoch's batches; ``train_*`` and ``test_*`` are measured after the epoch in evaluation
    mode on the whole split (dropout off, running statistics), so train and test compare.
    Accuracies are None for regression."""

    running_loss: list[float] = field(default_factory=list)
    running_accuracy: list[Optional[float]] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[Optional[float]] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[Optional[float]] = field(default_factory=list)

    @property
    def gap(self) -> np.ndarray:
        """Train accuracy minus test accuracy, per epoch (the generalisation gap)."""
        return np.asarray(self.train_accuracy) - np.asarray(self.test_accuracy)

    def row(self, epoch: int = -1) -> dict[str, Optional[float]]:
        """One epoch's figures by name (the last epoch by default)."""
        return {name: getattr(self, name)[epoch] for name in self.__dataclass_fields__}


def fit(model: nn.Module, train: data.TensorDataset, test: Optional[data.TensorDataset] = None,
        *, epochs: int, lr: float, batch_size: int, optimizer: str = "adam",
        momentum: float = 0.0, loss_fn: Optional[nn.Module] = None, drop_last: bool = True,
        on_batch: Optional[BatchCallback] = None,
        on_epoch: Optional[Callable[[History], bool]] = None) -> History:
    """Train a model and record a :class:`History`.

    Args:
        model: the network (a classifier returning logits, unless ``loss_fn`` says otherwise).
        train, test: the splits (``test`` may be None); minibatches are shuffled from the
            library's generator.
        epochs: passes over ``train``.
        lr: learning rate.
        batch_size: minibatch size.
        optimizer: "adam", "sgd" or "adamw".
        momentum: SGD momentum (ignored by Adam and AdamW).
        loss_fn: default ``nn.CrossEntropyLoss()``; any other loss is treated as regression
            (no accuracy).
        drop_last: drop the last incomplete batch (so batch norm always sees a full batch).
        on_batch: receives the running loss and accuracy after every batch.
        on_epoch: called with the history after every epoch; returning False stops training.
    """
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    classification = isinstance(loss_fn, nn.CrossEntropyLoss)
    opt = make_optimizer(optimizer, model.parameters(), lr, momentum)
    loader = data.DataLoader(train, batch_size=batch_size, shuffle=True, drop_last=drop_last)
    history = History()
    for _ in range(epochs):
        running = train_one_epoch(model, loader, loss_fn, opt, classification, on_batch)
        measured = [*running, *evaluate(model, train, loss_fn, classification)]
        if test is not None:
            measured += evaluate(model, test, loss_fn, classification)
        else:
            measured += [None, None]
        for name, value in zip(history.__dataclass_fields__, measured):
            getattr(history, name).append(value)
        if on_epoch is not None and on_epoch(history) is False:
            break
    return history
