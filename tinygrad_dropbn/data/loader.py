"""The DataLoader: mini-batches of a dataset, optionally reshuffled every epoch."""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from .. import random as _random
from ..tensor import Tensor
from .dataset import Dataset, TensorDataset


class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors.

    Each batch is a tuple with one Tensor per field of a sample, stacked along a new first axis:
    ``for x, y in loader``. A :class:`TensorDataset` is batched by indexing its arrays with the
    whole batch of indices at once; other datasets are read sample by sample and stacked.

    Args:
        dataset: a :class:`Dataset` (anything with ``__getitem__`` and ``__len__``).
        batch_size: samples per batch (a positive integer).
        shuffle: draw a new order at the start of every epoch (every ``iter(loader)``) from the
            library's generator, so ``tg.manual_seed`` makes it reproducible.
        drop_last: drop the last batch if it is smaller than ``batch_size``.

    Example:
        >>> import numpy as np
        >>> from tinygrad_dropbn.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
        >>> [y.tolist() for x, y in DataLoader(ds, batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
            raise TypeError(f"shuffle and drop_last must be bools, got shuffle={shuffle!r}, "
                            f"drop_last={drop_last!r}")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader needs a dataset with __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        n = len(self.dataset)
        order = _random.generator().permutation(n) if self.shuffle else np.arange(n)
        stop = len(self) * self.batch_size
        if isinstance(self.dataset, TensorDataset):
            arrays = [t.data for t in self.dataset.tensors]
            for start in range(0, stop, self.batch_size):
                index = order[start:start + self.batch_size]
                yield tuple(Tensor._from_op(a[index], None) for a in arrays)
        else:
            for start in range(0, stop, self.batch_size):
                samples = [self.dataset[int(i)] for i in order[start:start + self.batch_size]]
                yield _collate(samples)

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")


def _collate(samples: list[Any]) -> tuple[Tensor, ...]:
    """Stack a list of samples field by field into a tuple of Tensors.

    A sample that is not a tuple counts as a 1-tuple. Python floats become float32 and Python
    ints int64, the library's dtype rules; arrays and Tensors keep their dtype.
    """
    rows = [s if isinstance(s, tuple) else (s,) for s in samples]
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"samples of one batch have different numbers of fields: "
                         f"{sorted({len(r) for r in rows})}")
    return tuple(Tensor._from_op(_stack(list(field)), None) for field in zip(*rows))


def _stack(values: list[Any]) -> np.ndarray:
    first = values[0]
    if isinstance(first, Tensor):
        return np.stack([v.data for v in values])
    if isinstance(first, float):
        return np.array(values, dtype=np.float32)
    if isinstance(first, bool):
        return np.array(values, dtype=bool)
    if isinstance(first, int):
        return np.array(values, dtype=np.int64)
    return np.stack([np.asarray(v) for v in values])
