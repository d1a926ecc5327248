"""The DataLoader: mini-batches of a dataset, optionally reshuffled every epoch."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Optional

import numpy as np

from .. import random as _random
from ..tensor import Tensor
from .dataset import Dataset, Subset, TensorDataset


class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors.

    Each batch is a tuple with one Tensor per field of a sample, stacked along a new first axis:
    ``for x, y in loader``. A :class:`TensorDataset` (or a :class:`Subset` of one, as
    :func:`random_split` makes) is batched by indexing its arrays with the whole batch of
    indices at once; other datasets are read sample by sample and stacked.

    Loading always happens in the calling process: ``num_workers`` and ``pin_memory`` are
    accepted for PyTorch code and change nothing.

    Args:
        dataset: a :class:`Dataset` (anything with ``__getitem__`` and ``__len__``).
        batch_size: samples per batch (a positive integer).
        shuffle: draw a new order at the start of every epoch (every ``iter(loader)``), from
            ``generator`` if given, else from the library's generator (so ``tg.manual_seed``
            makes it reproducible).
        num_workers: accepted (any integer >= 0); samples are loaded in this process.
        collate_fn: builds a batch from the list of its samples; the default stacks each field
            into a Tensor.
        pin_memory: accepted and ignored (there is no GPU memory to pin).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: a :class:`~tinygrad_dropbn.random.Generator` for the shuffled order.

    Example:
        >>> import numpy as np
        >>> from tinygrad_dropbn.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
        >>> [y.tolist() for x, y in DataLoader(ds, batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: Optional[bool] = False,
                 *, num_workers: int = 0,
                 collate_fn: Optional[Callable[[list[Any]], Any]] = None,
                 pin_memory: bool = False, drop_last: bool = False,
                 generator: Optional[_random.Generator] = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        shuffle = False if shuffle is None else shuffle
        if not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
            raise TypeError(f"shuffle and drop_last must be bools, got shuffle={shuffle!r}, "
                            f"drop_last={drop_last!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be a function of a list of samples, got "
                            f"{type(collate_fn).__name__}")
        if generator is not None and not isinstance(generator, _random.Generator):
            raise TypeError(f"generator must be a tinygrad_dropbn.random.Generator or None, "
                            f"got {type(generator).__name__}")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader needs a dataset with __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.drop_last = drop_last
        self.generator = generator

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = _random.draw_from(self.generator).permutation(n) if self.shuffle \
            else np.arange(n)
        stop = len(self) * self.batch_size
        rows = _tensor_rows(self.dataset) if self.collate_fn is None else None
        if rows is not None:
            arrays, index = rows
            if index is not None:
                order = index[order]
            for start in range(0, stop, self.batch_size):
                batch = order[start:start + self.batch_size]
                yield tuple(Tensor._from_op(a[batch], None) for a in arrays)
        else:
            collate = self.collate_fn or _collate
            for start in range(0, stop, self.batch_size):
                yield collate([self.dataset[int(i)] for i in order[start:start + self.batch_size]])

    def __repr__(self) -> str:
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")


def _tensor_rows(dataset: Any) -> Optional[tuple[list[np.ndarray], Optional[np.ndarray]]]:
    """The arrays behind a TensorDataset (seen through any Subsets) and the row numbers the
    Subsets select (None for all rows), or None for any other dataset."""
    index = None
    while isinstance(dataset, Subset):
        rows = np.asarray(dataset.indices, dtype=np.int64).reshape(-1)
        index = rows if index is None else rows[index]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:  # a subclass may override __getitem__
        return None
    return [t.data for t in dataset.tensors], index


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
