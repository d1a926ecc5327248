"""The small training loop the lab's experiments share, with per-epoch curves."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

import tinygrad_dropbn as tg
import tinygrad_dropbn.nn as nn
from tinygrad_dropbn import data, optim
from tinygrad_dropbn.cli_train import evaluate


@dataclass
class History:
    """Per-epoch curves of one training run, each measured after the epoch in evaluation mode
    on the whole split (dropout off, running statistics), so train and test are comparable."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    @property
    def gap(self) -> np.ndarray:
        """Train accuracy minus test accuracy, per epoch (the generalisation gap)."""
        return np.asarray(self.train_accuracy) - np.asarray(self.test_accuracy)


def fit(model: nn.Module, train: data.TensorDataset, test: data.TensorDataset, *, epochs: int,
        lr: float, batch_size: int, optimizer: str = "adam", momentum: float = 0.0) -> History:
    """Train ``model`` with cross-entropy and record a :class:`History`.

    Args:
        model: a classifier returning logits.
        train, test: the splits; minibatches are shuffled from the library's generator.
        epochs: passes over ``train``.
        lr: learning rate.
        batch_size: minibatch size (the last incomplete batch is dropped, so batch norm always
            sees a full batch).
        optimizer: "adam" or "sgd".
        momentum: SGD momentum (ignored by Adam).
    """
    if optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=lr)
    elif optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    loader = data.DataLoader(train, batch_size=batch_size, shuffle=True, drop_last=True)
    loss_fn = nn.CrossEntropyLoss()
    history = History()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        train_loss, train_accuracy = evaluate(model, train, loss_fn)
        test_loss, test_accuracy = evaluate(model, test, loss_fn)
        history.train_loss.append(train_loss)
        history.train_accuracy.append(train_accuracy)
        history.test_loss.append(test_loss)
        history.test_accuracy.append(test_accuracy)
    return history


def in_raw_units(split: tuple[data.TensorDataset, data.TensorDataset],
                 scale: float | Sequence[float], shift: float | Sequence[float],
                 ) -> tuple[data.TensorDataset, data.TensorDataset]:
    """The same (train, test) split with features ``x * scale + shift`` (per feature when
    ``scale`` and ``shift`` are sequences).

    Built-in datasets come standardised, near zero; real features are often not (prices,
    pixel intensities, centimetres). This puts them far from zero, the case the article warns
    about, with labels unchanged.
    """
    scale = np.asarray(scale, dtype=np.float32)
    shift = np.asarray(shift, dtype=np.float32)
    return tuple(data.TensorDataset(tg.Tensor(x.data * scale + shift), y)
                 for x, y in (part.tensors for part in split))
