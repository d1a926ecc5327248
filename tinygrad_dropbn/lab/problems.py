"""The data the experiments share, as NumPy arrays drawn from a seed."""
from __future__ import annotations

import numpy as np

from .. import data

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def spiral(seed: int, points_per_class: int = 150) -> Arrays:
    """Three interleaved spiral arms: ``x_train, y_train, x_test, y_test``."""
    train, test = data.spiral(points_per_class=points_per_class, seed=seed)
    return (*(t.numpy() for t in train.tensors), *(t.numpy() for t in test.tensors))


def raw_blobs(seed: int, n_samples: int = 600, n_features: int = 2, noise: float = 0.6,
              scale: float = 3.0, shift: float = 5.0) -> Arrays:
    """Three Gaussian blobs in *raw units*: every feature ``x * scale + shift``, far from 0
    and 1, as real measurements are (the built-in datasets come standardised)."""
    train, test = data.blobs(n_classes=3, n_samples=n_samples, n_features=n_features,
                             noise=noise, seed=seed)
    x_train, y_train = (t.numpy() for t in train.tensors)
    x_test, y_test = (t.numpy() for t in test.tensors)
    return x_train * scale + shift, y_train, x_test * scale + shift, y_test


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of rows whose largest logit is the label."""
    return float(np.mean(logits.argmax(axis=1) == labels))


def with_noise_features(name: str, seed: int, extra: int) -> Arrays:
    """A built-in 2-D dataset with ``extra`` standard-normal features that carry no signal."""
    train, test = data.load_dataset(name, seed=seed)
    rng = np.random.default_rng(seed)
    arrays = []
    for split in (train, test):
        x, y = (t.numpy() for t in split.tensors)
        arrays += [np.c_[x, rng.standard_normal((len(x), extra))].astype(np.float32), y]
    return tuple(arrays)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """The mean cross-entropy of ``logits`` (rows) against integer ``labels``, in nats."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_sum - shifted[np.arange(len(labels)), labels]))
